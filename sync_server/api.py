"""The HTTP contract of issue 4 (documented in docs/api.md; a test compares both).

Every route but ``/healthz`` and ``/api/v1/enroll`` needs ``Authorization: Bearer TOKEN``.
"""
from __future__ import annotations

import base64
import binascii
import logging
import os
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, StrictInt
from sqlalchemy import func, select
from starlette.requests import ClientDisconnect

from . import accounts, sync_apply
from .blobs import BlobStore, UploadBusy
from .changelog import OFFICE_ROLES, change_visibility_clause, now_iso, row_visible
from .db import Database
from .errors import ApiError, not_found, unauthorized
from .models import Blob, BlobRef, Change, Conflict, Device, User, utcnow
from .policy import SHA256_RE
from .settings import Settings

log = logging.getLogger("sync_server.access")
router = APIRouter()
bearer = HTTPBearer(auto_error=False, description="Device token from POST /api/v1/enroll")


# ------------------------------------------------------------------------------------ schemas

class UserOut(BaseModel):
    id: str
    name: str
    role: Literal["coordinator", "adjuster", "surveyor", "liaison"]
    township_code: str | None
    insurer_code: str | None


class DeviceOut(BaseModel):
    id: str
    name: str
    created_at: str


class EnrollIn(BaseModel):
    code: str = Field(max_length=64, description="one-time enrollment code, e.g. ABCD-EFGH-JKMN")
    device_name: str = Field(max_length=200)


class EnrollOut(BaseModel):
    device_id: str
    token: str
    user: UserOut


class MeOut(BaseModel):
    user: UserOut
    device: DeviceOut


class MutationIn(BaseModel):
    seq: StrictInt = Field(ge=1, description="the device's own increasing number")
    entity: str = Field(max_length=32, description="claim, person, document, photo, note")
    id: str = Field(max_length=64, description="UUID made on the device")
    op: Literal["upsert", "delete"]
    fields: dict[str, Any] = Field(default_factory=dict, description="changed fields only")
    base_version: StrictInt | None = Field(default=None, description="server version the edit was based on")


class PushIn(BaseModel):
    device_id: str
    mutations: list[MutationIn]


class MutationResult(BaseModel):
    seq: int
    status: Literal["applied", "duplicate", "conflict", "rejected"]
    version: int | None
    error: str | None
    original_status: str | None = Field(default=None, description="only on duplicates: the first result")


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


class MissingIn(BaseModel):
    sha256: list[str] = Field(max_length=1000)


class MissingOut(BaseModel):
    missing: list[str]


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


class HealthOut(BaseModel):
    status: Literal["ok"]
    database: Literal["ok"]


class PingOut(BaseModel):
    ok: bool
    device_id: str


class ErrorOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    error: str
    message: str


E401 = {401: {"model": ErrorOut, "description": "missing, unknown or revoked token"}}


# ------------------------------------------------------------------------------ dependencies

def get_db(request: Request) -> Database:
    return request.app.state.db


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_blobs(request: Request) -> BlobStore:
    return request.app.state.blobs


@dataclass
class Caller:
    device: Device
    user: User


def require_device(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Caller:
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        log.info("refused reason=no_token path=%s", request.url.path)
        raise unauthorized()
    db: Database = request.app.state.db
    with db.read() as session:
        found = accounts.authenticate(session, credentials.credentials)
        if found is None:
            log.info("refused reason=bad_or_revoked_token path=%s", request.url.path)
            raise unauthorized()
        device, user = found
        session.expunge_all()
    return Caller(device=device, user=user)


CallerDep = Annotated[Caller, Depends(require_device)]
DbDep = Annotated[Database, Depends(get_db)]


def refuse(caller: Caller, reason: str, path: str) -> None:
    # Ids and role only: never names, ID numbers or other personal data.
    log.info("refused reason=%s user=%s role=%s device=%s path=%s",
             reason, caller.user.id, caller.user.role, caller.device.id, path)


# ------------------------------------------------------------------------------------- routes

@router.get("/healthz", response_model=HealthOut, tags=["system"])
def healthz(db: DbDep) -> dict:
    with db.read() as session:
        session.execute(select(1))
    return {"status": "ok", "database": "ok"}


@router.post("/api/v1/enroll", response_model=EnrollOut, tags=["devices"],
             responses={401: {"model": ErrorOut, "description": "unknown, used or expired code"}})
def enroll(body: EnrollIn, db: DbDep, request: Request) -> dict:
    with db.write() as session:
        enrolled = accounts.enroll(session, body.code, body.device_name)
        if enrolled is None:
            log.info("refused reason=bad_enrollment_code path=%s", request.url.path)
            raise ApiError(401, "invalid_code", "unknown, used or expired enrollment code")
        out = {
            "device_id": enrolled.device.id,
            "token": enrolled.token,
            "user": accounts.user_dict(enrolled.user),
        }
    return out


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


@router.post(
    "/api/v1/sync/push",
    response_model=PushOut,
    tags=["sync"],
    responses={**E401, 403: {"model": ErrorOut}, 413: {"model": ErrorOut}, 422: {"model": ErrorOut}},
)
def push(body: PushIn, caller: CallerDep, db: DbDep, request: Request) -> dict:
    settings: Settings = request.app.state.settings
    if body.device_id != caller.device.id:
        refuse(caller, "device_mismatch", request.url.path)
        raise ApiError(403, "device_mismatch", "device_id does not match the token's device")
    if len(body.mutations) > settings.max_push_mutations:
        raise ApiError(413, "too_many_mutations", f"at most {settings.max_push_mutations} mutations per push")
    seqs = [m.seq for m in body.mutations]
    if any(b <= a for a, b in zip(seqs, seqs[1:])):
        raise ApiError(422, "seq_order", "mutations must be in strictly increasing seq order")
    mutations = [
        sync_apply.Mutation(m.seq, m.entity, m.id, m.op, m.fields, m.base_version) for m in body.mutations
    ]
    try:
        acked, results = sync_apply.push(db, caller.device.id, mutations)
    except sync_apply.DeviceRevoked:
        refuse(caller, "revoked_during_push", request.url.path)
        raise unauthorized() from None
    return {"acked_seq": acked, "results": [r.as_dict() for r in results]}


def _encode_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(f"v1:{seq}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _, number = raw.partition(":")
        if prefix != "v1" or not number.isdigit():
            raise ValueError
        return int(number)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ApiError(400, "invalid_cursor", "cursor was not issued by this server") from None


@router.get("/api/v1/sync/pull", response_model=PullOut, tags=["sync"],
            responses={**E401, 400: {"model": ErrorOut}})
def pull(
    caller: CallerDep,
    db: DbDep,
    request: Request,
    cursor: Annotated[str | None, Query(max_length=100, description="from the previous pull; none on the first")] = None,
    limit: Annotated[int | None, Query(ge=1, description="page size, capped by the server")] = None,
) -> dict:
    settings: Settings = request.app.state.settings
    after = _decode_cursor(cursor) if cursor else 0
    page = min(limit or settings.pull_limit_default, settings.pull_limit_max)
    with db.read() as session:
        # Read the high-water mark FIRST: every seq at or below it is already committed (see
        # changelog), so moving the cursor up to it can never skip a change.
        high = session.execute(select(func.max(Change.seq))).scalar() or 0
        rows = session.execute(
            select(Change)
            .where(Change.seq > after, Change.seq <= high, change_visibility_clause(caller.user))
            .order_by(Change.seq)
            .limit(page + 1)
        ).scalars().all()
        has_more = len(rows) > page
        rows = rows[:page]
        new_cursor = rows[-1].seq if has_more else max(after, high)
        changes = [
            {"entity": r.entity, "id": r.entity_id, "version": r.version, "op": r.op, "fields": r.fields or {}}
            for r in rows
        ]
    return {
        "changes": changes,
        "cursor": _encode_cursor(new_cursor),
        "has_more": has_more,
    }


@router.post("/api/v1/blobs/missing", response_model=MissingOut, tags=["blobs"],
             responses={**E401, 422: {"model": ErrorOut}})
def blobs_missing(body: MissingIn, caller: CallerDep, request: Request) -> dict:
    store: BlobStore = request.app.state.blobs
    bad = [h for h in body.sha256 if not SHA256_RE.match(h)]
    if bad:
        raise ApiError(422, "invalid_sha256", f"{len(bad)} entries are not 64 lower-case hex digits")
    seen: set[str] = set()
    missing = []
    for h in body.sha256:
        if h not in seen:
            seen.add(h)
            if not store.exists(h):
                missing.append(h)
    return {"missing": missing}


def _check_sha(sha256: str) -> None:
    if not SHA256_RE.match(sha256):
        raise ApiError(400, "invalid_sha256", "blob names are 64 lower-case hex digits")


@router.head("/api/v1/blobs/{sha256}", tags=["blobs"], status_code=200,
             responses={**E401, 200: {"description": "Upload-Offset: bytes durably held"}})
def blob_head(sha256: str, caller: CallerDep, request: Request) -> Response:
    _check_sha(sha256)
    store: BlobStore = request.app.state.blobs
    headers = {"Upload-Offset": str(store.offset(sha256)), "Cache-Control": "no-store"}
    size = store.size(sha256)
    if size is not None:
        headers["Upload-Length"] = str(size)
    return Response(status_code=200, headers=headers)


def _int_header(value: str | None, name: str) -> int:
    if value is None or not value.isdigit():
        raise ApiError(400, "missing_header", f"header {name} must be a non-negative integer")
    return int(value)


@router.patch(
    "/api/v1/blobs/{sha256}",
    tags=["blobs"],
    status_code=204,
    responses={
        **E401,
        204: {"description": "appended; Upload-Offset says how many bytes are held"},
        400: {"model": ErrorOut},
        409: {"model": ErrorOut, "description": "wrong Upload-Offset; the header has the right one"},
        413: {"model": ErrorOut},
        422: {"model": ErrorOut, "description": "complete but the SHA-256 did not match: discarded"},
    },
    openapi_extra={"requestBody": {"content": {"application/offset+octet-stream": {"schema": {"type": "string", "format": "binary"}}}, "required": True}},
)
async def blob_patch(
    sha256: str,
    request: Request,
    caller: CallerDep,
    upload_offset: Annotated[str | None, Header(alias="Upload-Offset")] = None,
    upload_length: Annotated[str | None, Header(alias="Upload-Length")] = None,
) -> Response:
    _check_sha(sha256)
    settings: Settings = request.app.state.settings
    store: BlobStore = request.app.state.blobs
    offset = _int_header(upload_offset, "Upload-Offset")
    length = _int_header(upload_length, "Upload-Length")
    if length > settings.max_blob_bytes:
        raise ApiError(413, "blob_too_large", f"blobs are at most {settings.max_blob_bytes} bytes")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and offset + int(declared) > length:
        raise ApiError(413, "body_too_large", "body runs past Upload-Length")

    size = store.size(sha256)
    if size is not None:
        await run_in_threadpool(_ensure_blob_row, request.app.state.db, sha256, size)
        return Response(status_code=204, headers={"Upload-Offset": str(size), "Upload-Length": str(size)})
    try:
        with store.upload_lock(sha256):
            current = store.offset(sha256)
            if offset != current:
                raise ApiError(409, "offset_mismatch", f"the server holds {current} bytes",
                               headers={"Upload-Offset": str(current)}, offset=current)
            written = 0
            too_long = False
            with store.open_append(sha256) as f:
                try:
                    async for chunk in request.stream():
                        if not chunk:
                            continue
                        if offset + written + len(chunk) > length:
                            too_long = True
                            break
                        f.write(chunk)
                        written += len(chunk)
                except ClientDisconnect:
                    pass  # keep what arrived: the next HEAD reports it and the phone resumes
                f.flush()
                await run_in_threadpool(os.fsync, f.fileno())
            if too_long:
                # The whole request's bytes go; what was held before it stays.
                await run_in_threadpool(store.truncate_partial, sha256, offset)
                raise ApiError(413, "body_too_large", "body runs past Upload-Length",
                               headers={"Upload-Offset": str(offset)})
            new_offset = offset + written
            if new_offset == length:
                ok = await run_in_threadpool(store.complete, sha256)
                if not ok:
                    log.info("refused reason=sha256_mismatch device=%s", caller.device.id)
                    raise ApiError(422, "sha256_mismatch",
                                   "the bytes do not hash to this name; the upload was discarded, start again at 0",
                                   headers={"Upload-Offset": "0"}, offset=0)
                await run_in_threadpool(_ensure_blob_row, request.app.state.db, sha256, length)
                return Response(status_code=204, headers={"Upload-Offset": str(length), "Upload-Length": str(length)})
            return Response(status_code=204, headers={"Upload-Offset": str(new_offset)})
    except UploadBusy:
        current = store.offset(sha256)
        raise ApiError(409, "upload_in_progress", "another upload of this blob is running",
                       headers={"Upload-Offset": str(current)}, offset=current) from None


def _ensure_blob_row(db: Database, sha256: str, size: int) -> None:
    with db.write() as session:
        if session.get(Blob, sha256) is None:
            session.add(Blob(sha256=sha256, size=size))


@router.get("/api/v1/blobs/{sha256}", tags=["blobs"],
            responses={**E401, 200: {"content": {"image/jpeg": {}, "application/octet-stream": {}}},
                       404: {"model": ErrorOut}})
def blob_get(sha256: str, caller: CallerDep, db: DbDep, request: Request) -> FileResponse:
    store: BlobStore = request.app.state.blobs
    if not SHA256_RE.match(sha256) or not store.exists(sha256):
        raise not_found()
    with db.read() as session:
        refs = session.execute(select(BlobRef).where(BlobRef.sha256 == sha256)).scalars().all()
        allowed = any(row_visible(session, caller.user, r.claim_id, r.insurer_code) for r in refs)
    if not allowed:
        refuse(caller, "blob_out_of_scope", "/api/v1/blobs/{sha256}")
        raise not_found()
    with open(store.final_path(sha256), "rb") as f:
        magic = f.read(3)
    media = "image/jpeg" if magic == b"\xff\xd8\xff" else "application/octet-stream"
    return FileResponse(store.final_path(sha256), media_type=media,
                        headers={"Cache-Control": "private, max-age=31536000, immutable",
                                 "X-Content-Type-Options": "nosniff"})


def _require_office(caller: Caller, path: str) -> None:
    if caller.user.role not in OFFICE_ROLES:
        refuse(caller, "role_not_office", path)
        raise ApiError(403, "forbidden", "only adjusters and the coordinator review conflicts")


def _conflict_dict(c: Conflict) -> dict:
    return {
        "id": c.id, "entity": c.entity, "entity_id": c.entity_id, "claim_id": c.claim_id,
        "field": c.field, "kept_value": c.kept_value, "other_value": c.other_value,
        "kept_device_id": c.kept_device_id, "other_device_id": c.other_device_id,
        "kept_version": c.kept_version, "created_at": now_iso(c.created_at),
        "resolved_at": now_iso(c.resolved_at) if c.resolved_at else None, "resolved_by": c.resolved_by,
    }


@router.get("/api/v1/conflicts", response_model=ConflictsOut, tags=["sync"],
            responses={**E401, 403: {"model": ErrorOut}})
def conflicts(
    caller: CallerDep,
    db: DbDep,
    request: Request,
    claim_id: Annotated[str | None, Query(max_length=36)] = None,
    include_resolved: bool = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> dict:
    _require_office(caller, request.url.path)
    with db.read() as session:
        q = select(Conflict).order_by(Conflict.id)
        if claim_id:
            q = q.where(Conflict.claim_id == claim_id)
        if not include_resolved:
            q = q.where(Conflict.resolved_at.is_(None))
        rows = session.execute(q.limit(limit)).scalars().all()
        return {"conflicts": [_conflict_dict(c) for c in rows]}


@router.post("/api/v1/conflicts/{conflict_id}/resolve", response_model=ConflictOut, tags=["sync"],
             responses={**E401, 403: {"model": ErrorOut}, 404: {"model": ErrorOut}})
def resolve_conflict(conflict_id: int, caller: CallerDep, db: DbDep, request: Request) -> dict:
    """Mark a conflict reviewed. To restore the other value, push it as a normal edit."""
    _require_office(caller, request.url.path)
    with db.write() as session:
        c = session.get(Conflict, conflict_id)
        if c is None:
            raise not_found()
        if c.resolved_at is None:
            c.resolved_at = utcnow()
            c.resolved_by = caller.user.id
        session.flush()
        return _conflict_dict(c)
