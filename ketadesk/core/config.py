"""Loading the shipped defaults (resources/defaults.toml) and data files under resources/."""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path
from typing import Any

RESOURCES = Path(__file__).resolve().parent.parent.parent / "resources"


def resource_path(*parts: str) -> Path:
    """Path of a shipped resource file."""
    return RESOURCES.joinpath(*parts)


@cache
def defaults() -> dict[str, Any]:
    """The parsed defaults.toml (cached; treat as read-only)."""
    with resource_path("defaults.toml").open("rb") as f:
        return tomllib.load(f)
