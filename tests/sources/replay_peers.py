"""Where the shared peer recordings are: $KETADESK_PEERS, else <repo root>/../shared/peers."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


def peers_dir() -> Path:
    configured = os.environ.get("KETADESK_PEERS")
    return Path(configured) if configured else REPO_ROOT.parent / "shared" / "peers"


def peer(relative: str) -> Path:
    """Path of a peer file or WFDB record; skips the test with the reason when absent."""
    path = peers_dir() / relative
    if not (path.exists() or path.with_name(path.name + ".hea").exists()):
        pytest.skip(f"peer file {relative} not found under {peers_dir()} (set KETADESK_PEERS)")
    return path


MIMIC_RECORD = "wfdb/mimic2_numerics/s25047-2704-05-04-10-44n"
MIMIC_CSV = "wfdb/mimic2_numerics/s25047_numerics.csv"
MIXED_RECORD = "wfdb/mixedsignals/mixedsignals"
