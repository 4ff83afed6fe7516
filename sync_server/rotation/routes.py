"""HTTP routes of the survey rotation (docs/coinsurance.md): the lead's office dispatches a claim's
survey, a co-insurer's surveyor answers its own insurer's assignments (others answer 404 like
missing ones), and the rotation's state. ``push_assignment`` takes a phone's offline answer the
same way."""
from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field, StrictFloat

from claimcore import entities

from ..core import rules as core_rules
from ..core.auth import CallerDep, DbDep, _require
from ..core.error_codes import ERR
from ..core.models import Assignment
from ..core.rules import _now, _rules, _run
from ..core.schemas import (
    _CLAIM_404,
    _NO_LEAD_409,
    AUTH,
    E422,
    FORBIDDEN_OFFICE,
    FORBIDDEN_READ,
    JSON_BODY,
    NO_BODY,
    StorableText,
    _err,
    _refusals,
)
from ..sync.mutations import Rejected
from . import service
from .models import AssignmentDetails

router = APIRouter(prefix="/api/v1", tags=["co-insurance"])

OFFICE = entities.OFFICE_ROLES


class AssignmentOut(BaseModel):
    id: str
    claim_id: str
    insurer_code: str
    surveyor_id: str | None
    status: str
    kind: str
    event_id: str | None = None
    assigned_at: str | None = None
    answered_at: str | None = None
    decline_reason: str | None = None
    arrived_at: str | None = None
    arrived_lat: float | None = None
    arrived_lon: float | None = None
    completed_at: str | None = None


class AssignmentsOut(BaseModel):
    assignments: list[AssignmentOut]


class AnswerOut(BaseModel):
    assignment: AssignmentOut
    handed_over: list[AssignmentOut] = Field(description="the assignment a decline passed the survey to")


class DeclineIn(StorableText):
    reason: str = Field(min_length=1, max_length=2000)


class ArriveIn(StorableText):
    lat: StrictFloat = Field(ge=-90, le=90)  # a number, as the schema says (not "29.7")
    lon: StrictFloat = Field(ge=-180, le=180)


class HistoryOut(BaseModel):
    at: str
    insurer_code: str
    claim_id: str | None
    kind: Literal["assigned", "accepted", "declined", "timed_out", "skipped_on_leave", "completed"]
    dispatch: str
    assignment_id: str | None
    event_id: str | None


class OrderOut(BaseModel):
    insurer_code: str
    turns_used: int
    extra_surveys: int
    forgiven: int
    standing: int
    on_leave: bool
    participated_this_month: bool


class RotationOut(BaseModel):
    order: list[OrderOut]
    next: str | None
    month: str
    participants: list[str]
    floor: dict[str, Any]
    history: list[HistoryOut]
    settings: dict[str, int]


_ASSIGNMENT_404 = {404: _err("not_found: no such assignment, or not the caller's to answer (identical answers)")}


_ANSWER_409 = {409: _err("invalid_state, timed_out: the assignment is not in a state this answer follows "
                         "(the lead cannot decline); it timed out and the survey passed on")}


@router.post("/claims/{claim_id}/dispatch", response_model=AssignmentsOut,
             responses=_refusals(AUTH, E422, NO_BODY, FORBIDDEN_OFFICE, _CLAIM_404, _NO_LEAD_409, {
                 409: _err("already_dispatched: a co-insurer holds the survey already, or every "
                           "co-insurer was offered it")}))
def dispatch(claim_id: str, caller: CallerDep, db: DbDep, request: Request) -> dict:
    """The lead's adjuster and the next co-insurer in turn survey the claim's site."""
    _require(caller, OFFICE, request)
    got = _run(db, service.dispatch_claim, _rules(request), claim_id, caller.user, _now(request))
    return {"assignments": got}


def _answer(assignment_id, action, caller, db, request, **kw) -> dict:
    return _run(db, service.answer, _rules(request), assignment_id, action, caller.user, _now(request), **kw)


@router.post("/assignments/{assignment_id}/accept", response_model=AnswerOut,
             responses=_refusals(AUTH, E422, NO_BODY, _ASSIGNMENT_404, _ANSWER_409))
def accept(assignment_id: str, caller: CallerDep, db: DbDep, request: Request) -> dict:
    return _answer(assignment_id, "accept", caller, db, request)


@router.post("/assignments/{assignment_id}/decline", response_model=AnswerOut,
             responses=_refusals(AUTH, JSON_BODY, _ASSIGNMENT_404, _ANSWER_409,
                                 {422: _err("reason_required: a decline needs a reason")}))
def decline(assignment_id: str, body: DeclineIn, caller: CallerDep, db: DbDep, request: Request) -> dict:
    """Declining uses the insurer's turn; the survey passes to the next co-insurer at once."""
    return _answer(assignment_id, "decline", caller, db, request, reason=body.reason)


@router.post("/assignments/{assignment_id}/arrive", response_model=AnswerOut,
             responses=_refusals(AUTH, JSON_BODY, _ASSIGNMENT_404, _ANSWER_409))
def arrive(assignment_id: str, body: ArriveIn, caller: CallerDep, db: DbDep, request: Request) -> dict:
    return _answer(assignment_id, "arrive", caller, db, request, lat=body.lat, lon=body.lon)


@router.post("/assignments/{assignment_id}/complete", response_model=AnswerOut,
             responses=_refusals(AUTH, E422, NO_BODY, _ASSIGNMENT_404, _ANSWER_409))
def complete(assignment_id: str, caller: CallerDep, db: DbDep, request: Request) -> dict:
    return _answer(assignment_id, "complete", caller, db, request)


@router.get("/assignments", response_model=AssignmentsOut, responses=_refusals(AUTH, E422, FORBIDDEN_READ))
def list_assignments(caller: CallerDep, db: DbDep, request: Request,
                     claim_id: str | None = None) -> dict:
    """Office roles see every assignment; a surveyor only its insurer's."""
    _require(caller, (*OFFICE, "surveyor"), request)
    with db.read() as session:
        return {"assignments": service.list_assignments(session, caller.user, claim_id)}


@router.get("/rotation", response_model=RotationOut, responses=_refusals(AUTH, E422, FORBIDDEN_READ))
def rotation(caller: CallerDep, db: DbDep, request: Request,
             history: Annotated[int | None, Query(ge=0, le=100000)] = None) -> dict:
    """The rotation's state, recomputed from the log on every call (time-outs applied first)."""
    _require(caller, (*OFFICE, "surveyor"), request)
    return _run(db, service.rotation_view, _rules(request), _now(request), history)


# A phone answers offline: its outbox holds ``assignment`` upserts with the new ``status`` (the
# field app's names: accepted, declined, arrived, done). They take the same path as the HTTP
# routes, so the rotation sees one kind of answer however it arrived.
_PHONE_STATUS = {"accepted": "accept", "declined": "decline", "arrived": "arrive",
                 "done": "complete", "completed": "complete"}


def push_assignment(session, user, device, m, rules):  # noqa: ANN001

    if m.op != "upsert":
        raise Rejected(ERR.invalid_op, "assignments are answered, never deleted")
    status = (m.fields or {}).get("status")
    action = _PHONE_STATUS.get(status)
    if action is None:
        raise Rejected(ERR.invalid_value, f"status must be one of {', '.join(sorted(_PHONE_STATUS))}")
    current = session.get(Assignment, m.id)
    details = session.get(AssignmentDetails, m.id)
    target = "completed" if action == "complete" else status
    if current is not None and details is not None and current.status == target:
        try:
            service._assignment_for(session, m.id, user)
        except core_rules.RuleError as exc:
            raise Rejected(exc.code, exc.message) from None
        return "applied", details.version  # the same answer again (another queue): nothing changes
    reason = (m.fields.get("decline_reason") or m.fields.get("reason")
              or "在手机上拒绝（原因见案件备注）")
    try:
        service.answer(session, rules.settings, m.id, action, user, rules.now(), reason=reason,
                  lat=m.fields.get("lat"), lon=m.fields.get("lon"))
    except core_rules.RuleError as exc:
        raise Rejected(exc.code, exc.message) from None
    return "applied", session.get(AssignmentDetails, m.id).version


