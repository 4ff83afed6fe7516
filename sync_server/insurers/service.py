"""The pool's insurers on the database: their rows with terms and contacts, their shares, the lead,
the co-insurers in rotation order, their leave."""
from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..core.error_codes import ERR
from ..core.models import Insurer
from ..core.rules import RuleError, aware, to_utc
from ..rotation import rules as rot
from .models import InsurerContact, InsurerLeave, InsurerTerms


def insurer_rows(session: Session) -> list[dict]:
    insurers = session.execute(select(Insurer).order_by(Insurer.code)).scalars().all()
    terms = {t.insurer_code: t for t in session.execute(select(InsurerTerms)).scalars()}
    contacts: dict[str, list[dict]] = {}
    for c in session.execute(select(InsurerContact).order_by(InsurerContact.created_at)).scalars():
        contacts.setdefault(c.insurer_code, []).append(
            {"id": c.id, "name": c.name, "phone": c.phone, "user_id": c.user_id})
    leave: dict[str, list[dict]] = {}
    for lv in session.execute(select(InsurerLeave).order_by(InsurerLeave.starts_at)).scalars():
        leave.setdefault(lv.insurer_code, []).append(
            {"id": lv.id, "from": aware(lv.starts_at).isoformat(), "to": aware(lv.ends_at).isoformat(),
             "note": lv.note})
    out = []
    for ins in insurers:
        t = terms.get(ins.code)
        out.append({
            "code": ins.code, "name": ins.name,
            "share_bp": t.share_bp if t else 0, "is_lead": bool(t and t.is_lead),
            "position": t.position if t else 0,
            "contacts": contacts.get(ins.code, []), "leave": leave.get(ins.code, []),
        })
    out.sort(key=lambda r: (not r["is_lead"], r["position"], r["code"]))
    return out


def insurer_row(session: Session, code: str) -> dict:
    for row in insurer_rows(session):
        if row["code"] == code:
            return row
    raise RuleError(404, ERR.not_found, f"no insurer {code}")


def add_leave(session: Session, insurer_code: str, start: dt.datetime, end: dt.datetime, note: str = "") -> None:
    """The insurer's contact is away from ``start`` (inclusive) to ``end`` (exclusive): the
    rotation skips the insurer meanwhile (admin insurer leave, POST /insurers/{code}/leave)."""
    if session.get(Insurer, insurer_code) is None:
        raise RuleError(404, ERR.not_found, f"no insurer {insurer_code}")
    if start.tzinfo is None or end.tzinfo is None:
        raise RuleError(422, ERR.invalid_datetime, "from and to need a UTC offset (e.g. +08:00)")
    if end <= start:
        raise RuleError(422, ERR.invalid_leave, "the leave must end (to) after it starts (from)")
    session.add(InsurerLeave(id=str(uuid.uuid4()), insurer_code=insurer_code, starts_at=to_utc(start),
                             ends_at=to_utc(end), note=note or ""))
    session.flush()


def end_leave(session: Session, insurer_code: str, now: dt.datetime) -> None:
    """Back early: every leave window of the insurer that covers ``now`` ends now. What the
    rotation already logged while it was away stays as logged."""
    if session.get(Insurer, insurer_code) is None:
        raise RuleError(404, ERR.not_found, f"no insurer {insurer_code}")
    for lv in session.execute(select(InsurerLeave).where(InsurerLeave.insurer_code == insurer_code)).scalars():
        if aware(lv.starts_at) <= now < aware(lv.ends_at):
            lv.ends_at = to_utc(now)
    session.flush()


def shares(session: Session) -> dict[str, int]:
    return {r.insurer_code: r.share_bp for r in session.execute(select(InsurerTerms)).scalars()
            if r.share_bp > 0}


def names(session: Session) -> dict[str, str]:
    """Each insurer's code -> its name, as offices read it."""
    return {code: name for code, name in session.execute(select(Insurer.code, Insurer.name))}


def lead_code(session: Session) -> str:
    code = session.execute(select(InsurerTerms.insurer_code).where(InsurerTerms.is_lead)).scalar()
    if code is None:
        raise RuleError(409, ERR.no_lead_insurer, "no lead insurer is set (admin insurer set-lead)")
    return code


def co_insurers(session: Session) -> list[rot.CoInsurer]:
    rows = [r for r in insurer_rows(session) if not r["is_lead"] and r["share_bp"] > 0]
    return [
        rot.CoInsurer(
            r["code"], r["position"],
            tuple(rot.LeaveWindow(dt.datetime.fromisoformat(w["from"]), dt.datetime.fromisoformat(w["to"]))
                  for w in r["leave"]),
        )
        for r in rows
    ]


