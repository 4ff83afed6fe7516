"""The server's window onto claimcore (catalogue, divisions) for what the record contract does not
check itself: coverages and townships named outside a record (events), villages within townships.

Everything the server checks about domain values goes through here, so the rules stay in
claimcore (shared with the phone) and the server only adapts them to its error type.
"""
from __future__ import annotations

import functools
from collections.abc import Mapping

from claimcore import divisions as _divisions
from claimcore import entities

from .error_codes import ERR


class DomainError(ValueError):
    """A value the domain does not allow. ``code`` is stable (for phones); the text is for people."""

    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def _codes_of(items) -> dict[str, object]:  # noqa: ANN001
    if isinstance(items, Mapping):
        return dict(items)
    return {getattr(item, "code"): item for item in items}


# The catalogue's codes, as the record contract knows them (one place for both sides).
coverage_codes = entities.coverage_codes
document_codes = entities.document_codes


def catalogue_version() -> str:
    return entities.catalogue().version


@functools.lru_cache(maxsize=1)
def townships() -> dict[str, str]:
    """code -> name for the district's 27 townships."""
    div = _divisions.load_divisions()
    return {t.code: t.name for t in _codes_of(div.townships).values()}


@functools.lru_cache(maxsize=1)
def villages() -> dict[str, str]:
    """village code -> township code."""
    div = _divisions.load_divisions()
    out: dict[str, str] = {}
    for t in _codes_of(div.townships).values():
        for v in t.villages:
            out[v.code] = t.code
    return out


def township_code_by_name(name: str) -> str:
    for code, tname in townships().items():
        if tname == name:
            return code
    raise KeyError(name)


def check_coverage(code: object) -> str:
    if not isinstance(code, str) or code not in coverage_codes():
        raise DomainError(ERR.unknown_coverage, f"unknown coverage {code!r}")
    return code


def check_township(code: object) -> str:
    if not isinstance(code, str) or code not in townships():
        raise DomainError(ERR.unknown_township, f"unknown township code {code!r}")
    return code


def check_village(code: object, township_code: str | None) -> str:
    if not isinstance(code, str) or code not in villages():
        raise DomainError(ERR.unknown_village, f"unknown village code {code!r}")
    if township_code is not None and villages()[code] != township_code:
        raise DomainError(ERR.village_not_in_township, f"village {code} is not in township {township_code}")
    return code
