"""The sync core's HTTP contract (documented in docs/api.md; a test compares both): push, pull and
the office's review of conflicts. The work is in sync_server.sync.apply (push) and
sync_server.sync.service (pull, conflicts)."""
from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, Field, StrictInt, model_validator

from ..core.auth import Caller, CallerDep, DbDep, refuse
from ..core.changelog import OFFICE_ROLES
from ..core.error_codes import ERR
from ..core.errors import ApiError, unauthorized
from ..core.schemas import E401, E422, JSON_BODY, MAX_WIRE_INT, UUID_PATTERN, StorableText, _err, _integral
from ..core.settings import Settings
from . import apply, service
from .mutations import DeviceRevoked, Mutation, PushRules

router = APIRouter()


async def get_push_rules(request: Request) -> PushRules:
    """The rules this app hands every push (sync_server.app.push_rules); async: no worker thread
    for an attribute read."""
    return request.app.state.push_rules


PushRulesDep = Annotated[PushRules, Depends(get_push_rules)]



class MutationIn(BaseModel):
    seq: StrictInt = Field(ge=1, le=MAX_WIRE_INT, description="the device's own increasing number")
    entity: str = Field(max_length=32, description="claim, person, document, photo, note")
    id: str = Field(max_length=64, description="UUID made on the device")
    op: Literal["upsert", "delete"]
    fields: dict[str, Any] = Field(default_factory=dict, description="changed fields only")
    # The bounds inside Annotated: on the union they reached the schema as "ge"/"le" (not JSON
    # Schema), so the documented type had no bounds at all.
    base_version: Annotated[StrictInt, Field(ge=0, le=MAX_WIRE_INT)] | None = Field(
        default=None, description="server version the edit was based on")

    @model_validator(mode="before")
    @classmethod
    def _integral_numbers(cls, data: Any) -> Any:
        if isinstance(data, dict):
            data = {**data, **{k: _integral(data[k]) for k in ("seq", "base_version") if k in data}}
        return data


class PushIn(StorableText):
    device_id: str
    mutations: list[MutationIn]


class MutationResult(BaseModel):
    seq: int
    status: Literal["applied", "duplicate", "conflict", "rejected"]
    version: int | None
    error: str | None
    original_status: str | None = Field(default=None, description="only on duplicates: the first result")
    field: str | None = Field(default=None, description="on a refusal about one field: that field")


class PushOut(BaseModel):
    acked_seq: int
    results: list[MutationResult]


class ChangeOut(BaseModel):
    entity: str
    id: str
    version: int
    op: Literal["upsert", "delete"]
    fields: dict[str, Any]


class PullOut(BaseModel):
    changes: list[ChangeOut]
    cursor: str
    has_more: bool


class ConflictOut(BaseModel):
    id: int
    entity: str
    entity_id: str
    claim_id: str | None
    field: str
    kept_value: Any
    other_value: Any
    kept_device_id: str
    other_device_id: str | None
    kept_version: int
    created_at: str
    resolved_at: str | None
    resolved_by: str | None


class ConflictsOut(BaseModel):
    conflicts: list[ConflictOut]


@router.post(
    "/api/v1/sync/push",
    response_model=PushOut,
    tags=["sync"],
    responses={
        **JSON_BODY,
        **E401,
        403: _err("device_mismatch: device_id is not the token's device"),
        413: _err("body_too_large, too_many_mutations: over DAZU_MAX_JSON_BYTES, or over DAZU_MAX_PUSH_MUTATIONS mutations"),
        422: _err("invalid_request, invalid_text, seq_order: not the documented shape (see detail), "
                  "text holding NUL or an unpaired surrogate, or seqs not strictly increasing"),
    },
)
def push(body: PushIn, caller: CallerDep, db: DbDep, rules: PushRulesDep, request: Request) -> dict:
    settings: Settings = request.app.state.settings
    if body.device_id != caller.device.id:
        refuse(caller, "device_mismatch", request.url.path)
        raise ApiError(403, ERR.device_mismatch, "device_id does not match the token's device")
    if len(body.mutations) > settings.max_push_mutations:
        raise ApiError(413, ERR.too_many_mutations, f"at most {settings.max_push_mutations} mutations per push")
    seqs = [m.seq for m in body.mutations]
    if any(b <= a for a, b in zip(seqs, seqs[1:])):
        raise ApiError(422, ERR.seq_order, "mutations must be in strictly increasing seq order")
    mutations = [
        Mutation(m.seq, m.entity, m.id, m.op, m.fields, m.base_version) for m in body.mutations
    ]
    try:
        acked, results = apply.push(db, caller.device.id, mutations, rules)
    except DeviceRevoked:
        refuse(caller, "revoked_during_push", request.url.path)
        raise unauthorized() from None
    return {"acked_seq": acked, "results": [r.as_dict() for r in results]}


@router.get("/api/v1/sync/pull", response_model=PullOut, tags=["sync"],
            responses={**E401, **E422, 400: _err("invalid_cursor: the cursor was not issued by this server")})
def pull(
    caller: CallerDep,
    db: DbDep,
    request: Request,
    cursor: Annotated[str | None, Query(max_length=100, description="from the previous pull; none on the first")] = None,
    limit: Annotated[int | None, Query(ge=1, description="page size, capped by DAZU_PULL_LIMIT_MAX")] = None,
) -> dict:
    settings: Settings = request.app.state.settings
    after = service.decode_cursor(cursor) if cursor else 0
    page = min(limit or settings.pull_limit_default, settings.pull_limit_max)
    return service.pull_page(db, settings, caller, after, page, first=not cursor)


def _require_office(caller: Caller, path: str) -> None:
    if caller.user.role not in OFFICE_ROLES:
        refuse(caller, "role_not_office", path)
        raise ApiError(403, ERR.forbidden, "only adjusters and the coordinator review conflicts")


@router.get("/api/v1/conflicts", response_model=ConflictsOut, tags=["sync"],
            responses={**E401, **E422, 403: _err("forbidden: only adjusters and the coordinator")})
def conflicts(
    caller: CallerDep,
    db: DbDep,
    request: Request,
    claim_id: Annotated[str | None, Query(max_length=36, pattern=UUID_PATTERN)] = None,
    include_resolved: bool = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> dict:
    _require_office(caller, request.url.path)
    return {"conflicts": service.conflicts(db, claim_id, include_resolved, limit)}


@router.post("/api/v1/conflicts/{conflict_id}/resolve", response_model=ConflictOut, tags=["sync"],
             responses={**E401, **E422, 403: _err("forbidden: only adjusters and the coordinator"),
                        404: _err("not_found: no such conflict"),
                        413: _err("body_too_large: any body over DAZU_MAX_JSON_BYTES")})
def resolve_conflict(conflict_id: Annotated[int, Path(ge=1, le=MAX_WIRE_INT)], caller: CallerDep, db: DbDep, request: Request) -> dict:
    """Mark a conflict reviewed. To restore the other value, push it as a normal edit."""
    _require_office(caller, request.url.path)
    return service.resolve_conflict(db, conflict_id, caller.user.id)
