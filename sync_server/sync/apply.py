"""Applying a pushed batch of mutations: validation, scope, field merge, conflicts, receipts.

``push(db, device_id, mutations)`` runs the whole batch in ONE write transaction:
1. The device row is locked (PostgreSQL ``SELECT ... FOR UPDATE``; SQLite ``BEGIN IMMEDIATE``),
   so concurrent replays of a batch from the same device run one after the other; the second one
   sees the first one's ``acked_seq`` and answers ``duplicate`` without applying anything again.
   Then the event-grouping lock, shared (a pushed claim may join an event: coinsurance.lock_grouping).
2. Each mutation runs in its own savepoint: a rejected one leaves no trace but its receipt.
3. Every processed seq gets a receipt (its result); ``devices.acked_seq`` moves to the highest seq.
4. COMMIT: the data, the receipts, the device's acked seq and the pull feed's rows together.

The field merge, conflicts and own writes: sync_server.sync.mutations; a claim's changes:
sync_server.sync.claims; a record's: sync_server.sync.records.
"""
from __future__ import annotations

import logging
import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from claimcore import entities

from ..blobs import provenance
from ..core import changelog
from ..core.db import Database
from ..core.domain import DomainError
from ..core.error_codes import ERR
from ..core.models import Claim, Record, User, utcnow
from ..devices.models import Device
from ..events import service as events_service
from . import batch, policy
from .claims import apply_claim
from .models import PushReceipt
from .mutations import DeviceRevoked, Mutation, PushRules, Rejected, Result
from .records import PHOTO_BLOBS, apply_record

log = logging.getLogger("sync_server.push")

ENTITIES = ("claim", *policy.RECORD_ENTITIES)


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
                and isinstance(m.fields, dict) for key in PHOTO_BLOBS if isinstance(m.fields.get(key), str)]
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
        now = utcnow()  # one batch, one moment
        session.execute(PushReceipt.__table__.insert(), [dict(r, created_at=now) for r in rows])
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
            policy.check_fields(m.entity, checked, user.role, creating=contract.append_only)
        return handler(session, user, device, m, rules)
    if not policy.is_uuid(m.id):
        raise Rejected(ERR.invalid_id, "id must be a UUID made on the device")
    if m.entity == "claim":
        return apply_claim(session, user, device, m, rules)
    if m.entity in policy.RECORD_ENTITIES:
        return apply_record(session, user, device, m)
    raise Rejected(ERR.unknown_entity, f"unknown entity {m.entity!r}; known: {', '.join(ENTITIES)}")
