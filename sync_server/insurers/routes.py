"""HTTP routes of the pool's insurers (docs/coinsurance.md): the list, a leave begun and ended, a
name changed."""
from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from claimcore import entities

from ..core.auth import CallerDep, DbDep, _require
from ..core.error_codes import ERR
from ..core.errors import ApiError
from ..core.rules import _now, _run
from ..core.schemas import (
    AUTH,
    E422,
    FORBIDDEN_OFFICE,
    JSON_BODY,
    NO_BODY,
    IsoDateTime,
    StorableText,
    _err,
    _refusals,
)
from . import service

router = APIRouter(prefix="/api/v1", tags=["co-insurance"])

OFFICE = entities.OFFICE_ROLES



class LeaveIn(StorableText):
    model_config = ConfigDict(populate_by_name=True)
    starts: IsoDateTime = Field(alias="from", description="ISO 8601 with offset; the leave starts (inclusive)")
    ends: IsoDateTime = Field(alias="to", description="ISO 8601 with offset; the leave ends (exclusive)")
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


@router.get("/insurers", responses=AUTH)
def insurers(caller: CallerDep, db: DbDep, request: Request) -> dict:
    """Insurers with share, lead flag, contacts and leave (contacts' phones for office roles only)."""
    with db.read() as session:
        rows = service.insurer_rows(session)
    if caller.user.role not in OFFICE:
        for r in rows:
            r["contacts"] = [{"name": c["name"]} for c in r["contacts"]]
    return {"insurers": rows}


_INSURER_404 = {404: _err("not_found: no such insurer")}


@router.post("/insurers/{code}/leave", response_model=InsurerOut, status_code=201,
             responses={**AUTH, **JSON_BODY, **FORBIDDEN_OFFICE, **_INSURER_404,
                        422: _err("invalid_request, invalid_text, invalid_datetime, invalid_leave: not the "
                                  "documented shape (see detail); a time without offset; to not after from")})
def add_leave(code: str, body: LeaveIn, caller: CallerDep, db: DbDep, request: Request) -> dict:
    """The insurer's contact is on leave from ``from`` to ``to``: the rotation skips the insurer
    meanwhile (the rules of ``admin insurer leave``). Answers the insurer as GET /insurers shows it."""
    _require(caller, OFFICE, request)

    def run(session):
        service.add_leave(session, code, body.starts, body.ends, body.note)
        return service.insurer_row(session, code)
    return _run(db, run)


@router.post("/insurers/{code}/back", response_model=InsurerOut,
             responses=_refusals(AUTH, E422, NO_BODY, FORBIDDEN_OFFICE, _INSURER_404))
def end_leave(code: str, caller: CallerDep, db: DbDep, request: Request) -> dict:
    """The contact is back early: every leave window covering now ends now."""
    _require(caller, OFFICE, request)

    def run(session):
        service.end_leave(session, code, _now(request))
        return service.insurer_row(session, code)
    return _run(db, run)


class RenameIn(StorableText):
    name: str = Field(max_length=200, description="1-100 characters, no control or format characters")


@router.post("/insurers/{code}/rename", response_model=InsurerOut,
             responses={**AUTH, **JSON_BODY, 403: _err("forbidden: only the coordinator"), **_INSURER_404,
                        422: _err("invalid_request, invalid_text, invalid_name: not the documented shape (see "
                                  "detail); a name empty, over 100 characters or holding control characters")})
def rename_insurer(code: str, body: RenameIn, caller: CallerDep, db: DbDep, request: Request) -> dict:
    """The coordinator renames an insurer (the rules of ``admin insurer rename``)."""
    from ..core.models import Insurer
    from .admin import AdminError, insurer_name, rename

    _require(caller, ("coordinator",), request)
    try:
        name = insurer_name(body.name)
    except AdminError as exc:
        raise ApiError(422, ERR.invalid_name, str(exc)) from None
    with db.write() as session:
        if session.get(Insurer, code) is None:
            raise ApiError(404, ERR.not_found, "not found")
        rename(session, code, name)
        return service.insurer_row(session, code)


