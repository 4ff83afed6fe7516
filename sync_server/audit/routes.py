"""The audit log over HTTP, and the audit of office acts.

    GET /api/v1/claims/{claim_id}/audit    a claim's audit trail (coordinator and adjusters)
    OfficeActs                             ASGI middleware: every successful write an office
                                           role makes through the API (fund entries and their
                                           corrections, leave, dispatch, events, insurer
                                           renames, conflict reviews, ...) gets an audit entry
                                           naming the route and the ids in its path; never the
                                           body. Sync traffic (push, photo uploads, scans) is
                                           not an office act and is left out.
"""
from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel

from ..core.auth import CallerDep, DbDep, refuse
from ..core.changelog import OFFICE_ROLES
from ..core.error_codes import ERR
from ..core.errors import ApiError, not_found
from ..core.models import Claim
from ..core.schemas import E401, E422, _err
from . import service

router = APIRouter()
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")


class AuditEntryOut(BaseModel):
    seq: int
    at: str
    actor_user_id: str | None
    device_id: str | None
    role: str | None
    action: str
    object_kind: str | None
    object_ids: list[str] | None
    claim_id: str | None
    outcome: str | None
    prev_hash: str
    hash: str


class AuditTrailOut(BaseModel):
    claim_id: str
    entries: list[AuditEntryOut]
    has_more: bool


@router.get(
    "/api/v1/claims/{claim_id}/audit", response_model=AuditTrailOut, tags=["audit"],
    summary="A claim's audit trail: who read, downloaded, changed or was refused (ids, never data)",
    responses={**E401, **E422, 403: _err("forbidden: only adjusters and the coordinator"),
               404: _err("not_found: no such claim")},
)
def claim_audit(
    claim_id: Annotated[str, Path(max_length=64)],
    caller: CallerDep,
    db: DbDep,
    request: Request,
    after: Annotated[int, Query(ge=0, le=2**53 - 1, description="seq of the last entry already read")] = 0,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> dict:
    if caller.user.role not in OFFICE_ROLES:
        refuse(caller, "role_not_office", "/api/v1/claims/{claim_id}/audit")
        raise ApiError(403, ERR.forbidden, "only adjusters and the coordinator read the audit log")
    if not _UUID.match(claim_id):
        raise not_found()
    with db.read() as session:
        if session.get(Claim, claim_id) is None:
            raise not_found()
        entries, has_more = service.claim_trail(session, claim_id, after, limit)
    # Reading the trail is itself on the trail (after the answer's entries were read).
    service.append(db, "audit_export", caller, object_kind="claim", object_ids=[claim_id], claim_id=claim_id,
                 outcome="ok")
    return {"claim_id": claim_id, "entries": entries, "has_more": has_more}
