"""Recording loaders: peer files read correctly, foreign and corrupt files refused clearly."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import wfdb  # type: ignore[import-untyped, unused-ignore]
from replay_peers import MIMIC_CSV, MIMIC_RECORD, MIXED_RECORD, peer

from ketadesk.core.channels import CHANNELS
from ketadesk.sources.base import SourceError
from ketadesk.sources.recordings import (
    NumericSeries,
    Recording,
    load_csv,
    load_recording,
    load_wfdb,
)

MIMIC_NAMES = {
    "HR": "hr", "PULSE": "pr", "RESP": "rr", "SpO2": "spo2",
    "NBPSys": "nibp_sys", "NBPDias": "nibp_dia", "NBPMean": "nibp_mean",
}


def _copy_record(record: Path, dest: Path) -> Path:
    """A writable copy of a peer record's folder (the peers are read-only)."""
    shutil.copytree(record.parent, dest, dirs_exist_ok=True)
    for f in dest.iterdir():
        f.chmod(0o644)
    return dest / record.name


# ---- MIMIC numerics --------------------------------------------------------------------------


def test_mimic_numerics_match_wfdb_with_zero_as_missing() -> None:
    path = peer(MIMIC_RECORD)
    raw = wfdb.rdrecord(str(path))
    rec = load_wfdb(path)
    assert set(rec.channels) == set(MIMIC_NAMES.values())
    assert rec.waveforms == {} and rec.skipped == ()
    assert rec.duration_s == pytest.approx(72 * 60)
    for i, name in enumerate(raw.sig_name):
        series = rec.numerics[MIMIC_NAMES[name]]
        column = raw.p_signal[:, i]
        np.testing.assert_allclose(series.t_s, np.arange(72) * 60.0)
        expected = np.where(column == 0, np.nan, column)
        np.testing.assert_array_equal(series.values, expected)


def test_mimic_known_values() -> None:
    rec = load_recording(peer(MIMIC_RECORD).with_suffix(".hea"))
    # SpO2: no physiological 0 survives; the 0 samples become NaN, the rest are kept.
    spo2 = rec.numerics["spo2"].values
    assert not (spo2 == 0).any()
    assert np.isnan(spo2[:2]).all() and spo2[2] == pytest.approx(95.7)
    assert np.isnan(spo2).sum() == 11
    # PULSE's 277 artefact is kept as recorded; it is inside pr's plausible 20-300 envelope,
    # so Channel.is_valid accepts it: flagging it is left to an artefact/alarm layer.
    pr = rec.numerics["pr"].values
    assert np.nanmax(pr) == 277.0
    assert CHANNELS["pr"].is_valid(277.0)
    # NIBP is mostly missing (the cuff cycles); NaN gaps stay NaN.
    assert np.isnan(rec.numerics["nibp_sys"].values).sum() == 54
    assert rec.numerics["nibp_mean"].values[5] == 94.0
    assert np.nanmax(rec.numerics["rr"].values) == pytest.approx(55.7)


def test_mimic_csv_equals_wfdb_record() -> None:
    from_wfdb = load_wfdb(peer(MIMIC_RECORD))
    from_csv = load_csv(peer(MIMIC_CSV))
    assert from_csv.channels == from_wfdb.channels
    assert from_csv.duration_s == pytest.approx(from_wfdb.duration_s)
    for cid in from_wfdb.numerics:
        np.testing.assert_allclose(from_csv.numerics[cid].t_s, from_wfdb.numerics[cid].t_s)
        np.testing.assert_array_equal(
            from_csv.numerics[cid].values, from_wfdb.numerics[cid].values
        )


def test_arrays_are_read_only() -> None:
    rec = load_csv(peer(MIMIC_CSV))
    with pytest.raises(ValueError):
        rec.numerics["hr"].values[0] = 1.0


# ---- mixedsignals waveforms ------------------------------------------------------------------


def test_mixedsignals_waveforms_keep_their_own_rate() -> None:
    path = peer(MIXED_RECORD)
    raw = wfdb.rdrecord(str(path), smooth_frames=False)
    assert raw.fs == pytest.approx(62.4725)  # the frame rate
    rec = load_recording(path)
    assert rec.channels == ("ecg_ii", "pleth")
    assert rec.numerics == {}
    assert rec.duration_s == pytest.approx(14400 / 62.4725)
    for cid, name in (("ecg_ii", "II"), ("pleth", "Pleth")):
        i = raw.sig_name.index(name)
        wave = rec.waveforms[cid]
        # 4 (ECG) and 2 (pleth) samples per 62.47 Hz frame: kept, never averaged or resampled.
        assert wave.rate_hz == pytest.approx(62.4725 * raw.samps_per_frame[i])
        assert wave.t0_s == 0.0
        np.testing.assert_array_equal(wave.values, raw.e_p_signal[i].astype(np.float32))
    ecg = rec.waveforms["ecg_ii"]
    assert ecg.rate_hz == pytest.approx(249.89)
    assert len(ecg.values) == 57600
    assert 0.01 <= np.isnan(ecg.values).mean() <= 0.02


def test_mixedsignals_unmapped_signals_are_reported() -> None:
    rec = load_wfdb(peer(MIXED_RECORD))
    skipped = {m.split(":")[0]: m for m in rec.skipped}
    assert set(skipped) == {"III", "V", "ABP", "Resp"}
    assert "no KetaDesk channel" in skipped["ABP"]
    assert "waveform" in skipped["Resp"]


# ---- corrupt and foreign WFDB ----------------------------------------------------------------


def test_truncated_fixed_size_dat(tmp_path: Path) -> None:
    record = _copy_record(peer(MIMIC_RECORD), tmp_path)
    dat = tmp_path / "3234460n.dat"
    dat.write_bytes(dat.read_bytes()[:420])
    with pytest.raises(SourceError, match=r"3234460n\.dat: truncated: 420 bytes.*1008"):
        load_wfdb(record)


def test_truncated_flac_dat(tmp_path: Path) -> None:
    record = _copy_record(peer(MIXED_RECORD), tmp_path)
    dat = tmp_path / "mixedsignals_e.dat"
    dat.write_bytes(dat.read_bytes()[:30000])
    with pytest.raises(SourceError, match=r"mixedsignals\.hea: cannot read the signal data"):
        load_wfdb(record)


def test_missing_dat(tmp_path: Path) -> None:
    record = _copy_record(peer(MIMIC_RECORD), tmp_path)
    (tmp_path / "3234460n.dat").unlink()
    with pytest.raises(SourceError, match="signal file named in .* is missing"):
        load_recording(record)


def test_garbage_header(tmp_path: Path) -> None:
    (tmp_path / "junk.hea").write_bytes(b"hello world\x00\x01 garbage\n")
    with pytest.raises(SourceError, match=r"junk\.hea: not a valid WFDB header"):
        load_recording(tmp_path / "junk.hea")


def test_empty_header(tmp_path: Path) -> None:
    (tmp_path / "empty.hea").write_text("")
    with pytest.raises(SourceError, match=r"empty\.hea"):
        load_recording(tmp_path / "empty")


# ---- CSV -------------------------------------------------------------------------------------


def _csv(tmp_path: Path, text: str, name: str = "rec.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_csv_own_ids_units_and_spellings(tmp_path: Path) -> None:
    path = _csv(tmp_path, "t_s,hr,NBP Sys,etco2[kPa],ABP\n0,80,,5,90\n2,0,120,,91\n5,82,,0,92\n")
    rec = load_csv(path)
    assert rec.channels == ("hr", "nibp_sys", "etco2")
    np.testing.assert_array_equal(rec.numerics["hr"].values, [80, np.nan, 82])
    np.testing.assert_array_equal(rec.numerics["nibp_sys"].values, [np.nan, 120, np.nan])
    assert rec.numerics["etco2"].values[0] == pytest.approx(37.5, abs=0.01)
    assert rec.duration_s == pytest.approx(5 + 2.5)  # last t_s + median interval
    assert rec.skipped == ("ABP: no KetaDesk channel for this signal; not loaded",)


def test_csv_wrong_unit_is_skipped_not_scaled(tmp_path: Path) -> None:
    rec = load_csv(_csv(tmp_path, "t_s,hr,spo2[mmHg]\n0,80,97\n"))
    assert rec.channels == ("hr",)
    assert "unit 'mmHg' not understood for spo2" in rec.skipped[0]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the file is empty"),
        ("t_s,hr\n", "no data rows"),
        ("time,hr\n0,80\n", "first column must be 't_s'.*found 'time'"),
        ("t_s,ABP,foo\n0,80,1\n", "no column names a known channel.*allowed: hr, pr"),
        ("t_s,hr\n0,80\n60,abc\n", "line 3, column 'hr': 'abc' is not a number"),
        ("t_s,hr\n0,80\n60,inf\n", "line 3, column 'hr': 'inf' is not a number"),
        ("t_s,hr\n0,80\nx,81\n", "line 3, column 't_s': 'x' is not a number"),
        ("t_s,hr\n0,80\n,81\n", "line 3: t_s is empty"),
        ("t_s,hr\n10,80\n5,81\n", "line 3: t_s must start at 0 or later and increase"),
        ("t_s,hr\n0,80\n\n1,81\n\n2,x\n", "line 6, column 'hr': 'x'"),
        ("t_s,hr,HR\n0,80,80\n", "two columns map to channel hr"),
        ("t_s,hr\n0,80,1\n1,2\n", "line 2 has 3 cells, the header names 2"),
    ],
)
def test_csv_errors_name_file_and_problem(tmp_path: Path, text: str, message: str) -> None:
    path = _csv(tmp_path, text)
    with pytest.raises(SourceError, match=f"rec.csv: .*{message}"):
        load_recording(path)


def test_binary_csv(tmp_path: Path) -> None:
    path = tmp_path / "rec.csv"
    path.write_bytes(b"t_s,hr\n0,\xff\xfe\x00\x81\n")
    with pytest.raises(SourceError, match=r"rec\.csv: not a text CSV"):
        load_csv(path)


# ---- dispatch and the Recording contract -----------------------------------------------------


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("session.db", "stored sessions .* not supported yet"),
        ("notes.txt", "cannot tell the recording type"),
        ("nothing.csv", "no such file"),
        ("nothing.hea", "no such WFDB header"),
    ],
)
def test_dispatch_errors(tmp_path: Path, name: str, message: str) -> None:
    if name == "notes.txt":
        (tmp_path / name).write_text("x")
    with pytest.raises(SourceError, match=message):
        load_recording(tmp_path / name)


def test_recording_checks_what_any_loader_hands_over() -> None:
    t = np.array([0.0, 1.0])
    ok = NumericSeries(t, np.array([1.0, 2.0]))
    assert Recording("x", {"hr": ok}, {}, 2.0).channels == ("hr",)
    with pytest.raises(SourceError, match="'abp' is not a numeric channel id"):
        Recording("x", {"abp": ok}, {}, 2.0)
    with pytest.raises(SourceError, match="hr times must increase within"):
        Recording("x", {"hr": ok}, {}, 1.0)
    with pytest.raises(SourceError, match="duration must be > 0"):
        Recording("x", {"hr": ok}, {}, 0.0)
