"""Masking of personal data for display: ID numbers, bank cards, phone numbers, names.

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


def mask_id(value: str | None) -> str:
    """``500111199001011234`` → ``500111********1234``: address code and last four shown, the
    birth date hidden. Shorter input shows at most the last four, and only with ≥ 8 hidden."""
    s = _text(value)
    n = len(s)
    if n >= 18:
        return s[:6] + "*" * (n - 10) + s[-4:]
    if n >= 12:
        return "*" * (n - 4) + s[-4:]
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
