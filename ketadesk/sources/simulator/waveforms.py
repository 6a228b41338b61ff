"""Waveform synthesis: ECG lead II and pleth that follow the simulated heart rate.

A beat-phase accumulator integrates the instantaneous heart rate sample by sample, so the
waveforms stay continuous across reads of any size and across HR changes; each sample is a
fixed beat template evaluated at the phase. Same seed and same HR -> same samples, however
the reads are chunked.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

# ECG beat as a sum of Gaussians over beat phase 0..1 (P, Q, R, S, T): (centre, width, mV)
_ECG_WAVES = (
    (0.12, 0.025, 0.12),
    (0.255, 0.008, -0.10),
    (0.27, 0.010, 1.10),
    (0.285, 0.010, -0.25),
    (0.55, 0.045, 0.30),
)


def ecg_template(phase: FloatArray) -> FloatArray:
    p = np.mod(phase, 1.0)
    out = np.zeros_like(p)
    for centre, width, amp in _ECG_WAVES:
        out += amp * np.exp(-0.5 * ((p - centre) / width) ** 2)
    return out


def pleth_template(phase: FloatArray) -> FloatArray:
    """Pulse oximeter wave: systolic upstroke, dicrotic notch, diastolic run-off (0..1)."""
    # Delayed behind the R wave (pulse transit time) by a fixed fraction of the beat.
    p = np.mod(phase - 0.35, 1.0)
    systolic = np.exp(-0.5 * ((p - 0.18) / 0.07) ** 2)
    dicrotic = 0.35 * np.exp(-0.5 * ((p - 0.45) / 0.08) ** 2)
    return systolic + dicrotic


class BeatPhase:
    """Integrates heart rate into beat phase at a fixed sample rate."""

    def __init__(self, rate_hz: float) -> None:
        self.rate_hz = rate_hz
        self.phase = 0.0
        self.n_done = 0  # samples generated so far; sample n is at t = n / rate_hz

    def advance(self, hr_bpm: FloatArray) -> FloatArray:
        """Phases for the next len(hr_bpm) samples, given HR at each of them."""
        inc = hr_bpm / 60.0 / self.rate_hz
        phases = self.phase + np.cumsum(inc) - inc
        if len(inc):
            self.phase = float(phases[-1] + inc[-1]) % 1.0
            phases = np.mod(phases, 1.0)
        self.n_done += len(hr_bpm)
        return phases


class TemplateTable:
    """A beat template tabulated over one beat and read by linear interpolation.

    Evaluating the Gaussians for every sample was most of the cost of a max-speed session;
    a 4096-point table is several times faster. It differs from the formula by < 0.1 uV
    (ECG); the pleth only within 1/4096 of a beat of the template's wrap point.
    """

    def __init__(self, template: Callable[[FloatArray], FloatArray], points: int = 4096) -> None:
        self._grid = np.linspace(0.0, 1.0, points + 1)
        self._table = template(self._grid)

    def __call__(self, phase: FloatArray) -> FloatArray:
        return np.interp(np.mod(phase, 1.0), self._grid, self._table)


ECG_TABLE = TemplateTable(ecg_template)
PLETH_TABLE = TemplateTable(pleth_template)
