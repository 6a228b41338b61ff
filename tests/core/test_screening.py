from __future__ import annotations

import math

import pytest

from ketadesk.core.buffer import BufferSet
from ketadesk.core.screening import (
    BP_HIGH,
    ESCORT_ABSENT,
    FASTING_SHORT,
    PSYCHOSIS,
    SUBSTANCE_UNSCREENED,
    MedCategory,
    ScreeningError,
    ScreeningInputs,
    ScreeningSettings,
    Verdict,
    baseline_bp_from_series,
    evaluate,
    load_screening_settings,
    parse_medications,
)

CLEAN = ScreeningInputs(baseline_sys_mmhg=128, baseline_dia_mmhg=82, psychosis_history=False,
                        active_substance_use=False, fasting_h=6, escort_present=True)


def _with(**kw: object) -> ScreeningInputs:
    from dataclasses import replace
    return replace(CLEAN, **kw)  # type: ignore[arg-type]


def test_a_clean_screen_is_cleared_with_every_check_listed_ok() -> None:
    r = evaluate(CLEAN)
    assert r.cleared and not r.blocking
    assert {f.field for f in r.findings} == {"bp", "psychosis", "substance", "medication",
                                             "fasting", "escort"}
    assert all(f.verdict is Verdict.OK for f in r.findings)


@pytest.mark.parametrize(("sys_", "dia", "blocked"), [
    (150, 90, False),  # the limit itself is allowed: "> 150/90" blocks
    (151, 80, True), (140, 91, True), (162, 94, True), (120, 70, False)])
def test_baseline_bp_above_150_90_blocks_overridably(sys_: float, dia: float,
                                                     blocked: bool) -> None:
    r = evaluate(_with(baseline_sys_mmhg=sys_, baseline_dia_mmhg=dia))
    assert (not r.cleared) is blocked
    if blocked:
        (f,) = r.blocking
        assert f.code == BP_HIGH and f.verdict is Verdict.BLOCK_OVERRIDABLE
        assert f"{sys_:g}/{dia:g}" in f.message and "150/90" in f.message
        assert "override" in f.message


def test_bp_threshold_comes_from_settings() -> None:
    strict = ScreeningSettings(bp_block_above_sys_mmhg=140, bp_block_above_dia_mmhg=90)
    assert evaluate(_with(baseline_sys_mmhg=145), strict).blocking[0].code == BP_HIGH
    assert evaluate(_with(baseline_sys_mmhg=145)).cleared


def test_override_needs_reason_and_initials_and_then_clears() -> None:
    r = evaluate(_with(baseline_sys_mmhg=158))
    with pytest.raises(ScreeningError, match="reason"):
        r.override(BP_HIGH, "  ", "AB")
    with pytest.raises(ScreeningError, match="initials"):
        r.override(BP_HIGH, "repeat 148/86 after rest, treating physician agrees", "")
    o = r.override(BP_HIGH, "repeat 148/86 after rest", "AB")
    assert o.cleared and not r.cleared  # the original is unchanged (frozen)
    assert o.overrides[0].who == "AB" and "158" in o.overrides[0].message
    d = o.to_dict()
    assert d["cleared"] is True and d["overrides"][0]["reason"] == "repeat 148/86 after rest"


def test_psychosis_is_absolute_and_cannot_be_overridden() -> None:
    r = evaluate(_with(psychosis_history=True))
    assert r.absolute and not r.cleared
    (f,) = r.blocking
    assert f.code == PSYCHOSIS and f.verdict is Verdict.BLOCK_ABSOLUTE
    with pytest.raises(ScreeningError, match="absolute contraindication cannot be overridden"):
        r.override(PSYCHOSIS, "patient insists", "AB")


def test_active_substance_use_blocks_until_screened() -> None:
    r = evaluate(_with(active_substance_use=True))
    assert [f.code for f in r.blocking] == [SUBSTANCE_UNSCREENED]
    screened = evaluate(_with(active_substance_use=True, substance_screened=True))
    assert screened.cleared
    assert [f.verdict for f in screened.findings if f.field == "substance"] == [Verdict.FLAG]


def test_medications_are_flagged_never_blocking() -> None:
    meds = frozenset({MedCategory.MAOI, MedCategory.BENZODIAZEPINE})
    r = evaluate(_with(recent_medications=meds, other_medications="zopiclone last night"))
    assert r.cleared
    flags = r.of(Verdict.FLAG)
    assert {f.code for f in flags} == {"medication:maoi", "medication:benzodiazepine",
                                       "medication:other"}
    assert any("zopiclone" in f.message for f in flags)


def test_fasting_and_escort() -> None:
    r = evaluate(_with(fasting_h=1.5, escort_present=False))
    assert {f.code for f in r.blocking} == {FASTING_SHORT, ESCORT_ABSENT}
    assert "1.5 h" in r.blocking[0].message and "4 h" in r.blocking[0].message


def test_unanswered_questions_are_incomplete_and_not_overridable() -> None:
    r = evaluate(ScreeningInputs())
    assert len(r.blocking) == 5
    assert all(f.verdict is Verdict.INCOMPLETE for f in r.blocking)
    with pytest.raises(ScreeningError, match="cannot be overridden"):
        r.override(r.blocking[0].code, "in a hurry", "AB")


@pytest.mark.parametrize(("sys_", "dia"), [(80, 120), (400, 80), (math.nan, 80), (120, -5)])
def test_implausible_bp_is_refused_with_the_allowed_range(sys_: float, dia: float) -> None:
    r = evaluate(_with(baseline_sys_mmhg=sys_, baseline_dia_mmhg=dia))
    (f,) = r.blocking
    assert f.verdict is Verdict.INCOMPLETE and "not plausible" in f.message
    assert "60-280" in f.message


def test_negative_or_nan_fasting_is_incomplete() -> None:
    for h in (-1.0, math.nan):
        (f,) = evaluate(_with(fasting_h=h)).blocking
        assert f.verdict is Verdict.INCOMPLETE


def test_override_of_unknown_code_names_the_overridable_ones() -> None:
    r = evaluate(_with(baseline_sys_mmhg=170))
    with pytest.raises(ScreeningError, match="bp_high"):
        r.override("nonsense", "x", "AB")


def test_baseline_bp_from_session_buffers_is_the_mean_of_valid_readings() -> None:
    bufs = BufferSet({"nibp_sys": 10, "nibp_dia": 10})
    for t, s, d in ((0, 150, 90), (300, 140, math.nan), (600, 130, 80), (900, 200, 120)):
        bufs.buffer("nibp_sys").append(t, s)
        bufs.buffer("nibp_dia").append(t, d)
    assert baseline_bp_from_series(bufs, 0, 700) == (140.0, 85.0)
    assert baseline_bp_from_series(bufs, 1000, 2000) is None


def test_event_and_settings() -> None:
    r = evaluate(_with(baseline_sys_mmhg=160)).override(BP_HIGH, "rechecked", "CD")
    ev = r.to_event(12.0, "2026-01-01T09:00:00+00:00", "CD")
    assert ev.kind == "screening" and "cleared" in ev.detail and "rechecked" in ev.detail
    assert load_screening_settings() == ScreeningSettings()  # defaults.toml mirrors the code
    with pytest.raises(ScreeningError, match="unknown key"):
        ScreeningSettings.from_config({"bp_max": 1})
    with pytest.raises(ScreeningError, match="low < high"):
        ScreeningSettings.from_config({"bp_plausible_sys_mmhg": [200, 100]})
    assert parse_medications(["MAOI", " stimulant"]) == {MedCategory.MAOI, MedCategory.STIMULANT}
    with pytest.raises(ScreeningError, match="lamotrigine"):
        parse_medications(["aspirin"])
