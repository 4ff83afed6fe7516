"""The sync wire format shared by phone and server (docs/architecture.md, "Sync wire format").

A **mutation** (phone → server; also what the phone's outbox stores)::

    {"seq": 17, "entity": "person", "id": "<uuid>", "op": "upsert",
     "fields": {"claim_id": "<uuid>", "name": "张三"}, "base_version": 3}

- ``seq``: the device's own sequence number, a positive int, strictly increasing per device.
- ``entity``: one of :data:`ENTITIES`; ``id``: the record's UUID, made where the record was created
  (canonical 8-4-4-4-12 hex form; upper case is accepted and normalised to lower case).
- ``op``: ``"upsert"`` or ``"delete"``; ``fields``: the changed fields only, snake_case names, JSON
  values. ``id`` and ``version`` never travel in ``fields`` (the id is the mutation's, the version
  the server's). Fields named ``*_fen`` hold int fen or null, never floats. Floats must be finite.
- ``base_version``: the server version the change was based on, or null for a record the phone
  created and has not yet seen acknowledged.
- Every entity except ``claim``, ``assignment`` and ``cost`` carries ``claim_id`` in ``fields``,
  on deletes too, so the server checks scope before it looks anything up. ``assignment`` (a survey
  turn of the rotation) may be for a whole event rather than one claim, and ``cost`` (a surveyor's
  actual vehicle and meal costs, charged to the work fund) belongs to an assignment; both carry
  ``claim_id`` when they have one, and it must then be a UUID.
- ``photo`` upserts carry ``sha256`` (64 hex digits, of the final stamped bytes).
- A ``person``'s ``id_number`` is a number of the document its ``id_type`` names (one of
  ``claimcore.entities.ID_TYPES``). ``id_type`` is optional: absent or null means ``resident_id``,
  so records and queued mutations made before other documents were accepted stay valid as they are.
  A write that changes only one of the two is checked against the other as stored.
- ``photo``, ``note`` and ``transition`` are append-only (evidence, remarks and the claim's log of
  who/when/where/why): a ``delete`` of them is malformed.
- Unknown top-level keys are refused: the server is upgraded before the phones, so a key it does
  not know is a bug, not a newer client.

Entities: ``claim``, ``person`` (victim, claimant, payee, heir, agent), ``document`` (one checklist
item and its status), ``photo``, ``note``, ``transition`` (one workflow step of a claim),
``assignment`` (a co-insurer's survey turn, from the rotation), ``cost`` (a surveyor's logged
costs), ``opinion`` (a co-insurer's opinion or vote in a claim-authority review).

A **change** (server → phone) is ``{"entity", "id", "version", "op", "fields"}`` with all fields of
the record (empty for a delete); ``entity`` may also be ``"conflict"`` (a conflict record kept for
review). Phones lag behind the server, so :func:`validate_change` drops top-level keys it does not
know instead of refusing them.

Times travel as ISO 8601 strings with an offset (:func:`format_datetime`, :func:`parse_datetime`);
naive times are refused, because device clocks and time zones must not be guessed.
"""
from __future__ import annotations

import datetime as _dt
import math
import re
import uuid
from typing import Any, Mapping, TypedDict

from claimcore import entities as _entities

ENTITIES: tuple[str, ...] = tuple(_entities.ENTITIES)
# Server-made, read-only on phones: a field conflict's record, a claim-authority review, and a
# co-insurer's survey access to a claim (op delete: the phone forgets the claim).
CHANGE_ENTITIES: tuple[str, ...] = ENTITIES + ("conflict", "authority_review", "claim_access")
OPS: tuple[str, ...] = ("upsert", "delete")
APPEND_ONLY_ENTITIES: frozenset[str] = frozenset(n for n, e in _entities.ENTITIES.items() if e.append_only)
# Entities whose every mutation names its claim (scope is checked from it).
CLAIM_SCOPED_ENTITIES: frozenset[str] = frozenset(n for n, e in _entities.ENTITIES.items() if e.claim_scoped)
# Reference fields that, when present and not null, must be UUIDs.
REFERENCE_FIELDS: tuple[str, ...] = (
    "claim_id", "person_id", "document_id", "photo_id", "assignment_id", "event_id")
RESERVED_FIELDS: frozenset[str] = frozenset({"id", "version"})

MUTATION_KEYS: frozenset[str] = frozenset({"seq", "entity", "id", "op", "fields", "base_version"})
CHANGE_KEYS: frozenset[str] = frozenset({"entity", "id", "version", "op", "fields"})

MAX_FIELD_DEPTH = 8


class Mutation(TypedDict):
    seq: int
    entity: str
    id: str
    op: str
    fields: dict[str, Any]
    base_version: int | None


class Change(TypedDict):
    entity: str
    id: str
    version: int
    op: str
    fields: dict[str, Any]


class WireError(ValueError):
    """A malformed mutation or change. ``code`` is stable (for receipts), ``where`` names the key
    (e.g. ``"fields.claim_id"``); the message says what was expected. Values are never echoed in
    full: they may be personal data."""

    def __init__(self, code: str, where: str, message: str) -> None:
        self.code = code
        self.where = where
        super().__init__(f"{where}: {message}")


_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_FIELD_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")
_NIL = "00000000-0000-0000-0000-000000000000"


def new_id() -> str:
    """A fresh record id (UUID4, canonical lower-case form)."""
    return str(uuid.uuid4())


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _kind(value: object) -> str:
    return type(value).__name__


def normalise_uuid(value: object, where: str = "id") -> str:
    """The canonical lower-case UUID string, or :class:`WireError`."""
    if not isinstance(value, str):
        raise WireError("bad_uuid", where, f"must be a UUID string, not {_kind(value)}")
    s = value.lower()
    if not _UUID.fullmatch(s) or s == _NIL:
        raise WireError("bad_uuid", where,
                        f"must be a UUID in 8-4-4-4-12 hex form, got {_short(value)}")
    return s


def is_uuid(value: object) -> bool:
    try:
        normalise_uuid(value)
    except WireError:
        return False
    return True


def normalise_sha256(value: object, where: str = "fields.sha256") -> str:
    if not isinstance(value, str) or not _SHA256.fullmatch(value.lower()):
        raise WireError("bad_sha256", where, "must be 64 hexadecimal digits (SHA-256)")
    return value.lower()


def _int(value: object, where: str, *, minimum: int, nullable: bool = False) -> int | None:
    if value is None and nullable:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        want = "an int or null" if nullable else "an int"
        raise WireError("bad_int", where, f"must be {want}, not {_kind(value)}")
    if value < minimum:
        raise WireError("bad_int", where, f"must be >= {minimum}, got {value}")
    return value


def _json_value(value: object, where: str, depth: int = 0) -> Any:
    if depth > MAX_FIELD_DEPTH:
        raise WireError("too_deep", where, f"nested deeper than {MAX_FIELD_DEPTH} levels")
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise WireError("bad_value", where, "floats must be finite (no NaN or infinity)")
        return value
    if isinstance(value, (list, tuple)):
        return [_json_value(v, f"{where}[{i}]", depth + 1) for i, v in enumerate(value)]
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise WireError("bad_value", where, f"object keys must be strings, not {_kind(k)}")
            out[k] = _json_value(v, f"{where}.{k}", depth + 1)
        return out
    raise WireError("bad_value", where,
                    f"must be a JSON value (text, number, true/false, null, list, object), "
                    f"not {_kind(value)}; send times as ISO 8601 text")


def _fields(value: object, *, allow_reserved: bool = False) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise WireError("bad_fields", "fields", f"must be an object, not {_kind(value)}")
    out: dict[str, Any] = {}
    for name, v in value.items():
        if not isinstance(name, str) or not _FIELD_NAME.fullmatch(name):
            raise WireError("bad_field_name", "fields",
                            f"field names are snake_case (a-z, 0-9, _), got {_short(name)}")
        if name in RESERVED_FIELDS and not allow_reserved:
            raise WireError("reserved_field", f"fields.{name}",
                            "travels outside fields (the id is the mutation's, the version the "
                            "server's)")
        if name.endswith("_fen") and v is not None and (isinstance(v, bool) or not isinstance(v, int)):
            raise WireError("bad_money", f"fields.{name}", f"money is int fen, not {_kind(v)}")
        if name in REFERENCE_FIELDS and v is not None:
            v = normalise_uuid(v, f"fields.{name}")
        # Text, whole numbers and true/false are JSON as they are (most fields; a batch has thousands).
        out[name] = v if v is None or type(v) in _PLAIN else _json_value(v, f"fields.{name}")
    return out


_PLAIN = frozenset({str, int, bool})


def validate_mutation(obj: object) -> Mutation:
    """Check a mutation's shape; return a normalised copy or raise :class:`WireError`."""
    if not isinstance(obj, Mapping):
        raise WireError("not_an_object", "mutation", f"must be an object, not {_kind(obj)}")
    missing = sorted(MUTATION_KEYS - set(obj))
    if missing:
        raise WireError("missing_key", "mutation", f"missing {', '.join(missing)}")
    unknown = sorted(str(k) for k in set(obj) - MUTATION_KEYS)
    if unknown:
        raise WireError("unknown_key", "mutation", f"unknown keys {', '.join(unknown)}")
    seq = _int(obj["seq"], "seq", minimum=1)
    entity = obj["entity"]
    if entity not in ENTITIES:
        raise WireError("unknown_entity", "entity",
                        f"must be one of {', '.join(ENTITIES)}, got {_short(entity)}")
    rid = normalise_uuid(obj["id"], "id")
    op = obj["op"]
    if op not in OPS:
        raise WireError("unknown_op", "op", f"must be upsert or delete, got {_short(op)}")
    if op == "delete" and entity in APPEND_ONLY_ENTITIES:
        raise WireError("append_only", "op", f"{entity} records are append-only: no delete")
    fields = _fields(obj["fields"])
    base_version = _int(obj["base_version"], "base_version", minimum=0, nullable=True)
    if entity in CLAIM_SCOPED_ENTITIES and fields.get("claim_id") is None:
        raise WireError("missing_claim_id", "fields.claim_id",
                        f"every {entity} mutation names its claim")
    if entity == "photo" and op == "upsert":
        if "sha256" not in fields:
            raise WireError("required", "fields.sha256", "a photo carries its SHA-256")
        fields["sha256"] = normalise_sha256(fields["sha256"])
    if op == "upsert" and not fields:
        raise WireError("empty_upsert", "fields", "an upsert changes at least one field")
    return Mutation(seq=seq, entity=entity, id=rid, op=op, fields=fields,
                    base_version=base_version)


def validate_mutations(batch: object, *, max_count: int | None = None) -> list[Mutation]:
    """A push batch: a list of valid mutations in strictly increasing ``seq`` order."""
    if not isinstance(batch, (list, tuple)):
        raise WireError("not_a_list", "mutations", f"must be a list, not {_kind(batch)}")
    if max_count is not None and len(batch) > max_count:
        raise WireError("too_many", "mutations", f"at most {max_count} per batch, got {len(batch)}")
    out: list[Mutation] = []
    for i, item in enumerate(batch):
        try:
            m = validate_mutation(item)
        except WireError as e:
            raise WireError(e.code, f"mutations[{i}].{e.where}", str(e).split(": ", 1)[1]) from None
        if out and m["seq"] <= out[-1]["seq"]:
            raise WireError("seq_order", f"mutations[{i}].seq",
                            f"seq must increase strictly: {m['seq']} after {out[-1]['seq']}")
        out.append(m)
    return out


def validate_change(obj: object) -> Change:
    """Check a change's shape (server → phone); unknown top-level keys are dropped."""
    if not isinstance(obj, Mapping):
        raise WireError("not_an_object", "change", f"must be an object, not {_kind(obj)}")
    missing = sorted(CHANGE_KEYS - set(obj))
    if missing:
        raise WireError("missing_key", "change", f"missing {', '.join(missing)}")
    entity = obj["entity"]
    if entity not in CHANGE_ENTITIES:
        raise WireError("unknown_entity", "entity",
                        f"must be one of {', '.join(CHANGE_ENTITIES)}, got {_short(entity)}")
    rid = normalise_uuid(obj["id"], "id")
    version = _int(obj["version"], "version", minimum=1)
    op = obj["op"]
    if op not in OPS:
        raise WireError("unknown_op", "op", f"must be upsert or delete, got {_short(op)}")
    # A change carries the whole record, which may repeat its id and version among the fields.
    fields = _fields(obj["fields"], allow_reserved=True)
    if entity == "photo" and op == "upsert":
        fields["sha256"] = normalise_sha256(fields.get("sha256"))
    return Change(entity=entity, id=rid, version=version, op=op, fields=fields)


def make_mutation(seq: int, entity: str, record_id: str, fields: Mapping[str, Any], *,
                  op: str = "upsert", base_version: int | None = None) -> Mutation:
    """Build and validate a mutation in one step."""
    return validate_mutation({"seq": seq, "entity": entity, "id": record_id, "op": op,
                              "fields": dict(fields), "base_version": base_version})


# ---- times ------------------------------------------------------------------------------------

def format_datetime(moment: _dt.datetime) -> str:
    """ISO 8601 with its offset, e.g. ``2026-07-03T14:05:09.120000+08:00``. Naive times refused."""
    if not isinstance(moment, _dt.datetime):
        raise TypeError(f"need a datetime, not {_kind(moment)}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("naive datetime: attach a time zone (the wire never guesses one)")
    return moment.isoformat()


def parse_datetime(text: object, where: str = "time") -> _dt.datetime:
    """An aware datetime from ISO 8601 text with an offset (``Z`` accepted), else WireError."""
    if not isinstance(text, str):
        raise WireError("bad_time", where, f"must be ISO 8601 text, not {_kind(text)}")
    try:
        moment = _dt.datetime.fromisoformat(text)
    except ValueError:
        raise WireError("bad_time", where, f"not an ISO 8601 time: {_short(text)}") from None
    if moment.tzinfo is None:
        raise WireError("bad_time", where, "time has no offset (e.g. +08:00 or Z)")
    return moment


def to_utc(moment: _dt.datetime) -> _dt.datetime:
    """The same instant in UTC (databases store UTC)."""
    format_datetime(moment)  # refuses naive times
    return moment.astimezone(_dt.timezone.utc)


def now_iso() -> str:
    """The current time in UTC, ISO 8601 with ``+00:00``."""
    return format_datetime(_dt.datetime.now(_dt.timezone.utc))
