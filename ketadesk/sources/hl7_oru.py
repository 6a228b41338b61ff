"""Read HL7 v2 ORU^R01 messages (IHE PCD-01 style) into channel values, and write their ACKs.

Pure functions, no sockets and no clock: `interpret(payload)` never raises and says for the
whole message (AA / AE / AR with a reason) and for every OBX row what became of it;
`build_ack(payload, result, ...)` answers any payload, even one that is not HL7 at all.

Mapping rules (DOMAIN.md section 7): an OBX row is matched to a channel by the numeric MDC code
in OBX-3 component 1 (`147842^MDC_ECG_HEART_RATE^MDC`), also written as Philips partition-hex
(`0002-4182` = 2 * 65536 + 0x4182). The reference id text is never used for matching. Unknown
codes are reported, never guessed. The unit (OBX-6) must be the channel's unit, or the row is
rejected: a value in the wrong unit (kPa for mmHg, degF for degC) must not reach an alarm.
OBX-11 `X`, an empty value and the vendor marker -100 mean "no value", never a 0.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

import hl7

from ketadesk.core.channels import CHANNELS, Kind

log = logging.getLogger(__name__)

# Numeric MDC code -> channel id, from the channel table plus the vendor variants of
# DOMAIN.md section 7 (pulse rate is also sent as 149522 or 150457).
CODE_TO_CHANNEL: dict[int, str] = {
    c.mdc_code: c.id
    for c in CHANNELS.values()
    if c.kind is Kind.NUMERIC and c.mdc_code is not None
}
CODE_TO_CHANNEL.update({149522: "pr", 150457: "pr"})

_BEATS = frozenset({"/min", "1/min", "bpm", "beats/min", "{beat}/min", "{beats}/min",
                    "{pulse}/min", "mdc_dim_beat_per_min"})
_BREATHS = frozenset({"/min", "1/min", "rpm", "breaths/min", "{breath}/min", "{breaths}/min",
                      "{resp}/min", "mdc_dim_resp_per_min"})
_MMHG = frozenset({"mmhg", "mm[hg]", "mm hg", "mdc_dim_mmhg"})

# channel -> (accepted MDC unit codes, accepted unit texts compared case-folded)
CHANNEL_UNITS: dict[str, tuple[frozenset[int], frozenset[str]]] = {
    "hr": (frozenset({264864}), _BEATS),
    "pr": (frozenset({264864}), _BEATS),
    "spo2": (frozenset({262688}), frozenset({"%", "mdc_dim_percent"})),
    "nibp_sys": (frozenset({266016}), _MMHG),
    "nibp_dia": (frozenset({266016}), _MMHG),
    "nibp_mean": (frozenset({266016}), _MMHG),
    "rr": (frozenset({264928}), _BREATHS),
    "etco2": (frozenset({266016}), _MMHG),
    "temp": (frozenset({268192}), frozenset({"cel", "degc", "\u00b0c", "mdc_dim_degc"})),
}

NO_VALUE_MARKER = -100.0  # some vendors send -100 for "no value"
ACCEPTED_MESSAGE = ("ORU", "R01")
MAX_REASON_CHARS = 200  # keeps the ACK far below the 4 KiB a simple client reads at once

# HL7 table 0357 error codes used in ERR-3.
ERR_SEGMENT_SEQUENCE = 100
ERR_REQUIRED_FIELD_MISSING = 101
ERR_DATA_TYPE = 102
ERR_UNSUPPORTED_MESSAGE_TYPE = 200
ERR_INTERNAL = 207
_ERR_TEXT = {
    ERR_SEGMENT_SEQUENCE: "Segment sequence error",
    ERR_REQUIRED_FIELD_MISSING: "Required field missing",
    ERR_DATA_TYPE: "Data type error",
    ERR_UNSUPPORTED_MESSAGE_TYPE: "Unsupported message type",
    ERR_INTERNAL: "Application internal error",
}

_DECIMAL_CODE = re.compile(r"[0-9]{1,10}")
_PARTITION_HEX = re.compile(r"([0-9]{1,5})-([0-9A-Fa-f]{1,4})")


class ObxOutcome(Enum):
    ACCEPTED = "accepted"  # a number for a known channel
    NO_VALUE = "no_value"  # known channel, but the device says it has no value now
    REJECTED = "rejected"  # known channel, unusable row (unit, not a number, status)
    UNKNOWN_CODE = "unknown_code"  # a code we do not map: reported, not guessed
    SKIPPED = "skipped"  # device/VMD/channel containment row without a value


@dataclass(frozen=True)
class ObxResult:
    set_id: str  # OBX-1, for messages that name the row
    code: int | None  # numeric MDC code from OBX-3, None if unreadable
    code_text: str  # OBX-3 as sent (code^REFID), for messages
    channel: str | None
    outcome: ObxOutcome
    value: float | None = None  # only for ACCEPTED
    reason: str = ""
    observed_at: str = ""  # OBX-14 device time, kept for the record only


@dataclass(frozen=True)
class OruResult:
    ack_code: str  # "AA", "AE" or "AR"
    reason: str  # "" when everything was accepted
    error_code: int | None  # HL7 table 0357 code for the ERR segment (AE/AR only)
    control_id: str  # MSH-10 of the message ("" if unreadable)
    observations: tuple[ObxResult, ...] = ()

    @property
    def accepted(self) -> bool:
        return self.ack_code == "AA"


def parse_mdc_code(text: str) -> int | None:
    """A numeric MDC code from `147842` or Philips partition-hex `0002-4182`; None otherwise.

    The partition is read as decimal: the partitions we map (1-10) read the same either way.
    """
    text = text.strip()
    if _DECIMAL_CODE.fullmatch(text):
        code = int(text)
        return code if code <= 0xFFFFFFFF else None
    m = _PARTITION_HEX.fullmatch(text)
    if m:
        partition = int(m.group(1))
        if partition > 0xFFFF:
            return None
        return partition * 65536 + int(m.group(2), 16)
    return None


# --- walking python-hl7 containers ---------------------------------------------------------
# A parsed field is either [text] or [repetition, ...] with repetition = [component, ...] and
# component = [subcomponent, ...]. These helpers read it defensively and never raise.


def _first_text(node: object) -> str:
    while isinstance(node, list):
        if not node:
            return ""
        node = node[0]
    return node if isinstance(node, str) else ""


def _field(segment: object, index: int) -> object:
    if isinstance(segment, list) and 0 <= index < len(segment):
        return segment[index]
    return ""


def _component(segment: object, index: int, component: int) -> str:
    """Component `component` (1-based) of the first repetition of field `index`."""
    field = _field(segment, index)
    if not isinstance(field, list) or not field:
        return field if isinstance(field, str) and component == 1 else ""
    first = field[0]
    if isinstance(first, str):  # a plain field: only component 1 exists
        return first if component == 1 else ""
    if isinstance(first, list) and 0 < component <= len(first):
        return _first_text(first[component - 1])
    return ""


def _field_text(segment: object, index: int) -> str:
    """The whole field as sent (python-hl7 re-joins components on str())."""
    field = _field(segment, index)
    if isinstance(field, list) and len(field) == 1 and isinstance(field[0], str):
        return field[0]
    return str(field)


# --- the message --------------------------------------------------------------------------


def decode_payload(payload: bytes) -> str:
    """UTF-8 (PCD-01's usual charset), falling back to Latin-1, which decodes any bytes.

    Line ends are normalised to the HL7 segment separator `\\r`.
    """
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        text = payload.decode("latin-1")
    return text.replace("\r\n", "\r").replace("\n", "\r").strip("\r \t")


def _check_separators(text: str) -> str:
    """'' if MSH declares usable delimiters, else what is wrong."""
    if not text.startswith("MSH") or len(text) < 8:
        return "not an HL7 v2 message: it must start with an MSH segment"
    sep = text[3]
    if sep.isalnum() or sep.isspace() or not sep.isprintable():
        return f"MSH field separator {sep!r} is not usable; expected '|'"
    end = text.find(sep, 4)
    enc = text[4:end] if end != -1 else ""
    if (
        len(enc) not in (4, 5)
        or len(set(enc + sep)) != len(enc) + 1
        or any(c.isalnum() or c.isspace() or not c.isprintable() for c in enc)
    ):
        return f"MSH-2 encoding characters {enc[:8]!r} are not usable; expected '^~\\&'"
    return ""


def _raw_msh_fields(text: str) -> list[str]:
    """MSH split on its field separator without python-hl7: index n holds MSH-(n+1) for n>=1.

    Used for the ACK, which must be built even when the message cannot be parsed.
    """
    if not text.startswith("MSH") or len(text) < 4:
        return []
    first = text.split("\r", 1)[0]
    return first.split(text[3]) if text[3] not in "\r" else []


def interpret(payload: bytes) -> OruResult:
    """What an MLLP payload says. Never raises: every failure becomes AE/AR with a reason."""
    text = decode_payload(payload)
    raw_msh = _raw_msh_fields(text)
    control_id = raw_msh[9] if len(raw_msh) > 9 else ""
    problem = _check_separators(text)
    if problem:
        return OruResult("AR", problem, ERR_SEGMENT_SEQUENCE, control_id)
    try:
        message = hl7.parse(text)
    except Exception as exc:  # python-hl7 raises IndexError, AssertionError, ... not only its own
        return OruResult("AR", f"unreadable HL7: {_describe(exc)}", ERR_SEGMENT_SEQUENCE,
                         control_id)
    try:
        return _interpret_message(message, control_id)
    except Exception as exc:  # a container shape we did not foresee must still get an answer
        log.exception("HL7 message %r could not be interpreted", control_id)
        return OruResult("AE", f"message could not be interpreted: {_describe(exc)}",
                         ERR_INTERNAL, control_id)


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:120]


def _interpret_message(message: object, control_id: str) -> OruResult:
    segments = [s for s in message if isinstance(s, list)] if isinstance(message, list) else []
    msh = segments[0] if segments else []
    msg_type = (_component(msh, 9, 1).strip(), _component(msh, 9, 2).strip())
    if msg_type != ACCEPTED_MESSAGE:
        shown = "^".join(p for p in msg_type if p) or "(empty MSH-9)"
        return OruResult("AR", f"unsupported message type {shown}; this listener accepts "
                         "ORU^R01 only", ERR_UNSUPPORTED_MESSAGE_TYPE, control_id)
    obx_rows = [s for s in segments if _first_text(_field(s, 0)) == "OBX"]
    if not obx_rows:
        return OruResult("AE", "ORU^R01 without OBX segments: no observation to record",
                         ERR_REQUIRED_FIELD_MISSING, control_id)
    results = tuple(_interpret_obx_safely(row) for row in obx_rows)
    usable = [r for r in results if r.outcome in (ObxOutcome.ACCEPTED, ObxOutcome.NO_VALUE)]
    rejected = [r for r in results if r.outcome is ObxOutcome.REJECTED]
    if rejected and not usable:
        first = rejected[0]
        return OruResult("AE", f"no usable OBX ({len(rejected)} rejected); OBX {first.set_id}: "
                         f"{first.reason}", ERR_DATA_TYPE, control_id, results)
    reason = ""
    if rejected:
        first = rejected[0]
        reason = f"{len(rejected)} OBX rejected; OBX {first.set_id}: {first.reason}"
    return OruResult("AA", reason, None, control_id, results)


def _interpret_obx_safely(row: list[object]) -> ObxResult:
    try:
        return interpret_obx(row)
    except Exception as exc:  # one odd row must not lose the others
        return ObxResult(_component(row, 1, 1), None, "", None, ObxOutcome.REJECTED,
                         reason=f"malformed OBX: {_describe(exc)}")


def interpret_obx(row: list[object]) -> ObxResult:
    """One OBX segment (a python-hl7 Segment or the same nested lists) -> what it means."""
    set_id = _component(row, 1, 1).strip()
    value_type = _component(row, 2, 1).strip()
    code_part = _component(row, 3, 1).strip()
    refid = _component(row, 3, 2).strip()
    code_text = f"{code_part}^{refid}" if refid else code_part
    value_text = _field_text(row, 5).strip()
    status = _component(row, 11, 1).strip().upper()
    observed_at = _component(row, 14, 1).strip()
    code = parse_mdc_code(code_part)

    def result(outcome: ObxOutcome, channel: str | None, reason: str = "",
               value: float | None = None) -> ObxResult:
        return ObxResult(set_id, code, code_text, channel, outcome, value, reason, observed_at)

    if not value_type and not value_text:
        # MDS / VMD / channel rows of the PCD-01 containment tree carry no value.
        return result(ObxOutcome.SKIPPED, None, "containment row without a value")
    if code is None:
        return result(ObxOutcome.UNKNOWN_CODE, None,
                      f"OBX-3 code {code_part[:40]!r} is not a numeric MDC code")
    channel = CODE_TO_CHANNEL.get(code)
    if channel is None:
        shown = refid[:40] or "no reference id"
        return result(ObxOutcome.UNKNOWN_CODE, None,
                      f"MDC code {code} ({shown}) is not mapped to a channel")
    if status == "X":
        return result(ObxOutcome.NO_VALUE, channel, "OBX-11 X: the value cannot be obtained")
    if status in ("D", "W"):
        return result(ObxOutcome.REJECTED, channel,
                      f"OBX-11 {status}: the sender withdrew this value")
    if not value_text:
        return result(ObxOutcome.NO_VALUE, channel, "empty value")
    try:
        value = float(value_text)
    except ValueError:
        return result(ObxOutcome.REJECTED, channel,
                      f"value {value_text[:40]!r} is not a number")
    if not math.isfinite(value):
        return result(ObxOutcome.REJECTED, channel,
                      f"value {value_text[:40]!r} is not a finite number")
    if value == NO_VALUE_MARKER:
        return result(ObxOutcome.NO_VALUE, channel, "-100 is the sender's no-value marker")
    unit_problem = check_unit(channel, _component(row, 6, 1), _component(row, 6, 2))
    if unit_problem:
        return result(ObxOutcome.REJECTED, channel, unit_problem)
    return result(ObxOutcome.ACCEPTED, channel, value=value)


def check_unit(channel: str, unit_code: str, unit_text: str) -> str:
    """'' if OBX-6 (code^text) is the channel's unit, else why not.

    A numeric (or partition-hex) MDC unit code decides; without one the text (a UCUM code
    or a display string) must be one this channel's unit is known to be written as.
    """
    codes, texts = CHANNEL_UNITS[channel]
    expected = f"{min(codes)} ({CHANNELS[channel].unit})"
    unit_code, unit_text = unit_code.strip(), unit_text.strip()
    code = parse_mdc_code(unit_code)
    if code is not None:
        if code in codes:
            return ""
        shown = f"{code} ({unit_text[:20]})" if unit_text else str(code)
        return f"unit {shown} is not the unit of {channel}; expected {expected}"
    written = [t for t in (unit_code, unit_text) if t]
    if not written:
        return f"no unit in OBX-6; {channel} needs {expected}"
    if any(t.casefold() in texts for t in written):
        return ""
    return f"unit {'^'.join(written)[:40]!r} is not the unit of {channel}; expected {expected}"


# --- the acknowledgement ------------------------------------------------------------------


def _escape(value: str, max_chars: int) -> str:
    """Make text safe inside one ACK field: HL7 escapes, no control characters, bounded."""
    printable = "".join(c for c in value if c.isprintable())[:max_chars]
    return (
        printable.replace("\\", "\\E\\")
        .replace("|", "\\F\\")
        .replace("^", "\\S\\")
        .replace("&", "\\T\\")
        .replace("~", "\\R\\")
    )


def build_ack(payload: bytes, result: OruResult, now: datetime, ack_control_id: str,
              application: str = "KETADESK") -> bytes:
    """The original-mode ACK (MSH + MSA, plus ERR for AE/AR) for any payload. Never raises."""
    text = decode_payload(payload)
    raw = _raw_msh_fields(text)

    def msh(n: int, max_chars: int = 60) -> str:
        return _escape(raw[n - 1], max_chars) if len(raw) >= n else ""

    comp_sep = raw[1][0] if len(raw) > 1 and raw[1] else "^"

    def hd(n: int) -> str:  # sending application/facility: keep its components
        if len(raw) < n:
            return ""
        return "^".join(_escape(part, 60) for part in raw[n - 1].split(comp_sep)[:3])

    trigger = raw[8].split(comp_sep)[1] if len(raw) > 8 and comp_sep in raw[8] else ""
    trigger = _escape(trigger, 3) if trigger.isalnum() else ""
    msg_type = f"ACK^{trigger}^ACK" if trigger else "ACK"
    version = msh(12, 8) or "2.6"
    processing = msh(11, 3) or "P"
    header = "|".join([
        "MSH", "^~\\&", application, application, hd(3), hd(4),
        now.strftime("%Y%m%d%H%M%S%z"), "", msg_type, _escape(ack_control_id, 20),
        processing, version,
    ])
    reason = _escape(result.reason, MAX_REASON_CHARS)
    segments = [header, f"MSA|{result.ack_code}|{_escape(result.control_id, 199)}|{reason}"]
    if result.ack_code != "AA":
        code = result.error_code or ERR_INTERNAL
        segments.append(f"ERR|||{code}^{_ERR_TEXT.get(code, 'Error')}^HL70357|E||||{reason}")
    return ("\r".join(segments) + "\r").encode("utf-8")


def build_reject(head: bytes, reason: str, error_code: int, now: datetime,
                 ack_control_id: str) -> bytes:
    """An AR for a payload we will not read in full (too large): MSH-10 taken from its head."""
    text = decode_payload(head)
    raw = _raw_msh_fields(text)
    control_id = raw[9] if len(raw) > 9 else ""
    return build_ack(head, OruResult("AR", reason, error_code, control_id), now, ack_control_id)
