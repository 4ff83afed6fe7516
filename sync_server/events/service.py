"""Events on the database: a claim joins the event its coverage, township and incident time match
(or the one an office sets by hand), events are declared, listed and dispatched as a whole."""
from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Iterable

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from claimcore.localtime import to_china_time

from ..core.changelog import record_change
from ..core.error_codes import ERR
from ..core.models import Claim, User, utcnow
from ..core.rules import RuleError, RuleSettings, aware, to_utc
from ..rotation import rules as rot
from ..rotation import service as rotation_service
from .models import CoinsuranceEvent, EventClaimExclusion

# What a claim is matched on (reported_at stands in for a missing incident time).
GROUPING_FIELDS = frozenset({"coverage", "township_code", "incident_at", "reported_at"})


GROUPING_LOCK_KEY = 4_207_113_006


def lock_grouping(session: Session, *, shared: bool = False) -> None:
    """Declaring an event (exclusive) and a push (shared) take turns on PostgreSQL, so a claim
    pushed while an event is declared is either seen by the declaration or sees the event itself.
    Both take it before they lock any claim row (a push: as its transaction begins, since any of
    its mutations may write a claim), so neither waits for a row the other holds: no deadlock.
    Pushes do not wait for each other. SQLite writers take turns anyway."""
    if session.get_bind().dialect.name != "postgresql":
        return
    fn = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
    session.execute(text(f"SELECT {fn}(:k)"), {"k": GROUPING_LOCK_KEY})


def parse_moment(value: Any) -> dt.datetime | None:
    """An ISO 8601 time from a claim's record, aware (a time without offset is China time), or None."""
    if not value:
        return None
    try:
        moment = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return to_china_time(moment)


def claim_moment(claim: Claim) -> dt.datetime:
    """When the claim's loss happened: its incident time, else when it was reported or made."""
    return (parse_moment(claim.incident_at) or parse_moment((claim.data or {}).get("reported_at"))
            or aware(claim.created_at) or utcnow())


def _best_event(claim: Claim, events: Iterable[CoinsuranceEvent], excluded: set[tuple[str, str]]
                ) -> CoinsuranceEvent | None:
    moment = claim_moment(claim)
    fitting = [ev for ev in events
               if ev.coverage == claim.coverage and claim.township_code in (ev.township_codes or ())
               and aware(ev.started_at) <= moment and (ev.id, claim.id) not in excluded]
    return max(fitting, key=lambda ev: (aware(ev.started_at), aware(ev.created_at), ev.id), default=None)


def _set_event(session: Session, claim: Claim, event_id: str | None) -> None:
    from ..sync.claims import server_change

    server_change(session, claim, {"event_id": event_id})


def _events_of_coverage(session: Session, coverage: str) -> list[CoinsuranceEvent]:
    """The events of a coverage, read once per transaction: a push holds the grouping lock
    (shared), so no event is declared while it runs; on SQLite writers take turns anyway."""
    cache = session.info.setdefault("events_by_coverage", {})
    if coverage not in cache:
        cache[coverage] = list(session.execute(
            select(CoinsuranceEvent).where(CoinsuranceEvent.coverage == coverage)).scalars())
    return cache[coverage]


def group_claim(session: Session, claim: Claim, *, new: bool = False) -> CoinsuranceEvent | None:
    """Put a claim without an event into the event it matches (the latest started), if any.
    Called by a push, which holds the grouping lock (shared). ``new``: the claim is being
    created, so no office has taken it out of an event yet."""
    if claim.event_id is not None:
        return None
    events = _events_of_coverage(session, claim.coverage)
    if not _best_event(claim, events, set()):
        return None  # the common case (no event fits): no further query for this claim
    excluded = set() if new else {(e.event_id, e.claim_id) for e in session.execute(
        select(EventClaimExclusion).where(EventClaimExclusion.claim_id == claim.id)).scalars()}
    ev = _best_event(claim, events, excluded)
    if ev is not None:
        _set_event(session, claim, ev.id)
    return ev


def declare_event(session: Session, actor: User, name: str, coverage: str, township_codes: list[str],
                  started_at: dt.datetime) -> dict:
    """Declare a major disaster; the claims it matches that have no event yet join it at once."""
    lock_grouping(session)
    ev = CoinsuranceEvent(id=str(uuid.uuid4()), name=name, coverage=coverage,
                          township_codes=list(township_codes), started_at=to_utc(started_at),
                          declared_by=actor.id, created_at=utcnow())
    session.add(ev)
    session.flush()
    events = session.execute(select(CoinsuranceEvent).where(CoinsuranceEvent.coverage == coverage)).scalars().all()
    excluded = {(e.event_id, e.claim_id) for e in session.execute(select(EventClaimExclusion).where(
        EventClaimExclusion.event_id.in_([e.id for e in events]))).scalars()}
    candidates = session.execute(
        select(Claim).where(Claim.event_id.is_(None), Claim.coverage == coverage,
                            Claim.township_code.in_(list(township_codes)))
        .order_by(Claim.created_at, Claim.id).with_for_update()).scalars().all()
    for claim in candidates:
        best = _best_event(claim, events, excluded)
        if best is not None:
            _set_event(session, claim, best.id)
    data = event_dict(session, ev)
    record_change(session, "event", ev.id, {k: v for k, v in data.items() if k != "id"}, version=1)
    return data


def event_in(ev: CoinsuranceEvent):
    """Which claims are the event's: those grouped under it (claims.event_id). One rule for the
    event's detail, its dispatch and its civil-affairs statistics."""
    return Claim.event_id == ev.id


def event_dict(session: Session, ev: CoinsuranceEvent) -> dict:
    n = session.execute(select(func.count()).select_from(Claim).where(event_in(ev))).scalar()
    return {"id": ev.id, "name": ev.name, "coverage": ev.coverage, "township_codes": ev.township_codes,
            "started_at": aware(ev.started_at).isoformat(), "declared_by": ev.declared_by, "claims": n}


def the_event(session: Session, event_id: str) -> CoinsuranceEvent:
    ev = session.get(CoinsuranceEvent, event_id)
    if ev is None:
        raise RuleError(404, ERR.not_found, "no such event")
    return ev


def event_detail(session: Session, event_id: str) -> dict:
    """The event with its claims: ids, and counts by township and by status."""
    ev = the_event(session, event_id)
    rows = session.execute(select(Claim.id, Claim.township_code, Claim.status).where(event_in(ev))
                           .order_by(Claim.created_at, Claim.id)).all()
    by_township: dict[str, int] = {}
    by_status: dict[str, int] = {}
    for _, township, status in rows:
        by_township[township] = by_township.get(township, 0) + 1
        by_status[status] = by_status.get(status, 0) + 1
    return {**event_dict(session, ev), "claim_ids": [r[0] for r in rows],
            "by_township": by_township, "by_status": by_status}


def event_set_by_hand(session: Session, claim: Claim, old: str | None, new: str | None, actor: User) -> None:
    """The office put the claim into ``new`` or took it out of ``old`` (a route or a pushed
    ``event_id``): taking out is remembered so grouping never puts it back; putting in forgets it."""
    if old is not None and old != new and session.get(CoinsuranceEvent, old) is not None \
            and session.get(EventClaimExclusion, (old, claim.id)) is None:
        session.add(EventClaimExclusion(event_id=old, claim_id=claim.id, created_by=actor.id, created_at=utcnow()))
    if new is not None:
        gone = session.get(EventClaimExclusion, (new, claim.id))
        if gone is not None:
            session.delete(gone)
    session.flush()


def _claim_for_update(session: Session, claim_id: str) -> Claim:
    claim = session.execute(select(Claim).where(Claim.id == claim_id).with_for_update()).scalar_one_or_none()
    if claim is None:
        raise RuleError(404, ERR.not_found, "no such claim")
    return claim


def add_event_claim(session: Session, event_id: str, claim_id: str, actor: User) -> dict:
    """The office adds a claim by hand (any coverage or township; out of another event if need be)."""
    ev = the_event(session, event_id)
    claim = _claim_for_update(session, claim_id)
    old = claim.event_id
    event_set_by_hand(session, claim, old, ev.id, actor)
    if old != ev.id:
        _set_event(session, claim, ev.id)
    return event_detail(session, ev.id)


def remove_event_claim(session: Session, event_id: str, claim_id: str, actor: User) -> dict:
    ev = the_event(session, event_id)
    claim = _claim_for_update(session, claim_id)
    if claim.event_id != ev.id:
        raise RuleError(404, ERR.not_found, "the claim is not in this event")
    event_set_by_hand(session, claim, ev.id, None, actor)
    _set_event(session, claim, None)
    return event_detail(session, ev.id)


def event_claims(session: Session, ev: CoinsuranceEvent) -> list[tuple[str, str]]:
    """The event's claims: those grouped under it (claims.event_id)."""
    rows = session.execute(select(Claim.id, Claim.township_code).where(event_in(ev))).all()
    return [(r[0], r[1]) for r in rows]


def dispatch_event(session: Session, settings: RuleSettings, event_id: str, actor: User,
                   now: dt.datetime) -> list[dict]:
    ev = the_event(session, event_id)
    rotation_service.lock_rotation(session)
    state = rotation_service.load_state(session, settings)
    rotation_service.expire_overdue(session, state, now)
    return rotation_service._persist(session, state, rot.dispatch_event(state, ev.id, event_claims(session, ev), now), actor.id)


