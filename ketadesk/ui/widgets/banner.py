"""The provenance banner: SIMULATION or REPLAY, impossible to miss; hidden for live data."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from ketadesk.sources.base import Provenance, SourceInfo
from ketadesk.ui import theme

_TEXT = {
    Provenance.SIMULATED: "SIMULATION \u2014 simulated data, not a real patient",
    Provenance.REPLAY: "REPLAY \u2014 recorded data played back, not live",
}
_COLOUR = {Provenance.SIMULATED: theme.SIM_BANNER, Provenance.REPLAY: theme.REPLAY_BANNER}


class ProvenanceBanner(QLabel):
    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("provenanceBanner")
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setMinimumHeight(34)
        self.hide()

    def show_source(self, info: SourceInfo) -> None:
        text = _TEXT.get(info.provenance)
        if text is None:
            self.hide()
            return
        self.setText(f"{text}   \u00b7   source: {info.name}")
        self.setStyleSheet(
            f"background: {_COLOUR[info.provenance]}; color: white; font-weight: bold;"
            "font-size: 15pt; letter-spacing: 2px; padding: 4px;")
        self.show()
