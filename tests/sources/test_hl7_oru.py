"""ORU^R01 interpretation and ACK building (no sockets)."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ketadesk.sources.hl7_oru import (
    ObxOutcome,
    build_ack,
    build_reject,
    check_unit,
    interpret,
    parse_mdc_code,
)

NOW = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
MSH = ("MSH|^~\\&|MON^00AB^EUI-64|WARD|KETADESK|KETADESK|20250101120000||ORU^R01^ORU_R01|"
       "C42|P|2.6")


def peers_dir() -> Path:
    env = os.environ.get("KETADESK_PEERS")
    return Path(env) if env else Path(__file__).resolve().parents[2] / ".." / "shared" / "peers"


def oru(*obx: str, msh: str = MSH) -> bytes:
    rows = [msh, "PID|||P1", "OBR|1|X"]
    rows += [f"OBX|{i}|{row}" for i, row in enumerate(obx, start=1)]
    return "\r".join(rows).encode()


def msa(ack: bytes) -> list[str]:
    segment = next(s for s in ack.decode().split("\r") if s.startswith("MSA|"))
    return segment.split("|")


def only(payload: bytes) -> tuple[ObxOutcome, str | None, float | None, str]:
    result = interpret(payload)
    assert len(result.observations) == 1, result
    o = result.observations[0]
    return o.outcome, o.channel, o.value, o.reason


def test_peer_sample_maps_every_vital() -> None:
    path = peers_dir() / "hl7" / "oru_r01_pcd01_sample.hl7"
    if not path.exists():
        pytest.skip(f"peer file {path} not found; set KETADESK_PEERS=/path/to/shared/peers")
    result = interpret(path.read_bytes())
    assert result.ack_code == "AA", result.reason
    values = {o.channel: o.value for o in result.observations
              if o.outcome is ObxOutcome.ACCEPTED}
    assert values == {"hr": 72, "spo2": 97, "nibp_sys": 128, "nibp_dia": 78, "rr": 14}
    assert result.observations[0].outcome is ObxOutcome.SKIPPED  # the MDS containment row
    assert result.observations[1].observed_at == "20250101120000+0000"


def test_partition_hex_codes() -> None:
    assert parse_mdc_code("0002-4182") == 2 * 65536 + 0x4182 == 147842
    assert parse_mdc_code("0002-4BB8") == 2 * 65536 + 0x4BB8 == 150456
    assert parse_mdc_code("147842") == 147842
    for bad in ("", "MDC_ECG_HEART_RATE", "0002-XYZ1", "12a", "\u0663\u0664", "99999999999"):
        assert parse_mdc_code(bad) is None, bad
    outcome, channel, value, _ = only(oru("NM|0002-4182^MDC_ECG_HEART_RATE^MDC|1.0.1.1|64|"
                                          "0004-0AA0^bpm^MDC|||||R"))
    assert (outcome, channel, value) == (ObxOutcome.ACCEPTED, "hr", 64.0)


@pytest.mark.parametrize("code", ["149530", "149522", "150457"])
def test_pulse_rate_variants(code: str) -> None:
    outcome, channel, value, _ = only(oru(f"NM|{code}^PR^MDC|1.0.1.1|81|264864^/min^MDC||||R"))
    assert (outcome, channel, value) == (ObxOutcome.ACCEPTED, "pr", 81.0)


@pytest.mark.parametrize(
    ("row", "reason_part"),
    [
        ("NM|150456^SAT^MDC|1.0.1.2|-100|262688^%^MDC|||||R", "-100"),
        ("NM|150456^SAT^MDC|1.0.1.2||262688^%^MDC|||||R", "empty"),
        ("NM|150456^SAT^MDC|1.0.1.2|97|262688^%^MDC|||||X", "X"),
        ("NM|150456^SAT^MDC|1.0.1.2|0|262688^%^MDC|||||X", "X"),
    ],
)
def test_no_value_markers_are_not_zero(row: str, reason_part: str) -> None:
    outcome, channel, value, reason = only(oru(row))
    assert outcome is ObxOutcome.NO_VALUE
    assert channel == "spo2" and value is None
    assert reason_part in reason


def test_unit_mismatch_rejects_that_obx_only() -> None:
    payload = oru("NM|150021^SYS^MDC|1.0.1.3|17|268..^kPa^UCUM|||||R",
                  "NM|147842^HR^MDC|1.0.1.1|70|264864^/min^MDC|||||R")
    result = interpret(payload)
    assert result.ack_code == "AA"
    sys_row, hr_row = result.observations
    assert sys_row.outcome is ObxOutcome.REJECTED and sys_row.channel == "nibp_sys"
    assert "kPa" in sys_row.reason and "266016" in sys_row.reason
    assert hr_row.outcome is ObxOutcome.ACCEPTED
    assert "1 OBX rejected" in result.reason


def test_all_rows_rejected_is_ae() -> None:
    result = interpret(oru("NM|150456^SAT^MDC|1.0.1.2|97|264864^/min^MDC|||||R"))
    assert result.ack_code == "AE"
    assert "unit 264864" in result.reason


def test_unit_checks() -> None:
    assert check_unit("nibp_sys", "266016", "mmHg") == ""
    assert check_unit("nibp_sys", "", "mm[Hg]") == ""
    assert check_unit("nibp_sys", "mm[Hg]", "") == ""  # UCUM code in component 1
    assert check_unit("temp", "268192", "Cel") == ""
    assert "expected 268192" in check_unit("temp", "", "[degF]")
    assert "no unit" in check_unit("spo2", "", "")
    assert "266016" in check_unit("hr", "266016", "mmHg")


def test_unknown_code_is_reported_not_guessed() -> None:
    outcome, channel, value, reason = only(oru("NM|999999^MDC_MADE_UP^MDC|1.0.1.9|5|"
                                               "264864^/min^MDC|||||R"))
    assert (outcome, channel, value) == (ObxOutcome.UNKNOWN_CODE, None, None)
    assert "999999" in reason and "MDC_MADE_UP" in reason
    outcome, *_ = only(oru("NM|HR^heart rate^L|1|70|/min|||||R"))
    assert outcome is ObxOutcome.UNKNOWN_CODE


def test_bad_values_are_rejected() -> None:
    for value in ("abc", "nan", "inf", "7^2"):
        outcome, _, _, reason = only(oru(f"NM|147842^HR^MDC|1.0.1.1|{value}|264864^/min^MDC||||R"))
        assert outcome is ObxOutcome.REJECTED, value
        assert "number" in reason


@pytest.mark.parametrize(
    ("payload", "code", "reason_part"),
    [
        (b"", "AR", "MSH"),
        (b"hello", "AR", "MSH"),
        (b"MSH|^~\\&|A|B|C|D|1||ADT^A01|Z1|P|2.5\rPID|1", "AR", "ADT^A01"),
        (b"MSH|^~\\&|A|B|C|D|1||ORU^R01|Z2|P|2.6\rPID|1", "AE", "without OBX"),
        (b"MSHa^~\\&|", "AR", "separator"),
        (b"MSH|^^^^|A", "AR", "encoding"),
    ],
)
def test_message_level_answers(payload: bytes, code: str, reason_part: str) -> None:
    result = interpret(payload)
    assert result.ack_code == code
    assert reason_part in result.reason
    ack = build_ack(payload, result, NOW, "K1")
    fields = msa(ack)
    assert fields[1] == code
    assert b"\x1c" not in ack and b"\x0b" not in ack
    assert b"\rERR|||" in ack


def test_ack_echoes_control_id_and_escapes() -> None:
    payload = oru("NM|147842^HR^MDC|1.0.1.1|70|264864^/min^MDC|||||R")
    ack = build_ack(payload, interpret(payload), NOW, "K7").decode()
    header = ack.split("\r")[0].split("|")
    assert header[2] == "KETADESK" and header[4] == "MON^00AB^EUI-64"
    assert header[8] == "ACK^R01^ACK" and header[9] == "K7"
    assert msa(ack.encode())[1:3] == ["AA", "C42"]
    hostile = MSH.replace("C42", "a\x1cb&c").encode() + b"\rPID"
    ack2 = build_ack(hostile, interpret(hostile), NOW, "K8")
    assert b"\x1c" not in ack2
    assert msa(ack2)[2] == "ab\\T\\c"


def test_reject_for_oversized_frame_uses_head() -> None:
    head = oru("NM|147842^HR^MDC|1.0.1.1|70|264864^/min^MDC|||||R")[:200]
    ack = build_reject(head, "too large", 100, NOW, "K9")
    assert msa(ack)[1:4] == ["AR", "C42", "too large"]
