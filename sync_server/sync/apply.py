"""Applying a pushed batch of mutations: validation, scope, field merge, conflicts, receipts.

``push(db, device_id, mutations)`` runs the whole batch in ONE write transaction:
1. The device row is locked (PostgreSQL ``SELECT ... FOR UPDATE``; SQLite ``BEGIN IMMEDIATE``),
   so concurrent replays of a batch from the same device run one after the other; the second one
   sees the first one's ``acked_seq`` and answers ``duplicate`` without applying anything again.
   Then the event-grouping lock, shared (a pushed claim may join an event: coinsurance.lock_grouping).
2. Each mutation runs in its own savepoint: a rejected one leaves no trace but its receipt.
3. Every processed seq gets a receipt (its result); ``devices.acked_seq`` moves to the highest seq.
4. COMMIT: the data, the receipts, the device's acked seq and the pull feed's rows together.

Conflicts: each stored field remembers the version and device of its last change. A mutation
based on ``base_version`` that changes a field which another device changed after that version is
still applied (the later arrival wins) and a ``conflicts`` row keeps the value it replaced. Device
clocks are never compared: only server versions and arrival order count.
"""
from __future__ import annotations

import datetime as dt
import logging
import re
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from claimcore import entities

from ..authority import service as authority_service
from ..blobs import provenance
from ..claims import survey_access
from ..core import changelog, domain, sealing
from ..core import rules as core_rules
from ..core.changelog import ASSIGNMENT_STATUSES_WITHOUT_ACCESS, record_change
from ..core.db import Database
from ..core.domain import DomainError
from ..core.error_codes import ERR
from ..core.models import Assignment, Claim, Record, User, utcnow
from ..core.rules import RuleSettings, to_utc
from ..devices.models import Device
from ..events import caps as events_caps
from ..events import service as events_service
from ..rotation import service as rotation_service
from . import batch, policy
from .models import Conflict, PushReceipt

log = logging.getLogger("sync_server.push")

ENTITIES = ("claim", *policy.RECORD_ENTITIES)


class Rejected(Exception):
    """A mutation the server refuses; nothing of it is applied."""

    def __init__(self, code: str, message: str, *, field: str | None = None):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.field = field


class DeviceRevoked(Exception):
    pass


# A feature's own entity pushed by a phone (an assignment's answer, a survey cost, an opinion):
# handler(session, user, device, mutation, rules) -> (status, version); raises Rejected to refuse.
EntityHandler = Callable[[Session, User, Device, "Mutation", "PushRules"], tuple[str, int | None]]


@dataclass(frozen=True)
class PushRules:
    """What a push applies beyond the record contract, handed in by the app (sync_server.app):
    the co-insurance rules' settings and the server's clock (the same the office's routes use, so
    a phone's push and an office's request decide alike), the entities other features handle, and
    the claim-authority guard on adjusted -> approved."""

    settings: RuleSettings
    clock: Callable[[], dt.datetime]
    handlers: Mapping[str, EntityHandler]
    authority_cleared: Callable[[Session, RuleSettings, Claim, dt.datetime], bool]

    def now(self) -> dt.datetime:
        return to_utc(self.clock())


@dataclass
class Mutation:
    seq: int
    entity: Any
    id: Any
    op: Any
    fields: dict[str, Any] = field(default_factory=dict)
    base_version: int | None = None


@dataclass
class Result:
    seq: int
    status: str
    version: int | None = None
    error: str | None = None
    original_status: str | None = None
    field: str | None = None  # the field a refusal is about, when it is about one

    def as_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "status": self.status, "version": self.version, "error": self.error,
                "original_status": self.original_status, "field": self.field}


# "CODE: entity.field: message" (policy.ContractRefusal): a replayed receipt names its field too.
_FIELD_IN_ERROR = re.compile(r"^[a-z_]+: [a-z_]+\.([a-z_][a-z0-9_]*): ")


def _field_of(error: str | None) -> str | None:
    match = _FIELD_IN_ERROR.match(error or "")
    return match.group(1) if match else None


def push(db: Database, device_id: str, mutations: list[Mutation], rules: PushRules) -> tuple[int, list[Result]]:
    with db.write() as session:
        device = session.execute(
            select(Device).where(Device.id == device_id).with_for_update()
        ).scalar_one_or_none()
        if device is None or device.revoked_at is not None:
            # Revoked while the request waited for the lock: refuse the whole batch.
            raise DeviceRevoked()
        user = session.get(User, device.user_id)
        if user is None or not user.active:
            raise DeviceRevoked()
        # Before any claim row is locked: a batch may group claims under events (coinsurance.lock_grouping).
        events_service.lock_grouping(session, shared=True)
        results = _push_whole(session, user, device, mutations, rules) if _whole_batch_fits(mutations, rules) \
            else None
        if results is None:
            results = _push_one_by_one(session, user, device, mutations, rules)
        device.last_push_at = utcnow()
        return device.acked_seq, results


def _duplicate(m: Mutation, receipt: PushReceipt | None) -> Result:
    return Result(
        m.seq,
        "duplicate",
        receipt.version if receipt else None,
        receipt.error if receipt else None,
        receipt.status if receipt else None,
        _field_of(receipt.error) if receipt else None,
    )


def _receipt_row(device: Device, m: Mutation, result: Result) -> dict[str, Any]:
    return {"device_id": device.id, "seq": m.seq, "entity": str(m.entity)[:32], "entity_id": str(m.id)[:64],
            "status": result.status, "version": result.version, "error": result.error}


def _push_one_by_one(session: Session, user: User, device: Device, mutations: list[Mutation],
                     rules: PushRules) -> list[Result]:
    """Each mutation in its own savepoint: a refused one leaves nothing but its receipt."""
    results: list[Result] = []
    for m in mutations:
        if m.seq <= device.acked_seq:
            results.append(_duplicate(m, session.get(PushReceipt, (device.id, m.seq))))
            continue
        before = changelog.pending_snapshot(session)
        try:
            with session.begin_nested():
                status, version = apply_mutation(session, user, device, m, rules)
            result = Result(m.seq, status, version)
        except (Rejected, DomainError) as exc:
            changelog.restore_pending(session, before)
            result = Result(m.seq, "rejected", _current_version(session, m), f"{exc.code}: {exc.message}",
                            field=getattr(exc, "field", None))
            # Refusals are logged with codes and ids only, never values (they may be personal).
            log.info(
                "push refused device=%s user=%s role=%s seq=%s entity=%s code=%s",
                device.id, user.id, user.role, m.seq, _safe(m.entity), exc.code,
            )
        session.add(PushReceipt(**_receipt_row(device, m, result)))
        device.acked_seq = m.seq
        results.append(result)
    return results


# --------------------------------------------------------------------------- the whole batch at once
#
# Most batches are a phone's reports going through untouched: every mutation applies. Those run as
# one unit: ONE savepoint around the batch instead of one per change, the records the batch names
# read in one statement, the claims a liaison may see remembered for the batch, the change-feed
# rows written once (when the batch's savepoint is released) and the receipts in one executemany.
# A claim's rows sent again (changelog.reemit_claim: a township change, a new assignment) would
# take other places in the feed than one by one: such a batch runs one by one too.
# Should any mutation be refused (or anything at all go wrong) the batch's savepoint rolls back and
# the batch runs again one mutation at a time, so refusals, receipts and the feed come out exactly
# as they always have.

_PHOTO_BLOBS = ("sha256", "preview_sha256")  # a photo record's blobs


def _whole_batch_fits(mutations: list[Mutation], rules: PushRules) -> bool:
    # Other features' own entities (assignments' answers, costs, opinions) write what they like:
    # those batches keep the one-by-one path.
    return all(m.entity == "claim" or (m.entity in policy.RECORD_ENTITIES and m.entity not in rules.handlers)
               for m in mutations)


def _push_whole(session: Session, user: User, device: Device, mutations: list[Mutation],
                rules: PushRules) -> list[Result] | None:
    """The batch as one unit; None when it has to run one by one (nothing of it is left then)."""
    acked = device.acked_seq
    replayed = [m.seq for m in mutations if m.seq <= acked]
    receipts: dict[int, PushReceipt] = {}
    for start in range(0, len(replayed), 500):
        receipts.update((r.seq, r) for r in session.execute(select(PushReceipt).where(
            PushReceipt.device_id == device.id, PushReceipt.seq.in_(replayed[start:start + 500]))).scalars())
    fresh = [m for m in mutations if m.seq > acked]
    if not fresh:
        return [_duplicate(m, receipts.get(m.seq)) for m in mutations]
    ids = sorted({str(m.id) for m in fresh if m.entity in policy.RECORD_ENTITIES and policy.is_uuid(m.id)})
    before = changelog.pending_snapshot(session)
    savepoint = session.begin_nested()
    batch.begin(session)
    try:
        known = batch.read_locked(session, Record, ids)
        claims = batch.read_locked(session, Claim, sorted({str(m.id) for m in fresh
                                                      if m.entity == "claim" and policy.is_uuid(m.id)}))
        refs = [(m.fields[key], "photo", str(m.id)) for m in fresh
                if m.entity == "photo" and m.op == "upsert" and str(m.id) in known and known[str(m.id)] is None
                and isinstance(m.fields, dict) for key in _PHOTO_BLOBS if isinstance(m.fields.get(key), str)]
        blobs = provenance.read_batch(session, user, device.id, refs) if refs else None
        whole = batch.WholeBatch(known, claims, blobs)
        if user.role == "liaison":
            whole.visible_claims = batch.visible_claims(session, user, {
                *claims, *(rec.claim_id for rec in known.values() if rec is not None),
                *(str(m.fields["claim_id"]) for m in fresh
                  if m.entity in policy.RECORD_ENTITIES and isinstance(m.fields, dict) and m.fields.get("claim_id"))})
        batch.hold(session, whole)
        changelog.hold_feed(session, True)
        results: list[Result] = []
        rows: list[dict[str, Any]] = []
        for m in mutations:
            if m.seq <= acked:
                results.append(_duplicate(m, receipts.get(m.seq)))
                continue
            status, version = apply_mutation(session, user, device, m, rules)
            result = Result(m.seq, status, version)
            results.append(result)
            rows.append(_receipt_row(device, m, result))
        device.acked_seq = fresh[-1].seq
        batch.write_new_records(session)
        session.execute(PushReceipt.__table__.insert(), [dict(r, created_at=utcnow()) for r in rows])
        savepoint.commit()  # the change feed's rows are written here (changelog's before_commit)
        return results
    except Exception as exc:  # noqa: BLE001 - whatever it was, the one-by-one path meets it again
        savepoint.rollback()  # also after a failed flush or commit, which leave it deactivated, not closed
        changelog.restore_pending(session, before)
        if not isinstance(exc, (changelog.FeedHeld, Rejected, DomainError)):
            log.info("push batch of device=%s runs one by one after %s", device.id, type(exc).__name__)
        return None
    finally:
        batch.end(session)
        changelog.hold_feed(session, False)


def _safe(value: Any) -> str:
    text = str(value)
    return text if text.isidentifier() and len(text) <= 32 else "?"


def _current_version(session: Session, m: Mutation) -> int | None:
    if not policy.is_uuid(m.id):
        return None
    if m.entity == "claim":
        claim = session.get(Claim, m.id)
        return claim.version if claim else None
    if m.entity in policy.RECORD_ENTITIES:
        rec = session.get(Record, m.id)
        return rec.version if rec is not None and rec.entity == m.entity else None
    return None


def apply_mutation(session: Session, user: User, device: Device, m: Mutation,
                   rules: PushRules) -> tuple[str, int | None]:
    # The shared wire format (claimcore.wire) first: the same shape rules the phone's outbox uses.
    from claimcore import wire

    try:
        norm = wire.validate_mutation(
            {"seq": m.seq, "entity": m.entity, "id": m.id, "op": m.op, "fields": m.fields,
             "base_version": m.base_version}
        )
    except wire.WireError as exc:
        where = exc.where.split(".", 1)
        raise Rejected(exc.code, str(exc), field=where[1] if where[0] == "fields" and len(where) == 2 else None) from None
    m = Mutation(norm["seq"], norm["entity"], norm["id"], norm["op"], dict(norm["fields"]), norm["base_version"])
    handler = rules.handlers.get(m.entity)
    if handler is not None:
        # The contract's field rules first; the handler adds the co-insurance rules.
        contract = entities.ENTITIES[m.entity]
        checked = {k: v for k, v in m.fields.items() if not (k == "claim_id" and contract.claim_scoped)}
        if m.op == "upsert":
            _check_fields(m.entity, checked, user.role, creating=contract.append_only)
        return handler(session, user, device, m, rules)
    if not policy.is_uuid(m.id):
        raise Rejected(ERR.invalid_id, "id must be a UUID made on the device")
    if m.entity == "claim":
        return _apply_claim(session, user, device, m, rules)
    if m.entity in policy.RECORD_ENTITIES:
        return _apply_record(session, user, device, m)
    raise Rejected(ERR.unknown_entity, f"unknown entity {m.entity!r}; known: {', '.join(ENTITIES)}")


# ----------------------------------------------------------------------------------- helpers

def _check_fields(entity: str, fields: dict, role: str, *, creating: bool, current: dict | None = None) -> dict:
    return policy.check_fields(entity, fields, role, creating=creating, current=current)


def _merge(
    session: Session,
    *,
    entity: str,
    entity_id: str,
    claim_id: str | None,
    current: dict[str, Any],
    field_versions: dict[str, Any],
    changes: dict[str, Any],
    base_version: int | None,
    new_version: int,
    device_id: str,
) -> tuple[dict[str, Any], dict[str, Any], bool]:
    """Field-level merge. Returns (fields that change, new field_versions, any conflict)."""
    base = base_version or 0
    applied: dict[str, Any] = {}
    versions = dict(field_versions)
    conflict = False
    for name, value in changes.items():
        old = current.get(name)
        if old == value:
            continue
        last = field_versions.get(name)
        if last is not None and last[0] > base and last[1] != device_id:
            # The same field was changed on another device after this edit's base: the later
            # arrival (this one) wins and the replaced value is kept for review.
            conflict = True
            session.add(
                Conflict(
                    entity=entity,
                    entity_id=entity_id,
                    claim_id=claim_id,
                    field=name,
                    kept_value=value,
                    other_value=old,
                    kept_device_id=device_id,
                    other_device_id=last[1],
                    kept_version=new_version,
                )
            )
        applied[name] = value
        versions[name] = [new_version, device_id]
    return applied, versions, conflict


def _as_sent(device: Device, m: Mutation, stored: dict[str, Any], previous: int,
             sent: dict[str, Any] | None = None) -> str | None:
    """The pushing device, when what it stores is exactly what the device holds: the edit was
    made on the version stored until now (``previous``; 0 for a new entity) and its fields are
    stored as sent (``stored``, after the contract's checks, equals ``sent``, the mutation's
    fields). The change feed then spares that device its own write (changelog.record_change);
    the caller drops it on a conflict. None otherwise."""
    if (m.base_version or 0) != previous:
        return None
    return device.id if stored == (m.fields if sent is None else sent) else None


def claim_fields(claim: Claim) -> dict[str, Any]:
    out = {name: getattr(claim, name) for name in policy.CLAIM_COLUMNS}
    out.update(claim.data or {})
    return out


def claim_snapshot(claim: Claim) -> dict[str, Any]:
    snap = claim_fields(claim)
    snap["created_by"] = claim.created_by
    snap["updated_at"] = changelog.now_iso(claim.updated_at)
    return snap


def record_snapshot(rec: Record | Mapping[str, Any]) -> dict[str, Any]:
    """What the change feed holds of a record (a row, or a new record's values not written yet)."""
    row = rec if isinstance(rec, Mapping) else {"fields": rec.fields, "claim_id": rec.claim_id,
                                                  "created_by": rec.created_by, "updated_at": rec.updated_at}
    snap = dict(row["fields"] or {})
    snap["claim_id"] = row["claim_id"]
    snap["created_by"] = row["created_by"]
    snap["updated_at"] = changelog.now_iso(row["updated_at"])
    return snap



def _survey_participant(session: Session, user: User, claim_id: str) -> bool:
    if user.role != "surveyor":
        return False
    row = session.execute(
        select(Assignment.id).where(
            Assignment.claim_id == claim_id,
            Assignment.insurer_code == user.insurer_code,
            Assignment.status.not_in(ASSIGNMENT_STATUSES_WITHOUT_ACCESS),
        )
    ).first()
    return row is not None


def checklist_complete(session: Session, claim: Claim, loss_types: list[str] | None = None) -> bool:
    """claimcore's checklist over the claim's document records (the submit guard)."""
    from claimcore import catalogue as cat_mod
    from claimcore import checklist

    loss_types = loss_types if loss_types is not None else (claim.data or {}).get("loss_types") or []
    if not loss_types:
        return False
    docs = session.execute(
        select(Record).where(Record.claim_id == claim.id, Record.entity == "document", Record.deleted.is_(False))
    ).scalars()
    statuses: dict[str, str] = {}
    for doc in docs:
        code = (doc.fields or {}).get("code")
        status = (doc.fields or {}).get("status")
        if code and status:
            statuses[code] = status
    persons = session.execute(
        select(Record).where(Record.claim_id == claim.id, Record.entity == "person", Record.deleted.is_(False))
    ).scalars()
    by_agent = any((p.fields or {}).get("role_in_claim") == "agent" for p in persons)
    data = claim.data or {}
    try:
        catalogue = cat_mod.load_catalogue(claim.catalogue_version or None)
        items = checklist.required_documents(
            catalogue, claim.coverage, loss_types, by_agent=by_agent,
            conditions=data.get("conditions") or (), attached_to=data.get("attached_to"),
        )
        return checklist.evaluate(items, statuses).complete
    except (ValueError, KeyError):
        return False


# ------------------------------------------------------------------------------------- claims

def _apply_claim(session: Session, user: User, device: Device, m: Mutation,
                 rules: PushRules) -> tuple[str, int | None]:
    if m.op == "delete":
        raise Rejected(ERR.delete_not_allowed, "claims are never deleted; withdraw them instead")
    claim = batch.load_claim_for_update(session, m.id)
    # A claim the user may not see is answered exactly as an unknown id would be: the same checks,
    # in the same order, with the same messages (so its existence cannot be probed), up to the
    # point where an unknown id would be created.
    hidden = claim is not None and not batch.claim_visible(session, user, claim.id)
    if hidden:
        claim = None
    fields = _check_fields("claim", m.fields, user.role, creating=claim is None)
    now = utcnow()

    if "township_code" in fields and user.role == "liaison" and fields["township_code"] != user.township_code:
        raise Rejected(ERR.township_not_permitted, "a liaison reports claims of its own township only")

    if claim is None:
        try:
            from claimcore import workflow

            workflow.check_report(user.role)
        except Exception as exc:  # WorkflowError
            raise Rejected(ERR.not_a_reporting_role, f"role {user.role} may not report a claim ({exc})") from None
        if fields.get("status", "reported") != "reported":
            raise Rejected(ERR.illegal_transition, "a new claim starts as reported")
        if fields.get("village_code") is not None:
            domain.check_village(fields["village_code"], fields["township_code"])
        if hidden:
            # Only a phone that already knows this UUID (made on another device) gets here.
            raise Rejected(ERR.id_in_use, f"claim id {m.id} is already taken; make a new id")
        columns = {k: v for k, v in fields.items() if k in policy.CLAIM_COLUMNS}
        data = {k: v for k, v in fields.items() if k not in policy.CLAIM_COLUMNS}
        # The phone holds the claim as stored only when the server filled in nothing of its own.
        own = _as_sent(device, m, fields, 0) if {"status", "catalogue_version"} <= set(fields) else None
        columns.setdefault("status", "reported")
        columns.setdefault("catalogue_version", domain.catalogue_version())
        claim = Claim(
            id=m.id,
            version=1,
            data=data,
            field_versions={k: [1, device.id] for k in fields},
            created_by=user.id,
            created_at=now,
            updated_at=now,
            **columns,
        )
        session.add(claim)
        whole = batch.current(session)
        if whole is not None:
            # Written with the batch's next statement, with the records that follow it.
            whole.claims[claim.id] = claim
            if user.role == "liaison" and claim.township_code == user.township_code:
                whole.visible_claims.add(claim.id)  # claim_visible's rule for a liaison
        else:
            session.flush()
        record_change(session, "claim", claim.id, claim_snapshot(claim), version=1, claim_id=claim.id,
                      origin_device=own)
        _claim_written(session, user, claim, fields, None, new=True)
        return "applied", 1

    current = claim_fields(claim)
    township = fields.get("township_code", claim.township_code)
    if fields.get("village_code") is not None or ("township_code" in fields and claim.village_code):
        village = fields.get("village_code", claim.village_code)
        if village is not None:
            domain.check_village(village, township)
    _check_money(session, claim, {**current, **fields}, fields)
    new_status = fields.get("status")
    moving = new_status is not None and new_status != claim.status
    if moving:
        loss_types = fields.get("loss_types", current.get("loss_types"))
        _check_transition(session, rules, user, claim, new_status, fields.get("status_reason"), loss_types,
                          {**current, **fields})
    new_version = claim.version + 1
    own = _as_sent(device, m, fields, claim.version)
    applied, versions, conflict = _merge(
        session,
        entity="claim",
        entity_id=claim.id,
        claim_id=claim.id,
        current=current,
        field_versions=claim.field_versions or {},
        changes=fields,
        base_version=m.base_version,
        new_version=new_version,
        device_id=device.id,
    )
    if not applied:
        return "applied", claim.version
    data = dict(claim.data or {})
    for name, value in applied.items():
        if name in policy.CLAIM_COLUMNS:
            setattr(claim, name, value)
        else:
            data[name] = value
    township_changed = "township_code" in applied
    claim.data = data
    claim.field_versions = versions
    claim.version = new_version
    claim.updated_at = now
    session.flush()
    record_change(session, "claim", claim.id, claim_snapshot(claim), version=new_version, claim_id=claim.id,
                  origin_device=None if conflict else own)
    if township_changed:
        # Another township's liaison now sees this claim: its records must reach them too.
        changelog.reemit_claim(session, claim.id)
    _claim_written(session, user, claim, applied, current.get("event_id"))
    if moving and applied.get("status") == new_status:
        _after_transition(session, rules, user, claim, new_status)
    return ("conflict" if conflict else "applied"), new_version


def _claim_written(session: Session, user: User, claim: Claim, applied: dict[str, Any],
                   event_before: str | None, *, new: bool = False) -> None:
    """What a pushed claim write (a new claim or a change) sets going in the co-insurance rules:
    an office's ``event_id`` is a choice by hand; a claim without an event whose coverage,
    township or incident time is new joins the event it matches."""
    if "event_id" in applied:
        events_service.event_set_by_hand(session, claim, event_before, applied["event_id"], user)
    if events_service.GROUPING_FIELDS & set(applied):
        events_service.group_claim(session, claim, new=new)


def _after_transition(session: Session, rules: PushRules, user: User, claim: Claim, target: str) -> None:
    """What a status the phone pushed sets going on the server (the same as the office's routes):
    a dispatched survey goes through the rotation; an adjusted amount is put to the co-insurers."""
    from claimcore import authority

    now = rules.now()
    if target == "survey_dispatched":
        try:
            rotation_service.dispatch_claim(session, rules.settings, claim.id, user, now, move=False)
        except core_rules.RuleError as exc:
            if exc.code != ERR.already_dispatched:
                raise Rejected(exc.code, exc.message) from None
    try:
        if target == "adjusted" and claim.adjusted_amount_fen is not None and authority.tier_for_amount(
                claim.adjusted_amount_fen) is not authority.Tier.LEAD_ALONE:
            authority_service.authority_view(session, rules.settings, claim.id, now)  # the co-insurers are told
        authority_service.claim_moved(session, rules.settings, claim, now)
    except core_rules.RuleError as exc:
        raise Rejected(exc.code, exc.message) from None


def _persons(session: Session, claim_id: str) -> list[dict[str, Any]]:
    rows = session.execute(
        select(Record).where(Record.claim_id == claim_id, Record.entity == "person", Record.deleted.is_(False))
    ).scalars()
    return [{"id": r.id, "role_in_claim": (r.fields or {}).get("role_in_claim"),
             "has_bank_account": bool((r.fields or {}).get("bank_card"))} for r in rows]


def _check_money(session: Session, claim: Claim, values: dict[str, Any], changed: dict[str, Any],
                 target: str | None = None) -> None:
    """claimcore.amounts on a write (``changed``) or a move to ``target`` (the phone runs the
    same checks). ``values``: the claim's fields after the write."""
    from claimcore import amounts
    from claimcore.catalogue import load_catalogue

    if target is None and not amounts.MONEY_FIELDS & set(changed):
        return
    persons = _persons(session, claim.id)
    limits = amounts.limits_for(values.get("coverage") or claim.coverage, values.get("loss_types") or [],
                                amounts.victims_of(persons), load_catalogue(claim.catalogue_version or None),
                                incident_at=values.get("incident_at") or claim.incident_at)
    payable = None
    if target == "paid":
        # A payment is also within the claim's share of its event's and its year's caps.
        events_caps.lock_payments(session)
        payable = events_caps.payable(session, claim, values)
    try:
        if target is None:
            amounts.check_write(changed, limits)
        else:
            amounts.check_state(target, values, persons, limits, payable)
    except amounts.AmountError as exc:
        raise Rejected(exc.code, f"{exc.message('en')} / {exc.message('zh')}", field=exc.field) from None


def server_change(session: Session, claim: Claim, columns: dict[str, Any]) -> None:
    """A claim change the server makes itself (a status move, grouping under an event): a new
    version, the fields marked as the server's (a phone editing them from an older version meets
    a conflict like any other), published in the pull feed like a pushed change."""
    claim.version += 1
    versions = dict(claim.field_versions or {})
    for name, value in columns.items():
        setattr(claim, name, value)
        versions[name] = [claim.version, "server"]
    claim.field_versions = versions
    claim.updated_at = utcnow()
    session.flush()
    record_change(session, "claim", claim.id, claim_snapshot(claim), version=claim.version, claim_id=claim.id)


def move_claim(session: Session, claim: Claim, target: str, user: User, *, reason: str | None = None) -> None:
    """A status change the server makes itself (dispatch, a survey completed), on the same edges
    as a phone's, with a timeline entry under the user's name, published like a pushed one."""
    from claimcore import workflow

    if not workflow.path_ok([claim.status, target]):
        return
    source = claim.status
    server_change(session, claim, {"status": target})
    now = claim.updated_at
    fields = {"from_status": source, "to_status": target, "role": user.role, "at": changelog.now_iso(now),
              "reason": reason}
    rec = Record(id=str(uuid.uuid4()), entity="transition", claim_id=claim.id, version=1, deleted=False,
                 sha256=None, fields=fields, field_versions={k: [1, "server"] for k in fields},
                 created_by=user.id, created_at=now, updated_at=now)
    session.add(rec)
    session.flush()
    record_change(session, "transition", rec.id, dict(record_snapshot(rec), created_by_name=user.name),
                  version=1, claim_id=claim.id)


def _check_transition(session: Session, rules: PushRules, user: User, claim: Claim, target: str, reason: Any,
                      loss_types,  # noqa: ANN001
                      values: dict[str, Any]) -> None:
    from claimcore import workflow

    edge = workflow.find_transition(claim.status, target)
    guards: dict[str, Any] = {"reason": reason}
    if edge is not None:
        if edge.needs_checklist:
            guards["checklist_complete"] = checklist_complete(session, claim, loss_types)
        if edge.needs_authority:
            guards["authority_cleared"] = rules.authority_cleared(session, rules.settings, claim, rules.now())
        if user.role in edge.participant_roles:
            guards["survey_participant"] = _survey_participant(session, user, claim.id)
    try:
        workflow.check_transition(claim.status, target, user.role, **guards)
    except workflow.WorkflowError as exc:
        raise Rejected(ERR.illegal_transition, f"{exc.message('en')} / {exc.message('zh')}") from None
    _check_money(session, claim, values, {}, target)


# ------------------------------------------------------------------------------------ records

def _check_survey_record(session: Session, entity: str, rec: Record | None, clean: dict[str, Any]) -> None:
    """A surveyor works the site survey's own papers and photos: the victims' papers it is never
    served (survey_access) are not its to change, nor to attach photos to."""
    before = (rec.fields or {}) if rec is not None else {}
    if entity == "document":
        codes = {before.get("code"), clean.get("code")} - {None}
        if not codes or not codes <= survey_access.SURVEY_DOCUMENTS:
            raise Rejected(ERR.not_allowed_for_role, "a surveyor handles only the site survey's documents")
        return
    doc_ids = {before.get("document_id"), clean.get("document_id")} - {None}
    if any(not survey_access.record_visible_to_surveyor(session, "document", str(d)) for d in doc_ids):
        raise Rejected(ERR.not_allowed_for_role, "a surveyor attaches photos only to the site survey's documents")


def _check_documents_open(session: Session, user: User, claim_id: str, rec: Record | None,
                          clean: dict[str, Any]) -> None:
    """Past document collection only the offices change the checklist (claimcore.document_rules,
    the rule the phone's store applies). A push repeating what is stored is not a change."""
    from claimcore import document_rules

    before = (rec.fields or {}) if rec is not None and not rec.deleted else None
    if before is not None and all(before.get(k) == v for k, v in clean.items()):
        return
    claim = batch.claim_of(session, claim_id)
    if claim is None:
        return
    try:
        document_rules.check_document_change(claim.status, user.role)
    except document_rules.DocumentsClosed as exc:
        raise Rejected(exc.code, f"{exc.message('en')} / {exc.message('zh')}", field="status") from None


def _apply_record(session: Session, user: User, device: Device, m: Mutation) -> tuple[str, int | None]:
    entity = m.entity
    fields = dict(m.fields)
    claim_id = fields.pop("claim_id", None)
    rec = batch.load_record_for_update(session, m.id)
    if rec is not None and not batch.claim_visible(session, user, rec.claim_id):
        # A record of a claim out of the caller's scope: scope first, so nothing here says that the
        # id exists (nor names its claim). Answered as for a claim the caller may not see.
        if claim_id is None:
            raise Rejected(ERR.required, f"{entity} needs claim_id", field="claim_id")
        raise Rejected(ERR.claim_not_found, f"claim {claim_id} not found")
    if rec is not None:
        if rec.entity != entity:
            raise Rejected(ERR.id_in_use, f"id {m.id} belongs to another kind of record")
        if claim_id is not None and claim_id != rec.claim_id:
            raise Rejected(ERR.claim_id_immutable, "a record cannot move to another claim")
        claim_id = rec.claim_id
    if claim_id is None:
        raise Rejected(ERR.required, f"{entity} needs claim_id", field="claim_id")
    if not policy.is_uuid(claim_id) or not batch.claim_visible(session, user, claim_id):
        # Unknown and out-of-scope claims get the same answer.
        raise Rejected(ERR.claim_not_found, f"claim {claim_id} not found")
    now = utcnow()

    if m.op == "delete":
        if entity in policy.APPEND_ONLY:
            raise Rejected(ERR.append_only, f"{entity}s are never deleted")
        if user.role not in policy.FIELD_ROLES:
            raise Rejected(ERR.not_allowed_for_role, f"role {user.role} may not delete a {entity}")
        if rec is None:
            raise Rejected(ERR.not_found, f"{entity} {m.id} not found")
        if rec.deleted:
            return "applied", rec.version
        if entity == "document":
            _check_documents_open(session, user, rec.claim_id, None, {})
        own = _as_sent(device, m, {}, rec.version, {})
        rec.deleted = True
        sealing.erase_sealed(session, rec)  # a deleted person keeps no ID number, card, phone
        rec.version += 1
        rec.updated_at = now
        session.flush()
        record_change(session, entity, rec.id, {"claim_id": rec.claim_id}, version=rec.version,
                      op="delete", claim_id=rec.claim_id, origin_device=own)
        return "applied", rec.version

    if rec is None and user.role not in policy.create_roles(entity):
        raise Rejected(ERR.not_allowed_for_role, f"role {user.role} may not add a {entity}")
    # The record as stored: a person's ID number is checked by its document type, whichever of
    # the two this write changes (claimcore.entities.check_fields), as the phone's store does.
    clean = _check_fields(entity, fields, user.role, creating=rec is None,
                          current=(rec.fields or {}) if rec is not None and not rec.deleted else None)
    if user.role == "surveyor" and entity in ("document", "photo"):
        _check_survey_record(session, entity, rec, clean)
    if entity == "document":
        _check_documents_open(session, user, claim_id, rec, clean)
    if rec is None and entity == "transition":
        _check_timeline_entry(session, user, claim_id, clean)

    if rec is None:
        row = {"id": m.id, "entity": entity, "claim_id": claim_id, "version": 1, "deleted": False,
               "sha256": clean.get("sha256"), "fields": clean, "field_versions": {k: [1, device.id] for k in clean},
               "created_by": user.id, "created_at": now, "updated_at": now}
        whole = batch.current(session)
        if whole is not None:
            # Written before the batch's next statement, with the other new records (a clash of
            # ids surfaces there and sends the batch one by one, where it is answered as always).
            row["id_index"] = sealing.id_index_of(session.get_bind().dialect, entity, False, clean)
            whole.new_records[m.id] = row
        else:
            session.add(Record(**row))
            session.flush()
        if entity == "photo":
            # Naming a hash is not owning the photo: the reference counts once this device has
            # sent those bytes (or they belong to a record its user sees already); until then the
            # record is kept and the blob stays unreadable through it (sync_server.blobs.provenance).
            for key in _PHOTO_BLOBS:
                if clean.get(key):
                    provenance.reference(session, user, device.id, clean[key], "photo", m.id, claim_id=claim_id,
                                         batch=whole.blobs if whole is not None else None)
        snap = record_snapshot(row)
        if entity in ("transition", "note"):
            snap["created_by_name"] = user.name  # timelines show people, not ids
        record_change(session, entity, m.id, snap, version=1, claim_id=claim_id,
                      origin_device=_as_sent(device, m, clean, 0, fields))
        return "applied", 1

    if rec.deleted:
        raise Rejected(ERR.record_deleted, f"{entity} {m.id} was deleted")
    if entity in policy.APPEND_ONLY:
        if any(rec.fields.get(k) != v for k, v in clean.items()):
            raise Rejected(ERR.append_only, f"a {entity} cannot be changed once recorded; add a new one")
        return "applied", rec.version
    new_version = rec.version + 1
    own = _as_sent(device, m, clean, rec.version, fields)
    applied, versions, conflict = _merge(
        session,
        entity=entity,
        entity_id=rec.id,
        claim_id=claim_id,
        current=rec.fields or {},
        field_versions=rec.field_versions or {},
        changes=clean,
        base_version=m.base_version,
        new_version=new_version,
        device_id=device.id,
    )
    if not applied:
        return "applied", rec.version
    rec.fields = {**(rec.fields or {}), **applied}
    rec.field_versions = versions
    rec.version = new_version
    rec.updated_at = now
    session.flush()
    record_change(session, entity, rec.id, record_snapshot(rec), version=new_version, claim_id=claim_id,
                  origin_device=None if conflict else own)
    return ("conflict" if conflict else "applied"), new_version


def _check_timeline_entry(session: Session, user: User, claim_id: str, fields: dict[str, Any]) -> None:
    """A pushed timeline entry must tell what happened: the claim is now in ``to_status`` (the
    status change itself travels first, as the claim's ``status``, and was checked there), the
    step ``from_status → to_status`` is one of claimcore.workflow's edges that the caller's role
    may take (the first entry: a reporting role reported it), and it names the caller's role."""
    from claimcore import workflow

    claim = batch.claim_of(session, claim_id)
    source, target = fields.get("from_status"), fields.get("to_status")
    role = fields.get("role")
    if role is not None and role != user.role:
        raise Rejected(ERR.illegal_transition, f"a timeline entry names its writer's role ({user.role}), not {role}",
                       field="role")
    if claim is None or target != claim.status:
        raise Rejected(ERR.illegal_transition, f"the claim is not {target}: a timeline entry records a status "
                                             "change that was made", field="to_status")
    try:
        if source is None:
            if target != workflow.INITIAL_STATE or claim.created_by != user.id:
                raise Rejected(ERR.illegal_transition, "only the claim's reporter records its first entry",
                               field="from_status")
            workflow.check_report(user.role)
            return
        edge = workflow.find_transition(source, target)
    except workflow.WorkflowError as exc:
        raise Rejected(ERR.illegal_transition, f"{exc.message('en')} / {exc.message('zh')}") from None
    if edge is None or user.role not in edge.roles:
        raise Rejected(ERR.illegal_transition, f"role {user.role} does not move a claim from {source} to {target}",
                       field="from_status")

