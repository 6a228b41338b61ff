"""Test set-up shared by every test: offscreen Qt, isolated data and config directories."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO = Path(__file__).resolve().parent.parent


def peers_dir() -> Path:
    """../shared/peers beside the checkout (or KETADESK_PEERS)."""
    return Path(os.environ.get("KETADESK_PEERS", REPO.parent / "shared" / "peers"))


@pytest.fixture(autouse=True)
def _isolated_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    # No test may read or write the real user's recordings or settings.
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("KETADESK_DATA_DIR", str(home / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "share"))
