"""Alarm sounds as numbers: IEC 60601-1-8 style pulse bursts and a non-alarm completion chime.

Pure numpy, int16 mono PCM, so the GUI only has to play a buffer and tests can count pulses.
Patterns (DOMAIN.md section 6, verify before claiming compliance): high priority 10 pulses as
two groups of 5 (each 3 + 2), medium 3 pulses, low 1-2 pulses; fundamental 150-1000 Hz with at
least 4 harmonics. The completion chime (infusion end) is deliberately unlike any alarm: two soft
descending pure sine notes with a bell-like decay, no harmonics, no pulse train.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ketadesk.core.alarm_rules import Priority

SAMPLE_RATE_HZ = 22_050
HARMONIC_AMPLITUDES: tuple[float, ...] = (1.0, 0.7, 0.55, 0.45, 0.35)  # fundamental + 4


@dataclass(frozen=True)
class BurstPattern:
    pulse_s: float  # pulse duration td, ramps included
    gaps_s: tuple[float, ...]  # silence between consecutive pulses (one fewer than pulses)
    fundamental_hz: float
    repeat_s: float  # start-to-start interval of bursts, for the player

    @property
    def pulses(self) -> int:
        return len(self.gaps_s) + 1


# IEC 60601-1-8 pulse timing as reported in monitor manuals: high td 75-200 ms, gap x 50-125 ms,
# 3rd-4th gap 2x + td, between the two groups of 5 0.35-1.3 s; medium/low td 125-250 ms,
# gap 125-250 ms. Repeat: high 2.5-15 s, medium 2.5-30 s, low > 15 s (DOMAIN.md section 6).
_X = 0.10
_TD_HIGH = 0.15
_GROUP = (_X, _X, 2 * _X + _TD_HIGH, _X)  # 3 + 2 pulses
PATTERNS: dict[Priority, BurstPattern] = {
    Priority.HIGH: BurstPattern(_TD_HIGH, (*_GROUP, 1.0, *_GROUP), 660.0, 10.0),
    Priority.MEDIUM: BurstPattern(0.20, (0.20, 0.20), 520.0, 20.0),
    Priority.LOW: BurstPattern(0.20, (0.20,), 440.0, 30.0),
}


def _check(sample_rate_hz: int, volume: float, top_hz: float) -> None:
    if not 0 < volume <= 1:
        raise ValueError(f"volume must be above 0 and at most 1, got {volume}")
    if sample_rate_hz < 2 * top_hz + 1:
        raise ValueError(f"sample rate {sample_rate_hz} Hz cannot carry {top_hz:.0f} Hz; "
                         f"use at least {int(2 * top_hz) + 1} Hz")


def _to_pcm(signal: npt.NDArray[np.float64], volume: float) -> npt.NDArray[np.int16]:
    peak = float(np.max(np.abs(signal))) or 1.0
    return np.round(signal / peak * volume * 32767).astype(np.int16)


def _pulse(n: int, sample_rate_hz: int, fundamental_hz: float) -> npt.NDArray[np.float64]:
    t = np.arange(n) / sample_rate_hz
    tone = sum(a * np.sin(2 * np.pi * fundamental_hz * (k + 1) * t)
               for k, a in enumerate(HARMONIC_AMPLITUDES))
    # 15 % raised-cosine ramps: IEC asks for rise 10-20 % of td; hard edges would click.
    ramp = max(1, int(0.15 * n))
    env = np.ones(n)
    edge = 0.5 - 0.5 * np.cos(np.linspace(0, np.pi, ramp))
    env[:ramp], env[-ramp:] = edge, edge[::-1]
    return np.asarray(tone * env, dtype=np.float64)


def alarm_burst(priority: Priority, sample_rate_hz: int = SAMPLE_RATE_HZ, volume: float = 0.8,
                fundamental_hz: float | None = None, low_pulses: int = 2) -> npt.NDArray[np.int16]:
    """One burst of the priority's pulse pattern as int16 PCM (play it every repeat_s)."""
    pattern = PATTERNS[priority]
    f0 = pattern.fundamental_hz if fundamental_hz is None else float(fundamental_hz)
    if not 150 <= f0 <= 1000:
        raise ValueError(f"fundamental {f0} Hz is outside 150-1000 Hz (IEC 60601-1-8)")
    if priority is Priority.LOW and low_pulses not in (1, 2):
        raise ValueError(f"a low-priority burst has 1 or 2 pulses, got {low_pulses}")
    _check(sample_rate_hz, volume, f0 * len(HARMONIC_AMPLITUDES))
    gaps = pattern.gaps_s[: low_pulses - 1] if priority is Priority.LOW else pattern.gaps_s
    pulse = _pulse(int(round(pattern.pulse_s * sample_rate_hz)), sample_rate_hz, f0)
    parts = [pulse]
    for gap_s in gaps:
        parts += [np.zeros(int(round(gap_s * sample_rate_hz))), pulse]
    return _to_pcm(np.concatenate(parts), volume)


def completion_chime(sample_rate_hz: int = SAMPLE_RATE_HZ,
                     volume: float = 0.3) -> npt.NDArray[np.int16]:
    """A soft two-note descending chime (G5 then C5), pure sines: information, not an alarm."""
    notes_hz, note_s = (784.0, 523.25), 0.45
    _check(sample_rate_hz, volume, max(notes_hz))
    n = int(round(note_s * sample_rate_hz))
    t = np.arange(n) / sample_rate_hz
    attack = np.minimum(1.0, t / 0.01)  # 10 ms attack avoids a click
    env = attack * np.exp(-t / 0.12)  # bell-like decay, unlike the flat alarm pulses
    notes = [np.sin(2 * np.pi * f * t) * env for f in notes_hz]
    return _to_pcm(np.concatenate(notes), volume)
