"""HTTP routes of events (docs/coinsurance.md): declaring an event, its claims, dispatching its
surveys, and its civil-affairs step (the townships' reports, the bureau's figures, the export)."""
from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field, StrictInt
from sqlalchemy import select

from claimcore import entities

from ..core import rules as core_rules
from ..core.auth import CallerDep, DbDep, _require, refuse
from ..core.error_codes import ERR
from ..core.errors import ApiError
from ..core.rules import _now, _rules, _run
from ..core.schemas import (
    _XLSX,
    AUTH,
    E422,
    FORBIDDEN_OFFICE,
    FORBIDDEN_READ,
    JSON_BODY,
    NO_BODY,
    IsoDateTime,
    StorableText,
    WholeNumbers,
    _err,
    _refusals,
)
from ..rotation.routes import AssignmentsOut
from . import civil_affairs as events_civil_affairs
from . import models as events_models
from . import service
from .models import CoinsuranceEvent

router = APIRouter(prefix="/api/v1", tags=["co-insurance"])

OFFICE = entities.OFFICE_ROLES



class EventIn(StorableText):
    name: str = Field(min_length=1, max_length=200, examples=["7·12 龙水镇暴雨"])
    coverage: str = Field(max_length=40, examples=["natural_disaster"], description="a catalogue coverage code")
    township_codes: list[str] = Field(min_length=1, max_length=40, examples=[["500111100"]],
                                      description="catalogue township codes")
    started_at: IsoDateTime = Field(examples=["2026-07-12T00:00:00+08:00"], description="with its UTC offset")


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


# The civil-affairs step of a natural disaster (sync_server.civil_affairs).
_FIGURE = dict(ge=0, le=1_000_000)


class DisasterFiguresIn(WholeNumbers):
    """A township's or the bureau's counts (collapsed households are among the damaged ones)."""

    deaths: StrictInt = Field(description="死亡人数", **_FIGURE)
    missing: StrictInt = Field(description="失踪人数", **_FIGURE)
    injured: StrictInt = Field(description="受伤人数", **_FIGURE)
    damaged_households: StrictInt = Field(description="受损房屋户数 (collapsed included)", **_FIGURE)
    collapsed_households: StrictInt = Field(description="其中倒塌户数: not more than damaged_households", **_FIGURE)
    note: str = Field(default="", max_length=2000)


class TownshipReportIn(DisasterFiguresIn):
    township_code: str = Field(max_length=12, examples=["500111100"], description="a catalogue township code")
    reported_at: IsoDateTime = Field(examples=["2026-07-12T18:00:00+08:00"],
                                     description="when the township reported to the bureau; with its UTC offset")


class BureauFiguresIn(DisasterFiguresIn):
    received_at: IsoDateTime = Field(examples=["2026-07-13T09:30:00+08:00"],
                                     description="when the bureau's district-wide figures reached the lead "
                                                 "insurer; with its UTC offset")


class _FiguresOut(BaseModel):
    id: str
    deaths: int
    missing: int
    injured: int
    damaged_households: int
    collapsed_households: int
    note: str
    recorded_by: str
    recorded_by_name: str | None
    recorded_by_role: str | None
    recorded_at: str


class TownshipReportOut(_FiguresOut):
    township_code: str
    township_name: str | None
    reported_at: str


class BureauFiguresOut(_FiguresOut):
    received_at: str


class CivilAffairsTownshipOut(BaseModel):
    code: str
    name: str
    declared: bool = Field(description="one of the townships the event was declared for")
    claims: int
    reported: bool = Field(description="the township has reported to the bureau")
    reports: int
    latest: TownshipReportOut | None


class CivilAffairsCountsOut(BaseModel):
    claims: int
    deaths: int
    injured: int
    damaged_households: int


class CivilAffairsVillageOut(CivilAffairsCountsOut):
    code: str | None = Field(description="None: the claims that name no village")
    name: str | None


class CivilAffairsTownStatsOut(CivilAffairsCountsOut):
    code: str
    name: str
    villages: list[CivilAffairsVillageOut]


class CivilAffairsStatsOut(BaseModel):
    by_township: list[CivilAffairsTownStatsOut]
    total: CivilAffairsCountsOut
    left_out: dict[str, int] = Field(description="claims not counted, by status (withdrawn, declined)")


class CivilAffairsComparisonOut(BaseModel):
    figure: str
    name: str
    claims: int | None = Field(description="from the event's claims (None: the claims cannot tell)")
    townships: int | None = Field(description="the townships' latest reports added up")
    bureau: int | None = Field(description="the bureau's latest figures (None: not received)")
    difference: int | None = Field(description="claims − bureau")


class CivilAffairsBureauOut(BaseModel):
    received: bool
    latest: BureauFiguresOut | None
    history: list[BureauFiguresOut] = Field(description="newest first")


class CivilAffairsEventOut(BaseModel):
    id: str
    name: str
    coverage: str
    township_codes: list[str]
    started_at: str


class CivilAffairsOut(BaseModel):
    event: CivilAffairsEventOut
    generated_at: str
    townships: list[CivilAffairsTownshipOut]
    townships_reported: int
    township_reports: list[TownshipReportOut] = Field(description="newest first")
    bureau: CivilAffairsBureauOut
    statistics: CivilAffairsStatsOut
    comparison: list[CivilAffairsComparisonOut]


@router.post("/events", response_model=EventOut, status_code=201,
             responses=_refusals(AUTH, JSON_BODY, FORBIDDEN_OFFICE, {
                 422: _err("unknown_coverage, unknown_township, invalid_datetime: a coverage or township "
                           "code not in the catalogue; started_at without a UTC offset")}))
def declare_event(body: EventIn, caller: CallerDep, db: DbDep, request: Request) -> dict:
    _require(caller, OFFICE, request)
    from ..core import domain

    try:
        domain.check_coverage(body.coverage)
        for t in body.township_codes:
            domain.check_township(t)
    except domain.DomainError as exc:
        raise ApiError(422, exc.code, exc.message) from None
    if body.started_at.tzinfo is None:
        raise ApiError(422, ERR.invalid_datetime, "started_at needs a UTC offset")
    return _run(db, service.declare_event, caller.user, body.name, body.coverage, body.township_codes,
                body.started_at)


@router.get("/events", response_model=list[EventOut], responses=_refusals(AUTH, FORBIDDEN_READ))
def list_events(caller: CallerDep, db: DbDep, request: Request) -> list:
    _require(caller, (*OFFICE, "surveyor"), request)
    with db.read() as session:
        evs = session.execute(select(CoinsuranceEvent).order_by(CoinsuranceEvent.started_at)).scalars()
        return [service.event_dict(session, e) for e in evs]


@router.get("/events/{event_id}", response_model=EventDetailOut,
            responses={**AUTH, **E422, **FORBIDDEN_READ, 404: _err("not_found: no such event")})
def get_event(event_id: str, caller: CallerDep, db: DbDep, request: Request) -> dict:
    """The event with its claims (ids, and counts by township and by status)."""
    _require(caller, (*OFFICE, "surveyor"), request)
    return _run(db, service.event_detail, event_id)


_EVENT_CLAIM_404 = {404: _err("not_found: no such event or claim (removing: the claim is not in the event)")}


@router.post("/events/{event_id}/claims/{claim_id}", response_model=EventDetailOut,
             responses=_refusals(AUTH, E422, NO_BODY, FORBIDDEN_OFFICE, _EVENT_CLAIM_404))
def add_event_claim(event_id: str, claim_id: str, caller: CallerDep, db: DbDep, request: Request) -> dict:
    """Add a claim to the event by hand (any coverage or township; out of another event if it was
    in one). Answers the event's detail."""
    _require(caller, OFFICE, request)
    return _run(db, service.add_event_claim, event_id, claim_id, caller.user)


@router.delete("/events/{event_id}/claims/{claim_id}", response_model=EventDetailOut,
               responses=_refusals(AUTH, E422, NO_BODY, FORBIDDEN_OFFICE, _EVENT_CLAIM_404))
def remove_event_claim(event_id: str, claim_id: str, caller: CallerDep, db: DbDep, request: Request) -> dict:
    """Take a claim out of the event by hand: grouping never puts it back into this event."""
    _require(caller, OFFICE, request)
    return _run(db, service.remove_event_claim, event_id, claim_id, caller.user)


@router.post("/events/{event_id}/dispatch", response_model=AssignmentsOut,
             responses=_refusals(AUTH, E422, NO_BODY, FORBIDDEN_OFFICE, {404: _err("not_found: no such event")}))
def dispatch_event(event_id: str, caller: CallerDep, db: DbDep, request: Request) -> dict:
    """Every available co-insurer gets a block of the event's claims; no ordinary turn is used."""
    _require(caller, OFFICE, request)
    return {"assignments": _run(db, service.dispatch_event, _rules(request), event_id, caller.user, _now(request))}


# The civil-affairs step: only natural disasters have it (any other event: 409).
_NOT_NATURAL_409 = {409: _err("not_natural_disaster: the event is not a natural disaster (only those are "
                              "reported through the civil affairs bureau)")}


_FIGURES_422 = {422: _err("invalid_datetime, in_the_future, before_event, collapsed_exceeds_damaged: a time "
                          "without a UTC offset, later than now or before the event started; more collapsed "
                          "than damaged households")}


@router.get("/events/{event_id}/civil-affairs", response_model=CivilAffairsOut,
            responses={**_refusals(AUTH, E422, FORBIDDEN_OFFICE, _NOT_NATURAL_409,
                                   {404: _err("not_found: no such event")}),
                       200: {"description": "the step as JSON, or the export for the civil "
                                            "affairs bureau as an XLSX or PDF file (format=)",
                             "content": {_XLSX: {"schema": {"type": "string", "format": "binary"}},
                                         "application/pdf": {"schema": {"type": "string", "format": "binary"}}}}})
def civil_affairs(event_id: str, caller: CallerDep, db: DbDep, request: Request,
                  format: Literal["json", "xlsx", "pdf"] = "json") -> Any:
    """A natural disaster's civil-affairs step: which townships reported to the bureau and when,
    the bureau's figures and when they reached the lead insurer, and the statistics of the event's
    claims by township and village next to them (two sources, never merged)."""
    _require(caller, OFFICE, request)
    try:
        with db.read() as session:
            data = events_civil_affairs.step(session, event_id, _now(request))
    except core_rules.RuleError as exc:
        raise ApiError(exc.status, exc.code, exc.message) from None
    name = f"dazu-civil-affairs-{event_id[:8]}"
    if format == "xlsx":
        return Response(events_civil_affairs.to_xlsx(data), media_type=_XLSX,
                        headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'})
    if format == "pdf":
        return Response(events_civil_affairs.to_pdf(data), media_type="application/pdf",
                        headers={"Content-Disposition": f'attachment; filename="{name}.pdf"'})
    return data


@router.post("/events/{event_id}/civil-affairs/township-reports", response_model=TownshipReportOut,
             status_code=201,
             responses=_refusals(AUTH, JSON_BODY, _NOT_NATURAL_409, _FIGURES_422, {
                 403: _err("forbidden, not_own_township: only adjusters, the coordinator and liaisons; a liaison "
                           "for its own township only"),
                 404: _err("not_found: no such event"),
                 422: _err("unknown_township: a township code not in the catalogue")}))
def record_township_report(event_id: str, body: TownshipReportIn, caller: CallerDep, db: DbDep,
                           request: Request) -> dict:
    """A township reported the disaster to the civil affairs bureau (its liaison records it, or the
    office on its behalf). Every report is kept; the latest of a township stands."""
    _require(caller, (*OFFICE, "liaison"), request)
    if not events_civil_affairs.may_file_for(caller.user, body.township_code):
        refuse(caller, "scope", request.url.path)
        raise ApiError(403, ERR.not_own_township, "a liaison reports for its own township only")
    figures = body.model_dump(include=set(events_models.FIGURES))
    return _run(db, events_civil_affairs.record_township_report, caller.user, event_id, body.township_code,
                body.reported_at, figures, body.note, _now(request))


@router.post("/events/{event_id}/civil-affairs/bureau-figures", response_model=BureauFiguresOut, status_code=201,
             responses=_refusals(AUTH, JSON_BODY, FORBIDDEN_OFFICE, _NOT_NATURAL_409, _FIGURES_422,
                                 {404: _err("not_found: no such event")}))
def record_bureau_figures(event_id: str, body: BureauFiguresIn, caller: CallerDep, db: DbDep,
                          request: Request) -> dict:
    """The bureau's district-wide figures (全区受灾情况) reached the lead insurer: when, and the
    bureau's own counts. Kept beside the claims' statistics, never replacing them."""
    _require(caller, OFFICE, request)
    figures = body.model_dump(include=set(events_models.FIGURES))
    return _run(db, events_civil_affairs.record_bureau_figures, caller.user, event_id, body.received_at, figures,
                body.note, _now(request))


