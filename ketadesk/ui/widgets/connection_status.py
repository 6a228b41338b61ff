"""The source's connection state beside the source name: connected, stalled, disconnected.

A silent feed must never look like a calm patient, so the state is written out in words with a
symbol ("● connected", "▲ stalled 0:45", "✕ disconnected — reconnecting…"); colour only adds
to it. Redrawn from each snapshot like every other panel.
"""

from __future__ import annotations

from PySide6.QtWidgets import QLabel

from ketadesk.core.session import ConnectionStatus, SessionSnapshot
from ketadesk.sources.base import ConnectionState
from ketadesk.ui import theme

OK_COLOUR = "#3fbf5f"
WARN_COLOUR = "#e0b000"  # the alarm panel's medium-priority yellow family
FAULT_COLOUR = "#ff5a4f"


def _m_ss(seconds: float) -> str:
    s = int(max(0.0, seconds))
    return f"{s // 60:d}:{s % 60:02d}" if s < 3600 else f"{s // 3600:d}:{s % 3600 // 60:02d}:{s % 60:02d}"


def describe(status: ConnectionStatus | None, now_s: float) -> tuple[str, str]:
    """(text, colour) for the header: words first, colour second."""
    if status is None:
        return "\u25cc connecting\u2026", theme.MUTED
    state = status.state
    if state is ConnectionState.CONNECTED:
        return "\u25cf connected", OK_COLOUR
    if state is ConnectionState.STALLED:
        # Counted from the last sample, which is what "no data for" means at the bedside.
        since = status.last_data_s if status.last_data_s is not None else status.since_s
        return f"\u25b2 stalled {_m_ss(now_s - since)} \u2014 no data", WARN_COLOUR
    if state is ConnectionState.CONNECTING:
        if status.reconnecting:
            return "\u2715 disconnected \u2014 reconnecting\u2026", FAULT_COLOUR
        return "\u25cc connecting \u2014 waiting for the device\u2026", theme.MUTED
    reason = status.detail or "no data will arrive"
    return f"\u2715 disconnected \u2014 {reason}", FAULT_COLOUR


class ConnectionIndicator(QLabel):
    """One line of text; the tooltip carries the source's own words and the time in state."""

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("connectionIndicator")
        self._shown: tuple[str, str, str] | None = None
        self.refresh_status(None, 0.0)

    def refresh(self, snap: SessionSnapshot) -> None:
        self.refresh_status(snap.connection_status, snap.now_s)

    def refresh_status(self, status: ConnectionStatus | None, now_s: float) -> None:
        text, colour = describe(status, now_s)
        tip = ""
        if status is not None:
            tip = f"{status.state.value} since session time {_m_ss(status.since_s)}"
            if status.detail:
                tip += f": {status.detail}"
        # setStyleSheet re-polishes the widget: only when something changed, not 25 times a s.
        if (text, colour, tip) != self._shown:
            self._shown = (text, colour, tip)
            self.setText(text)
            self.setToolTip(tip)
            self.setStyleSheet(f"color: {colour}; font-weight: bold; padding-left: 12px;")
