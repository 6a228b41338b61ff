"""Recordings read from files, in one shape the replay source can play back as if live.

A loader turns a file into a `Recording`: numerics per channel as (t_s, value) arrays, waveforms
per channel as evenly spaced samples at their own rate, all in seconds from the start of the
recording. Loaders map foreign signal names and units onto our channel ids, turn the 0 a monitor
sends for "no measurement" into NaN (Channel.zero_means_missing) and keep NaN gaps as NaN; they
never resample and never judge plausibility (that is Channel.is_valid's job downstream).
Signals without a KetaDesk channel are listed in `Recording.skipped`, not silently dropped.

A loader for another file type is a function Path -> Recording added to `LOADERS` under its
file extension. Corrupt or foreign files raise SourceError naming the file and what is wrong.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ketadesk.core.channels import CHANNELS, Kind
from ketadesk.sources.base import SourceError

FloatArray = npt.NDArray[np.float64]

# Below this rate a signal is a numeric trend (MIMIC numerics: 1/60 or 1 Hz), above a waveform.
# WFDB uses the same names for both ("Resp" is an impedance waveform or a rate numeric).
NUMERIC_MAX_RATE_HZ = 5.0


@dataclass(frozen=True, eq=False)
class NumericSeries:
    """One numeric channel: value[i] was measured at t_s[i]; NaN = no measurement."""

    t_s: FloatArray
    values: FloatArray


@dataclass(frozen=True, eq=False)
class WaveformSeries:
    """One waveform channel: sample i was taken at t0_s + i / rate_hz; NaN = gap."""

    t0_s: float
    rate_hz: float
    values: npt.NDArray[np.float32]


@dataclass(frozen=True, eq=False)
class Recording:
    """A whole recording, times in seconds from its start. Arrays are read-only."""

    label: str
    numerics: Mapping[str, NumericSeries]
    waveforms: Mapping[str, WaveformSeries]
    duration_s: float  # end of the recording; every sample time is < duration_s
    skipped: tuple[str, ...] = ()  # one message per foreign signal not loaded, saying why

    def __post_init__(self) -> None:
        # Checked here so every loader, present or future, hands replay the same guarantees.
        if not (math.isfinite(self.duration_s) and self.duration_s > 0):
            raise SourceError(f"{self.label}: duration must be > 0 s, got {self.duration_s}")
        for cid, kind in [(c, Kind.NUMERIC) for c in self.numerics] + [
            (c, Kind.WAVEFORM) for c in self.waveforms
        ]:
            if cid not in CHANNELS or CHANNELS[cid].kind is not kind:
                raise SourceError(f"{self.label}: {cid!r} is not a {kind.value} channel id")
        for cid, num in self.numerics.items():
            t = num.t_s
            if len(t) != len(num.values) or len(t) == 0:
                raise SourceError(f"{self.label}: {cid} needs as many values as times, and some")
            if (np.diff(t) <= 0).any() or t[0] < 0 or t[-1] >= self.duration_s:
                raise SourceError(
                    f"{self.label}: {cid} times must increase within [0, {self.duration_s:g}) s"
                )
        for cid, wave in self.waveforms.items():
            end_s = wave.t0_s + len(wave.values) / wave.rate_hz if wave.rate_hz > 0 else math.inf
            if wave.t0_s < 0 or end_s > self.duration_s + 1e-9:
                raise SourceError(
                    f"{self.label}: {cid} needs rate > 0 and samples within the recording"
                )

    @property
    def channels(self) -> tuple[str, ...]:
        """Channel ids present, in the order of the channel table."""
        present = set(self.numerics) | set(self.waveforms)
        return tuple(c for c in CHANNELS if c in present)


RecordingLoader = Callable[[Path], Recording]


def _key(name: str) -> str:
    """Spelling-insensitive key: 'NBP Sys', 'NBPSys', 'nibp_sys' and '%SpO2' all normalise."""
    return "".join(ch for ch in name.lower() if ch.isalnum())


# Foreign signal names (WFDB/MIMIC, CSV headers) -> channel id, by kind. Our own ids are included
# so a KetaDesk CSV maps through the same table.
_NUMERIC_NAMES: dict[str, str] = {
    _key(name): cid
    for cid, names in {
        "hr": ("hr", "heart rate"),
        "pr": ("pr", "pulse", "pulse rate"),
        "rr": ("rr", "resp", "resp rate", "respiration rate"),
        "spo2": ("spo2",),
        "nibp_sys": ("nibp_sys", "nbp sys", "nbp systolic"),
        "nibp_dia": ("nibp_dia", "nbp dias", "nbp dia", "nbp diastolic"),
        "nibp_mean": ("nibp_mean", "nbp mean"),
        "etco2": ("etco2",),
        "temp": ("temp",),
    }.items()
    for name in names
}
_WAVEFORM_NAMES: dict[str, str] = {
    _key(name): cid
    for cid, names in {"ecg_ii": ("ecg_ii", "ii", "ecg ii", "lead ii"), "pleth": ("pleth",)}.items()
    for name in names
}

# Accepted units per channel (normalised with _key, '%' and '°' kept) -> factor to our unit.
# A unit not listed is refused for that signal rather than replayed at the wrong scale.
_PER_MIN = {"bpm": 1.0, "min": 1.0, "1min": 1.0, "pm": 1.0, "beatsmin": 1.0}
_UNITS: dict[str, dict[str, float]] = {
    "hr": _PER_MIN,
    "pr": _PER_MIN,
    "rr": {**_PER_MIN, "rpm": 1.0, "breathsmin": 1.0, "brmin": 1.0},
    "spo2": {"%": 1.0},
    "nibp_sys": {"mmhg": 1.0},
    "nibp_dia": {"mmhg": 1.0},
    "nibp_mean": {"mmhg": 1.0},
    "etco2": {"mmhg": 1.0, "kpa": 7.50062},
    "temp": {"°c": 1.0, "degc": 1.0, "c": 1.0},
    "ecg_ii": {"mv": 1.0, "uv": 1e-3, "µv": 1e-3, "μv": 1e-3},
}


def _unit_key(unit: str) -> str:
    return "".join(ch for ch in unit.lower() if ch.isalnum() or ch in "%°µμ")


def _map_signal(
    name: str, unit: str | None, rate_hz: float | None
) -> tuple[str | None, float, str]:
    """(channel id or None, scale factor, reason when None). rate_hz None = numeric (CSV)."""
    is_numeric = rate_hz is None or rate_hz < NUMERIC_MAX_RATE_HZ
    table, other = (_NUMERIC_NAMES, _WAVEFORM_NAMES) if is_numeric else (
        _WAVEFORM_NAMES, _NUMERIC_NAMES)
    cid = table.get(_key(name))
    if cid is None:
        if _key(name) in other:
            kind = "numeric" if is_numeric else "waveform"
            rate = "" if rate_hz is None else f" at {rate_hz:g} Hz"
            return None, 1.0, (
                f"{name}: a {kind}{rate}, but channel {other[_key(name)]} is not a {kind}; "
                "not loaded")
        return None, 1.0, f"{name}: no KetaDesk channel for this signal; not loaded"
    if unit is None or cid == "pleth":  # pleth is in arbitrary units on every monitor
        return cid, 1.0, ""
    factors = _UNITS.get(cid, {})
    factor = factors.get(_unit_key(unit))
    if factor is None:
        allowed = ", ".join(sorted(factors)) or "none"
        return None, 1.0, f"{name}: unit {unit!r} not understood for {cid} (allowed: {allowed})"
    return cid, factor, ""


def _as_channel_values(cid: str, raw: npt.ArrayLike, factor: float) -> FloatArray:
    values = np.asarray(raw, dtype=np.float64) * factor
    if CHANNELS[cid].zero_means_missing:
        values[values == 0] = np.nan  # a monitor's 0 here means "no measurement"
    return values


def _frozen(a: npt.NDArray[Any]) -> npt.NDArray[Any]:
    a.flags.writeable = False
    return a


# ---- CSV ----------------------------------------------------------------------------------


def load_csv(path: Path | str) -> Recording:
    """Load a numerics CSV (docs/csv-format.md): `t_s`, then one column per channel."""
    path = Path(path)
    lines, rows = _read_csv_rows(path)
    columns = [c.strip() for c in rows[0]]
    if columns[0] != "t_s":
        raise SourceError(
            f"{path}: the first column must be 't_s' (seconds from start), found "
            f"{columns[0]!r}; see docs/csv-format.md"
        )
    body, lines = rows[1:], lines[1:]
    if not body:
        raise SourceError(f"{path}: no data rows after the header")
    for line, row in zip(lines, body, strict=True):
        if len(row) > len(columns):
            raise SourceError(
                f"{path}: line {line} has {len(row)} cells, the header names {len(columns)}"
            )
    # Short rows (trailing empty cells left out by some writers) read as missing values.
    cells = [row + [""] * (len(columns) - len(row)) for row in body]

    t_s = _csv_column(path, lines, [r[0] for r in cells], "t_s")
    if np.isnan(t_s).any():
        line = lines[int(np.flatnonzero(np.isnan(t_s))[0])]
        raise SourceError(f"{path}: line {line}: t_s is empty; every row needs a time")
    backwards = np.flatnonzero(np.diff(t_s) <= 0)
    if t_s[0] < 0 or len(backwards):
        line = lines[int(backwards[0]) + 1] if len(backwards) else lines[0]
        raise SourceError(
            f"{path}: line {line}: t_s must start at 0 or later and increase on every row"
        )
    _frozen(t_s)  # one read-only time array shared by every channel of the file

    numerics: dict[str, NumericSeries] = {}
    skipped: list[str] = []
    for i, header in enumerate(columns[1:], start=1):
        name, unit = _split_unit(header)
        cid, factor, reason = _map_signal(name, unit, None)
        if cid is None:
            skipped.append(reason)
            continue
        if CHANNELS[cid].kind is not Kind.NUMERIC:
            skipped.append(f"{header}: waveforms are not read from CSV (numerics only)")
            continue
        if cid in numerics:
            raise SourceError(f"{path}: two columns map to channel {cid} (second: {header!r})")
        raw = _csv_column(path, lines, [r[i] for r in cells], header)
        numerics[cid] = NumericSeries(t_s, _frozen(_as_channel_values(cid, raw, factor)))
    if not numerics:
        raise SourceError(
            f"{path}: no column names a known channel (found {', '.join(columns[1:]) or 'none'});"
            f" allowed: {', '.join(c for c in CHANNELS if CHANNELS[c].kind is Kind.NUMERIC)}"
        )
    # The last row stands for one sampling interval, so a loop does not repeat its instant.
    step = float(np.median(np.diff(t_s))) if len(t_s) > 1 else 1.0
    return Recording(path.name, numerics, {}, float(t_s[-1]) + step, tuple(skipped))


def _read_csv_rows(path: Path) -> tuple[list[int], list[list[str]]]:
    """(line number of each row, the non-blank rows as text), header first."""
    lines: list[int] = []
    rows: list[list[str]] = []
    try:
        with path.open(encoding="utf-8-sig", newline="") as f:
            reader = csv.reader(f)
            for row in reader:
                if row:
                    lines.append(reader.line_num)
                    rows.append(row)
    except FileNotFoundError:
        raise SourceError(f"{path}: no such file") from None
    except UnicodeDecodeError:
        raise SourceError(f"{path}: not a text CSV file (not UTF-8)") from None
    except (OSError, csv.Error) as exc:
        raise SourceError(f"{path}: cannot be read as CSV: {exc}") from None
    if not rows:
        raise SourceError(f"{path}: the file is empty; expected a header line 't_s,...'")
    return lines, rows


def _split_unit(header: str) -> tuple[str, str | None]:
    """'HR[bpm]' -> ('HR', 'bpm'); 'hr' -> ('hr', None)."""
    if header.endswith("]") and "[" in header:
        name, _, unit = header[:-1].partition("[")
        return name.strip(), unit.strip()
    return header, None


def _csv_column(path: Path, lines: list[int], cells: list[str], header: str) -> FloatArray:
    """Parse one column: empty or 'nan' = NaN; anything else must be a finite number."""
    text = [c.strip() for c in cells]
    blank = np.array([c == "" or c.lower() == "nan" for c in text])
    values = np.full(len(text), np.nan)
    for row, cell in enumerate(text):
        if blank[row]:
            continue
        try:
            values[row] = float(cell)
        except ValueError:
            values[row] = np.inf  # reported below with the non-finite numbers
    bad = ~blank & ~np.isfinite(values)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise SourceError(
            f"{path}: line {lines[row]}, column {header!r}: {text[row]!r} is not a number "
            "(leave the cell empty for a missing value)"
        )
    return values


# ---- WFDB ---------------------------------------------------------------------------------

# Bytes per sample of the WFDB storage formats whose size follows from the header; the
# FLAC formats (508, 516, 524) are compressed and checked by decoding them.
_BYTES_PER_SAMPLE = {
    "8": 1.0, "16": 2.0, "24": 3.0, "32": 4.0, "61": 2.0, "80": 1.0, "160": 2.0,
    "212": 1.5, "310": 4 / 3, "311": 4 / 3,
}


def _record_path(path: Path | str) -> Path:
    """The record path without extension, from 'rec', 'rec.hea' or 'rec.dat'-less names."""
    path = Path(path)
    return path.with_suffix("") if path.suffix == ".hea" else path


def load_wfdb(record: Path | str) -> Recording:
    """Load a single-segment WFDB record (path without extension, or the .hea file)."""
    import wfdb  # type: ignore[import-untyped, unused-ignore]

    record = _record_path(record)
    hea = record.with_name(record.name + ".hea")
    if not hea.is_file():
        raise SourceError(f"{hea}: no such WFDB header file")
    try:
        header = wfdb.rdheader(str(record))
    except Exception as exc:  # wfdb raises many types for a bad header
        raise SourceError(f"{hea}: not a valid WFDB header: {exc}") from None
    if getattr(header, "n_seg", None):
        raise SourceError(f"{hea}: multi-segment records are not supported; open one segment")
    if not header.n_sig or not header.sig_len:
        raise SourceError(f"{hea}: the header declares no signals or no samples")
    _check_dat_files(record, header)
    try:
        rec = wfdb.rdrecord(str(record), smooth_frames=False)
    except Exception as exc:
        files = ", ".join(sorted(set(header.file_name)))
        raise SourceError(f"{hea}: cannot read the signal data ({files}): {exc}") from None

    frame_hz = float(rec.fs)
    sig_len = int(rec.sig_len)
    numerics: dict[str, NumericSeries] = {}
    waveforms: dict[str, WaveformSeries] = {}
    skipped: list[str] = []
    for i, name in enumerate(rec.sig_name):
        # Samples per frame: a signal stored at 4 per frame runs at 4x the frame rate.
        rate_hz = frame_hz * int(rec.samps_per_frame[i])
        cid, factor, reason = _map_signal(str(name), str(rec.units[i]), rate_hz)
        if cid is None:
            skipped.append(reason)
            continue
        if cid in numerics or cid in waveforms:
            skipped.append(f"{name}: channel {cid} already loaded from an earlier signal")
            continue
        values = _as_channel_values(cid, rec.e_p_signal[i], factor)
        if CHANNELS[cid].kind is Kind.NUMERIC:
            t_s = np.arange(len(values), dtype=np.float64) / rate_hz
            numerics[cid] = NumericSeries(_frozen(t_s), _frozen(values))
        else:
            waveforms[cid] = WaveformSeries(0.0, rate_hz, _frozen(values.astype(np.float32)))
    if not numerics and not waveforms:
        raise SourceError(
            f"{hea}: no signal maps to a KetaDesk channel: " + "; ".join(skipped)
        )
    return Recording(record.name, numerics, waveforms, sig_len / frame_hz, tuple(skipped))


def _check_dat_files(record: Path, header: Any) -> None:
    """Refuse missing or truncated signal files before wfdb fails with an obscure message."""
    samples_per_frame: dict[str, int] = {}
    formats: dict[str, str] = {}
    offsets: dict[str, int] = {}
    for i, file_name in enumerate(header.file_name):
        samples_per_frame[file_name] = samples_per_frame.get(file_name, 0) + int(
            header.samps_per_frame[i]
        )
        formats[file_name] = str(header.fmt[i])
        offsets[file_name] = int(header.byte_offset[i] or 0)
    for file_name, spf in samples_per_frame.items():
        dat = record.parent / file_name
        if not dat.is_file():
            raise SourceError(f"{dat}: signal file named in {record.name}.hea is missing")
        bps = _BYTES_PER_SAMPLE.get(formats[file_name])
        if bps is None:
            continue
        needed = offsets[file_name] + math.floor(int(header.sig_len) * spf * bps)
        size = dat.stat().st_size
        if size < needed:
            raise SourceError(
                f"{dat}: truncated: {size} bytes, but the header declares {header.sig_len} "
                f"frames of format {formats[file_name]} needing {needed} bytes"
            )


# ---- dispatch -----------------------------------------------------------------------------

LOADERS: dict[str, RecordingLoader] = {".csv": load_csv, ".hea": load_wfdb}


def load_recording(path: Path | str) -> Recording:
    """Load by extension: .csv, .hea, or a WFDB record path with a .hea beside it."""
    path = Path(path)
    loader = LOADERS.get(path.suffix.lower())
    if loader is None and path.with_name(path.name + ".hea").is_file():
        loader = load_wfdb
    if loader is None:
        kinds = ", ".join(sorted(LOADERS))
        if path.suffix.lower() == ".db":
            raise SourceError(f"{path}: replaying stored sessions (.db) is not supported yet")
        raise SourceError(
            f"{path}: cannot tell the recording type; use a file ending in {kinds}, "
            "or a WFDB record path with a .hea file beside it"
        )
    if not path.exists() and loader is not load_wfdb:
        raise SourceError(f"{path}: no such file")
    return loader(path)
