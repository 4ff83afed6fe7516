"""Enrolment and the caller's own account: ``POST /api/v1/enroll`` trades a one-time code for a device
token (throttled per address and per code prefix), ``GET /api/v1/me``, and the health checks
(``/healthz``, the authenticated ``/api/v1/ping``). Documented in docs/api.md."""
from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from sqlalchemy import select

from claimcore import entities

from ..core import throttle
from ..core.auth import CallerDep, DbDep
from ..core.changelog import now_iso
from ..core.schemas import E401, JSON_BODY, StorableText, _err
from . import service as accounts

router = APIRouter()



class UserOut(BaseModel):
    id: str
    name: str
    role: Literal[entities.USER_ROLES]  # type: ignore[valid-type]
    township_code: str | None
    insurer_code: str | None


class DeviceOut(BaseModel):
    id: str
    name: str
    created_at: str


class EnrollIn(StorableText):
    code: str = Field(max_length=64, description="one-time enrollment code, e.g. ABCD-EFGH-JKMN")
    device_name: str = Field(min_length=1, max_length=200)


class EnrollOut(BaseModel):
    device_id: str
    token: str
    user: UserOut


class MeOut(BaseModel):
    user: UserOut
    device: DeviceOut


class HealthOut(BaseModel):
    status: Literal["ok"]
    database: Literal["ok"]


class PingOut(BaseModel):
    ok: bool
    device_id: str


E429_ENROLL = {429: _err("too_many_attempts: too many wrong enrollment codes from this address (or with this "
                         "code's first characters) lately; wait Retry-After seconds")}


@router.get("/healthz", response_model=HealthOut, tags=["system"])
def healthz(db: DbDep) -> dict:
    with db.read() as session:
        session.execute(select(1))
    return {"status": "ok", "database": "ok"}


@router.post("/api/v1/enroll", response_model=EnrollOut, tags=["devices"],
             responses={**JSON_BODY, **E429_ENROLL, 401: _err("invalid_code: unknown, used or expired code")})
def enroll(body: EnrollIn, db: DbDep, request: Request) -> dict:
    return accounts.enroll_device(db, request.app.state.settings, body.code, body.device_name,
                                  throttle.client_address(request), request.url.path)


@router.get("/api/v1/me", response_model=MeOut, tags=["devices"], responses=E401)
def me(caller: CallerDep) -> dict:
    return {
        "user": accounts.user_dict(caller.user),
        "device": {"id": caller.device.id, "name": caller.device.name, "created_at": now_iso(caller.device.created_at)},
    }


@router.get("/api/v1/ping", response_model=PingOut, tags=["system"], responses=E401)
def ping(caller: CallerDep) -> dict:
    """Cheapest authenticated request: the baseline of the burst benchmark."""
    return {"ok": True, "device_id": caller.device.id}


