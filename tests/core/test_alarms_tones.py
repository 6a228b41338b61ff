"""Alarm tones: pulse counts by envelope detection, harmonics, and a chime unlike any alarm."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from ketadesk.core.alarm_rules import Priority
from ketadesk.core.tones import PATTERNS, SAMPLE_RATE_HZ, alarm_burst, completion_chime

RATE = SAMPLE_RATE_HZ


def _pulses(pcm: npt.NDArray[np.int16]) -> list[tuple[int, int]]:
    """(start, end) sample indices of the pulses found in the envelope.

    Rectify, smooth over 10 ms, then a Schmitt trigger (on above 25 % of the peak, off below
    10 %) so the ripple of a decaying note is not counted as many pulses.
    """
    x = np.abs(pcm.astype(np.float64))
    win = int(0.010 * RATE)
    env = np.convolve(x, np.ones(win) / win, mode="same")
    on_level, off_level = 0.25 * env.max(), 0.10 * env.max()
    pulses, start = [], None
    for i, level in enumerate(env):
        if start is None and level > on_level:
            start = i
        elif start is not None and level < off_level:
            pulses.append((start, i))
            start = None
    if start is not None:
        pulses.append((start, len(env)))
    return pulses


def _spectrum_peak(pcm: npt.NDArray[np.int16], f_hz: float) -> float:
    spec = np.abs(np.fft.rfft(pcm.astype(np.float64) * np.hanning(len(pcm))))
    freqs = np.fft.rfftfreq(len(pcm), 1 / RATE)
    band = (freqs > f_hz - 15) & (freqs < f_hz + 15)
    return float(spec[band].max())


@pytest.mark.parametrize(("priority", "expected"), [(Priority.HIGH, 10), (Priority.MEDIUM, 3),
                                                    (Priority.LOW, 2)])
def test_pulse_count_by_envelope(priority: Priority, expected: int) -> None:
    pcm = alarm_burst(priority)
    assert pcm.dtype == np.int16
    assert len(_pulses(pcm)) == expected


def test_low_priority_can_be_a_single_pulse() -> None:
    assert len(_pulses(alarm_burst(Priority.LOW, low_pulses=1))) == 1


def test_high_priority_is_two_groups_of_five_each_three_plus_two() -> None:
    pulses = _pulses(alarm_burst(Priority.HIGH))
    gaps = [b[0] - a[1] for a, b in zip(pulses, pulses[1:], strict=False)]
    short = min(gaps)
    assert gaps[4] > 3 * short  # the pause between the two groups of five
    assert gaps[2] > 1.5 * short and gaps[7] > 1.5 * short  # 3 + 2 inside each group
    assert all(g < 1.5 * short for i, g in enumerate(gaps) if i not in (2, 4, 7))


@pytest.mark.parametrize("priority", list(Priority))
def test_fundamental_in_range_with_at_least_four_harmonics(priority: Priority) -> None:
    f0 = PATTERNS[priority].fundamental_hz
    assert 150 <= f0 <= 1000
    pcm = alarm_burst(priority)
    fundamental = _spectrum_peak(pcm, f0)
    harmonics = [_spectrum_peak(pcm, k * f0) for k in range(2, 6)]
    # within 15 dB of the fundamental (IEC 60601-1-8 asks for >= 4 such components)
    assert all(h > fundamental * 10 ** (-15 / 20) for h in harmonics)


def test_completion_chime_is_clearly_not_an_alarm() -> None:
    chime = completion_chime()
    assert chime.dtype == np.int16
    assert len(_pulses(chime)) == 2  # two notes, not a pulse train
    assert np.abs(chime).max() < 0.5 * np.abs(alarm_burst(Priority.LOW)).max()  # softer
    g5, c5 = 784.0, 523.25
    for f in (g5, c5):
        fundamental = _spectrum_peak(chime, f)
        for k in (2, 3, 4):  # pure sines: no harmonic within 40 dB
            assert _spectrum_peak(chime, k * f) < fundamental * 10 ** (-40 / 20)
    half = len(chime) // 2  # descending: the first note is the higher one
    assert _spectrum_peak(chime[:half], g5) > 10 * _spectrum_peak(chime[:half], c5)
    assert _spectrum_peak(chime[half:], c5) > 10 * _spectrum_peak(chime[half:], g5)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"fundamental_hz": 100.0}, "outside 150-1000 Hz"),
        ({"volume": 0.0}, "volume must be above 0"),
        ({"sample_rate_hz": 4000}, "cannot carry"),
        ({"low_pulses": 3}, "1 or 2 pulses"),
    ],
)
def test_bad_tone_arguments_are_refused(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        alarm_burst(Priority.LOW, **kwargs)  # type: ignore[arg-type]
