"""HTTP routes of claim authority (docs/coinsurance.md): a claim's review, the co-insurers' opinions
and votes, the consultation meeting. ``push_opinion`` takes an opinion given on a phone the same
way."""
from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Request
from pydantic import Field, StrictBool

from claimcore import authority as ca
from claimcore import entities

from ..core import rules as core_rules
from ..core.auth import CallerDep, DbDep, _require
from ..core.error_codes import ERR
from ..core.errors import ApiError
from ..core.models import Claim
from ..core.rules import _now, _rules, _run
from ..core.schemas import (
    _CLAIM_404,
    _REVIEW_409,
    AUTH,
    E422,
    FORBIDDEN_OFFICE,
    JSON_BODY,
    IsoDateTime,
    StorableText,
    _err,
    _refusals,
)
from ..sync.mutations import Rejected
from . import service

router = APIRouter(prefix="/api/v1", tags=["co-insurance"])

OFFICE = entities.OFFICE_ROLES



class OpinionIn(StorableText):
    vote: Literal[entities.VOTES]  # type: ignore[valid-type]
    opinion: str = Field(default="", max_length=entities.OPINION.fields["opinion"].max_length)


class ConsultationIn(StorableText):
    held_at: IsoDateTime
    attendees: list[Annotated[str, Field(min_length=1, max_length=32)]] = Field(min_length=1, max_length=50)
    engage_assessor: StrictBool
    engage_lawyer: StrictBool
    minutes: str = Field(min_length=1, max_length=20_000)


def _authority_scope(session, caller, claim_id: str) -> None:
    if caller.user.role in OFFICE:
        return
    if caller.user.role == "surveyor":
        claim = session.get(Claim, claim_id)
        if claim is not None and claim.adjusted_amount_fen is not None and ca.tier_for_amount(
                claim.adjusted_amount_fen) is not ca.Tier.LEAD_ALONE:
            return  # every co-insurer is informed of (and may weigh in on) reviewed amounts
    raise core_rules.RuleError(404, ERR.not_found, "not found")


@router.get("/claims/{claim_id}/authority",
            responses=_refusals(AUTH, E422, _REVIEW_409, {
                404: _err("not_found: no such claim, or out of scope (identical answers)")}))
def get_authority(claim_id: str, caller: CallerDep, db: DbDep, request: Request) -> dict:
    """The claim's tier, what it needs before approval, the opinions, and the vote's arithmetic."""
    def run(session):
        _authority_scope(session, caller, claim_id)
        return service.authority_view(session, _rules(request), claim_id, _now(request))
    return _run(db, run)


@router.post("/claims/{claim_id}/opinions",
             responses=_refusals(AUTH, JSON_BODY, _REVIEW_409, {
                 403: _err("forbidden: only co-insurers' surveyors and the lead's adjusters give opinions, "
                           "for an insurer with a share"),
                 404: _err("not_found: no such claim, or out of scope (identical answers)"),
                 409: _err("no_review, consultation_required: no co-insurer review is open; the "
                           "consultation meeting is recorded before any vote")}))
def post_opinion(claim_id: str, body: OpinionIn, caller: CallerDep, db: DbDep, request: Request) -> dict:
    def run(session):
        _authority_scope(session, caller, claim_id)
        return service.add_opinion(session, _rules(request), claim_id, caller.user, body.vote, body.opinion,
                              _now(request))
    return _run(db, run)


@router.post("/claims/{claim_id}/consultations", status_code=201,
             responses=_refusals(AUTH, JSON_BODY, FORBIDDEN_OFFICE, _CLAIM_404, _REVIEW_409, {
                 409: _err("no_consultation_tier: the claim is not in the full-consultation tier"),
                 422: _err("invalid_insurer, attendees_required, invalid_datetime: an attendee that is "
                           "not an insurer of the pool; no attendee; held_at without offset or in the "
                           "future")}))
def post_consultation(claim_id: str, body: ConsultationIn, caller: CallerDep, db: DbDep,
                      request: Request) -> dict:
    """The consultation meeting on a claim of 300,000 yuan or more (annex 2: 首席承保人牵头召集各共保人
    召开赔案处理会商会议，会商讨论决定是否聘请公估公司、律师): recorded by the lead's office before any vote.
    Answers the claim's authority view."""
    _require(caller, OFFICE, request)
    if "\x00" in body.minutes:
        raise ApiError(422, ERR.invalid_request, "minutes contain a NUL character")
    return _run(db, service.record_consultation, _rules(request), claim_id, caller.user, held_at=body.held_at,
                attendees=body.attendees, engage_assessor=body.engage_assessor,
                engage_lawyer=body.engage_lawyer, minutes=body.minutes, now=_now(request))


def push_opinion(session, user, device, m, rules):  # noqa: ANN001
    """An opinion or vote given on a phone in a claim-authority review: the same rules as
    POST /claims/{id}/opinions. Opinions are a review's record: never changed or deleted."""
    from .models import Opinion

    if m.op != "upsert":
        raise Rejected(ERR.append_only, "an opinion is never changed or deleted")
    if session.get(Opinion, m.id) is not None:
        return "applied", 1
    try:
        service.add_opinion(session, rules.settings, m.fields["claim_id"], user, m.fields["vote"],
                       m.fields.get("opinion") or "", rules.now(), opinion_id=m.id)
    except core_rules.RuleError as exc:
        raise Rejected(exc.code, exc.message) from None
    return "applied", 1


