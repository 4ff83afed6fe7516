"""The HTTP contract of issue 4 (documented in docs/api.md; a test compares both).

Every route but ``/healthz`` and ``/api/v1/enroll`` needs ``Authorization: Bearer TOKEN``.
"""
from __future__ import annotations

from claimcore import entities

import base64
import binascii
import logging
import os
import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StringConstraints, model_validator
from pydantic_core import PydanticCustomError
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

# Every integer that reaches a database column must fit a signed 64-bit INTEGER/BIGINT: a bigger
# one made SQLite raise OverflowError (and PostgreSQL "out of range"), i.e. a 500.
MAX_INT64 = 2**63 - 1
# Integers a client sends (seq, base_version, ids) stop at 2**53 - 1: every JSON parser (and the
# OpenAPI schema's own numbers, often read as doubles) holds them exactly, and no device will
# ever count that far.
MAX_WIRE_INT = 2**53 - 1
SHA256_PATTERN = r"^[0-9a-f]{64}$"
UUID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
# NUL cannot be stored in PostgreSQL text, and a lone surrogate (valid JSON: "\ud800") cannot be
# encoded as UTF-8 by either database driver: both ended in a 500 after parts of a request ran.
_UNSTORABLE_TEXT = re.compile("[\x00\ud800-\udfff]")


def _first_unstorable(value: Any) -> str | None:
    """Where in a parsed JSON value a string (or key) holds NUL or a lone surrogate, else None.

    Iterative, so a deeply nested body cannot exhaust the stack here.
    """
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, str):
            if _UNSTORABLE_TEXT.search(item):
                return where or "body"
        elif isinstance(item, dict):
            for key, child in item.items():
                path = f"{where}.{key}" if where else str(key)
                if isinstance(key, str) and _UNSTORABLE_TEXT.search(key):
                    return (where or "body") + " (a key)"
                stack.append((path, child))
        elif isinstance(item, list):
            stack.extend((f"{where}[{i}]", child) for i, child in enumerate(item))
    return None


class StorableText(BaseModel):
    """Base of request bodies: refuses text no database can store, before anything runs."""

    @model_validator(mode="before")
    @classmethod
    def _storable(cls, data: Any) -> Any:
        where = _first_unstorable(data)
        if where is not None:
            # Its own error type, so sync_server.errors answers 422 invalid_text rather than a
            # generic invalid_request.
            raise PydanticCustomError(
                "invalid_text", "{where}: text must not contain NUL characters or unpaired UTF-16 surrogates",
                {"where": where})
        return data


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


def _integral(value: Any) -> Any:
    """JSON has one number type: 7.0 is the integer 7 (and valid for an "integer" schema)."""
    if isinstance(value, float) and value.is_integer() and abs(value) <= MAX_WIRE_INT:
        return int(value)
    return value


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


class MissingIn(BaseModel):
    sha256: list[Annotated[str, StringConstraints(pattern=SHA256_PATTERN)]] = Field(
        max_length=1000, description="64 lower-case hex digits each, at most 1000")


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


class ErrorDetail(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class ErrorOut(BaseModel):
    """Every refusal. ``error`` is a stable code (docs/api.md lists them); ``message`` is English."""

    model_config = ConfigDict(extra="allow")
    error: str
    message: str
    detail: list[ErrorDetail] | None = Field(default=None, description="invalid_request only: what was wrong where")
    offset: int | None = Field(default=None, description="blob uploads: where to resume")


def _err(description: str) -> dict:
    """A declared refusal: ``"code[, code...]: what it means"``.

    The codes also go into the response's ``x-error-codes``, so the schema names every ``error``
    a client can get with that status (tests/sync_server/test_openapi_schemathesis.py holds the
    server and docs/api.md to it).
    """
    codes = [c.strip() for c in description.split(":", 1)[0].split(",")]
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", c) for c in codes), description
    return {"model": ErrorOut, "description": description, "x-error-codes": codes}


E401 = {401: _err("unauthorized: missing, unknown or revoked token")}
# The refusals any route with a JSON body can give before its own code runs.
JSON_BODY = {
    400: _err("malformed_json: the body is not JSON (or not UTF-8, or nested too deeply)"),
    413: _err("body_too_large: the body is over DAZU_MAX_JSON_BYTES"),
    415: _err("unsupported_media_type: the body is not sent as application/json"),
    422: _err("invalid_request, invalid_text: the body does not have the documented shape (see detail), "
              "or text in it holds NUL or an unpaired surrogate"),
}
E422 = {422: _err("invalid_request: a parameter does not have the documented shape (see detail)")}
# Blob names: the pattern is documented, the routes check it themselves (HEAD and PATCH answer
# 400 invalid_sha256, GET answers 404 like any blob the caller may not see).
Sha256Path = Annotated[str, Path(description="64 lower-case hex digits", json_schema_extra={"pattern": SHA256_PATTERN})]


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
             responses={**JSON_BODY, 401: _err("invalid_code: unknown, used or expired code")})
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
    responses={
        **JSON_BODY,
        **E401,
        403: _err("device_mismatch: device_id is not the token's device"),
        413: _err("body_too_large, too_many_mutations: over DAZU_MAX_JSON_BYTES, or over DAZU_MAX_PUSH_MUTATIONS mutations"),
        422: _err("invalid_request, invalid_text, seq_order: not the documented shape (see detail), "
                  "text holding NUL or an unpaired surrogate, or seqs not strictly increasing"),
    },
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


# What _encode_cursor makes: "v1:" and a change seq (a BIGINT). Anything else was not issued here;
# str.isdigit() let "v1:١٢" (Arabic-Indic digits) through and 40-digit numbers overflowed the query.
_CURSOR = re.compile(r"v1:(0|[1-9][0-9]{0,18})\Z")


def _decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        found = _CURSOR.match(raw)
        if found is None or int(found.group(1)) > MAX_INT64:
            raise ValueError
        return int(found.group(1))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ApiError(400, "invalid_cursor", "cursor was not issued by this server") from None


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
             responses={**JSON_BODY, **E401})
def blobs_missing(body: MissingIn, caller: CallerDep, request: Request) -> dict:
    # The names' shape and the 1000 cap are checked by MissingIn (422 invalid_request).
    store: BlobStore = request.app.state.blobs
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


@router.head("/api/v1/blobs/{sha256}", tags=["blobs"], status_code=200, response_class=Response,
             responses={**E401, **E422,
                        200: {"description": "Upload-Offset: bytes durably held (and Upload-Length when complete)",
                              "headers": {"Upload-Offset": {"schema": {"type": "string", "pattern": "^[0-9]+$"}},
                                          "Upload-Length": {"schema": {"type": "string", "pattern": "^[0-9]+$"}}}},
                        400: _err("invalid_sha256: the name is not 64 lower-case hex digits")})
def blob_head(sha256: Sha256Path, caller: CallerDep, request: Request) -> Response:
    _check_sha(sha256)
    store: BlobStore = request.app.state.blobs
    headers = {"Upload-Offset": str(store.offset(sha256)), "Cache-Control": "no-store"}
    size = store.size(sha256)
    if size is not None:
        headers["Upload-Length"] = str(size)
    return Response(status_code=200, headers=headers)


_DIGITS = re.compile(r"[0-9]{1,40}\Z")  # ASCII only: str.isdigit() also accepts "²" and "١", which int() then refuses or misreads


def _int_header(value: str | None, name: str) -> int:
    if value is None or not _DIGITS.match(value):
        raise ApiError(400, "missing_header", f"header {name} must be a non-negative integer")
    return int(value)


@router.patch(
    "/api/v1/blobs/{sha256}",
    tags=["blobs"],
    status_code=204,
    responses={
        **E401,
        204: {"description": "appended; Upload-Offset says how many bytes are held",
              "headers": {"Upload-Offset": {"schema": {"type": "string", "pattern": "^[0-9]+$"}}}},
        400: _err("invalid_sha256, missing_header: the name is not 64 lower-case hex digits, or Upload-Offset/Upload-Length is absent or not digits"),
        409: _err("offset_mismatch, upload_in_progress: wrong Upload-Offset, or another upload of this blob is running; header Upload-Offset and `offset` say where to resume"),
        413: _err("blob_too_large, body_too_large: Upload-Length over DAZU_MAX_BLOB_BYTES, or the body runs past Upload-Length"),
        422: _err("sha256_mismatch: complete but the bytes did not hash to the name; discarded (offset 0)"),
    },
    openapi_extra={"requestBody": {"content": {"application/offset+octet-stream": {"schema": {"type": "string", "format": "binary"}}}, "required": True}},
)
async def blob_patch(
    sha256: Sha256Path,
    request: Request,
    caller: CallerDep,
    # Required and digits-only in the schema; a missing or malformed one is answered 400
    # missing_header (sync_server.errors maps header validation errors to that code).
    upload_offset: Annotated[str, Header(alias="Upload-Offset", pattern=r"^[0-9]+$", max_length=40,
                                         description="where this body starts")],
    upload_length: Annotated[str, Header(alias="Upload-Length", pattern=r"^[0-9]+$", max_length=40,
                                         description="the blob's total size")],
) -> Response:
    _check_sha(sha256)
    settings: Settings = request.app.state.settings
    store: BlobStore = request.app.state.blobs
    offset = _int_header(upload_offset, "Upload-Offset")
    length = _int_header(upload_length, "Upload-Length")
    if length > settings.max_blob_bytes:
        raise ApiError(413, "blob_too_large", f"blobs are at most {settings.max_blob_bytes} bytes")
    declared = request.headers.get("content-length")
    if declared is not None and _DIGITS.match(declared) and offset + int(declared) > length:
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
            responses={**E401, **E422,
                       200: {"description": "the blob's bytes",
                             "content": {"image/jpeg": {"schema": {"type": "string", "format": "binary"}},
                                         "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}},
                       404: _err("not_found: unknown, incomplete or out of scope (identical answers)")})
def blob_get(sha256: Sha256Path, caller: CallerDep, db: DbDep, request: Request) -> FileResponse:
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
    with db.read() as session:
        q = select(Conflict).order_by(Conflict.id)
        if claim_id:
            q = q.where(Conflict.claim_id == claim_id)
        if not include_resolved:
            q = q.where(Conflict.resolved_at.is_(None))
        rows = session.execute(q.limit(limit)).scalars().all()
        return {"conflicts": [_conflict_dict(c) for c in rows]}


@router.post("/api/v1/conflicts/{conflict_id}/resolve", response_model=ConflictOut, tags=["sync"],
             responses={**E401, **E422, 403: _err("forbidden: only adjusters and the coordinator"),
                        404: _err("not_found: no such conflict"),
                        413: _err("body_too_large: any body over DAZU_MAX_JSON_BYTES")})
def resolve_conflict(conflict_id: Annotated[int, Path(ge=1, le=MAX_WIRE_INT)], caller: CallerDep, db: DbDep, request: Request) -> dict:
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
