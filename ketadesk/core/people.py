"""Who is at the chair and whom the session is about: the two identifiers a person types.

The set-up dialog and `ketadesk record` both check these here, so a clinician's initials and a
patient's pseudonymous id follow one rule wherever they are entered. Every recorded command is
stamped with the initials, so they must be short, plain letters that read the same everywhere.
"""

from __future__ import annotations

import re

INITIALS_MAX = 5
PATIENT_ID_MAX = 32

_INITIALS = re.compile(rf"[A-Za-z]{{1,{INITIALS_MAX}}}")
# Letters, digits and - _ . only: a pseudonym like "KD-0042", never a name with spaces.
_PATIENT_ID = re.compile(rf"[A-Za-z0-9][A-Za-z0-9._-]{{0,{PATIENT_ID_MAX - 1}}}")


def parse_initials(text: str) -> str:
    """Clinician initials, upper-cased; ValueError says what is allowed."""
    value = text.strip()
    if not value:
        raise ValueError(f"clinician initials are required: 1-{INITIALS_MAX} letters, e.g. AB")
    if not _INITIALS.fullmatch(value):
        raise ValueError(
            f"clinician initials {value!r} are not allowed: use 1-{INITIALS_MAX} letters "
            "A-Z only, e.g. AB"
        )
    return value.upper()


def parse_patient_id(text: str) -> str:
    """A pseudonymous patient id ("" when none is given); ValueError says what is allowed."""
    value = text.strip()
    if value and not _PATIENT_ID.fullmatch(value):
        raise ValueError(
            f"patient id {value!r} is not allowed: use up to {PATIENT_ID_MAX} letters, digits, "
            "'-', '_' or '.', starting with a letter or digit (a pseudonym such as KD-0042, "
            "not a name)"
        )
    return value
