"""Masking of personal data for display: identity document numbers, bank cards, phone numbers, names.

The forms follow DOMAIN.md: ``500111********1234``, ``****1234``, ``138****1234``. Screens show
these unless the role needs the full value (a full view is audited by the caller).

Safety rule: a mask never reveals more than its full-length form does, and always hides at least
as many characters as it reveals from the end. Short, malformed or empty input is masked more, not
less: nothing is shown unless enough stays hidden. Separators (spaces, dashes) are removed first,
so ``6222 0212 3456 7890`` is masked like ``6222021234567890``. ``None`` gives ``""``.
"""
from __future__ import annotations

import re
import unicodedata

_SEPARATORS = re.compile(r"[\s\-‐‑‒–—()]+")


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise TypeError(f"cannot mask a {type(value).__name__}")
    return _SEPARATORS.sub("", unicodedata.normalize("NFKC", str(value)))


def mask_id(value: str | None, id_type: str | None = None) -> str:
    """An identity document's number, masked by its type (claimcore.entities.ID_TYPES; None is a
    resident ID, as for every record made before other documents were accepted). No form shows a
    birth date in full, and an unknown type shows nothing.

    - resident ID ``500111199001011234`` → ``500111********1234``: address code and last four shown,
      the birth date hidden. Shorter input shows at most the last four, and only with ≥ 8 hidden.
    - passport ``E12345678`` → ``E1****678``: the first two and last three (first one and last two
      below 9 characters, nothing below 7), at least four always hidden.
    - permanent residence ID, 2023 card ``932682198501010017`` → ``932682********0017`` (the resident
      ID's form: the birth date hidden); older card ``KAZ110090123105`` → ``KAZ**********05``
      (nationality and the check digit; office, birth date and sequence hidden).
    - residence permit (layout not published): the last four from 10 characters, the last two from
      6, nothing below.
    """
    s = _text(value)
    n = len(s)
    kind = id_type or "resident_id"
    if kind == "resident_id":
        if n >= 18:
            return s[:6] + "*" * (n - 10) + s[-4:]
        if n >= 12:
            return "*" * (n - 4) + s[-4:]
        return "*" * n
    if kind == "passport":
        if n >= 9:
            return s[:2] + "*" * (n - 5) + s[-3:]
        if n >= 7:
            return s[:1] + "*" * (n - 3) + s[-2:]
        return "*" * n
    if kind == "foreign_permanent_resident":
        if n == 18:
            return s[:6] + "*" * (n - 10) + s[-4:]
        if n == 15:
            return s[:3] + "*" * (n - 5) + s[-2:]
        return "*" * n
    if kind == "residence_permit":
        if n >= 10:
            return "*" * (n - 4) + s[-4:]
        if n >= 6:
            return "*" * (n - 2) + s[-2:]
        return "*" * n
    return "*" * n


def mask_bank_card(value: str | None) -> str:
    """``6222021234567890123`` → ``****0123``: the last four only; the length is hidden too."""
    s = _text(value)
    if not s:
        return ""
    if len(s) >= 12:
        return "****" + s[-4:]
    return "****"


def mask_phone(value: str | None) -> str:
    """``13812345678`` (also ``+86 138-1234-5678``) → ``138****1234``. Numbers of 8–10 digits show
    the last four only; shorter ones nothing."""
    s = _text(value)
    if s.startswith("+"):
        s = s[1:]
    for prefix in ("0086", "86"):
        if s.startswith(prefix) and len(s) == len(prefix) + 11:
            s = s[len(prefix):]
            break
    n = len(s)
    if n >= 11:
        return s[:3] + "*" * (n - 7) + s[-4:]
    if n >= 8:
        return "*" * (n - 4) + s[-4:]
    return "*" * n


def mask_name(value: str | None) -> str:
    """``张三丰`` → ``张**``, ``李四`` → ``李*``: the family name's first character only."""
    s = "" if value is None else str(value).strip()
    if len(s) <= 1:
        return "*" * len(s)
    return s[0] + "*" * (len(s) - 1)
