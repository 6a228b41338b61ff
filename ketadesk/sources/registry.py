"""Discovery of data sources through the `ketadesk.sources` entry-point group.

The built-in sources register exactly as a third-party package would (pyproject.toml), so
the contract test and the source picker treat them all alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any

from ketadesk.sources.base import Provenance, SourceError, SourceOption, VitalsSource

GROUP = "ketadesk.sources"


@dataclass(frozen=True)
class RegisteredSource:
    name: str
    target: str  # "module:Class"
    factory: type[Any] | None
    error: str | None  # why it could not be loaded, if it could not

    @property
    def summary(self) -> str:
        """The first line of the source class's docstring: a one-line, user-facing summary."""
        if self.factory is None:
            return f"unavailable: {self.error}"
        doc = (self.factory.__doc__ or "").strip().splitlines()
        return doc[0].strip().rstrip(".") if doc else ""

    @property
    def provenance(self) -> Provenance | None:
        """What the source's data is, as the class declares it (None if it does not say).

        Known without constructing the source, which may need options (a file) to exist.
        """
        declared = getattr(self.factory, "provenance", None)
        return declared if isinstance(declared, Provenance) else None

    @property
    def options(self) -> tuple[SourceOption, ...]:
        declared = getattr(self.factory, "options", ())
        return tuple(o for o in declared if isinstance(o, SourceOption))


def discover() -> dict[str, RegisteredSource]:
    """Every registered source; one that fails to import is listed with the reason."""
    found: dict[str, RegisteredSource] = {}
    for ep in sorted(entry_points(group=GROUP), key=lambda e: e.name):
        try:
            factory = ep.load()
            found[ep.name] = RegisteredSource(ep.name, ep.value, factory, None)
        except Exception as exc:  # a broken plugin must not take the app down
            found[ep.name] = RegisteredSource(ep.name, ep.value, None,
                                              f"{type(exc).__name__}: {exc}")
    return found


def create(name: str, options: dict[str, str] | None = None) -> VitalsSource:
    """Build the named source with string options, or raise SourceError saying what exists."""
    sources = discover()
    reg = sources.get(name)
    if reg is None:
        known = ", ".join(sources) or "none (is KetaDesk installed with pip install -e .?)"
        raise SourceError(f"unknown source {name!r}; registered sources: {known}")
    if reg.factory is None:
        raise SourceError(f"source {name!r} cannot be loaded: {reg.error}")
    source: VitalsSource = reg.factory(**(options or {}))
    return source


def parse_option_args(pairs: list[str] | None) -> dict[str, str]:
    """Turn ["key=value", ...] from --source-opt into a dict, refusing malformed pairs."""
    out: dict[str, str] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise SourceError(f"--source-opt expects KEY=VALUE, got {pair!r}")
        out[key.strip()] = value
    return out
