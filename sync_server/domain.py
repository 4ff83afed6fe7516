"""The server's window onto claimcore (catalogue, divisions, validators, workflow).

Everything the server checks about domain values goes through here, so the rules stay in
claimcore (shared with the phone) and the server only adapts them to its error type.
"""
from __future__ import annotations

import functools
from collections.abc import Mapping

from claimcore import catalogue as _catalogue
from claimcore import divisions as _divisions
from claimcore import workflow as _workflow



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


@functools.lru_cache(maxsize=1)
def _catalogue_obj():
    return _catalogue.load_catalogue()


@functools.lru_cache(maxsize=1)
def coverage_codes() -> frozenset[str]:
    return frozenset(_codes_of(_catalogue_obj().coverages))


def catalogue_version() -> str:
    return str(getattr(_catalogue_obj(), "version", ""))


@functools.lru_cache(maxsize=1)
def document_codes() -> frozenset[str]:
    docs = getattr(_catalogue_obj(), "documents", None)
    return frozenset(_codes_of(docs)) if docs is not None else frozenset()


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
        raise DomainError("unknown_coverage", f"unknown coverage {code!r}")
    return code


def check_township(code: object) -> str:
    if not isinstance(code, str) or code not in townships():
        raise DomainError("unknown_township", f"unknown township code {code!r}")
    return code


def check_village(code: object, township_code: str | None) -> str:
    if not isinstance(code, str) or code not in villages():
        raise DomainError("unknown_village", f"unknown village code {code!r}")
    if township_code is not None and villages()[code] != township_code:
        raise DomainError("village_not_in_township", f"village {code} is not in township {township_code}")
    return code


def _validators():
    # Imported on first use: the validators module is shared with the phone and loaded lazily so
    # that importing the server does not depend on it.
    from claimcore import validators

    return validators


def check_id_number(value: object) -> str:
    if not isinstance(value, str):
        raise DomainError("invalid_id_number", "ID number must be a string")
    try:
        result = _validators().validate_id_number(value)
    except _validators().ValidationError as exc:
        raise DomainError("invalid_id_number", f"invalid resident ID number: {exc}") from None
    # Normalised form (upper-case X) when the validator returns one.
    return result if isinstance(result, str) else value.upper()


def check_mobile(value: object) -> str:
    v = _validators()
    fn = getattr(v, "validate_mobile", None) or getattr(v, "validate_phone", None)
    if not isinstance(value, str):
        raise DomainError("invalid_phone", "phone number must be a string")
    if fn is None:
        return value
    try:
        result = fn(value)
    except _validators().ValidationError as exc:
        raise DomainError("invalid_phone", f"invalid mobile number: {exc}") from None
    return result if isinstance(result, str) else value


def check_bank_card(value: object) -> str:
    v = _validators()
    fn = getattr(v, "validate_bank_card", None)
    if not isinstance(value, str):
        raise DomainError("invalid_bank_card", "bank card number must be a string")
    if fn is None:
        return value
    try:
        result = fn(value)
    except _validators().ValidationError as exc:
        raise DomainError("invalid_bank_card", f"invalid bank card number: {exc}") from None
    return result if isinstance(result, str) else value


def claim_states() -> frozenset[str]:
    states = getattr(_workflow, "STATES", None)
    if states is None:
        raise RuntimeError("claimcore.workflow.STATES is missing")
    return frozenset(states)


def check_transition(current: str, new: str, role: str) -> None:
    try:
        _workflow.check_transition(current, new, role)
    except _workflow.WorkflowError as exc:
        raise DomainError("illegal_transition", f"{current} -> {new} not allowed for {role}: {exc}") from None
