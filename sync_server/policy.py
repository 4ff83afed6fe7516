"""What each role may set on each entity, and how each field's value is checked.

Every field a phone may push is listed here; anything else is rejected with ``unknown_field``.
Server-managed values (versions, who created a record, timestamps) are never taken from a phone.
"""
from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass
from typing import Any, Callable

from claimcore import workflow

from . import domain
from .domain import DomainError

ALL_ROLES = frozenset({"coordinator", "adjuster", "surveyor", "liaison"})
FIELD_ROLES = frozenset({"coordinator", "adjuster", "liaison"})  # who works a claim's files
LOSS_TYPES = frozenset({"death", "disability", "medical", "house", "resettlement"})
DOCUMENT_STATUSES = ("missing", "collected", "verified", "not_applicable")
PERSON_ROLES = frozenset({"victim", "claimant", "payee", "heir", "agent", "household_head"})
# \Z, not $: "$" also matches before a trailing newline, which would let "<hash>\n" through.
SHA256_RE = re.compile(r"^[0-9a-f]{64}\Z")


def is_uuid(value: object) -> bool:
    if not isinstance(value, str) or len(value) != 36:
        return False
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


# ------------------------------------------------------------------------------- value checks

def _text(max_len: int, *, required: bool = False) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if value is None and not required:
            return None
        if not isinstance(value, str):
            raise DomainError("invalid_value", "must be text")
        if required and not value.strip():
            raise DomainError("invalid_value", "must not be empty")
        if len(value) > max_len:
            raise DomainError("invalid_value", f"longer than {max_len} characters")
        return value

    return check


def _fen(value: Any) -> Any:
    if value is None:
        return None
    # bool is an int in Python; floats are never money here.
    if isinstance(value, bool) or not isinstance(value, int):
        raise DomainError("invalid_amount", "amounts are integer fen (1 yuan = 100 fen)")
    if value < 0 or value > 10**13:
        raise DomainError("invalid_amount", "amount out of range")
    return value


def _count(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0 or value > 10**12:
        raise DomainError("invalid_value", "must be a non-negative integer")
    return value


def iso_datetime(value: Any) -> Any:
    """ISO 8601 with a UTC offset (device clocks are recorded, never trusted to order events)."""
    if not isinstance(value, str):
        raise DomainError("invalid_datetime", "must be an ISO 8601 date-time string")
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise DomainError("invalid_datetime", f"not an ISO 8601 date-time: {value!r}") from None
    if parsed.tzinfo is None:
        raise DomainError("invalid_datetime", f"date-time needs a UTC offset: {value!r}")
    return value


def _optional_datetime(value: Any) -> Any:
    return None if value is None else iso_datetime(value)


def _date(value: Any) -> Any:
    if value is None:
        return None
    if not isinstance(value, str):
        raise DomainError("invalid_date", "must be an ISO date (YYYY-MM-DD)")
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        raise DomainError("invalid_date", f"not an ISO date: {value!r}") from None
    return value


def _coord(lo: float, hi: float) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not lo <= value <= hi:
            raise DomainError("invalid_coordinate", f"must be a number between {lo} and {hi}")
        return value

    return check


def _one_of(options) -> Callable[[Any], Any]:  # noqa: ANN001
    def check(value: Any) -> Any:
        if value not in options:
            raise DomainError("invalid_value", f"must be one of {', '.join(sorted(options))}")
        return value

    return check


def _optional_one_of(options) -> Callable[[Any], Any]:  # noqa: ANN001
    inner = _one_of(options)
    return lambda value: None if value is None else inner(value)


def _loss_types(value: Any) -> Any:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise DomainError("invalid_loss_types", "must be a list of loss type codes")
    unknown = sorted(set(value) - LOSS_TYPES)
    if unknown:
        raise DomainError("invalid_loss_types", f"unknown loss types {unknown}")
    return sorted(set(value))


def _uuid_or_none(value: Any) -> Any:
    if value is None or is_uuid(value):
        return value
    raise DomainError("invalid_id", "must be a UUID")


def _uuid_list(value: Any) -> Any:
    if not isinstance(value, list) or not all(is_uuid(v) for v in value) or len(value) > 500:
        raise DomainError("invalid_id", "must be a list of UUIDs")
    return value


def sha256_hex(value: Any) -> Any:
    if not isinstance(value, str) or not SHA256_RE.match(value):
        raise DomainError("invalid_sha256", "must be 64 lower-case hex digits")
    return value


def _optional_sha(value: Any) -> Any:
    return None if value is None else sha256_hex(value)


def _str_list(value: Any) -> Any:
    if not isinstance(value, list) or not all(isinstance(v, str) and len(v) <= 200 for v in value):
        raise DomainError("invalid_value", "must be a list of short texts")
    return value


def _id_number(value: Any) -> Any:
    return None if value is None else domain.check_id_number(value)


def _phone(value: Any) -> Any:
    return None if value is None else domain.check_mobile(value)


def _bank_card(value: Any) -> Any:
    return None if value is None else domain.check_bank_card(value)


def _document_code(value: Any) -> Any:
    if not isinstance(value, str) or not value:
        raise DomainError("unknown_document", "document code must be text")
    known = domain.document_codes()
    if known and value not in known:
        raise DomainError("unknown_document", f"unknown document code {value!r}")
    return value


def _nonneg_number(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1e7:
        raise DomainError("invalid_value", "must be a non-negative number")
    return value


def _optional_number(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or abs(value) > 1e7:
        raise DomainError("invalid_value", "must be a number")
    return value


def _bool(value: Any) -> Any:
    if value is None or isinstance(value, bool):
        return value
    raise DomainError("invalid_value", "must be true or false")


def _gps_point(value: Any) -> Any:
    """A photo's own EXIF GPS as the phone read it: {"lat", "lon", "alt"?} or null."""
    if value is None:
        return None
    if not isinstance(value, dict) or len(value) > 8 or not all(isinstance(k, str) for k in value):
        raise DomainError("invalid_value", "must be an object with lat/lon")
    for key, item in value.items():
        if item is not None and (isinstance(item, bool) or not isinstance(item, (int, float, str))):
            raise DomainError("invalid_value", f"{key} must be a number or text")
    return value


def _disability_grade(value: Any) -> Any:
    # JR/T 0083-2013 grades: 1 (100 %) to 10 (10 %)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 10:
        raise DomainError("invalid_value", "disability grade is an integer 1-10")
    return value


@dataclass(frozen=True)
class FieldSpec:
    check: Callable[[Any], Any]
    roles: frozenset[str]


def _f(check: Callable[[Any], Any], roles=FIELD_ROLES) -> FieldSpec:  # noqa: ANN001
    return FieldSpec(check, frozenset(roles))


ADJUSTER = {"adjuster"}

# Claim fields. ``township_code`` and ``village_code`` get extra checks in the sync code (a
# liaison may only use its own township; a village must lie in the claim's township); ``status``
# goes through claimcore.workflow with its guards; ``status_reason`` is the "why" it asks for.
CLAIM_FIELDS: dict[str, FieldSpec] = {
    "coverage": _f(domain.check_coverage),
    "township_code": _f(domain.check_township),
    "village_code": _f(lambda v: v),
    "address": _f(_text(500)),
    "incident_at": _f(iso_datetime),
    "description": _f(_text(5000, required=True)),
    "loss_types": _f(_loss_types),
    # A rider (resettlement) names its main coverage; conditions are the catalogue's named
    # circumstances (by_agent, frontline_worker) that change the checklist.
    "attached_to": _f(lambda v: v if v is None else domain.check_coverage(v)),
    "conditions": _f(_str_list),
    "lat": _f(_coord(-90, 90)),
    "lon": _f(_coord(-180, 180)),
    "reported_at": _f(_optional_datetime),
    "report_channel": _f(_text(100)),
    "catalogue_version": _f(_text(40)),
    # The report number a phone made at the scene (DZ-...): what victims are told and what the
    # printed forms show, so the office must see the same one.
    "report_no": _f(_text(40)),
    "accuracy_m": _f(_nonneg_number),
    "claimed_amount_fen": _f(_fen),
    "event_id": _f(_uuid_or_none, {"adjuster", "coordinator"}),
    "adjusted_amount_fen": _f(_fen, ADJUSTER),
    "paid_amount_fen": _f(_fen, ADJUSTER),
    "missing_documents": _f(_str_list, ADJUSTER),
    "decline_reason": _f(_text(2000), ADJUSTER),
    "status": _f(lambda v: v, ALL_ROLES),
    "status_reason": _f(_text(2000), ALL_ROLES),
}
CLAIM_REQUIRED_ON_CREATE = ("coverage", "township_code", "incident_at", "description")
# Claim fields with a column of their own; the rest live in claims.data.
CLAIM_COLUMNS = frozenset(
    {
        "status", "coverage", "township_code", "village_code", "incident_at", "description",
        "event_id", "claimed_amount_fen", "adjusted_amount_fen", "paid_amount_fen",
        "catalogue_version",
    }
)

PERSON_FIELDS: dict[str, FieldSpec] = {
    "role_in_claim": _f(_one_of(PERSON_ROLES)),
    "name": _f(_text(100)),
    "id_number": _f(_id_number),
    "phone": _f(_phone),
    "relation": _f(_text(50)),
    "gender": _f(_optional_one_of({"male", "female"})),
    "birth_date": _f(_date),
    "address": _f(_text(500)),
    "household_size": _f(_count),
    "bank_name": _f(_text(100)),
    "bank_branch": _f(_text(200)),
    "bank_card": _f(_bank_card),
    "disability_grade": _f(_disability_grade),
    "medical": _f(_text(4000)),
}

DOCUMENT_FIELDS: dict[str, FieldSpec] = {
    "code": _f(_document_code, ALL_ROLES),
    "status": _f(_one_of(DOCUMENT_STATUSES), ALL_ROLES),  # 'verified' further limited below
    "note": _f(_text(2000), ALL_ROLES),
    "person_id": _f(_uuid_or_none, ALL_ROLES),
    "photo_ids": _f(_uuid_list, ALL_ROLES),
    "scan_ref": _f(_uuid_or_none, ALL_ROLES),
}
DOCUMENT_VERIFY_ROLES = frozenset({"adjuster", "coordinator"})

PHOTO_FIELDS: dict[str, FieldSpec] = {
    "sha256": _f(sha256_hex, ALL_ROLES),
    "preview_sha256": _f(_optional_sha, ALL_ROLES),
    "document_id": _f(_uuid_or_none, ALL_ROLES),
    "kind": _f(_text(40), ALL_ROLES),
    "mime": _f(_optional_one_of({"image/jpeg"}), ALL_ROLES),
    "taken_at": _f(_optional_datetime, ALL_ROLES),
    "lat": _f(_coord(-90, 90), ALL_ROLES),
    "lon": _f(_coord(-180, 180), ALL_ROLES),
    "size": _f(_count, ALL_ROLES),
    "width": _f(_count, ALL_ROLES),
    "height": _f(_count, ALL_ROLES),
    "caption": _f(_text(500), ALL_ROLES),
    # The device's GPS fix at the shutter and the intake pipeline's evidence flags: what makes a
    # photo provable (fieldapp.media); recorded as the phone saw them, never recomputed here.
    "fix_alt": _f(_optional_number, ALL_ROLES),
    "fix_accuracy_m": _f(_nonneg_number, ALL_ROLES),
    "fix_at": _f(_optional_datetime, ALL_ROLES),
    "flags": _f(_str_list, ALL_ROLES),
    "exif_gps": _f(_gps_point, ALL_ROLES),
    "exif_replaced": _f(_bool, ALL_ROLES),
    "converted_from": _f(_optional_one_of({"heic"}), ALL_ROLES),
}

NOTE_FIELDS: dict[str, FieldSpec] = {
    "text": _f(_text(4000, required=True), ALL_ROLES),
    "written_at": _f(_optional_datetime, ALL_ROLES),
}

# A claim's timeline entry as the phone recorded it (who is the pushing user, server-side; when,
# where and why from the device). The status change itself travels as the claim's ``status`` and
# is checked against claimcore.workflow there; this record is the audit trail.
TRANSITION_FIELDS: dict[str, FieldSpec] = {
    "from_status": _f(_optional_one_of(set(workflow.STATES)), ALL_ROLES),
    "to_status": _f(_one_of(set(workflow.STATES)), ALL_ROLES),
    "role": _f(_optional_one_of(ALL_ROLES), ALL_ROLES),
    "at": _f(_optional_datetime, ALL_ROLES),
    "lat": _f(_coord(-90, 90), ALL_ROLES),
    "lon": _f(_coord(-180, 180), ALL_ROLES),
    "reason": _f(_text(2000), ALL_ROLES),
}

RECORD_ENTITIES: dict[str, dict[str, FieldSpec]] = {
    "person": PERSON_FIELDS,
    "document": DOCUMENT_FIELDS,
    "photo": PHOTO_FIELDS,
    "note": NOTE_FIELDS,
    "transition": TRANSITION_FIELDS,
}
RECORD_REQUIRED_ON_CREATE = {
    "person": ("role_in_claim",),
    "document": ("code", "status"),
    "photo": ("sha256",),
    "note": ("text",),
    "transition": ("to_status",),
}
# Evidence and remarks are never edited or removed once recorded.
APPEND_ONLY = frozenset({"photo", "note", "transition"})
# Who may add records of each kind at all (a surveyor does not handle victims' personal data).
RECORD_CREATE_ROLES = {
    "person": FIELD_ROLES,
    "document": ALL_ROLES,
    "photo": ALL_ROLES,
    "note": ALL_ROLES,
    "transition": ALL_ROLES,
}
