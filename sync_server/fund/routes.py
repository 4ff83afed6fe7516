"""HTTP routes of the work fund (docs/coinsurance.md): premiums, spending and corrections, the
disclosure and the year-end settlement, the budget, comments, recoveries. ``push_cost`` takes a
survey cost logged on a surveyor's phone the same way."""
from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi import Path as FastApiPath
from pydantic import BaseModel, Field, StrictInt, model_validator

from claimcore import entities
from claimcore.localtime import to_china_time

from ..core import rules as core_rules
from ..core.auth import CallerDep, DbDep, _require, refuse
from ..core.error_codes import ERR
from ..core.errors import ApiError
from ..core.rules import _now, _rules, _run
from ..core.schemas import (
    AUTH,
    E422,
    FORBIDDEN_OFFICE,
    FORBIDDEN_READ,
    JSON_BODY,
    IsoDate,
    StorableText,
    WholeNumbers,
    _err,
    _integral,
    _refusals,
)
from ..insurers import service as insurers_service
from ..sync.mutations import Rejected
from . import rules as fundlib
from . import recoveries as recovery_service
from . import service as fund_service

router = APIRouter(prefix="/api/v1", tags=["co-insurance"])

OFFICE = entities.OFFICE_ROLES

FORBIDDEN_LEAD = {403: _err("forbidden: only the lead insurer's adjusters write and submit the annual report")}



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


class CorrectionIn(WholeNumbers):
    reason: str = Field(min_length=1, max_length=500)
    amount_fen: StrictInt | None = Field(default=None, ge=0, le=entities.MAX_COST_FEN,
                                         description="the corrected amount; omitted or 0: take the entry back")


class CorrectionOut(BaseModel):
    reversal: FundEntryOut
    replacement: FundEntryOut | None


class RecoveryIn(WholeNumbers):
    amount_fen: StrictInt = Field(gt=0, le=10**13, description="whole fen, more than 0")
    on: IsoDate = Field(description="the day the demand went out / the money arrived")
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


class FundEntryIn(WholeNumbers):
    kind: Literal["spending"] = "spending"
    on: IsoDate
    amount_fen: StrictInt = Field(gt=0, le=entities.MAX_COST_FEN,
                                  description="whole fen; the server's caps (DAZU_FUND_*_MAX_FEN) may be lower")
    category: Literal[entities.SPENDING_CATEGORIES]  # type: ignore[valid-type]
    note: str = Field(default="", max_length=2000)
    receipt_sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$",
                                       description="a receipt photo this device uploaded (or one of a record it sees)")
    insurer_code: str | None = Field(default=None, max_length=32)
    assignment_id: str | None = Field(default=None, max_length=36)
    claim_id: str | None = Field(default=None, max_length=36,
                                 description="a surveyor's survey cost: the claim of its insurer's accepted survey")


class PremiumIn(WholeNumbers):
    policy_year: StrictInt = Field(ge=2000, le=2100)
    insurer_code: str = Field(max_length=32)
    premium_ex_tax_fen: StrictInt = Field(gt=0, le=10**13)
    received_on: IsoDate


FORBIDDEN_COORDINATOR = {403: _err("forbidden: only the coordinator confirms the budget")}


FORBIDDEN_MEMBER = {403: _err("forbidden: only the pool's members comment (a surveyor for its insurer, the "
                              "lead's adjusters)")}


_BUDGET_409 = {409: _err("budget_below_spent: an amount below what the year has already spent in its category")}


_SPENDING_409 = {409: _err("no_budget, over_budget, fund_insufficient: no confirmed budget for the year of the "
                           "spending; the spending would take its category over the year's confirmed budget; it "
                           "would take the fund below zero")}


def _lead_books(caller, request: Request) -> None:
    if caller.user.role not in fund_service.FUND_BOOKERS:
        refuse(caller, "role", request.url.path)
        raise ApiError(403, ERR.forbidden, fund_service.LEAD_BOOKS)


@router.post("/fund/premiums", status_code=201,
             responses=_refusals(AUTH, JSON_BODY, FORBIDDEN_LEAD, {
                 404: _err("not_found: no such insurer"),
                 422: _err("invalid_amount: a premium whose contribution rounds to 0 fen")}))
def set_premium(body: PremiumIn, caller: CallerDep, db: DbDep, request: Request) -> dict:
    """The lead books an insurer's premium (excluding tax) and with it its 2% contribution."""
    _lead_books(caller, request)
    return _run(db, fund_service.set_premium, _rules(request), body.policy_year, body.insurer_code,
                body.premium_ex_tax_fen, body.received_on, caller.user)


@router.post("/fund/entries", status_code=201,
             responses=_refusals(AUTH, JSON_BODY, {
                 403: _err("forbidden: only the lead's adjusters and surveyors (the coordinator supervises "
                           "and books nothing); a surveyor logs survey costs with a receipt only"),
                 404: _err("not_found: no such assignment (or not the surveyor's insurer's)"),
                 409: _err("assignment_not_accepted: a survey cost on a survey its insurer has not accepted"),
                 422: _err("invalid_insurer, invalid_fund_entry, receipt_not_uploaded, amount_over_cap: an "
                           "unknown insurer_code; an entry the fund's rules refuse; a receipt that is not on "
                           "the server or not the caller's to name; an amount over the fund's caps")},
                 _SPENDING_409))
def add_fund_entry(body: FundEntryIn, caller: CallerDep, db: DbDep, request: Request) -> dict:
    """Spending, by the lead's adjusters, within the year's confirmed budget. A surveyor may log
    only its own survey costs (vehicle, meals) with a receipt, held to the same budget."""
    return _run(db, fund_service.log_spending, caller.user, on=body.on, amount_fen=body.amount_fen,
                category=body.category, note=body.note, receipt_sha256=body.receipt_sha256,
                insurer_code=body.insurer_code, assignment_id=body.assignment_id, claim_id=body.claim_id,
                device_id=caller.device.id, settings=_rules(request))


@router.get("/fund/entries", responses=_refusals(AUTH, FORBIDDEN_READ))
def list_fund_entries(caller: CallerDep, db: DbDep, request: Request) -> dict:
    _require(caller, (*OFFICE, "surveyor"), request)
    with db.read() as session:
        return {"entries": fund_service.fund_entry_list(session, caller.user)}


@router.post("/fund/entries/{entry_id}/corrections", response_model=CorrectionOut, status_code=201,
             responses=_refusals(AUTH, JSON_BODY, FORBIDDEN_LEAD, {
                 404: _err("not_found: no such fund entry"),
                 409: _err("already_corrected, is_reversal, use_premium: the entry has a reversal already; it is "
                           "a reversal; it is a contribution (enter the premium again)"),
                 422: _err("reason_required, invalid_amount, amount_over_cap: an empty reason; a corrected "
                           "amount that is not whole fen; one over the fund's caps")}, _SPENDING_409))
def correct_fund_entry(entry_id: str, body: CorrectionIn, caller: CallerDep, db: DbDep, request: Request) -> dict:
    """Correct a booked entry by counter-entries dated today (the published quarters keep their
    figures): its reversal and, for ``amount_fen`` > 0, a replacement with the corrected amount,
    held to today's year's confirmed budget when it spends more than the entry did."""
    _lead_books(caller, request)
    today = to_china_time(_now(request)).date()  # the fund's dates are Dazu's calendar days
    return _run(db, fund_service.correct_fund_entry, caller.user, entry_id, body.reason, body.amount_fen or 0, today,
                _rules(request))


@router.get("/fund/disclosure",
            responses=_refusals(AUTH, E422, FORBIDDEN_READ,
                                {409: _err("fund_error: the shares do not add up to 100%")}))
def fund_disclosure(caller: CallerDep, db: DbDep, request: Request,
                    year: Annotated[int, Query(ge=2000, le=2100)],
                    quarter: Annotated[int, Query(ge=1, le=4)]) -> dict:
    """The quarterly publication every co-insurer has the right to see (知情权), with the year's
    confirmed budget per category (budget, spent to the quarter's end, remaining) and the
    co-insurers' comments on the quarter."""
    _require(caller, (*OFFICE, "surveyor"), request)
    return _run(db, fund_service.fund_disclosure, year, quarter)


@router.get("/fund/settlement",
            responses=_refusals(AUTH, E422, FORBIDDEN_READ, {
                409: _err("fund_error: the shares do not add up to 100%, or the previous year is not "
                          "settled")}))
def fund_settlement(caller: CallerDep, db: DbDep, request: Request,
                    year: Annotated[int, Query(ge=2000, le=2100)]) -> dict:
    """Year-end 多退少补: positive = refund to the insurer, negative = it tops up."""
    _require(caller, (*OFFICE, "surveyor"), request)

    def run(session):
        try:
            return {"year": year, "settlement": fundlib.year_end_settlement(
                fund_service.fund_entries(session), insurers_service.shares(session), year)}
        except fundlib.FundError as exc:
            raise core_rules.RuleError(409, ERR.fund_error, str(exc)) from None
    return _run(db, run)


# The agreed budget (三、在区金融发展事务中心及各共保体共同商议确认的范围内列支).
BudgetAmount = Annotated[StrictInt, Field(ge=0, le=10**13)]


Year = Annotated[int, Query(ge=2000, le=2100, description="the policy year (the calendar year of the spending)")]


class BudgetIn(StorableText):
    amounts: dict[Literal[entities.SPENDING_CATEGORIES], BudgetAmount] = Field(  # type: ignore[valid-type]
        description="whole fen per spending category; a category left out gets 0 (nothing may be spent on it)",
        examples=[{"publicity": 1_000_000, "survey": 600_000, "communication": 200_000, "project_work": 500_000}])
    note: str = Field(default="", max_length=2000, description="what was agreed, e.g. the meeting it was agreed at")

    @model_validator(mode="before")
    @classmethod
    def _integral_amounts(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("amounts"), dict):
            data = {**data, "amounts": {k: _integral(v) for k, v in data["amounts"].items()}}
        return data


class BudgetConfirmIn(WholeNumbers):
    version: StrictInt = Field(ge=1, le=10**6, description="the version read: refused if the lead changed it since")


class BudgetVersionOut(BaseModel):
    version: int
    amounts: dict[str, int] = Field(description="whole fen per spending category")
    note: str
    proposed_by: str
    proposed_by_name: str | None
    proposed_at: str
    confirmed_by: str | None
    confirmed_by_name: str | None
    confirmed_at: str | None


class BudgetLineOut(BaseModel):
    budget_fen: int | None = Field(description="the confirmed amount; null: no confirmed budget")
    spent_fen: int = Field(description="the year's spending in the category, corrections included")
    remaining_fen: int | None


class BudgetOut(BaseModel):
    year: int
    confirmed: BudgetVersionOut | None = Field(description="the version in force: the latest confirmed one")
    proposed: BudgetVersionOut | None = Field(description="a change the coordinator has not confirmed yet")
    by_category: dict[str, BudgetLineOut]


class CommentIn(StorableText):
    text: str = Field(min_length=1, max_length=4000)


class CommentOut(BaseModel):
    id: str
    year: int
    quarter: int
    insurer_code: str = Field(description="the insurer the author speaks for")
    author_id: str
    author_name: str
    text: str
    created_at: str


class CommentsOut(BaseModel):
    comments: list[CommentOut] = Field(description="oldest first")


@router.get("/fund/budget", response_model=BudgetOut, responses=_refusals(AUTH, E422, FORBIDDEN_READ))
def get_fund_budget(caller: CallerDep, db: DbDep, request: Request, year: Year) -> dict:
    """The year's budget: the confirmed version in force, a change waiting for confirmation, and
    per category the confirmed amount, spent and remaining (every co-insurer may read it)."""
    _require(caller, (*OFFICE, "surveyor"), request)
    return _run(db, fund_service.fund_budget, year)


@router.put("/fund/budget", response_model=BudgetOut,
            responses=_refusals(AUTH, E422, JSON_BODY, FORBIDDEN_LEAD, _BUDGET_409,
                                {422: _err("invalid_budget: an amount the budget's rules refuse")}))
def put_fund_budget(body: BudgetIn, caller: CallerDep, db: DbDep, request: Request, year: Year) -> dict:
    """The lead proposes the year's budget, or a change to it: a new version that is in force only
    once the coordinator confirms it (the confirmed one stays in force meanwhile)."""
    _lead_books(caller, request)
    return _run(db, fund_service.propose_budget, caller.user, year, dict(body.amounts), body.note, _now(request))


@router.post("/fund/budget/{year}/confirm", response_model=BudgetOut,
             responses=_refusals(AUTH, E422, JSON_BODY, FORBIDDEN_COORDINATOR, _BUDGET_409, {
                 404: _err("not_found: no budget was proposed for the year"),
                 409: _err("budget_changed: the lead proposed another version since the one given")}))
def confirm_fund_budget(year: Annotated[int, FastApiPath(ge=2000, le=2100)], body: BudgetConfirmIn,
                        caller: CallerDep, db: DbDep, request: Request) -> dict:
    """The coordinator confirms the version it read (共同商议确认): who and when are recorded."""
    _require(caller, ("coordinator",), request)
    return _run(db, fund_service.confirm_budget, caller.user, year, body.version, _now(request))


_QUARTER = Annotated[int, Query(ge=1, le=4)]


@router.get("/fund/disclosure/comments", response_model=CommentsOut, responses=_refusals(AUTH, E422, FORBIDDEN_READ))
def get_fund_comments(caller: CallerDep, db: DbDep, request: Request, year: Year, quarter: _QUARTER) -> dict:
    """The co-insurers' comments on the quarter's disclosure (also in GET /fund/disclosure)."""
    _require(caller, (*OFFICE, "surveyor"), request)
    return {"comments": _run(db, fund_service.fund_comments, year, quarter)}


@router.post("/fund/disclosure/comments", response_model=CommentOut, status_code=201,
             responses=_refusals(AUTH, E422, JSON_BODY, FORBIDDEN_MEMBER, {
                 409: _err("quarter_not_started, no_lead_insurer: the quarter has not begun; an adjuster's "
                           "comment needs the lead insurer set"),
                 422: _err("text_required: an empty comment")}))
def post_fund_comment(body: CommentIn, caller: CallerDep, db: DbDep, request: Request, year: Year,
                      quarter: _QUARTER) -> dict:
    """A comment on how the fund is used (建议权), recorded with the insurer the author speaks for
    (a surveyor its own, an adjuster the lead), the author and the time; never edited."""
    _require(caller, ("surveyor", "adjuster"), request)
    return _run(db, fund_service.add_fund_comment, caller.user, year, quarter, body.text, _now(request))


_NO_LEAD = "no_lead_insurer: no lead insurer is set"


@router.get("/fund/recoveries", response_model=RecoveriesOut,
            responses={**AUTH, **FORBIDDEN_READ,
                       409: _err(f"fund_error, {_NO_LEAD}; the shares do not add up to 100%")})
def fund_recoveries(caller: CallerDep, db: DbDep, request: Request) -> dict:
    """What each co-insurer owes for the claims the lead paid on behalf of all (代付赔款摊回), what
    was demanded and received, and what is outstanding. A surveyor sees its own insurer's figures
    and entries only."""
    _require(caller, (*OFFICE, "surveyor"), request)
    scope = (caller.user.insurer_code or "") if caller.user.role == "surveyor" else None
    return _run(db, recovery_service.recoveries, scope)


_CO_INSURER_404 = {404: _err("not_found: no such co-insurer (an unknown insurer, or the lead itself)")}


@router.post("/fund/recoveries/{insurer_code}/demands", response_model=RecoveryEntryOut, status_code=201,
             responses=_refusals(AUTH, JSON_BODY, FORBIDDEN_OFFICE, _CO_INSURER_404, {409: _err(_NO_LEAD)}))
def demand_recovery(insurer_code: str, body: RecoveryIn, caller: CallerDep, db: DbDep,
                    request: Request) -> dict:
    """The lead's office asked the co-insurer for ``amount_fen`` of what it owes."""
    _require(caller, OFFICE, request)
    return _run(db, recovery_service.record_recovery, caller.user, insurer_code, fundlib.DEMANDED,
                amount_fen=body.amount_fen, on=body.on, note=body.note)


@router.post("/fund/recoveries/{insurer_code}/receipts", response_model=RecoveryEntryOut, status_code=201,
             responses=_refusals(AUTH, JSON_BODY, FORBIDDEN_OFFICE, _CO_INSURER_404, {
                 409: _err(f"over_received, {_NO_LEAD}; more would be received than was demanded from this "
                           "insurer")}))
def receive_recovery(insurer_code: str, body: RecoveryIn, caller: CallerDep, db: DbDep,
                     request: Request) -> dict:
    """The co-insurer paid ``amount_fen`` back (never more, in all, than was demanded of it)."""
    _require(caller, OFFICE, request)
    return _run(db, recovery_service.record_recovery, caller.user, insurer_code, fundlib.RECEIVED,
                amount_fen=body.amount_fen, on=body.on, note=body.note)


@router.post("/fund/recoveries/entries/{entry_id}/corrections", response_model=RecoveryEntryOut,
             status_code=201,
             responses=_refusals(AUTH, JSON_BODY, FORBIDDEN_OFFICE, {
                 404: _err("not_found: no such recovery entry"),
                 409: _err("already_corrected, is_correction, over_received: the entry was taken back "
                           "already; it is a correction itself; taking this demand back would leave more "
                           "received than demanded"),
                 422: _err("reason_required: an empty reason")}))
def correct_recovery(entry_id: str, body: RecoveryCorrectionIn, caller: CallerDep, db: DbDep,
                     request: Request) -> dict:
    """Take a demand or receipt back in full: a correction with the negative amount, dated today,
    naming the entry and the reason (the entry itself is never changed)."""
    _require(caller, OFFICE, request)
    today = to_china_time(_now(request)).date()  # the entries' dates are Dazu's calendar days
    return _run(db, recovery_service.correct_recovery, caller.user, entry_id, body.reason, today)


def push_cost(session, user, device, m, rules):  # noqa: ANN001
    """A survey cost logged on a surveyor's phone (offline): the same rules as POST /fund/entries.
    The phone's UUID is the entry's id, so a replayed push never books a cost twice; a booked
    cost is never changed (spending is published quarterly)."""
    from .models import FundEntryRow

    if m.op != "upsert":
        raise Rejected(ERR.append_only, "a logged cost is never changed or deleted")
    f = dict(m.fields or {})
    if session.get(FundEntryRow, m.id) is not None:
        return "applied", 1
    unknown = sorted(set(f) - {"on", "amount_fen", "category", "note", "receipt_sha256",
                               "assignment_id", "claim_id"})
    if unknown:
        raise Rejected(ERR.unknown_field, f"unknown cost fields: {', '.join(unknown)}")
    try:
        on = dt.date.fromisoformat(str(f.get("on")))
    except ValueError:
        raise Rejected(ERR.invalid_date, "on must be an ISO date (YYYY-MM-DD)") from None
    amount = f.get("amount_fen")
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise Rejected(ERR.bad_money, "amount_fen must be integer fen")
    try:
        fund_service.log_spending(session, user, on=on, amount_fen=amount, category=f.get("category") or "survey",
                        note=str(f.get("note") or "")[:2000], receipt_sha256=f.get("receipt_sha256"),
                        assignment_id=f.get("assignment_id"), claim_id=f.get("claim_id"), entry_id=m.id,
                        device_id=device.id, settings=rules.settings)
    except core_rules.RuleError as exc:
        raise Rejected(exc.code, exc.message) from None
    return "applied", 1


