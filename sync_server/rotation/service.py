"""The rotation on the database: surveys dispatched in turn among the co-insurers, their answers
and time-outs, the state recomputed from the log (sync_server.rotation.rules is the pure rule).

Serialising the rotation: every action that appends to ``assignment_log`` first calls
:func:`lock_rotation`. On PostgreSQL that is ``pg_advisory_xact_lock`` (held to the end of the
transaction, so two server processes dispatching at once take turns); on SQLite the write
session's ``BEGIN IMMEDIATE`` already makes writers take turns. Under the lock the log is read,
replayed, the decision made and the new entries written with explicit ``seq`` numbers
(last + 1 …): the primary key would refuse a second writer that somehow computed the same ones.

Time-outs are evaluated lazily: before any dispatch or answer, and on GET /rotation, the overdue
assignments are timed out (dated at their deadline) and their surveys passed on. No timer thread."""
from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Iterable

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from ..claims import survey_access
from ..core.changelog import record_change
from ..core.error_codes import ERR
from ..core.models import Assignment, Claim, User
from ..core.rules import RuleError, RuleSettings, aware, to_utc
from ..insurers import service as insurers_service
from ..insurers.models import InsurerContact
from . import rules as rot
from .models import AssignmentDetails, AssignmentLog

ROTATION_LOCK_KEY = 4_207_113_005  # any constant shared by every server process


LEAD_KIND = "lead"


ACTIVE = ("assigned", "accepted", "arrived")


def lock_rotation(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": ROTATION_LOCK_KEY})


def log_entries(session: Session) -> list[rot.LogEntry]:
    rows = session.execute(select(AssignmentLog).order_by(AssignmentLog.seq)).scalars()
    return [rot.LogEntry(r.seq, aware(r.at), r.kind, r.insurer_code, r.claim_id, r.dispatch,
                         r.assignment_id, r.event_id) for r in rows]


def load_state(session: Session, settings: RuleSettings) -> rot.RotationState:
    return rot.replay(log_entries(session), insurers_service.co_insurers(session), settings.rotation)


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
    surveyors: dict[str, str | None] = {}  # an event's dispatch names each insurer many times
    for e in entries:
        if not applied:
            rot.apply(state, e)  # refuses anything the log does not allow, before it is written
        session.add(AssignmentLog(seq=e.seq, at=to_utc(e.at), kind=e.kind, insurer_code=e.insurer_code,
                                  claim_id=e.claim_id, dispatch=e.dispatch, assignment_id=e.assignment_id,
                                  event_id=e.event_id, actor_user_id=actor_id,
                                  note=note if e.kind == rot.DECLINED else ""))
        if e.kind == rot.ASSIGNED:
            if e.insurer_code not in surveyors:
                surveyors[e.insurer_code] = _surveyor_for(session, e.insurer_code)
            a = Assignment(id=e.assignment_id, claim_id=e.claim_id, insurer_code=e.insurer_code,
                           surveyor_id=surveyors[e.insurer_code], status="assigned",
                           kind=e.dispatch, created_at=e.at)
            d = AssignmentDetails(assignment_id=e.assignment_id, version=1, event_id=e.event_id,
                                  assigned_at=e.at)
            session.add(a)
            session.flush()  # the details row's foreign key needs the assignment first
            session.add(d)
            session.flush()
            survey_access.grant_access(session, a.claim_id, a.insurer_code)
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
                # The surveyors keep the claim for the follow-up period after this (survey_access).
                d.completed_at = a.completed_at = e.at
            _publish(session, a, d)
            if e.kind in (rot.DECLINED, rot.TIMED_OUT):
                # Access ends with the answer, in the same transaction: the insurer's phones are
                # told to forget the claim at their next pull.
                survey_access.end_access(session, a, e.at)
    session.flush()
    return created


def expire_overdue(session: Session, state: rot.RotationState, now: dt.datetime) -> list[dict]:
    """Lazy time-outs (call under the rotation lock)."""
    return _persist(session, state, rot.expire(state, now, in_place=True), None, applied=True)


def _claim(session: Session, claim_id: str) -> Claim:
    claim = session.get(Claim, claim_id)
    if claim is None:
        raise RuleError(404, ERR.not_found, "not found")
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
    from ..sync.claims import move_claim

    move_claim(session, claim, target, actor)


def dispatch_claim(session: Session, settings: RuleSettings, claim_id: str, actor: User,
                   now: dt.datetime, *, move: bool = True) -> list[dict]:
    """The lead's adjuster and the co-insurer in turn, for one claim's site survey. ``move``: the
    claim goes to ``survey_dispatched`` here (registered first if it was only reported); a
    phone's pushed status change has moved it already."""
    claim = _claim(session, claim_id)
    lead = insurers_service.lead_code(session)
    lock_rotation(session)
    state = load_state(session, settings)
    expire_overdue(session, state, now)
    if claim_id in state.held_by or any(
            p.claim_id == claim_id and p.dispatch in rot.CLAIM_DISPATCHES for p in state.pending.values()):
        raise RuleError(409, ERR.already_dispatched,
                        "this claim already has a co-insurer assigned or holding its survey")
    if state.offered.get(claim_id):
        raise RuleError(409, ERR.already_dispatched,
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
        raise RuleError(404, ERR.not_found, "not found")
    if a.kind == LEAD_KIND:
        allowed = user.role in ("adjuster", "coordinator")
    else:
        allowed = user.role == "surveyor" and user.insurer_code == a.insurer_code
    if not allowed:
        raise RuleError(404, ERR.not_found, "not found")  # out of scope answers like missing
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
        raise RuleError(409, ERR.timed_out,
                        f"the assignment timed out at {aware(d.answered_at).isoformat()}; "
                        "the survey has passed to the next co-insurer")
    if action == "arrive":
        if a.status not in ("accepted", "arrived"):
            raise RuleError(409, ERR.invalid_state, f"assignment is {a.status}; accept it before arriving")
        a.status = "arrived"
        d.arrived_at, d.arrived_lat, d.arrived_lon = now, lat, lon
        d.version += 1
        return {"assignment": _publish(session, a, d), "handed_over": []}
    kind = {"accept": rot.ACCEPTED, "decline": rot.DECLINED, "complete": rot.COMPLETED}[action]
    if kind == rot.DECLINED and not (reason or "").strip():
        raise RuleError(422, ERR.reason_required, "a decline needs a reason")
    try:
        entries = rot.respond(state, a.id, kind, now, in_place=True)
    except rot.RotationError as exc:
        raise RuleError(409, ERR.invalid_state, str(exc)) from None
    created = _persist(session, state, entries, user.id, note=(reason or "").strip(), applied=True)
    session.refresh(a)
    if kind == rot.COMPLETED:
        _surveyed(session, a.claim_id, user)
    return {"assignment": assignment_dict(a, session.get(AssignmentDetails, a.id)), "handed_over": created}


def _answer_lead(session, a, d, action, now, lat, lon, user) -> dict:
    flow = {"accept": ("assigned", "accepted"), "arrive": ("accepted", "arrived"),
            "complete": ("arrived", "completed")}
    if action == "decline":
        raise RuleError(409, ERR.invalid_state, "the lead insurer surveys every claim; it cannot decline")
    before, after = flow[action]
    ok = a.status == before or (action == "complete" and a.status == "accepted") or (
        action == "arrive" and a.status == "arrived")
    if not ok:
        raise RuleError(409, ERR.invalid_state, f"assignment is {a.status}, cannot {action}")
    a.status = after
    d.version += 1
    if action == "accept":
        d.answered_at = now
    elif action == "arrive":
        d.arrived_at, d.arrived_lat, d.arrived_lon = now, lat, lon
    else:
        d.completed_at = a.completed_at = now
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




def list_assignments(session: Session, user: User, claim_id: str | None = None) -> list[dict]:
    """The assignments a user may read, oldest first, of one claim when ``claim_id`` is given:
    office roles read every assignment; a surveyor only its insurer's."""
    q = select(Assignment, AssignmentDetails).join(
        AssignmentDetails, AssignmentDetails.assignment_id == Assignment.id, isouter=True)
    if user.role == "surveyor":
        q = q.where(Assignment.insurer_code == (user.insurer_code or ""))
    if claim_id:
        q = q.where(Assignment.claim_id == claim_id)
    rows = session.execute(q.order_by(Assignment.created_at)).all()
    return [assignment_dict(a, d) for a, d in rows]
