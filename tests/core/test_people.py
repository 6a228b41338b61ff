"""Clinician initials and pseudonymous patient ids: one rule for the dialog and the CLI."""

from __future__ import annotations

import pytest

from ketadesk.core.people import parse_initials, parse_patient_id


@pytest.mark.parametrize(("text", "expected"), [("ab", "AB"), (" jk ", "JK"), ("ABCDE", "ABCDE")])
def test_initials_are_upper_cased_letters(text: str, expected: str) -> None:
    assert parse_initials(text) == expected


@pytest.mark.parametrize("text", ["", "   ", "ABCDEF", "A.B", "A1", "Dr X", "é"])
def test_bad_initials_say_what_is_allowed(text: str) -> None:
    with pytest.raises(ValueError, match="1-5 letters"):
        parse_initials(text)


def test_patient_id_is_optional_and_pseudonymous() -> None:
    assert parse_patient_id("") == ""
    assert parse_patient_id(" KD-0042 ") == "KD-0042"
    assert parse_patient_id("a.b_c-1") == "a.b_c-1"
    for bad in ("John Smith", "-x", "x" * 33, "id/1"):
        with pytest.raises(ValueError, match="pseudonym"):
            parse_patient_id(bad)
