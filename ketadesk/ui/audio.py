"""Sound output through Qt Multimedia, or an honest report that there is none.

A headless machine has no audio device, and Qt Multimedia will not even import without
libpulse (DESIGN.md). Either way the app runs on: `available` is False and `problem` says why,
and the caller raises the technical alarm "audio unavailable" (DOMAIN.md section 6).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QObject


class AudioOutput(QObject):
    """Plays int16 mono PCM buffers, one at a time (a newer sound replaces an older one)."""

    def __init__(self, sample_rate_hz: int = 22050, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.sample_rate_hz = sample_rate_hz
        self.problem: str | None = None
        self._sink = None
        self._buffer: QBuffer | None = None
        self.played: list[str] = []  # names of the sounds started, newest last (tests, debrief)
        try:
            from PySide6.QtMultimedia import QAudioFormat, QAudioSink, QMediaDevices
        except ImportError as exc:  # e.g. libpulse.so.0 missing
            self.problem = f"Qt Multimedia cannot load ({exc}); install the Debian package libpulse0"
            return
        device = QMediaDevices.defaultAudioOutput()
        if device.isNull():
            self.problem = "no audio output device on this machine"
            return
        fmt = QAudioFormat()
        fmt.setSampleRate(sample_rate_hz)
        fmt.setChannelCount(1)
        fmt.setSampleFormat(QAudioFormat.SampleFormat.Int16)
        if not device.isFormatSupported(fmt):
            self.problem = f"the audio device {device.description()!r} refuses 16-bit mono PCM"
            return
        self._sink = QAudioSink(device, fmt, self)

    @property
    def available(self) -> bool:
        return self._sink is not None

    def play(self, name: str, pcm: npt.NDArray[np.int16]) -> bool:
        """Start a sound; False (and nothing played) when there is no audio output."""
        self.played.append(name)
        if self._sink is None:
            return False
        self._sink.stop()
        data = QByteArray(np.ascontiguousarray(pcm, dtype="<i2").tobytes())
        self._buffer = QBuffer(self)
        self._buffer.setData(data)
        self._buffer.open(QIODevice.OpenModeFlag.ReadOnly)
        self._sink.start(self._buffer)
        return True

    def stop(self) -> None:
        if self._sink is not None:
            self._sink.stop()
