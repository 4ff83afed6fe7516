"""HTTP routes of the reports (docs/coinsurance.md): the quarterly review and the annual report as
JSON, XLSX or PDF, the annual report's narrative (written, submitted, reviewed) and the quarterly
review's minutes."""
from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field, StrictInt

from claimcore import entities

from ..core.auth import CallerDep, DbDep, _require
from ..core.error_codes import ERR
from ..core.errors import ApiError
from ..core.rules import _now, _rules, _run
from ..core.schemas import (
    _XLSX,
    AUTH,
    E422,
    FORBIDDEN_OFFICE,
    JSON_BODY,
    NO_BODY,
    IsoDate,
    StorableText,
    WholeNumbers,
    _err,
    _refusals,
)
from . import records, service
from .render_pdf import to_pdf
from .render_xlsx import to_xlsx

router = APIRouter(prefix="/api/v1", tags=["co-insurance"])

OFFICE = entities.OFFICE_ROLES

FORBIDDEN_LEAD = {403: _err("forbidden: only the lead insurer's adjusters write and submit the annual report")}



@router.get("/reports/{kind}",
            responses={**_refusals(AUTH, FORBIDDEN_OFFICE, {
                422: _err("invalid_request: a parameter does not have the documented shape (see detail), "
                          "or a quarterly report without quarter")}),
                200: {"description": "the report: JSON, or the XLSX or PDF file (format=)",
                      "content": {"application/json": {"schema": {"type": "object"}},
                                  _XLSX: {"schema": {"type": "string", "format": "binary"}},
                                  "application/pdf": {"schema": {"type": "string", "format": "binary"}}}}})
def report(kind: Literal["quarterly", "annual"], caller: CallerDep, db: DbDep, request: Request,
           year: Annotated[int, Query(ge=2000, le=2100)],
           quarter: Annotated[int | None, Query(ge=1, le=4)] = None,
           format: Literal["json", "xlsx", "pdf"] = "json") -> Any:
    """The quarterly review (needs ``quarter``) or the annual report, as JSON, XLSX or PDF."""
    _require(caller, OFFICE, request)
    if kind == "quarterly" and quarter is None:
        raise ApiError(422, ERR.invalid_request, "a quarterly report needs quarter=1..4")
    with db.read() as session:
        data = service.build_report(session, kind, year, quarter if kind == "quarterly" else None,
                            _rules(request), _now(request))
    name = f"dazu-{kind}-{year}" + (f"-q{quarter}" if kind == "quarterly" else "")
    if format == "xlsx":
        return Response(to_xlsx(data),
                        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'})
    if format == "pdf":
        return Response(to_pdf(data), media_type="application/pdf",
                        headers={"Content-Disposition": f'attachment; filename="{name}.pdf"'})
    return data


class PersonOut(BaseModel):
    id: str
    name: str


class NarrativeSectionOut(BaseModel):
    key: Literal[records.SECTION_KEYS]  # type: ignore[valid-type]
    title: str
    text: str


class SubmissionOut(BaseModel):
    id: str
    revision: int
    submitted_by: PersonOut | None
    submitted_at: str
    withdrawn_by: PersonOut | None
    withdrawn_at: str | None
    reviewed_by: PersonOut | None
    reviewed_at: str | None
    outcome: Literal[records.REVIEW_OUTCOMES] | None  # type: ignore[valid-type]
    review_comment: str


class NarrativeOut(BaseModel):
    year: int
    state: Literal[records.STATES]  # type: ignore[valid-type]
    state_name: str
    frozen: bool = Field(description="submitted or accepted: no change until withdrawn or returned")
    revision: int = Field(description="saves of the draft so far; a save or submission names it")
    sections: list[NarrativeSectionOut]
    updated_by: PersonOut | None
    updated_at: str | None
    submission: SubmissionOut | None = Field(description="the latest submission")
    submissions: list[SubmissionOut]


_SECTION_TEXT = Field(default=None, max_length=records.SECTION_MAX_CHARS)


class NarrativeIn(WholeNumbers):
    revision: StrictInt = Field(ge=0, description="the revision this edit starts from (0: none saved yet)")
    case_analysis: str | None = _SECTION_TEXT
    publicity: str | None = _SECTION_TEXT
    shortcomings: str | None = _SECTION_TEXT
    next_steps: str | None = _SECTION_TEXT


class SubmitIn(WholeNumbers):
    revision: StrictInt = Field(ge=0, description="the revision submitted, as the lead last saw it")


class ReviewIn(StorableText):
    outcome: Literal[records.REVIEW_OUTCOMES]  # type: ignore[valid-type]
    comment: str = Field(default="", max_length=5000, description="required when returning the report")


class MinutesIn(WholeNumbers):
    revision: StrictInt = Field(ge=0, description="the revision this edit starts from (0: none saved yet)")
    held_on: IsoDate | None = None
    attendees: str = Field(default="", max_length=2000)
    minutes: str = Field(default="", max_length=records.MINUTES_MAX_CHARS)
    measures: list[Annotated[str, Field(max_length=records.MEASURE_MAX_CHARS)]] = Field(
        default_factory=list, max_length=records.MAX_MEASURES, description="the measures agreed, one each")


class MinutesOut(BaseModel):
    year: int
    quarter: int
    held_on: str | None
    attendees: str
    minutes: str
    measures: list[str]
    revision: int
    updated_by: PersonOut | None
    updated_at: str | None


ReportYear = Annotated[int, Path(ge=2000, le=2100)]


FORBIDDEN_CENTER = {403: _err("forbidden: only the coordinator (the Center) reviews the annual report")}


_STALE = "stale_revision: saved meanwhile by someone else (reload and edit again)"


_FROZEN = "report_frozen: submitted (withdraw it first) or accepted by the Center (final)"


_NOT_SUBMITTED = "not_submitted: the report is not with the Center"


@router.get("/reports/annual/{year}/narrative", response_model=NarrativeOut,
            responses=_refusals(AUTH, E422, FORBIDDEN_OFFICE))
def get_narrative(year: ReportYear, caller: CallerDep, db: DbDep, request: Request) -> dict:
    """The annual report's written parts (案件分析, 宣传效果, 存在的不足, 下一步工作打算), its state and its
    submissions to the Center with their reviews."""
    _require(caller, OFFICE, request)
    with db.read() as session:
        return records.narrative(session, year)


@router.put("/reports/annual/{year}/narrative", response_model=NarrativeOut,
            responses=_refusals(AUTH, JSON_BODY, FORBIDDEN_LEAD, {409: _err(_FROZEN)}, {409: _err(_STALE)}))
def put_narrative(year: ReportYear, body: NarrativeIn, caller: CallerDep, db: DbDep, request: Request) -> dict:
    """Save the draft: the parts given replace theirs, the others stay. Refused while submitted or
    once accepted."""
    _require(caller, ("adjuster",), request)
    given = body.model_dump(exclude={"revision"}, exclude_none=True)
    return _run(db, records.save_narrative, caller.user, year, given, body.revision, _now(request))


@router.post("/reports/annual/{year}/submit", response_model=NarrativeOut,
             responses=_refusals(AUTH, JSON_BODY, FORBIDDEN_LEAD, {409: _err(
                 "year_not_over, report_incomplete: before January of the year after; a part is empty")},
                                 {409: _err(_FROZEN)}, {409: _err(_STALE)}))
def submit_narrative(year: ReportYear, body: SubmitIn, caller: CallerDep, db: DbDep, request: Request) -> dict:
    """Submit the report to the Center (提交区金融发展事务审查): recorded with who and when, the text
    as submitted; from then on it is frozen."""
    _require(caller, ("adjuster",), request)
    return _run(db, records.submit, caller.user, year, body.revision, _now(request))


@router.post("/reports/annual/{year}/withdraw", response_model=NarrativeOut,
             responses=_refusals(AUTH, E422, NO_BODY, FORBIDDEN_LEAD, {409: _err(_NOT_SUBMITTED)}))
def withdraw_narrative(year: ReportYear, caller: CallerDep, db: DbDep, request: Request) -> dict:
    """Take the submission back before the Center reviewed it (recorded): the draft can be changed."""
    _require(caller, ("adjuster",), request)
    return _run(db, records.withdraw, caller.user, year, _now(request))


@router.post("/reports/annual/{year}/review", response_model=NarrativeOut,
             responses=_refusals(AUTH, JSON_BODY, FORBIDDEN_CENTER, {409: _err(_NOT_SUBMITTED)},
                                 {422: _err("reason_required: a returned report without a comment")}))
def review_narrative(year: ReportYear, body: ReviewIn, caller: CallerDep, db: DbDep, request: Request) -> dict:
    """The Center's review of the submitted report: ``accepted`` (final) or ``returned`` with a
    comment (the lead edits and submits again)."""
    _require(caller, ("coordinator",), request)
    return _run(db, records.review, caller.user, year, body.outcome, body.comment, _now(request))


@router.get("/reports/quarterly/{year}/{quarter}/minutes", response_model=MinutesOut,
            responses=_refusals(AUTH, E422, FORBIDDEN_OFFICE))
def get_minutes(year: ReportYear, quarter: Annotated[int, Path(ge=1, le=4)], caller: CallerDep, db: DbDep,
                request: Request) -> dict:
    """The quarterly review meeting on that quarter: date, attendees, minutes, the measures agreed."""
    _require(caller, OFFICE, request)
    with db.read() as session:
        return records.minutes(session, year, quarter)


@router.put("/reports/quarterly/{year}/{quarter}/minutes", response_model=MinutesOut,
            responses=_refusals(AUTH, JSON_BODY, FORBIDDEN_OFFICE, {409: _err(_STALE)}))
def put_minutes(year: ReportYear, quarter: Annotated[int, Path(ge=1, le=4)], body: MinutesIn,
                caller: CallerDep, db: DbDep, request: Request) -> dict:
    """Save the meeting's record (the whole of it); printed in that quarter's report."""
    _require(caller, OFFICE, request)
    return _run(db, records.save_minutes, caller.user, year, quarter, held_on=body.held_on,
                attendees=body.attendees, text=body.minutes, measures=body.measures, revision=body.revision,
                now=_now(request))


