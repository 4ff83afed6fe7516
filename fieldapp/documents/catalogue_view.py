"""What the documents need from claimcore (catalogue, validators), in one place.

Kept thin on purpose: the catalogue and validators are the single source of truth; this module
only turns their answers into what a printed form or a validation message needs.
"""
from __future__ import annotations

from claimcore import entities, validators
from claimcore.catalogue import Catalogue, CatalogueError, load_catalogue


class UnknownCatalogueVersion(LookupError):
    pass


def catalogue(version: str | None = None) -> Catalogue:
    try:
        return load_catalogue(version)
    except CatalogueError as exc:
        if version is None:
            raise  # the current catalogue itself is broken: a defect, not bad input
        raise UnknownCatalogueVersion(str(exc)) from None


def has_coverage(cat: Catalogue, code: str) -> bool:
    return code in cat.coverages


def coverage_codes(cat: Catalogue) -> tuple[str, ...]:
    return tuple(cat.coverages)


def coverage_loss_types(cat: Catalogue, code: str) -> tuple[str, ...]:
    return cat.coverage(code).loss_types


def coverage_name(cat: Catalogue, code: str, lang: str) -> str:
    return cat.coverage(code).label.get(lang)


def loss_type_name(cat: Catalogue, code: str, lang: str) -> str:
    return cat.loss_types[code].label.get(lang)


def document_codes(cat: Catalogue) -> frozenset[str]:
    return frozenset(cat.documents)


def _checked(check, value: str) -> tuple[str, str | None]:
    """(normalised value, None) when valid, else (value, the reason in English)."""
    try:
        return check(value), None
    except validators.ValidationError as exc:
        return value, str(exc)


# What a person without ``id_type`` holds (claimcore.validators; the types: claimcore.entities.ID_TYPES).
DEFAULT_ID_TYPE = validators.DEFAULT_ID_TYPE
ID_TYPES = entities.ID_TYPES


def check_id_number(value: str, id_type: str | None = None) -> tuple[str, str | None]:
    """The number of an identity document of ``id_type`` (None: a resident ID, GB 11643), by that
    type's rule (claimcore.validators.validate_identity_number): normalised (upper case, separators
    dropped) or the type's reason."""
    return _checked(lambda number: validators.validate_identity_number(number, id_type), value)


def check_mobile(value: str) -> tuple[str, str | None]:
    return _checked(validators.validate_mobile, value)


def check_bank_card(value: str) -> tuple[str, str | None]:
    """Bank card: 16-19 digits passing the Luhn check."""
    return _checked(validators.validate_bank_card, value)


def check_passbook(value: str) -> tuple[str, str | None]:
    """A passbook (存折) account has no check digit; only its form is checked."""
    digits = "".join(value.split()).replace("-", "")
    if not digits.isdigit() or not 8 <= len(digits) <= 30:
        return value, "a passbook account number is 8 to 30 digits"
    return digits, None
