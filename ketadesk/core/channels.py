"""Channel definitions: what each vital is, its unit, plausible range, MDC code and colour.

The plausible range is the physical envelope a sensor can report, not an alarm limit: a value
outside it (or NaN, or the 0 a probe sends with no signal) is invalid data, shown as dashes,
and can neither raise nor clear a physiological alarm.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum


class Kind(Enum):
    NUMERIC = "numeric"
    WAVEFORM = "waveform"


@dataclass(frozen=True)
class Channel:
    id: str
    label: str
    unit: str
    kind: Kind
    plausible_min: float
    plausible_max: float
    mdc_code: int | None
    mdc_refid: str
    colour: str  # display colour, "#rrggbb"
    zero_means_missing: bool = False  # monitors send 0 for "no probe" on these
    continuous: bool = True  # False for intermittent measurements (NIBP)
    nominal_rate_hz: float | None = None  # waveforms only

    def is_valid(self, value: float) -> bool:
        """Whether a value can be trusted as a measurement (see the module docstring)."""
        if value is None or not math.isfinite(value):
            return False
        if self.zero_means_missing and value == 0:
            return False
        if self.kind is Kind.WAVEFORM:
            return True  # waveform samples are only drawn; NaN already excluded
        return self.plausible_min <= value <= self.plausible_max


def _n(
    id: str, label: str, unit: str, lo: float, hi: float, code: int | None, refid: str,
    colour: str, *, zero_missing: bool = True, continuous: bool = True,
) -> Channel:
    return Channel(id, label, unit, Kind.NUMERIC, lo, hi, code, refid, colour,
                   zero_means_missing=zero_missing, continuous=continuous)


# Colours follow common monitor conventions: ECG/HR green, SpO2/pleth cyan, BP red,
# respiration yellow, CO2 white-ish, temperature orange.
CHANNELS: dict[str, Channel] = {
    c.id: c
    for c in (
        _n("hr", "HR", "bpm", 20, 300, 147842, "MDC_ECG_HEART_RATE", "#33dd55"),
        _n("pr", "PR", "bpm", 20, 300, 149530, "MDC_PULS_OXIM_PULS_RATE", "#22ccee"),
        _n("spo2", "SpO\u2082", "%", 50, 100, 150456, "MDC_PULS_OXIM_SAT_O2", "#22ccee"),
        _n("nibp_sys", "NIBP sys", "mmHg", 40, 300, 150021, "MDC_PRESS_BLD_NONINV_SYS",
           "#ff5555", continuous=False),
        _n("nibp_dia", "NIBP dia", "mmHg", 15, 200, 150022, "MDC_PRESS_BLD_NONINV_DIA",
           "#ff5555", continuous=False),
        _n("nibp_mean", "NIBP mean", "mmHg", 20, 250, 150023, "MDC_PRESS_BLD_NONINV_MEAN",
           "#ff8888", continuous=False),
        _n("rr", "RR", "/min", 2, 80, 151562, "MDC_RESP_RATE", "#eedd33"),
        # EtCO2 code 151708 is marked uncertain in DOMAIN.md; kept for mapping, not authority.
        _n("etco2", "EtCO\u2082", "mmHg", 5, 100, 151708, "MDC_AWAY_CO2_ET", "#dddddd"),
        _n("temp", "Temp", "\u00b0C", 25, 45, 150344, "MDC_TEMP", "#ffaa33"),
        Channel("ecg_ii", "ECG II", "mV", Kind.WAVEFORM, -5, 5, 131074, "MDC_ECG_ELEC_POTL_II",
                "#33dd55", nominal_rate_hz=250.0),
        Channel("pleth", "Pleth", "", Kind.WAVEFORM, -10, 10, 150452, "MDC_PULS_OXIM_PLETH",
                "#22ccee", nominal_rate_hz=125.0),
    )
}

NUMERIC_IDS: tuple[str, ...] = tuple(c.id for c in CHANNELS.values() if c.kind is Kind.NUMERIC)
WAVEFORM_IDS: tuple[str, ...] = tuple(c.id for c in CHANNELS.values() if c.kind is Kind.WAVEFORM)


def channel(channel_id: str) -> Channel:
    """Look a channel up by id, with a message listing the known ids if it is unknown."""
    try:
        return CHANNELS[channel_id]
    except KeyError:
        raise KeyError(
            f"unknown channel {channel_id!r}; known channels: {', '.join(CHANNELS)}"
        ) from None
