"""HTTP routes of the co-insurance rules (issue 5); documented in docs/coinsurance.md.

The sync core's app factory includes ``router`` by itself, its CLI calls ``configure_admin`` (the
``admin insurer …`` commands) and ``demo_seed`` (shares, contacts, premiums of the demo pool), and
importing this module registers the claim-authority guard (hooks.set_authority_guard).

Roles: only the lead's adjusters and the coordinator dispatch and declare events; a surveyor
answers only its own insurer's assignments (others answer 404 like missing ones).
"""
from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt
from sqlalchemy import select

from claimcore import authority as ca
from claimcore import entities
from claimcore.localtime import to_china_time

from . import coinsurance as co
from . import fund as fundlib
from . import hooks, reports
from .api import E401, E422, JSON_BODY, CallerDep, DbDep, StorableText, _err, refuse
from .coinsurance_models import AssignmentDetails, CoinsuranceEvent
from .errors import ApiError
from .models import Assignment, Claim, utcnow

router = APIRouter(prefix="/api/v1", tags=["co-insurance"])
OFFICE = entities.OFFICE_ROLES


def _now(request: Request) -> dt.datetime:
    clock = request.app.state.settings.extra.get("clock")  # tests move time; production: utcnow
    return co.to_utc(clock() if clock else utcnow())


def _rules(request: Request) -> co.RuleSettings:
    return co.rule_settings(request.app.state.settings.extra)


def _require(caller, roles, request: Request) -> None:
    if caller.user.role not in roles:
        refuse(caller, "role", request.url.path)
        raise ApiError(403, "forbidden", f"this needs one of the roles: {', '.join(roles)}")


def _run(db, fn, *args, **kwargs):
    try:
        with db.write() as session:
            return fn(session, *args, **kwargs)
    except co.RuleError as exc:
        raise ApiError(exc.status, exc.code, exc.message) from None


# ----------------------------------------------------------------------------------- schemas

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


class DeclineIn(BaseModel):
    reason: str = Field(min_length=1, max_length=2000)


class ArriveIn(BaseModel):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


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


class EventIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    coverage: str = Field(max_length=40)
    township_codes: list[str] = Field(min_length=1, max_length=40)
    started_at: dt.datetime


class EventOut(BaseModel):
    id: str
    name: str
    coverage: str
    township_codes: list[str]
    started_at: str
    declared_by: str | None
    claims: int


class EventDetailOut(EventOut):
    claim_ids: list[str]
    by_township: dict[str, int] = Field(description="township code -> claims of the event there")
    by_status: dict[str, int] = Field(description="claim status -> claims of the event in it")


class LeaveIn(StorableText):
    model_config = ConfigDict(populate_by_name=True)
    starts: dt.datetime = Field(alias="from", description="ISO 8601 with offset; the leave starts (inclusive)")
    ends: dt.datetime = Field(alias="to", description="ISO 8601 with offset; the leave ends (exclusive)")
    note: str = Field(default="", max_length=200)


class LeaveOut(BaseModel):
    id: str
    from_: str = Field(alias="from")
    to: str
    note: str


class ContactOut(BaseModel):
    id: str | None = None
    name: str
    phone: str | None = None
    user_id: str | None = None


class InsurerOut(BaseModel):
    """One insurer as GET /insurers lists it."""

    code: str
    name: str
    share_bp: int
    is_lead: bool
    position: int
    contacts: list[ContactOut]
    leave: list[LeaveOut]


class FundEntryOut(BaseModel):
    id: str
    kind: str
    on: str
    amount_fen: int
    insurer_code: str | None
    category: str | None
    note: str
    receipt_sha256: str | None
    assignment_id: str | None
    policy_year: int | None
    corrects: str | None = Field(description="the entry this one corrects (a reversal or a replacement)")
    correction: Literal["reversal", "replacement"] | None
    reason: str | None = Field(description="why the corrected entry was corrected")
    corrected_by: str | None = Field(description="the reversal that corrected this entry")


class CorrectionIn(StorableText):
    reason: str = Field(min_length=1, max_length=500)
    amount_fen: StrictInt | None = Field(default=None, ge=0, le=10**13,
                                         description="the corrected amount; omitted or 0: take the entry back")


class CorrectionOut(BaseModel):
    reversal: FundEntryOut
    replacement: FundEntryOut | None


class RecoveryIn(StorableText):
    amount_fen: StrictInt = Field(gt=0, le=10**13, description="whole fen, more than 0")
    on: dt.date = Field(description="the day the demand went out / the money arrived")
    note: str = Field(default="", max_length=500)


class RecoveryCorrectionIn(StorableText):
    reason: str = Field(min_length=1, max_length=500)


class RecoveryEntryOut(BaseModel):
    id: str
    insurer_code: str
    kind: Literal["demanded", "received", "correction"]
    amount_fen: int = Field(description="a correction's is negative: the amount it takes back")
    on: str
    note: str
    corrects: str | None = Field(description="a correction: the entry it takes back")
    corrected_by: str | None = Field(description="the correction that took this entry back")
    reason: str | None = Field(description="a correction: why")
    created_by: str
    created_at: str


class RecoveryPositionOut(BaseModel):
    owed_fen: int = Field(description="its parts of every claim the lead paid")
    demanded_fen: int = Field(description="demands, corrections applied")
    received_fen: int = Field(description="receipts, corrections applied")
    outstanding_fen: int = Field(description="owed − received")


class RecoveryClaimOut(BaseModel):
    claim_id: str
    paid_fen: int
    parts: dict[str, int]


class RecoveriesOut(BaseModel):
    lead: str
    claims: list[RecoveryClaimOut]
    to_recover_by_insurer: dict[str, int]
    by_insurer: dict[str, RecoveryPositionOut]
    entries: list[RecoveryEntryOut] = Field(description="demands, receipts and corrections, newest first")


# The refusals of the office's routes below, for their OpenAPI responses.
FORBIDDEN_OFFICE = {403: _err("forbidden: only adjusters and the coordinator")}
FORBIDDEN_READ = {403: _err("forbidden: only adjusters, the coordinator and surveyors")}


class OpinionIn(BaseModel):
    vote: Literal[entities.VOTES]  # type: ignore[valid-type]
    opinion: str = Field(default="", max_length=entities.OPINION.fields["opinion"].max_length)


class ConsultationIn(BaseModel):
    held_at: dt.datetime
    attendees: list[Annotated[str, Field(min_length=1, max_length=32)]] = Field(min_length=1, max_length=50)
    engage_assessor: StrictBool
    engage_lawyer: StrictBool
    minutes: str = Field(min_length=1, max_length=20_000)


class FundEntryIn(BaseModel):
    kind: Literal["spending"] = "spending"
    on: dt.date
    amount_fen: StrictInt = Field(gt=0, le=10**13)
    category: Literal[entities.SPENDING_CATEGORIES]  # type: ignore[valid-type]
    note: str = Field(default="", max_length=2000)
    receipt_sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    insurer_code: str | None = Field(default=None, max_length=32)
    assignment_id: str | None = Field(default=None, max_length=36)


class PremiumIn(BaseModel):
    policy_year: int = Field(ge=2000, le=2100)
    insurer_code: str = Field(max_length=32)
    premium_ex_tax_fen: StrictInt = Field(gt=0, le=10**13)
    received_on: dt.date


# ---------------------------------------------------------------------------------- dispatch

@router.post("/claims/{claim_id}/dispatch", response_model=AssignmentsOut)
def dispatch(claim_id: str, caller: CallerDep, db: DbDep, request: Request) -> dict:
    """The lead's adjuster and the next co-insurer in turn survey the claim's site."""
    _require(caller, OFFICE, request)
    got = _run(db, co.dispatch_claim, _rules(request), claim_id, caller.user, _now(request))
    return {"assignments": got}


def _answer(assignment_id, action, caller, db, request, **kw) -> dict:
    return _run(db, co.answer, _rules(request), assignment_id, action, caller.user, _now(request), **kw)


@router.post("/assignments/{assignment_id}/accept", response_model=AnswerOut)
def accept(assignment_id: str, caller: CallerDep, db: DbDep, request: Request) -> dict:
    return _answer(assignment_id, "accept", caller, db, request)


@router.post("/assignments/{assignment_id}/decline", response_model=AnswerOut)
def decline(assignment_id: str, body: DeclineIn, caller: CallerDep, db: DbDep, request: Request) -> dict:
    """Declining uses the insurer's turn; the survey passes to the next co-insurer at once."""
    return _answer(assignment_id, "decline", caller, db, request, reason=body.reason)


@router.post("/assignments/{assignment_id}/arrive", response_model=AnswerOut)
def arrive(assignment_id: str, body: ArriveIn, caller: CallerDep, db: DbDep, request: Request) -> dict:
    return _answer(assignment_id, "arrive", caller, db, request, lat=body.lat, lon=body.lon)


@router.post("/assignments/{assignment_id}/complete", response_model=AnswerOut)
def complete(assignment_id: str, caller: CallerDep, db: DbDep, request: Request) -> dict:
    return _answer(assignment_id, "complete", caller, db, request)


@router.get("/assignments", response_model=AssignmentsOut)
def list_assignments(caller: CallerDep, db: DbDep, request: Request,
                     claim_id: str | None = None) -> dict:
    """Office roles see every assignment; a surveyor only its insurer's."""
    _require(caller, (*OFFICE, "surveyor"), request)
    with db.read() as session:
        q = select(Assignment, AssignmentDetails).join(
            AssignmentDetails, AssignmentDetails.assignment_id == Assignment.id, isouter=True)
        if caller.user.role == "surveyor":
            q = q.where(Assignment.insurer_code == (caller.user.insurer_code or ""))
        if claim_id:
            q = q.where(Assignment.claim_id == claim_id)
        rows = session.execute(q.order_by(Assignment.created_at)).all()
        return {"assignments": [co.assignment_dict(a, d) for a, d in rows]}


@router.get("/rotation", response_model=RotationOut)
def rotation(caller: CallerDep, db: DbDep, request: Request,
             history: Annotated[int | None, Query(ge=0, le=100000)] = None) -> dict:
    """The rotation's state, recomputed from the log on every call (time-outs applied first)."""
    _require(caller, (*OFFICE, "surveyor"), request)
    return _run(db, co.rotation_view, _rules(request), _now(request), history)


# ------------------------------------------------------------------------------------ events

@router.post("/events", response_model=EventOut, status_code=201)
def declare_event(body: EventIn, caller: CallerDep, db: DbDep, request: Request) -> dict:
    _require(caller, OFFICE, request)
    from . import domain

    try:
        domain.check_coverage(body.coverage)
        for t in body.township_codes:
            domain.check_township(t)
    except domain.DomainError as exc:
        raise ApiError(422, exc.code, exc.message) from None
    if body.started_at.tzinfo is None:
        raise ApiError(422, "invalid_datetime", "started_at needs a UTC offset")
    return _run(db, co.declare_event, caller.user, body.name, body.coverage, body.township_codes,
                body.started_at)


@router.get("/events", response_model=list[EventOut])
def list_events(caller: CallerDep, db: DbDep, request: Request) -> list:
    _require(caller, (*OFFICE, "surveyor"), request)
    with db.read() as session:
        evs = session.execute(select(CoinsuranceEvent).order_by(CoinsuranceEvent.started_at)).scalars()
        return [co.event_dict(session, e) for e in evs]


@router.get("/events/{event_id}", response_model=EventDetailOut,
            responses={**E401, **E422, **FORBIDDEN_READ, 404: _err("not_found: no such event")})
def get_event(event_id: str, caller: CallerDep, db: DbDep, request: Request) -> dict:
    """The event with its claims (ids, and counts by township and by status)."""
    _require(caller, (*OFFICE, "surveyor"), request)
    return _run(db, co.event_detail, event_id)


_EVENT_CLAIM_404 = {404: _err("not_found: no such event or claim (removing: the claim is not in the event)")}


@router.post("/events/{event_id}/claims/{claim_id}", response_model=EventDetailOut,
             responses={**E401, **E422, **FORBIDDEN_OFFICE, **_EVENT_CLAIM_404})
def add_event_claim(event_id: str, claim_id: str, caller: CallerDep, db: DbDep, request: Request) -> dict:
    """Add a claim to the event by hand (any coverage or township; out of another event if it was
    in one). Answers the event's detail."""
    _require(caller, OFFICE, request)
    return _run(db, co.add_event_claim, event_id, claim_id, caller.user)


@router.delete("/events/{event_id}/claims/{claim_id}", response_model=EventDetailOut,
               responses={**E401, **E422, **FORBIDDEN_OFFICE, **_EVENT_CLAIM_404})
def remove_event_claim(event_id: str, claim_id: str, caller: CallerDep, db: DbDep, request: Request) -> dict:
    """Take a claim out of the event by hand: grouping never puts it back into this event."""
    _require(caller, OFFICE, request)
    return _run(db, co.remove_event_claim, event_id, claim_id, caller.user)


@router.post("/events/{event_id}/dispatch", response_model=AssignmentsOut)
def dispatch_event(event_id: str, caller: CallerDep, db: DbDep, request: Request) -> dict:
    """Every available co-insurer gets a block of the event's claims; no ordinary turn is used."""
    _require(caller, OFFICE, request)
    return {"assignments": _run(db, co.dispatch_event, _rules(request), event_id, caller.user, _now(request))}


# --------------------------------------------------------------------------------- authority

def _authority_scope(session, caller, claim_id: str) -> None:
    if caller.user.role in OFFICE:
        return
    if caller.user.role == "surveyor":
        claim = session.get(Claim, claim_id)
        if claim is not None and claim.adjusted_amount_fen is not None and ca.tier_for_amount(
                claim.adjusted_amount_fen) is not ca.Tier.LEAD_ALONE:
            return  # every co-insurer is informed of (and may weigh in on) reviewed amounts
    raise co.RuleError(404, "not_found", "not found")


@router.get("/claims/{claim_id}/authority")
def get_authority(claim_id: str, caller: CallerDep, db: DbDep, request: Request) -> dict:
    """The claim's tier, what it needs before approval, the opinions, and the vote's arithmetic."""
    def run(session):
        _authority_scope(session, caller, claim_id)
        return co.authority_view(session, _rules(request), claim_id, _now(request))
    return _run(db, run)


@router.post("/claims/{claim_id}/opinions")
def post_opinion(claim_id: str, body: OpinionIn, caller: CallerDep, db: DbDep, request: Request) -> dict:
    def run(session):
        _authority_scope(session, caller, claim_id)
        return co.add_opinion(session, _rules(request), claim_id, caller.user, body.vote, body.opinion,
                              _now(request))
    return _run(db, run)


@router.post("/claims/{claim_id}/consultations", status_code=201)
def post_consultation(claim_id: str, body: ConsultationIn, caller: CallerDep, db: DbDep,
                      request: Request) -> dict:
    """The consultation meeting on a claim of 300,000 yuan or more (annex 2: 首席承保人牵头召集各共保人
    召开赔案处理会商会议，会商讨论决定是否聘请公估公司、律师): recorded by the lead's office before any vote.
    Answers the claim's authority view."""
    _require(caller, OFFICE, request)
    if "\x00" in body.minutes:
        raise ApiError(422, "invalid_request", "minutes contain a NUL character")
    return _run(db, co.record_consultation, _rules(request), claim_id, caller.user, held_at=body.held_at,
                attendees=body.attendees, engage_assessor=body.engage_assessor,
                engage_lawyer=body.engage_lawyer, minutes=body.minutes, now=_now(request))


# -------------------------------------------------------------------------------------- fund

@router.post("/fund/premiums", status_code=201,
             responses={**E401, **JSON_BODY, **FORBIDDEN_OFFICE, 404: _err("not_found: no such insurer"),
                        422: _err("invalid_request, invalid_amount: not the documented shape (see detail); "
                                  "a premium whose contribution rounds to 0 fen")})
def set_premium(body: PremiumIn, caller: CallerDep, db: DbDep, request: Request) -> dict:
    _require(caller, OFFICE, request)
    return _run(db, co.set_premium, _rules(request), body.policy_year, body.insurer_code,
                body.premium_ex_tax_fen, body.received_on, caller.user)


@router.post("/fund/entries", status_code=201)
def add_fund_entry(body: FundEntryIn, caller: CallerDep, db: DbDep, request: Request) -> dict:
    """Spending. A surveyor may log only its own survey costs (vehicle, meals) with a receipt."""
    return _run(db, co.log_spending, caller.user, on=body.on, amount_fen=body.amount_fen,
                category=body.category, note=body.note, receipt_sha256=body.receipt_sha256,
                insurer_code=body.insurer_code, assignment_id=body.assignment_id)


@router.get("/fund/entries")
def list_fund_entries(caller: CallerDep, db: DbDep, request: Request) -> dict:
    _require(caller, (*OFFICE, "surveyor"), request)
    with db.read() as session:
        return {"entries": co.fund_entry_list(session)}


@router.post("/fund/entries/{entry_id}/corrections", response_model=CorrectionOut, status_code=201,
             responses={**E401, **JSON_BODY, **FORBIDDEN_OFFICE, 404: _err("not_found: no such fund entry"),
                        409: _err("already_corrected, is_reversal, use_premium: the entry has a reversal "
                                  "already; it is a reversal; it is a contribution (enter the premium again)"),
                        422: _err("invalid_request, invalid_text, reason_required, invalid_amount: not the "
                                  "documented shape (see detail); an empty reason; a corrected amount "
                                  "that is not whole fen")})
def correct_fund_entry(entry_id: str, body: CorrectionIn, caller: CallerDep, db: DbDep, request: Request) -> dict:
    """Correct a booked entry by counter-entries dated today (the published quarters keep their
    figures): its reversal and, for ``amount_fen`` > 0, a replacement with the corrected amount."""
    _require(caller, OFFICE, request)
    today = to_china_time(_now(request)).date()  # the fund's dates are Dazu's calendar days
    return _run(db, co.correct_fund_entry, caller.user, entry_id, body.reason, body.amount_fen or 0, today)


@router.get("/fund/disclosure")
def fund_disclosure(caller: CallerDep, db: DbDep, request: Request,
                    year: Annotated[int, Query(ge=2000, le=2100)],
                    quarter: Annotated[int, Query(ge=1, le=4)]) -> dict:
    """The quarterly publication every co-insurer has the right to see (知情权)."""
    _require(caller, (*OFFICE, "surveyor"), request)
    return _run(db, co.fund_disclosure, year, quarter)


@router.get("/fund/settlement")
def fund_settlement(caller: CallerDep, db: DbDep, request: Request,
                    year: Annotated[int, Query(ge=2000, le=2100)]) -> dict:
    """Year-end 多退少补: positive = refund to the insurer, negative = it tops up."""
    _require(caller, (*OFFICE, "surveyor"), request)

    def run(session):
        try:
            return {"year": year, "settlement": fundlib.year_end_settlement(
                co.fund_entries(session), co.shares(session), year)}
        except fundlib.FundError as exc:
            raise co.RuleError(409, "fund_error", str(exc)) from None
    return _run(db, run)


_NO_LEAD = "no_lead_insurer: no lead insurer is set"


@router.get("/fund/recoveries", response_model=RecoveriesOut,
            responses={**E401, **FORBIDDEN_READ,
                       409: _err(f"fund_error, {_NO_LEAD}; the shares do not add up to 100%")})
def fund_recoveries(caller: CallerDep, db: DbDep, request: Request) -> dict:
    """What each co-insurer owes for the claims the lead paid on behalf of all (代付赔款摊回), what
    was demanded and received, and what is outstanding. A surveyor sees its own insurer's figures
    and entries only."""
    _require(caller, (*OFFICE, "surveyor"), request)
    scope = (caller.user.insurer_code or "") if caller.user.role == "surveyor" else None
    return _run(db, co.recoveries, scope)


_CO_INSURER_404 = {404: _err("not_found: no such co-insurer (an unknown insurer, or the lead itself)")}


@router.post("/fund/recoveries/{insurer_code}/demands", response_model=RecoveryEntryOut, status_code=201,
             responses={**E401, **JSON_BODY, **FORBIDDEN_OFFICE, **_CO_INSURER_404, 409: _err(_NO_LEAD)})
def demand_recovery(insurer_code: str, body: RecoveryIn, caller: CallerDep, db: DbDep,
                    request: Request) -> dict:
    """The lead's office asked the co-insurer for ``amount_fen`` of what it owes."""
    _require(caller, OFFICE, request)
    return _run(db, co.record_recovery, caller.user, insurer_code, fundlib.DEMANDED,
                amount_fen=body.amount_fen, on=body.on, note=body.note)


@router.post("/fund/recoveries/{insurer_code}/receipts", response_model=RecoveryEntryOut, status_code=201,
             responses={**E401, **JSON_BODY, **FORBIDDEN_OFFICE, **_CO_INSURER_404,
                        409: _err(f"over_received, {_NO_LEAD}; more would be received than was demanded "
                                  "from this insurer")})
def receive_recovery(insurer_code: str, body: RecoveryIn, caller: CallerDep, db: DbDep,
                     request: Request) -> dict:
    """The co-insurer paid ``amount_fen`` back (never more, in all, than was demanded of it)."""
    _require(caller, OFFICE, request)
    return _run(db, co.record_recovery, caller.user, insurer_code, fundlib.RECEIVED,
                amount_fen=body.amount_fen, on=body.on, note=body.note)


@router.post("/fund/recoveries/entries/{entry_id}/corrections", response_model=RecoveryEntryOut,
             status_code=201,
             responses={**E401, **JSON_BODY, **FORBIDDEN_OFFICE, 404: _err("not_found: no such recovery entry"),
                        409: _err("already_corrected, is_correction, over_received: the entry was taken back "
                                  "already; it is a correction itself; taking this demand back would leave "
                                  "more received than demanded"),
                        422: _err("invalid_request, invalid_text, reason_required: not the documented shape "
                                  "(see detail); an empty reason")})
def correct_recovery(entry_id: str, body: RecoveryCorrectionIn, caller: CallerDep, db: DbDep,
                     request: Request) -> dict:
    """Take a demand or receipt back in full: a correction with the negative amount, dated today,
    naming the entry and the reason (the entry itself is never changed)."""
    _require(caller, OFFICE, request)
    today = to_china_time(_now(request)).date()  # the entries' dates are Dazu's calendar days
    return _run(db, co.correct_recovery, caller.user, entry_id, body.reason, today)


# ----------------------------------------------------------------------------------- reports

def _report_claims(session) -> list[dict]:
    firsts: dict[str, dt.datetime] = {}
    for a, d in session.execute(select(Assignment, AssignmentDetails).join(
            AssignmentDetails, AssignmentDetails.assignment_id == Assignment.id)).all():
        moment = co.aware(d.arrived_at or d.completed_at)
        if moment and (a.claim_id not in firsts or moment < firsts[a.claim_id]):
            firsts[a.claim_id] = moment

    out = []
    for c in session.execute(select(Claim)).scalars():
        data = c.data or {}
        out.append({
            "id": c.id, "coverage": c.coverage, "township_code": c.township_code, "status": c.status,
            "claimed_amount_fen": c.claimed_amount_fen, "paid_amount_fen": c.paid_amount_fen,
            "reported_at": co.parse_moment(data.get("reported_at")) or co.aware(c.created_at),
            "surveyed_at": firsts.get(c.id),
            "documents_complete_at": co.parse_moment(data.get("submitted_at")),
            "paid_at": co.parse_moment(data.get("paid_at")),
        })
    return out


def build_report(session, kind: str, year: int, quarter: int | None) -> dict:
    from . import domain

    insurers = {r["code"]: r["name"] for r in co.insurer_rows(session) if not r["is_lead"]}
    history = [{"at": e.at, "insurer_code": e.insurer_code, "claim_id": e.claim_id, "kind": e.kind}
               for e in co.log_entries(session)]
    entries, sh = co.fund_entries(session), co.shares(session)
    quarters = [quarter] if kind == "quarterly" else [1, 2, 3, 4]
    fund = recoveries = None
    if sh and sum(sh.values()) == fundlib.TOTAL_BP:
        fund = {"quarters": [fundlib.quarterly_disclosure(entries, sh, year, q).as_dict() for q in quarters]}
        # As the period closed: claims paid and entries dated before its end; a later correction
        # counts in its own period, so a published report keeps its figures.
        _, end = reports.period_bounds(kind, year, quarter)
        try:
            recoveries = co.recovery_positions(session, end.date())
        except co.RuleError:  # no lead insurer set: nobody to recover for
            recoveries = None
    return reports.build_report(kind, year, quarter, _report_claims(session), history, fund, insurers,
                                domain.townships(), recoveries=recoveries)


@router.get("/reports/{kind}")
def report(kind: Literal["quarterly", "annual"], caller: CallerDep, db: DbDep, request: Request,
           year: Annotated[int, Query(ge=2000, le=2100)],
           quarter: Annotated[int | None, Query(ge=1, le=4)] = None,
           format: Literal["json", "xlsx", "pdf"] = "json") -> Any:
    """The quarterly review (needs ``quarter``) or the annual report, as JSON, XLSX or PDF."""
    _require(caller, OFFICE, request)
    if kind == "quarterly" and quarter is None:
        raise ApiError(422, "invalid_request", "a quarterly report needs quarter=1..4")
    with db.read() as session:
        data = build_report(session, kind, year, quarter if kind == "quarterly" else None)
    name = f"dazu-{kind}-{year}" + (f"-q{quarter}" if kind == "quarterly" else "")
    if format == "xlsx":
        return Response(reports.to_xlsx(data),
                        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'})
    if format == "pdf":
        return Response(reports.to_pdf(data), media_type="application/pdf",
                        headers={"Content-Disposition": f'attachment; filename="{name}.pdf"'})
    return data


@router.get("/insurers")
def insurers(caller: CallerDep, db: DbDep, request: Request) -> dict:
    """Insurers with share, lead flag, contacts and leave (contacts' phones for office roles only)."""
    with db.read() as session:
        rows = co.insurer_rows(session)
    if caller.user.role not in OFFICE:
        for r in rows:
            r["contacts"] = [{"name": c["name"]} for c in r["contacts"]]
    return {"insurers": rows}


_INSURER_404 = {404: _err("not_found: no such insurer")}


@router.post("/insurers/{code}/leave", response_model=InsurerOut, status_code=201,
             responses={**E401, **JSON_BODY, **FORBIDDEN_OFFICE, **_INSURER_404,
                        422: _err("invalid_request, invalid_text, invalid_datetime, invalid_leave: not the "
                                  "documented shape (see detail); a time without offset; to not after from")})
def add_leave(code: str, body: LeaveIn, caller: CallerDep, db: DbDep, request: Request) -> dict:
    """The insurer's contact is on leave from ``from`` to ``to``: the rotation skips the insurer
    meanwhile (the rules of ``admin insurer leave``). Answers the insurer as GET /insurers shows it."""
    _require(caller, OFFICE, request)

    def run(session):
        co.add_leave(session, code, body.starts, body.ends, body.note)
        return co.insurer_row(session, code)
    return _run(db, run)


@router.post("/insurers/{code}/back", response_model=InsurerOut,
             responses={**E401, **E422, **FORBIDDEN_OFFICE, **_INSURER_404})
def end_leave(code: str, caller: CallerDep, db: DbDep, request: Request) -> dict:
    """The contact is back early: every leave window covering now ends now."""
    _require(caller, OFFICE, request)

    def run(session):
        co.end_leave(session, code, _now(request))
        return co.insurer_row(session, code)
    return _run(db, run)


# ------------------------------------------------------------------------- plug-in entry points

hooks.set_authority_guard(co.authority_guard)

# A phone answers offline: its outbox holds ``assignment`` upserts with the new ``status`` (the
# field app's names: accepted, declined, arrived, done). They take the same path as the HTTP
# routes, so the rotation sees one kind of answer however it arrived.
_PHONE_STATUS = {"accepted": "accept", "declined": "decline", "arrived": "arrive",
                 "done": "complete", "completed": "complete"}


def _push_assignment(session, user, device, m):  # noqa: ANN001
    from .sync_apply import Rejected

    if m.op != "upsert":
        raise Rejected("invalid_op", "assignments are answered, never deleted")
    status = (m.fields or {}).get("status")
    action = _PHONE_STATUS.get(status)
    if action is None:
        raise Rejected("invalid_value", f"status must be one of {', '.join(sorted(_PHONE_STATUS))}")
    current = session.get(Assignment, m.id)
    details = session.get(AssignmentDetails, m.id)
    target = "completed" if action == "complete" else status
    if current is not None and details is not None and current.status == target:
        try:
            co._assignment_for(session, m.id, user)
        except co.RuleError as exc:
            raise Rejected(exc.code, exc.message) from None
        return "applied", details.version  # the same answer again (another queue): nothing changes
    reason = (m.fields.get("decline_reason") or m.fields.get("reason")
              or "在手机上拒绝（原因见案件备注）")
    try:
        co.answer(session, co.rule_settings(), m.id, action, user, utcnow(), reason=reason,
                  lat=m.fields.get("lat"), lon=m.fields.get("lon"))
    except co.RuleError as exc:
        raise Rejected(exc.code, exc.message) from None
    return "applied", session.get(AssignmentDetails, m.id).version


hooks.register_entity_handler("assignment", _push_assignment)


def _push_cost(session, user, device, m):  # noqa: ANN001
    """A survey cost logged on a surveyor's phone (offline): the same rules as POST /fund/entries.
    The phone's UUID is the entry's id, so a replayed push never books a cost twice; a booked
    cost is never changed (spending is published quarterly)."""
    from .coinsurance_models import FundEntryRow
    from .sync_apply import Rejected

    if m.op != "upsert":
        raise Rejected("append_only", "a logged cost is never changed or deleted")
    f = dict(m.fields or {})
    if session.get(FundEntryRow, m.id) is not None:
        return "applied", 1
    unknown = sorted(set(f) - {"on", "amount_fen", "category", "note", "receipt_sha256",
                               "assignment_id", "claim_id"})
    if unknown:
        raise Rejected("unknown_field", f"unknown cost fields: {', '.join(unknown)}")
    try:
        on = dt.date.fromisoformat(str(f.get("on")))
    except ValueError:
        raise Rejected("invalid_date", "on must be an ISO date (YYYY-MM-DD)") from None
    amount = f.get("amount_fen")
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise Rejected("bad_money", "amount_fen must be integer fen")
    try:
        co.log_spending(session, user, on=on, amount_fen=amount, category=f.get("category") or "survey",
                        note=str(f.get("note") or "")[:2000], receipt_sha256=f.get("receipt_sha256"),
                        assignment_id=f.get("assignment_id"), entry_id=m.id)
    except co.RuleError as exc:
        raise Rejected(exc.code, exc.message) from None
    return "applied", 1


hooks.register_entity_handler("cost", _push_cost)


def _push_opinion(session, user, device, m):  # noqa: ANN001
    """An opinion or vote given on a phone in a claim-authority review: the same rules as
    POST /claims/{id}/opinions. Opinions are a review's record: never changed or deleted."""
    from .coinsurance_models import Opinion
    from .sync_apply import Rejected

    if m.op != "upsert":
        raise Rejected("append_only", "an opinion is never changed or deleted")
    if session.get(Opinion, m.id) is not None:
        return "applied", 1
    try:
        co.add_opinion(session, co.rule_settings(), m.fields["claim_id"], user, m.fields["vote"],
                       m.fields.get("opinion") or "", utcnow(), opinion_id=m.id)
    except co.RuleError as exc:
        raise Rejected(exc.code, exc.message) from None
    return "applied", 1


hooks.register_entity_handler("opinion", _push_opinion)


def configure_admin(subparsers) -> None:  # noqa: ANN001
    from .admin_insurer import configure

    configure(subparsers)


def demo_seed(db) -> dict:  # noqa: ANN001
    from .admin_insurer import demo_seed as seed

    return seed(db)
