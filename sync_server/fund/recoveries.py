"""The co-insurers' recoveries on the database (sync_server.fund.rules is the arithmetic): what the
lead paid on behalf of all (claims with a paid amount) and each co-insurer's part, the demands and
receipts booked against it and their corrections. One insurer's entries take turns under a lock
on its row, so a receipt never passes the check against what was demanded twice at once."""
from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..core.error_codes import ERR
from ..core.models import Claim, Insurer, User, utcnow
from ..core.rules import RuleError, aware
from ..events import service as events_service
from ..insurers import service as insurers_service
from . import rules as fundlib
from .models import RecoveryEntryRow


def _paid_on(claim_data: dict | None) -> dt.date | None:
    """The day a claim was paid (its ``paid_on``, else ``paid_at``), or None when unrecorded."""
    data = claim_data or {}
    try:
        if data.get("paid_on"):
            return dt.date.fromisoformat(str(data["paid_on"]))
    except ValueError:
        pass
    moment = events_service.parse_moment(data.get("paid_at"))
    return moment.date() if moment else None


def _paid_claims(session: Session, upto: dt.date | None = None) -> tuple[str, list[fundlib.Recovery]]:
    """The lead and every claim it paid on behalf of all (a paid amount); with ``upto``, those
    paid before that day (a claim whose payment day is not recorded counts in every period)."""
    lead = insurers_service.lead_code(session)
    sh = insurers_service.shares(session)
    rows = session.execute(select(Claim.id, Claim.paid_amount_fen, Claim.data).where(
        Claim.paid_amount_fen.is_not(None), Claim.paid_amount_fen > 0).order_by(Claim.id)).all()
    if upto is not None:
        rows = [r for r in rows if (_paid_on(r.data) or dt.date.min) < upto]
    try:
        return lead, [fundlib.recovery_for(cid, paid, sh, lead) for cid, paid, _ in rows]
    except fundlib.FundError as exc:
        raise RuleError(409, ERR.fund_error, str(exc)) from None


def _recovery_entry(r: RecoveryEntryRow) -> fundlib.RecoveryEntry:
    return fundlib.RecoveryEntry(r.kind, r.insurer_code, r.amount_fen, r.on, r.id, corrects=r.corrects)


def _recovery_rows(session: Session, insurer_code: str | None = None) -> list[RecoveryEntryRow]:
    q = select(RecoveryEntryRow)
    if insurer_code is not None:
        q = q.where(RecoveryEntryRow.insurer_code == insurer_code)
    return list(session.execute(q.order_by(RecoveryEntryRow.on.desc(), RecoveryEntryRow.created_at.desc(),
                                           RecoveryEntryRow.id.desc())).scalars())


def recovery_positions(session: Session, upto: dt.date | None = None) -> dict[str, dict[str, int]]:
    """Per co-insurer: owed, demanded, received, outstanding (fund.recovery_positions); with
    ``upto``, as they stood at the start of that day (claims paid and entries dated before it)."""
    lead, recs = _paid_claims(session, upto)
    return fundlib.recovery_positions(_owed(session, lead, recs),
                                      [_recovery_entry(r) for r in _recovery_rows(session)], upto)


def _owed(session: Session, lead: str, recs: list[fundlib.Recovery]) -> dict[str, int]:
    """What each co-insurer owes; every co-insurer of the pool is listed, owing nothing or not."""
    owed = {c: 0 for c in insurers_service.shares(session) if c != lead}
    owed.update(fundlib.recoveries_by_insurer(recs))
    return owed


def recovery_entry_dict(r: RecoveryEntryRow, *, corrected_by: str | None = None) -> dict:
    return {"id": r.id, "insurer_code": r.insurer_code, "kind": r.kind, "amount_fen": r.amount_fen,
            "on": r.on.isoformat(), "note": r.note, "corrects": r.corrects, "corrected_by": corrected_by,
            "reason": r.reason, "created_by": r.created_by, "created_at": aware(r.created_at).isoformat()}


def recoveries(session: Session, insurer_code: str | None = None) -> dict:
    """Claims the lead paid on behalf of all (claims with a paid amount) and each co-insurer's part;
    per co-insurer what it owes, what was demanded and received, and what is outstanding; the
    demands, receipts and corrections, newest first. ``insurer_code``: only that insurer's
    figures and entries (a co-insurer's surveyor), while the claims and their parts, which follow
    from the shares every co-insurer knows, stay whole."""
    lead, recs = _paid_claims(session)
    rows = _recovery_rows(session)
    by_insurer = fundlib.recovery_positions(_owed(session, lead, recs), [_recovery_entry(r) for r in rows])
    corrected_by = {r.corrects: r.id for r in rows if r.corrects is not None}
    if insurer_code is not None:
        by_insurer = {c: v for c, v in by_insurer.items() if c == insurer_code}
        rows = [r for r in rows if r.insurer_code == insurer_code]
    return {"lead": lead, "claims": [{"claim_id": r.claim_id, "paid_fen": r.paid_fen, "parts": r.parts}
                                     for r in recs],
            "to_recover_by_insurer": fundlib.recoveries_by_insurer(recs),
            "by_insurer": by_insurer,
            "entries": [recovery_entry_dict(r, corrected_by=corrected_by.get(r.id)) for r in rows]}


def _lock_insurer(session: Session, insurer_code: str) -> Insurer | None:
    """Demands, receipts and corrections of one insurer take turns (the receipt check reads what
    was demanded, then writes): its row is locked on PostgreSQL; SQLite's BEGIN IMMEDIATE already
    serialises writers."""
    return session.execute(select(Insurer).where(Insurer.code == insurer_code).with_for_update()
                           ).scalar_one_or_none()


def _standing(session: Session, insurer_code: str) -> dict[str, int]:
    rows = _recovery_rows(session, insurer_code)
    got = fundlib.recovery_positions({}, [_recovery_entry(r) for r in rows])
    return got.get(insurer_code, {"demanded_fen": 0, "received_fen": 0})


def record_recovery(session: Session, actor: User, insurer_code: str, kind: str, *, amount_fen: int,
                    on: dt.date, note: str = "") -> dict:
    """Book a demand to a co-insurer (``demanded``) or what it paid back (``received``). The lead
    recovers from the others, so the lead itself (or anyone outside the pool) answers 404; what
    was received never exceeds what was demanded (409 over_received)."""
    lead = insurers_service.lead_code(session)
    if (_lock_insurer(session, insurer_code) is None or insurer_code == lead
            or insurer_code not in insurers_service.shares(session)):
        raise RuleError(404, ERR.not_found, f"no co-insurer {insurer_code}")
    if kind not in (fundlib.DEMANDED, fundlib.RECEIVED):
        raise RuleError(422, ERR.invalid_request, "a recovery entry is demanded or received")
    try:
        entry = fundlib.RecoveryEntry(kind, insurer_code, amount_fen, on, str(uuid.uuid4()))
    except fundlib.FundError as exc:
        raise RuleError(422, ERR.invalid_amount, str(exc)) from None
    if kind == fundlib.RECEIVED:
        now = _standing(session, insurer_code)
        if now["received_fen"] + amount_fen > now["demanded_fen"]:
            raise RuleError(409, ERR.over_received,
                            f"{insurer_code}: {now['demanded_fen']} fen demanded, {now['received_fen']} fen "
                            f"received; {amount_fen} fen more would exceed the demand (book the demand first)")
    return _add_recovery(session, entry, actor, note=note)


def _add_recovery(session: Session, entry: fundlib.RecoveryEntry, actor: User, *, note: str,
                  reason: str | None = None) -> dict:
    row = RecoveryEntryRow(id=entry.id, insurer_code=entry.insurer_code, kind=entry.kind,
                           amount_fen=entry.amount_fen, on=entry.on, note=note or "", corrects=entry.corrects,
                           reason=reason, created_by=actor.id, created_at=utcnow())
    session.add(row)
    session.flush()
    return recovery_entry_dict(row)


def correct_recovery(session: Session, actor: User, entry_id: str, reason: str, today: dt.date) -> dict:
    """Take a demand or receipt back in full by a correction dated ``today`` (the same rule as the
    fund's reversals: positions published for past periods keep their figures). Once per entry; a
    correction is final. Taking back a demand that was (partly) paid answers 409 over_received
    while the receipts would exceed what stays demanded: book the right demand first."""
    from sqlalchemy.exc import IntegrityError

    row = session.get(RecoveryEntryRow, entry_id)
    if row is None:
        raise RuleError(404, ERR.not_found, "no such recovery entry")
    _lock_insurer(session, row.insurer_code)
    if row.kind == fundlib.CORRECTION:
        raise RuleError(409, ERR.is_correction, "a correction is final and cannot be corrected")
    done = session.execute(select(RecoveryEntryRow.id).where(RecoveryEntryRow.corrects == row.id)).scalar()
    if done is not None:
        raise RuleError(409, ERR.already_corrected, f"this entry was corrected already (correction {done})")
    reason = (reason or "").strip()
    if not reason:
        raise RuleError(422, ERR.reason_required, "a correction needs a reason")
    correction = fundlib.recovery_reversal(_recovery_entry(row), today, str(uuid.uuid4()))
    if row.kind == fundlib.DEMANDED:
        now = _standing(session, row.insurer_code)
        if now["demanded_fen"] - row.amount_fen < now["received_fen"]:
            raise RuleError(409, ERR.over_received,
                            f"{row.insurer_code}: {now['received_fen']} fen received would exceed the "
                            f"{now['demanded_fen'] - row.amount_fen} fen left demanded (book the right "
                            "demand first, or take the receipt back)")
    try:
        return _add_recovery(session, correction, actor, note=row.note, reason=reason)
    except IntegrityError:  # another office took it back a moment earlier
        raise RuleError(409, ERR.already_corrected, "this entry was corrected already") from None


