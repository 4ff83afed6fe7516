"""The co-insurance rules on the database: the glue between the pure modules (rotation, fund,
reports, claimcore.authority) and the tables (coinsurance_models). Used by the HTTP routes
(api_coinsurance) and the admin CLI (admin_insurer).

Serialising the rotation: every action that appends to ``assignment_log`` first calls
:func:`lock_rotation`. On PostgreSQL that is ``pg_advisory_xact_lock`` (held to the end of the
transaction, so two server processes dispatching at once take turns); on SQLite the write
session's ``BEGIN IMMEDIATE`` already makes writers take turns. Under the lock the log is read,
replayed, the decision made and the new entries written with explicit ``seq`` numbers
(last + 1 …): the primary key would refuse a second writer that somehow computed the same ones.

Time-outs are evaluated lazily: before any dispatch or answer, and on GET /rotation, the overdue
assignments are timed out (dated at their deadline) and their surveys passed on. No timer thread.
"""
from __future__ import annotations

import datetime as dt
import os
import uuid
from dataclasses import dataclass
from typing import Any, Iterable

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from claimcore import authority as ca
from claimcore import entities
from claimcore.localtime import to_china_time

from . import fund as fundlib
from . import rotation as rot
from .changelog import record_change
from .coinsurance_models import (
    AssignmentDetails,
    AssignmentLog,
    AuthorityReview,
    CoinsuranceEvent,
    Consultation,
    EventClaimExclusion,
    FundEntryRow,
    InsurerContact,
    InsurerLeave,
    InsurerTerms,
    Opinion,
    Premium,
    RecoveryEntryRow,
)
from .models import Assignment, Claim, Insurer, User, utcnow

ROTATION_LOCK_KEY = 4_207_113_005  # any constant shared by every server process
LEAD_KIND = "lead"
ACTIVE = ("assigned", "accepted", "arrived")


class RuleError(Exception):
    """A refusal with a stable code and an HTTP status (turned into the API's error shape)."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def aware(moment: dt.datetime | None) -> dt.datetime | None:
    """SQLite hands back naive datetimes; everything here is stored in UTC."""
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


def to_utc(moment: dt.datetime) -> dt.datetime:
    """Store instants in UTC: SQLite keeps the wall-clock text and drops the offset."""
    return moment.astimezone(dt.timezone.utc)


# ---------------------------------------------------------------------------------- settings

@dataclass(frozen=True)
class RuleSettings:
    rotation: rot.RotationSettings
    opinion_window: dt.timedelta
    fund_rate_bp: int
    thresholds: ca.Thresholds


def rule_settings(extra: dict | None = None) -> RuleSettings:
    """From ``Settings.extra`` (tests) or the environment:
    DAZU_ROTATION_TIMEOUT_MINUTES (120), DAZU_MONTH_FLOOR (2), DAZU_FLOOR_FROM_DAY (20),
    DAZU_OPINION_WINDOW_HOURS (72), DAZU_FUND_RATE_BP (200)."""
    extra = extra or {}

    def num(key: str, env: str, default: int) -> int:
        if key in extra:
            return int(extra[key])
        raw = os.environ.get(env, "")
        try:
            return int(raw) if raw else default
        except ValueError:
            raise SystemExit(f"setting {env} must be an integer, got {raw!r}") from None

    return RuleSettings(
        rotation=rot.RotationSettings(
            timeout=dt.timedelta(minutes=num("rotation_timeout_minutes", "DAZU_ROTATION_TIMEOUT_MINUTES", 120)),
            month_floor=num("month_floor", "DAZU_MONTH_FLOOR", 2),
            floor_from_day=num("floor_from_day", "DAZU_FLOOR_FROM_DAY", 20),
        ),
        opinion_window=dt.timedelta(hours=num("opinion_window_hours", "DAZU_OPINION_WINDOW_HOURS", 72)),
        fund_rate_bp=num("fund_rate_bp", "DAZU_FUND_RATE_BP", fundlib.DEFAULT_RATE_BP),
        thresholds=extra.get("authority_thresholds") or ca.DEFAULT_THRESHOLDS,
    )


# ---------------------------------------------------------------------------------- insurers

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
    raise RuleError(404, "not_found", f"no insurer {code}")


def add_leave(session: Session, insurer_code: str, start: dt.datetime, end: dt.datetime, note: str = "") -> None:
    """The insurer's contact is away from ``start`` (inclusive) to ``end`` (exclusive): the
    rotation skips the insurer meanwhile (admin insurer leave, POST /insurers/{code}/leave)."""
    if session.get(Insurer, insurer_code) is None:
        raise RuleError(404, "not_found", f"no insurer {insurer_code}")
    if start.tzinfo is None or end.tzinfo is None:
        raise RuleError(422, "invalid_datetime", "from and to need a UTC offset (e.g. +08:00)")
    if end <= start:
        raise RuleError(422, "invalid_leave", "the leave must end (to) after it starts (from)")
    session.add(InsurerLeave(id=str(uuid.uuid4()), insurer_code=insurer_code, starts_at=to_utc(start),
                             ends_at=to_utc(end), note=note or ""))
    session.flush()


def end_leave(session: Session, insurer_code: str, now: dt.datetime) -> None:
    """Back early: every leave window of the insurer that covers ``now`` ends now. What the
    rotation already logged while it was away stays as logged."""
    if session.get(Insurer, insurer_code) is None:
        raise RuleError(404, "not_found", f"no insurer {insurer_code}")
    for lv in session.execute(select(InsurerLeave).where(InsurerLeave.insurer_code == insurer_code)).scalars():
        if aware(lv.starts_at) <= now < aware(lv.ends_at):
            lv.ends_at = to_utc(now)
    session.flush()


def shares(session: Session) -> dict[str, int]:
    return {r.insurer_code: r.share_bp for r in session.execute(select(InsurerTerms)).scalars()
            if r.share_bp > 0}


def lead_code(session: Session) -> str:
    code = session.execute(select(InsurerTerms.insurer_code).where(InsurerTerms.is_lead)).scalar()
    if code is None:
        raise RuleError(409, "no_lead_insurer", "no lead insurer is set (admin insurer set-lead)")
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


# ---------------------------------------------------------------------------------- rotation

def lock_rotation(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": ROTATION_LOCK_KEY})


def log_entries(session: Session) -> list[rot.LogEntry]:
    rows = session.execute(select(AssignmentLog).order_by(AssignmentLog.seq)).scalars()
    return [rot.LogEntry(r.seq, aware(r.at), r.kind, r.insurer_code, r.claim_id, r.dispatch,
                         r.assignment_id, r.event_id) for r in rows]


def load_state(session: Session, settings: RuleSettings) -> rot.RotationState:
    return rot.replay(log_entries(session), co_insurers(session), settings.rotation)


def _surveyor_for(session: Session, insurer_code: str) -> str | None:
    contact_user = session.execute(
        select(InsurerContact.user_id).where(InsurerContact.insurer_code == insurer_code,
                                             InsurerContact.user_id.is_not(None))
        .order_by(InsurerContact.created_at)).scalar()
    if contact_user:
        return contact_user
    return session.execute(
        select(User.id).where(User.insurer_code == insurer_code, User.role == "surveyor", User.active)
        .order_by(User.created_at)).scalar()


def assignment_dict(a: Assignment, d: AssignmentDetails | None) -> dict[str, Any]:
    def iso(x):
        return aware(x).isoformat() if x else None

    return {
        "id": a.id, "claim_id": a.claim_id, "insurer_code": a.insurer_code,
        "surveyor_id": a.surveyor_id, "status": a.status, "kind": a.kind,
        "event_id": d.event_id if d else None,
        "assigned_at": iso(d.assigned_at) if d else iso(a.created_at),
        "answered_at": iso(d.answered_at) if d else None,
        "decline_reason": d.decline_reason if d else None,
        "arrived_at": iso(d.arrived_at) if d else None,
        "arrived_lat": d.arrived_lat if d else None, "arrived_lon": d.arrived_lon if d else None,
        "completed_at": iso(d.completed_at) if d else None,
    }


def _publish(session: Session, a: Assignment, d: AssignmentDetails) -> dict:
    fields = assignment_dict(a, d)
    record_change(session, "assignment", a.id, {k: v for k, v in fields.items() if k != "id"},
                  version=d.version, claim_id=a.claim_id, insurer_code=a.insurer_code)
    return fields


def _persist(session: Session, state: rot.RotationState, entries: Iterable[rot.LogEntry],
             actor_id: str | None, note: str = "", *, applied: bool = False) -> list[dict]:
    """Write log entries and their effect on assignment rows; return the assignments created.
    ``applied``: the entries were made in place on ``state`` already."""
    created = []
    for e in entries:
        if not applied:
            rot.apply(state, e)  # refuses anything the log does not allow, before it is written
        session.add(AssignmentLog(seq=e.seq, at=to_utc(e.at), kind=e.kind, insurer_code=e.insurer_code,
                                  claim_id=e.claim_id, dispatch=e.dispatch, assignment_id=e.assignment_id,
                                  event_id=e.event_id, actor_user_id=actor_id,
                                  note=note if e.kind == rot.DECLINED else ""))
        if e.kind == rot.ASSIGNED:
            a = Assignment(id=e.assignment_id, claim_id=e.claim_id, insurer_code=e.insurer_code,
                           surveyor_id=_surveyor_for(session, e.insurer_code), status="assigned",
                           kind=e.dispatch, created_at=e.at)
            d = AssignmentDetails(assignment_id=e.assignment_id, version=1, event_id=e.event_id,
                                  assigned_at=e.at)
            session.add(a)
            session.flush()  # the details row's foreign key needs the assignment first
            session.add(d)
            session.flush()
            created.append(_publish(session, a, d))
        elif e.kind in (rot.ACCEPTED, rot.DECLINED, rot.TIMED_OUT, rot.COMPLETED):
            a = session.get(Assignment, e.assignment_id)
            d = session.get(AssignmentDetails, e.assignment_id)
            a.status = e.kind
            d.version += 1
            if e.kind in (rot.ACCEPTED, rot.DECLINED, rot.TIMED_OUT):
                d.answered_at = e.at
            if e.kind == rot.DECLINED:
                d.decline_reason = note
            if e.kind == rot.COMPLETED:
                d.completed_at = e.at
            _publish(session, a, d)
    session.flush()
    return created


def expire_overdue(session: Session, state: rot.RotationState, now: dt.datetime) -> list[dict]:
    """Lazy time-outs (call under the rotation lock)."""
    return _persist(session, state, rot.expire(state, now, in_place=True), None, applied=True)


def _claim(session: Session, claim_id: str) -> Claim:
    claim = session.get(Claim, claim_id)
    if claim is None:
        raise RuleError(404, "not_found", "not found")
    return claim


def _lead_assignment(session: Session, claim_id: str, lead: str, actor: User, now: dt.datetime) -> dict:
    existing = session.execute(
        select(Assignment).where(Assignment.claim_id == claim_id, Assignment.kind == LEAD_KIND)
    ).scalar()
    if existing is not None:
        return assignment_dict(existing, session.get(AssignmentDetails, existing.id))
    a = Assignment(id=str(uuid.uuid4()), claim_id=claim_id, insurer_code=lead,
                   surveyor_id=actor.id if actor.role == "adjuster" else None, status="assigned",
                   kind=LEAD_KIND, created_at=now)
    d = AssignmentDetails(assignment_id=a.id, version=1, assigned_at=now)
    session.add(a)
    session.flush()
    session.add(d)
    session.flush()
    return _publish(session, a, d)


def _move(session: Session, claim: Claim, target: str, actor: User) -> None:
    from .sync_apply import move_claim

    move_claim(session, claim, target, actor)


def dispatch_claim(session: Session, settings: RuleSettings, claim_id: str, actor: User,
                   now: dt.datetime, *, move: bool = True) -> list[dict]:
    """The lead's adjuster and the co-insurer in turn, for one claim's site survey. ``move``: the
    claim goes to ``survey_dispatched`` here (registered first if it was only reported); a
    phone's pushed status change has moved it already."""
    claim = _claim(session, claim_id)
    lead = lead_code(session)
    lock_rotation(session)
    state = load_state(session, settings)
    expire_overdue(session, state, now)
    if claim_id in state.held_by or any(
            p.claim_id == claim_id and p.dispatch in rot.CLAIM_DISPATCHES for p in state.pending.values()):
        raise RuleError(409, "already_dispatched",
                        "this claim already has a co-insurer assigned or holding its survey")
    if state.offered.get(claim_id):
        raise RuleError(409, "already_dispatched",
                        "this claim went round every co-insurer already; the lead surveys it alone")
    out = [_lead_assignment(session, claim_id, lead, actor, now)]
    out += _persist(session, state, rot.dispatch_ordinary(state, claim_id, now), actor.id)
    if move:
        if claim.status == "reported":
            _move(session, claim, "registered", actor)
        if claim.status == "registered":
            _move(session, claim, "survey_dispatched", actor)
    return out


def _surveyed(session: Session, claim_id: str, actor: User) -> None:
    """A completed survey (the lead's or a co-insurer's) marks the site surveyed."""
    claim = session.get(Claim, claim_id)
    if claim is not None and claim.status == "survey_dispatched":
        _move(session, claim, "surveyed", actor)


def _assignment_for(session: Session, assignment_id: str, user: User) -> Assignment:
    a = session.get(Assignment, assignment_id)
    if a is None:
        raise RuleError(404, "not_found", "not found")
    if a.kind == LEAD_KIND:
        allowed = user.role in ("adjuster", "coordinator")
    else:
        allowed = user.role == "surveyor" and user.insurer_code == a.insurer_code
    if not allowed:
        raise RuleError(404, "not_found", "not found")  # out of scope answers like missing
    return a


def answer(session: Session, settings: RuleSettings, assignment_id: str, action: str, user: User,
           now: dt.datetime, *, reason: str | None = None, lat: float | None = None,
           lon: float | None = None) -> dict:
    """accept | decline | arrive | complete, by the assignment's own insurer."""
    a = _assignment_for(session, assignment_id, user)
    d = session.get(AssignmentDetails, a.id)
    if a.kind == LEAD_KIND:
        return _answer_lead(session, a, d, action, now, lat, lon, user)
    lock_rotation(session)
    state = load_state(session, settings)
    expire_overdue(session, state, now)
    session.refresh(a)
    session.refresh(d)
    if a.status == "timed_out":
        raise RuleError(409, "timed_out",
                        f"the assignment timed out at {aware(d.answered_at).isoformat()}; "
                        "the survey has passed to the next co-insurer")
    if action == "arrive":
        if a.status not in ("accepted", "arrived"):
            raise RuleError(409, "invalid_state", f"assignment is {a.status}; accept it before arriving")
        a.status = "arrived"
        d.arrived_at, d.arrived_lat, d.arrived_lon = now, lat, lon
        d.version += 1
        return {"assignment": _publish(session, a, d), "handed_over": []}
    kind = {"accept": rot.ACCEPTED, "decline": rot.DECLINED, "complete": rot.COMPLETED}[action]
    if kind == rot.DECLINED and not (reason or "").strip():
        raise RuleError(422, "reason_required", "a decline needs a reason")
    try:
        entries = rot.respond(state, a.id, kind, now, in_place=True)
    except rot.RotationError as exc:
        raise RuleError(409, "invalid_state", str(exc)) from None
    created = _persist(session, state, entries, user.id, note=(reason or "").strip(), applied=True)
    session.refresh(a)
    if kind == rot.COMPLETED:
        _surveyed(session, a.claim_id, user)
    return {"assignment": assignment_dict(a, session.get(AssignmentDetails, a.id)), "handed_over": created}


def _answer_lead(session, a, d, action, now, lat, lon, user) -> dict:
    flow = {"accept": ("assigned", "accepted"), "arrive": ("accepted", "arrived"),
            "complete": ("arrived", "completed")}
    if action == "decline":
        raise RuleError(409, "invalid_state", "the lead insurer surveys every claim; it cannot decline")
    before, after = flow[action]
    ok = a.status == before or (action == "complete" and a.status == "accepted") or (
        action == "arrive" and a.status == "arrived")
    if not ok:
        raise RuleError(409, "invalid_state", f"assignment is {a.status}, cannot {action}")
    a.status = after
    d.version += 1
    if action == "accept":
        d.answered_at = now
    elif action == "arrive":
        d.arrived_at, d.arrived_lat, d.arrived_lon = now, lat, lon
    else:
        d.completed_at = now
    out = {"assignment": _publish(session, a, d), "handed_over": []}
    if action == "complete":
        _surveyed(session, a.claim_id, user)
    return out


def rotation_view(session: Session, settings: RuleSettings, now: dt.datetime,
                  history_limit: int | None = None) -> dict:
    lock_rotation(session)
    state = load_state(session, settings)
    expire_overdue(session, state, now)
    out = rot.summary(state, now, history_limit)
    out["settings"] = {
        "timeout_minutes": int(settings.rotation.timeout.total_seconds() // 60),
        "month_floor": settings.rotation.month_floor,
        "floor_from_day": settings.rotation.floor_from_day,
    }
    return out


# ------------------------------------------------------------------------------------ events
#
# An event groups its claims by itself: a claim of the event's coverage, in one of its townships,
# whose incident happened at or after the event started, joins it when the event is declared or
# when a push creates the claim or changes what it is matched on, unless it is in an event
# already (the office's choice, or an earlier grouping, stands). Of several matching events the
# one that started last wins. A claim the office took out of an event by hand is never put back
# into that event automatically.

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
    from .sync_apply import server_change

    server_change(session, claim, {"event_id": event_id})


def _events_of_coverage(session: Session, coverage: str) -> list[CoinsuranceEvent]:
    """The events of a coverage, read once per transaction: a push holds the grouping lock
    (shared), so no event is declared while it runs; on SQLite writers take turns anyway."""
    cache = session.info.setdefault("events_by_coverage", {})
    if coverage not in cache:
        cache[coverage] = list(session.execute(
            select(CoinsuranceEvent).where(CoinsuranceEvent.coverage == coverage)).scalars())
    return cache[coverage]


def group_claim(session: Session, claim: Claim) -> CoinsuranceEvent | None:
    """Put a claim without an event into the event it matches (the latest started), if any.
    Called by a push, which holds the grouping lock (shared)."""
    if claim.event_id is not None:
        return None
    events = _events_of_coverage(session, claim.coverage)
    if not _best_event(claim, events, set()):
        return None  # the common case (no event fits): no further query for this claim
    excluded = {(e.event_id, e.claim_id) for e in session.execute(
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


def event_dict(session: Session, ev: CoinsuranceEvent) -> dict:
    n = session.execute(select(func.count()).select_from(Claim).where(Claim.event_id == ev.id)).scalar()
    return {"id": ev.id, "name": ev.name, "coverage": ev.coverage, "township_codes": ev.township_codes,
            "started_at": aware(ev.started_at).isoformat(), "declared_by": ev.declared_by, "claims": n}


def _event(session: Session, event_id: str) -> CoinsuranceEvent:
    ev = session.get(CoinsuranceEvent, event_id)
    if ev is None:
        raise RuleError(404, "not_found", "no such event")
    return ev


def event_detail(session: Session, event_id: str) -> dict:
    """The event with its claims: ids, and counts by township and by status."""
    ev = _event(session, event_id)
    rows = session.execute(select(Claim.id, Claim.township_code, Claim.status).where(Claim.event_id == ev.id)
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
        raise RuleError(404, "not_found", "no such claim")
    return claim


def add_event_claim(session: Session, event_id: str, claim_id: str, actor: User) -> dict:
    """The office adds a claim by hand (any coverage or township; out of another event if need be)."""
    ev = _event(session, event_id)
    claim = _claim_for_update(session, claim_id)
    old = claim.event_id
    event_set_by_hand(session, claim, old, ev.id, actor)
    if old != ev.id:
        _set_event(session, claim, ev.id)
    return event_detail(session, ev.id)


def remove_event_claim(session: Session, event_id: str, claim_id: str, actor: User) -> dict:
    ev = _event(session, event_id)
    claim = _claim_for_update(session, claim_id)
    if claim.event_id != ev.id:
        raise RuleError(404, "not_found", "the claim is not in this event")
    event_set_by_hand(session, claim, ev.id, None, actor)
    _set_event(session, claim, None)
    return event_detail(session, ev.id)


def event_claims(session: Session, ev: CoinsuranceEvent) -> list[tuple[str, str]]:
    """The event's claims: those grouped under it (claims.event_id)."""
    rows = session.execute(select(Claim.id, Claim.township_code).where(Claim.event_id == ev.id)).all()
    return [(r[0], r[1]) for r in rows]


def dispatch_event(session: Session, settings: RuleSettings, event_id: str, actor: User,
                   now: dt.datetime) -> list[dict]:
    ev = _event(session, event_id)
    lock_rotation(session)
    state = load_state(session, settings)
    expire_overdue(session, state, now)
    return _persist(session, state, rot.dispatch_event(state, ev.id, event_claims(session, ev), now), actor.id)


# --------------------------------------------------------------------------------- authority

def _review(session: Session, claim: Claim, settings: RuleSettings, now: dt.datetime) -> AuthorityReview | None:
    """The review of the claim's current adjusted amount, opened (co-insurers informed) on first
    sight of that amount. A changed amount opens a new review: opinions were about the old one."""
    amount = claim.adjusted_amount_fen
    if amount is None:
        return None
    review = session.get(AuthorityReview, claim.id)
    tier = ca.tier_for_amount(amount, settings.thresholds)
    if review is not None and review.amount_fen == amount:
        return review
    if review is None:
        review = AuthorityReview(claim_id=claim.id)
        session.add(review)
    review.amount_fen, review.tier, review.opened_at, review.result = amount, tier.value, now, None
    review.window_ends_at = now + settings.opinion_window if tier is ca.Tier.INFORM_COINSURERS else None
    session.flush()
    return review


def _publish_review(session: Session, claim: Claim, review: AuthorityReview, view: dict) -> None:
    """Inform every co-insurer: a public feed entry with the amount, tier, consultation, opinions
    and outcome (no personal data: the claim's people never leave its scope)."""
    review.version = (review.version or 0) + 1
    doc = {k: v for k, v in view.items() if k != "claim_id"}
    doc.update(report_no=(claim.data or {}).get("report_no"), coverage=claim.coverage,
               township_code=claim.township_code, status=claim.status)
    record_change(session, "authority_review", claim.id, doc, version=review.version)


_REASONS = {
    "lead_alone": ("首席承保人全权处理", "lead insurer decides alone"),
    "all_opined": ("各共保方均已提出意见，由首席承保人形成最终理赔意见",
                   "every co-insurer gave its opinion"),
    "window_over": ("意见征询期已过，以首席承保人意见为准",
                    "opinion window closed; the lead's opinion stands"),
    "waiting_opinions": ("等待共保方意见：{missing}（截至 {until}）",
                         "waiting for opinions from {missing} until {until}"),
    "consultation_required": ("须先召开赔案处理会商会议并登记会议记录，再表决",
                              "the consultation meeting must be recorded before any vote"),
    "agreed": ("全体共保人会商一致同意", "all co-insurers agreed in consultation"),
    "vote_approved": ("按承保份额投票通过", "share-weighted vote approved"),
    "vote_rejected": ("按承保份额投票未通过，须重新理算", "share-weighted vote rejected the amount"),
    "waiting_votes": ("会商后表决中，等待：{missing}", "consultation: waiting for {missing}"),
    "vote_undecided": ("表决未形成决议，需再次表决", "vote undecided"),
}


def consultation_dict(c: Consultation | None) -> dict | None:
    if c is None:
        return None
    return {"id": c.id, "held_at": aware(c.held_at).isoformat(), "attendees": list(c.attendees),
            "engage_assessor": c.engage_assessor, "engage_lawyer": c.engage_lawyer,
            "minutes": c.minutes, "recorded_by": c.recorded_by}


def _consultation(session: Session, claim_id: str, amount_fen: int) -> Consultation | None:
    return session.execute(
        select(Consultation).where(Consultation.claim_id == claim_id, Consultation.amount_fen == amount_fen)
        .order_by(Consultation.created_at.desc())).scalars().first()


def authority_view(session: Session, settings: RuleSettings, claim_id: str, now: dt.datetime) -> dict:
    claim = _claim(session, claim_id)
    review = _review(session, claim, settings, now)
    if review is None:
        return {"claim_id": claim_id, "amount_fen": None, "tier": None, "cleared": False,
                "reason": "no adjusted amount yet", "reason_zh": "尚未理算", "opinions": [], "vote": None,
                "consultation": None, "missing": []}
    tier = ca.Tier(review.tier)
    lead = lead_code(session)
    sh = shares(session)
    opinions = session.execute(
        select(Opinion).where(Opinion.claim_id == claim_id, Opinion.amount_fen == review.amount_fen)
        .order_by(Opinion.created_at)).scalars().all()
    latest: dict[str, Opinion] = {}
    for o in opinions:
        latest[o.insurer_code] = o  # the latest opinion of each insurer counts
    co = sorted(c for c in sh if c != lead)
    missing = [c for c in co if c not in latest]
    meeting = _consultation(session, claim_id, review.amount_fen) if tier is ca.Tier.FULL_CONSULTATION else None
    vote = None
    params: dict[str, str] = {}
    if tier is ca.Tier.LEAD_ALONE:
        cleared, why = True, "lead_alone"
    elif tier is ca.Tier.INFORM_COINSURERS:
        window_over = now >= aware(review.window_ends_at)
        cleared = not missing or window_over
        why = "all_opined" if not missing else "window_over" if window_over else "waiting_opinions"
        params = {"missing": ", ".join(missing), "until": aware(review.window_ends_at).isoformat()}
    else:
        votes = {c: o.vote for c, o in latest.items()}
        agreed = not missing and all(v == "approve" for c, v in votes.items() if c != lead)
        try:  # first: a pool whose shares cannot carry a vote is said at once, meeting or not
            result = ca.weighted_vote(votes, sh, lead_code=lead)
        except ca.VoteError as exc:
            raise RuleError(409, "shares_incomplete", f"the pool's shares cannot carry a vote: {exc}") from None
    if tier is ca.Tier.FULL_CONSULTATION and meeting is None:
        cleared, why = False, "consultation_required"
    elif tier is ca.Tier.FULL_CONSULTATION:
        vote = {"outcome": result.outcome, "decided_by": result.decided_by, "totals_bp": result.totals_bp,
                "ballots": result.ballots, "abstained": list(result.abstained), "basis_bp": result.basis_bp,
                "threshold_bp": result.threshold_bp, "explain": result.explain("zh"),
                "explain_en": result.explain("en")}
        if agreed:
            cleared, why = True, "agreed"
        elif result.outcome == "approve":
            cleared, why = True, "vote_approved"
        elif result.decided:
            cleared, why = False, "vote_rejected"
        else:
            cleared, why = False, ("waiting_votes" if missing else "vote_undecided")
            params = {"missing": ", ".join(missing)}
    zh, en = _REASONS[why]
    reason, reason_zh = en.format(**params), zh.format(**params)
    view = {
        "claim_id": claim_id, "amount_fen": review.amount_fen, "tier": tier.value,
        "tier_label": tier.label("zh"), "opened_at": aware(review.opened_at).isoformat(),
        "window_ends_at": aware(review.window_ends_at).isoformat() if review.window_ends_at else None,
        "cleared": cleared, "reason_code": why, "reason": reason, "reason_zh": reason_zh, "missing": missing,
        "consultation": consultation_dict(meeting),
        "opinions": [{"insurer_code": o.insurer_code, "vote": o.vote, "opinion": o.opinion,
                      "user_id": o.user_id, "at": aware(o.created_at).isoformat()} for o in latest.values()],
        "vote": vote,
    }
    result_doc = {"cleared": cleared, "reason": reason, "vote": vote,
                  "opinions": len(latest), "consultation": meeting.id if meeting else None}
    if review.result != result_doc:
        review.result = result_doc  # stored with its arithmetic, shown as stored
        if tier is not ca.Tier.LEAD_ALONE:
            _publish_review(session, claim, review, view)
    return view


def claim_moved(session: Session, claim: Claim, now: dt.datetime) -> None:
    """The co-insurers' copy of a review follows its claim's state (approved, re-adjusted...)."""
    review = session.get(AuthorityReview, claim.id)
    if review is None or review.tier == ca.Tier.LEAD_ALONE.value or review.amount_fen != claim.adjusted_amount_fen:
        return
    _publish_review(session, claim, review, authority_view(session, rule_settings(), claim.id, now))


def record_consultation(session: Session, settings: RuleSettings, claim_id: str, user: User, *,
                        held_at: dt.datetime, attendees: list[str], engage_assessor: bool,
                        engage_lawyer: bool, minutes: str, now: dt.datetime) -> dict:
    """The lead calls the meeting (annex 2); it is recorded before any vote on the amount."""
    claim = _claim(session, claim_id)
    review = _review(session, claim, settings, now)
    if review is None or review.tier != ca.Tier.FULL_CONSULTATION.value:
        raise RuleError(409, "no_consultation_tier",
                        "only a claim in the full-consultation tier (300,000 yuan or more) has a consultation")
    known = set(shares(session))
    unknown = sorted(set(attendees) - known)
    if unknown:
        raise RuleError(422, "invalid_insurer", f"not insurers of the pool: {', '.join(unknown)}")
    if not attendees:
        raise RuleError(422, "attendees_required", "name the co-insurers present")
    if held_at.tzinfo is None:
        raise RuleError(422, "invalid_datetime", "held_at needs a UTC offset")
    if held_at > now + dt.timedelta(minutes=5):
        raise RuleError(422, "invalid_datetime", "a consultation is recorded after it was held")
    row = Consultation(id=str(uuid.uuid4()), claim_id=claim_id, amount_fen=review.amount_fen,
                       held_at=to_utc(held_at), attendees=sorted(set(attendees)), engage_assessor=engage_assessor,
                       engage_lawyer=engage_lawyer, minutes=minutes, recorded_by=user.id, created_at=now)
    session.add(row)
    session.flush()
    return authority_view(session, settings, claim_id, now)


def add_opinion(session: Session, settings: RuleSettings, claim_id: str, user: User, vote: str,
                opinion: str, now: dt.datetime, *, opinion_id: str | None = None) -> dict:
    claim = _claim(session, claim_id)
    review = _review(session, claim, settings, now)
    if review is None or review.tier == ca.Tier.LEAD_ALONE.value:
        raise RuleError(409, "no_review", "this claim has no co-insurer review open")
    if user.role == "surveyor":
        insurer = user.insurer_code
    elif user.role == "adjuster":
        insurer = lead_code(session)
    else:
        raise RuleError(403, "forbidden", "only co-insurers' surveyors and the lead's adjusters give opinions")
    if insurer not in shares(session):
        raise RuleError(403, "forbidden", "your insurer has no share in the pool")
    if review.tier == ca.Tier.FULL_CONSULTATION.value and _consultation(session, claim_id, review.amount_fen) is None:
        raise RuleError(409, "consultation_required",
                        "record the consultation meeting (POST /claims/{id}/consultations) before any vote")
    if vote not in entities.VOTES:
        raise RuleError(422, "invalid_vote", "vote must be approve, reject or abstain")
    session.add(Opinion(id=opinion_id or str(uuid.uuid4()), claim_id=claim_id, amount_fen=review.amount_fen,
                        insurer_code=insurer, user_id=user.id, vote=vote, opinion=opinion, created_at=now))
    session.flush()
    return authority_view(session, settings, claim_id, now)


def authority_guard(session: Session, claim: Claim) -> bool:
    """hooks.set_authority_guard: may the claim go adjusted -> approved?"""
    try:
        return bool(authority_view(session, rule_settings(), claim.id, utcnow())["cleared"])
    except RuleError:
        return False


# -------------------------------------------------------------------------------------- fund

def _fund_entry(r: FundEntryRow) -> fundlib.FundEntry:
    return fundlib.FundEntry(r.kind, r.on, r.amount_fen, r.insurer_code, r.category, r.note, r.receipt_sha256,
                             r.id, corrects=r.corrects, correction=r.correction)


def fund_entries(session: Session) -> list[fundlib.FundEntry]:
    rows = session.execute(select(FundEntryRow).order_by(FundEntryRow.on, FundEntryRow.created_at)).scalars()
    return [_fund_entry(r) for r in rows]


def fund_entry_list(session: Session) -> list[dict]:
    """Every booked entry, each saying which entry it corrects and which reversal corrected it."""
    rows = session.execute(select(FundEntryRow).order_by(FundEntryRow.on, FundEntryRow.created_at)).scalars().all()
    reversed_by = {r.corrects: r.id for r in rows if r.correction == fundlib.REVERSAL}
    return [fund_entry_dict(r, corrected_by=reversed_by.get(r.id)) for r in rows]


def log_spending(session: Session, actor: User, *, on: dt.date, amount_fen: int, category: str,
                 note: str = "", receipt_sha256: str | None = None, insurer_code: str | None = None,
                 assignment_id: str | None = None, entry_id: str | None = None) -> dict:
    """Spending from the work fund: the one place for its rules, whether it arrives over HTTP
    (POST /fund/entries) or from a surveyor's phone through sync (entity ``cost``).

    A surveyor logs only its own insurer's survey costs (vehicle, meals), always with a receipt
    photo; the coordinator and the lead's adjusters log any category. The receipt becomes a blob
    reference, so the office and that insurer may download it."""
    if actor.role == "surveyor":
        if category != fundlib.SURVEY or not receipt_sha256:
            raise RuleError(403, "forbidden", "surveyors log survey costs with a receipt photo only")
        insurer_code = actor.insurer_code
    elif actor.role not in ("coordinator", "adjuster"):
        raise RuleError(403, "forbidden", "this needs the coordinator, an adjuster or a surveyor")
    if assignment_id is not None:
        a = session.get(Assignment, assignment_id)
        if a is None or (actor.role == "surveyor" and a.insurer_code != actor.insurer_code):
            raise RuleError(404, "not_found", "no such assignment")
    if insurer_code is not None and session.get(Insurer, insurer_code) is None:
        raise RuleError(422, "invalid_insurer", f"no insurer {insurer_code}")
    try:
        entry = fundlib.FundEntry(fundlib.SPENDING, on, amount_fen, insurer_code, category, note,
                                  receipt_sha256, entry_id)
    except fundlib.FundError as exc:
        raise RuleError(422, "invalid_fund_entry", str(exc)) from None
    booked = add_fund_entry(session, entry, actor, assignment_id=assignment_id)
    if receipt_sha256:
        from .sync_apply import add_blob_ref

        add_blob_ref(session, receipt_sha256, "cost", booked["id"], insurer_code=insurer_code)
    return booked


def add_fund_entry(session: Session, entry: fundlib.FundEntry, actor: User, *,
                   assignment_id: str | None = None, policy_year: int | None = None,
                   reason: str | None = None) -> dict:
    row = FundEntryRow(id=entry.id or str(uuid.uuid4()), kind=entry.kind, on=entry.on, amount_fen=entry.amount_fen,
                       insurer_code=entry.insurer_code, category=entry.category, note=entry.note,
                       receipt_sha256=entry.receipt_sha256, assignment_id=assignment_id,
                       policy_year=policy_year, created_by=actor.id if actor else None,
                       corrects=entry.corrects, correction=entry.correction, reason=reason)
    session.add(row)
    session.flush()
    return fund_entry_dict(row)


def fund_entry_dict(r: FundEntryRow, *, corrected_by: str | None = None) -> dict:
    return {"id": r.id, "kind": r.kind, "on": r.on.isoformat(), "amount_fen": r.amount_fen,
            "insurer_code": r.insurer_code, "category": r.category, "note": r.note,
            "receipt_sha256": r.receipt_sha256, "assignment_id": r.assignment_id,
            "policy_year": r.policy_year, "corrects": r.corrects, "correction": r.correction,
            "reason": r.reason, "corrected_by": corrected_by}


def correct_fund_entry(session: Session, actor: User, entry_id: str, reason: str, amount_fen: int,
                       today: dt.date) -> dict:
    """Correct a booked entry with counter-entries dated ``today`` (fund.counter_entries): the
    published quarters keep their figures, the correction counts in today's quarter. Once per
    entry; a reversal is final; a contribution is corrected by entering its premium again."""
    from sqlalchemy.exc import IntegrityError

    row = session.execute(select(FundEntryRow).where(FundEntryRow.id == entry_id).with_for_update()
                          ).scalar_one_or_none()
    if row is None:
        raise RuleError(404, "not_found", "no such fund entry")
    if row.kind == fundlib.CONTRIBUTION:
        raise RuleError(409, "use_premium", "a contribution follows its premium: enter the premium again "
                                            "(POST /fund/premiums) and its contribution is booked anew")
    if row.correction == fundlib.REVERSAL:
        raise RuleError(409, "is_reversal", "a reversal is itself a correction and cannot be corrected")
    done = session.execute(select(FundEntryRow.id).where(FundEntryRow.corrects == row.id,
                                                         FundEntryRow.correction == fundlib.REVERSAL)).scalar()
    if done is not None:
        raise RuleError(409, "already_corrected", f"this entry was corrected already (reversal {done}); "
                                                  "correct its replacement instead")
    reason = (reason or "").strip()
    if not reason:
        raise RuleError(422, "reason_required", "a correction needs a reason")
    try:
        reversal, replacement = fundlib.counter_entries(_fund_entry(row), today, amount_fen,
                                                        ids=(str(uuid.uuid4()), str(uuid.uuid4())))
    except fundlib.FundError as exc:
        raise RuleError(422, "invalid_amount", str(exc)) from None
    try:
        booked = [add_fund_entry(session, e, actor, assignment_id=row.assignment_id, policy_year=row.policy_year,
                                 reason=reason) for e in (reversal, replacement) if e is not None]
    except IntegrityError:  # another office booked the same correction a moment earlier
        raise RuleError(409, "already_corrected", "this entry was corrected already") from None
    return {"reversal": booked[0], "replacement": booked[1] if replacement is not None else None}


def set_premium(session: Session, settings: RuleSettings, year: int, insurer_code: str,
                premium_ex_tax_fen: int, received_on: dt.date, actor: User | None) -> dict:
    """Enter an insurer's premium (excl. tax) for a policy year and book its 2% contribution.
    Entering it again replaces the contribution booked for that year (nothing doubles)."""
    if session.get(Insurer, insurer_code) is None:
        raise RuleError(404, "not_found", f"no insurer {insurer_code}")
    if isinstance(premium_ex_tax_fen, bool) or not isinstance(premium_ex_tax_fen, int) or premium_ex_tax_fen <= 0:
        raise RuleError(422, "invalid_amount", "premium_ex_tax_fen must be a positive integer (fen)")
    amount = fundlib.contribution_fen(premium_ex_tax_fen, settings.fund_rate_bp)
    note = f"{year}保单年度保费（不含税）{premium_ex_tax_fen}分 × {settings.fund_rate_bp / 100:g}%"
    try:
        entry = fundlib.FundEntry(fundlib.CONTRIBUTION, received_on, amount, insurer_code, note=note)
    except fundlib.FundError as exc:  # a premium so small that its contribution rounds to 0 fen
        raise RuleError(422, "invalid_amount", f"the contribution of a premium of {premium_ex_tax_fen} fen "
                                               f"is {amount} fen: {exc}") from None
    row = session.get(Premium, (year, insurer_code))
    if row is None:
        row = Premium(policy_year=year, insurer_code=insurer_code, premium_ex_tax_fen=premium_ex_tax_fen)
        session.add(row)
    row.premium_ex_tax_fen = premium_ex_tax_fen
    for old in session.execute(select(FundEntryRow).where(
            FundEntryRow.kind == fundlib.CONTRIBUTION, FundEntryRow.insurer_code == insurer_code,
            FundEntryRow.policy_year == year)).scalars():
        session.delete(old)
    booked = add_fund_entry(session, entry, actor, policy_year=year)
    return {"policy_year": year, "insurer_code": insurer_code, "premium_ex_tax_fen": premium_ex_tax_fen,
            "contribution": booked}


def fund_disclosure(session: Session, year: int, quarter: int) -> dict:
    try:
        return fundlib.quarterly_disclosure(fund_entries(session), shares(session), year, quarter).as_dict()
    except fundlib.FundError as exc:
        raise RuleError(409, "fund_error", str(exc)) from None


def _paid_on(claim_data: dict | None) -> dt.date | None:
    """The day a claim was paid (its ``paid_on``, else ``paid_at``), or None when unrecorded."""
    data = claim_data or {}
    try:
        if data.get("paid_on"):
            return dt.date.fromisoformat(str(data["paid_on"]))
    except ValueError:
        pass
    moment = parse_moment(data.get("paid_at"))
    return moment.date() if moment else None


def _paid_claims(session: Session, upto: dt.date | None = None) -> tuple[str, list[fundlib.Recovery]]:
    """The lead and every claim it paid on behalf of all (a paid amount); with ``upto``, those
    paid before that day (a claim whose payment day is not recorded counts in every period)."""
    lead = lead_code(session)
    sh = shares(session)
    rows = session.execute(select(Claim.id, Claim.paid_amount_fen, Claim.data).where(
        Claim.paid_amount_fen.is_not(None), Claim.paid_amount_fen > 0).order_by(Claim.id)).all()
    if upto is not None:
        rows = [r for r in rows if (_paid_on(r.data) or dt.date.min) < upto]
    try:
        return lead, [fundlib.recovery_for(cid, paid, sh, lead) for cid, paid, _ in rows]
    except fundlib.FundError as exc:
        raise RuleError(409, "fund_error", str(exc)) from None


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
    owed = {c: 0 for c in shares(session) if c != lead}
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
    lead = lead_code(session)
    if (_lock_insurer(session, insurer_code) is None or insurer_code == lead
            or insurer_code not in shares(session)):
        raise RuleError(404, "not_found", f"no co-insurer {insurer_code}")
    if kind not in (fundlib.DEMANDED, fundlib.RECEIVED):
        raise RuleError(422, "invalid_request", "a recovery entry is demanded or received")
    try:
        entry = fundlib.RecoveryEntry(kind, insurer_code, amount_fen, on, str(uuid.uuid4()))
    except fundlib.FundError as exc:
        raise RuleError(422, "invalid_amount", str(exc)) from None
    if kind == fundlib.RECEIVED:
        now = _standing(session, insurer_code)
        if now["received_fen"] + amount_fen > now["demanded_fen"]:
            raise RuleError(409, "over_received",
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
        raise RuleError(404, "not_found", "no such recovery entry")
    _lock_insurer(session, row.insurer_code)
    if row.kind == fundlib.CORRECTION:
        raise RuleError(409, "is_correction", "a correction is final and cannot be corrected")
    done = session.execute(select(RecoveryEntryRow.id).where(RecoveryEntryRow.corrects == row.id)).scalar()
    if done is not None:
        raise RuleError(409, "already_corrected", f"this entry was corrected already (correction {done})")
    reason = (reason or "").strip()
    if not reason:
        raise RuleError(422, "reason_required", "a correction needs a reason")
    correction = fundlib.recovery_reversal(_recovery_entry(row), today, str(uuid.uuid4()))
    if row.kind == fundlib.DEMANDED:
        now = _standing(session, row.insurer_code)
        if now["demanded_fen"] - row.amount_fen < now["received_fen"]:
            raise RuleError(409, "over_received",
                            f"{row.insurer_code}: {now['received_fen']} fen received would exceed the "
                            f"{now['demanded_fen'] - row.amount_fen} fen left demanded (book the right "
                            "demand first, or take the receipt back)")
    try:
        return _add_recovery(session, correction, actor, note=row.note, reason=reason)
    except IntegrityError:  # another office took it back a moment earlier
        raise RuleError(409, "already_corrected", "this entry was corrected already") from None
