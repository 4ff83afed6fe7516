"""Document scans of a claim's checklist: ID cards, bank cards, medical papers, the signed claim
application. Personal data: only the roles that may see a claim's personal data reach them.

    PUT /api/v1/claims/{claim_id}/scans/{scan_id}   body: the file's bytes
        headers Content-Type (image/jpeg | image/png | image/heic | application/pdf, and what the
        bytes are: claimcore.filetypes.sniff_scan), X-Scan-SHA256 (of the body), X-Document-Code
        (a catalogue document code). 201 stored; 200 the same bytes were stored before (replays
        are safe); 409 scan_id_in_use: that id holds other bytes.
    GET /api/v1/claims/{claim_id}/scans/{scan_id}   the bytes, with the stored content type

Scope (both): coordinator and adjuster (the lead insurer's office) for every claim, a liaison for
claims of its own township (``changelog.claim_visible``); surveyors (the co-insurers' staff) never.
Out of scope, unknown claim and unknown scan all answer the same ``404 not_found``.

Storage: ``<DAZU_DATA_DIR>/scans/<first 2 of id>/<scan id>-<sha256>`` (mode 0600, folders 0700),
written to a temporary file, fsync'ed and renamed into place; the ``scans`` table indexes them.
The file name carries the hash, so a competing upload with other bytes never overwrites a stored
scan. The body is streamed to disk (never held whole) and refused past MAX_SCAN_BYTES.
"""
from __future__ import annotations

import hashlib
import logging
import os
import re
import uuid
from pathlib import Path as FsPath
from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError
from starlette.requests import ClientDisconnect

from claimcore import entities
from claimcore.filetypes import MAX_SCAN_BYTES, SCAN_TYPES, ScanTypeError, sniff_scan

from . import domain
from .api import E401, E422, UUID_PATTERN, CallerDep, DbDep, _err, refuse
from .blobs import fsync_dir
from .changelog import claim_visible, now_iso
from .db import Database
from .errors import ApiError, not_found
from .models import Scan

log = logging.getLogger("sync_server.access")
router = APIRouter()

SCAN_PATH = "/api/v1/claims/{claim_id}/scans/{scan_id}"
# Roles that may see a claim's personal data (each still limited by claim_visible).
PERSONAL_DATA_ROLES = frozenset(entities.FILE_ROLES)
_UUID = re.compile(UUID_PATTERN)
_SHA256 = re.compile(r"[0-9a-f]{64}\Z")
_DIGITS = re.compile(r"[0-9]{1,40}\Z")
SNIFF_BYTES = 4096  # claimcore.filetypes looks at most this far


class ScanOut(BaseModel):
    id: str
    claim_id: str
    doc_code: str
    sha256: str
    size: int
    content_type: str
    created_at: str


ClaimIdPath = Annotated[str, Path(description="the claim's id (lower-case UUID)",
                                  json_schema_extra={"pattern": UUID_PATTERN})]
ScanIdPath = Annotated[str, Path(description="the scan's id, made on the phone (lower-case UUID)",
                                 json_schema_extra={"pattern": UUID_PATTERN})]

_BINARY = {"schema": {"type": "string", "format": "binary"}}
_SCOPE_404 = _err("not_found: unknown claim, unknown scan, or out of scope (surveyors always); identical answers")


def scan_dir(request: Request) -> FsPath:
    """Where scans live: ``<DAZU_DATA_DIR>/scans`` (next to the database and blobs, never served
    as static files)."""
    root = FsPath(request.app.state.settings.data_dir) / "scans"
    if not root.is_dir():
        root.mkdir(mode=0o700, parents=True, exist_ok=True)
    return root


def _final_path(root: FsPath, scan_id: str, sha256: str) -> FsPath:
    return root / scan_id[:2] / f"{scan_id}-{sha256}"


def _scan_dict(row: Scan) -> dict:
    return {"id": row.id, "claim_id": row.claim_id, "doc_code": row.doc_code, "sha256": row.sha256,
            "size": row.size, "content_type": row.content_type, "created_at": now_iso(row.created_at)}


def _may_see(db: Database, caller, claim_id: str) -> bool:  # noqa: ANN001
    if caller.user.role not in PERSONAL_DATA_ROLES:
        return False
    with db.read() as session:
        return claim_visible(session, caller.user, claim_id)


def _media_type(request: Request) -> str | None:
    raw = request.headers.get("content-type")
    if raw is None:
        return None
    return raw.split(";", 1)[0].strip().lower()


def _place(tmp: FsPath, final: FsPath) -> None:
    """fsync'ed temporary file -> its final name, atomically; the folder's entry fsync'ed too."""
    final.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.replace(tmp, final)
    fsync_dir(final.parent)


@router.put(
    SCAN_PATH,
    tags=["scans"],
    status_code=201,
    response_model=ScanOut,
    summary="Upload a document scan (personal data; only over TLS)",
    responses={
        **E401,
        200: {"model": ScanOut, "description": "already stored with these very bytes (a replay): nothing changed"},
        201: {"description": "stored"},
        400: _err("missing_header, invalid_sha256: X-Scan-SHA256 or X-Document-Code absent, "
                  "or X-Scan-SHA256 not 64 lower-case hex digits"),
        404: _SCOPE_404,
        409: _err("scan_id_in_use: this scan id already holds other bytes (or belongs to another claim)"),
        413: _err("scan_too_large: the body is over 20 MiB (claimcore.filetypes.MAX_SCAN_BYTES)"),
        415: _err("unsupported_scan_type, content_type_mismatch: the bytes (or the Content-Type) are not "
                  "JPEG, PNG, HEIC or PDF, or the bytes are another of these types than Content-Type says"),
        422: _err("unknown_document_code, sha256_mismatch, invalid_request: X-Document-Code is not a catalogue "
                  "document code, the body does not hash to X-Scan-SHA256, or the body ended early (nothing stored)"),
    },
    openapi_extra={
        "requestBody": {"required": True, "content": {t: _BINARY for t in SCAN_TYPES}},
        "parameters": [
            {"name": "X-Scan-SHA256", "in": "header", "required": True,
             "description": "SHA-256 of the body, 64 lower-case hex digits",
             "schema": {"type": "string", "pattern": "^[0-9a-f]{64}$"}},
            {"name": "X-Document-Code", "in": "header", "required": True,
             "description": "the checklist item's catalogue document code",
             "schema": {"type": "string", "enum": sorted(domain.document_codes())}},
        ],
    },
)
async def put_scan(claim_id: ClaimIdPath, scan_id: ScanIdPath, request: Request, caller: CallerDep,
                   db: DbDep) -> JSONResponse:
    """Store a document scan of a claim. Scope: coordinator, adjuster, the liaison of the claim's
    township; never surveyors. Idempotent per scan id."""
    if not (_UUID.match(claim_id) and _UUID.match(scan_id)):
        raise not_found()
    # Checks that do not depend on the claim come first: their answers cannot tell an
    # out-of-scope claim from an unknown one.
    doc_code = request.headers.get("x-document-code")
    declared_sha = request.headers.get("x-scan-sha256")
    if doc_code is None or declared_sha is None:
        missing = "X-Document-Code" if doc_code is None else "X-Scan-SHA256"
        raise ApiError(400, "missing_header", f"header {missing} is required")
    if not _SHA256.match(declared_sha):
        raise ApiError(400, "invalid_sha256", "X-Scan-SHA256 must be 64 lower-case hex digits")
    if doc_code not in domain.document_codes():
        raise ApiError(422, "unknown_document_code", "X-Document-Code is not a document code of the catalogue")
    declared_type = _media_type(request)
    if declared_type not in SCAN_TYPES:
        raise ApiError(415, "unsupported_scan_type",
                       f"{ScanTypeError.EN}; send Content-Type {', '.join(SCAN_TYPES)}")
    length = request.headers.get("content-length")
    if length is not None and _DIGITS.match(length) and int(length) > MAX_SCAN_BYTES:
        raise ApiError(413, "scan_too_large", f"a scan may be at most {MAX_SCAN_BYTES} bytes")
    if not await run_in_threadpool(_may_see, db, caller, claim_id):
        refuse(caller, "scan_out_of_scope", SCAN_PATH)
        raise not_found()

    root = scan_dir(request)
    tmp_dir = root / "tmp"
    tmp_dir.mkdir(mode=0o700, exist_ok=True)
    tmp = tmp_dir / f"{uuid.uuid4().hex}.part"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        digest = hashlib.sha256()
        head = b""
        size = 0
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), 0o600)
            try:
                async for chunk in request.stream():
                    if not chunk:
                        continue
                    size += len(chunk)
                    if size > MAX_SCAN_BYTES:
                        raise ApiError(413, "scan_too_large", f"a scan may be at most {MAX_SCAN_BYTES} bytes",
                                       headers={"Connection": "close"})
                    if len(head) < SNIFF_BYTES:
                        head += chunk[:SNIFF_BYTES - len(head)]
                    digest.update(chunk)
                    f.write(chunk)
            except ClientDisconnect:
                # Nobody is left to read an answer; nothing is stored.
                raise ApiError(422, "invalid_request", "the connection closed before the body ended") from None
            f.flush()
            await run_in_threadpool(os.fsync, f.fileno())
        sha = digest.hexdigest()
        if sha != declared_sha:
            log.info("refused reason=scan_sha256_mismatch device=%s", caller.device.id)
            raise ApiError(422, "sha256_mismatch", "the body does not hash to X-Scan-SHA256; nothing was stored")
        try:
            actual_type = sniff_scan(head)
        except ScanTypeError as exc:
            raise ApiError(415, "unsupported_scan_type", exc.en) from None
        if actual_type != declared_type:
            raise ApiError(415, "content_type_mismatch",
                           f"the bytes are {actual_type} but Content-Type says {declared_type}")
        status, row = await run_in_threadpool(
            _store, db, root, tmp, scan_id, claim_id, doc_code, sha, size, actual_type, caller)
        return JSONResponse(row, status_code=status)
    finally:
        tmp.unlink(missing_ok=True)  # moved into place when stored; otherwise dropped


def _existing(db: Database, scan_id: str) -> Scan | None:
    with db.read() as session:
        row = session.get(Scan, scan_id)
        if row is not None:
            session.expunge(row)
        return row


def _same_or_conflict(row: Scan, claim_id: str, sha: str) -> tuple[int, dict]:
    if row.claim_id == claim_id and row.sha256 == sha:
        return 200, _scan_dict(row)
    raise ApiError(409, "scan_id_in_use", "this scan id already holds other bytes; a new scan needs a new id")


def _store(db: Database, root: FsPath, tmp: FsPath, scan_id: str, claim_id: str, doc_code: str, sha: str,
           size: int, content_type: str, caller) -> tuple[int, dict]:  # noqa: ANN001
    """Put the verified bytes in place and index them; 200 for a replay of the same bytes."""
    row = _existing(db, scan_id)
    if row is not None:
        return _same_or_conflict(row, claim_id, sha)
    final = _final_path(root, scan_id, sha)
    _place(tmp, final)
    try:
        with db.write() as session:
            new = Scan(id=scan_id, claim_id=claim_id, doc_code=doc_code, sha256=sha, size=size,
                       content_type=content_type, uploaded_by=caller.user.id, device_id=caller.device.id)
            session.add(new)
            session.flush()
            out = _scan_dict(new)
    except IntegrityError:
        # Another request stored this id first (or the claim vanished). Its file has a name of
        # its own unless its bytes are these very bytes.
        row = _existing(db, scan_id)
        if row is None:
            final.unlink(missing_ok=True)
            raise not_found() from None
        if row.sha256 != sha:
            final.unlink(missing_ok=True)
        return _same_or_conflict(row, claim_id, sha)
    log.info("scan stored scan=%s claim=%s user=%s role=%s device=%s size=%d",
             scan_id, claim_id, caller.user.id, caller.user.role, caller.device.id, size)
    return 201, out


@router.get(
    SCAN_PATH,
    tags=["scans"],
    summary="Download a document scan (personal data; only over TLS)",
    response_class=FileResponse,
    responses={
        **E401,
        **E422,
        200: {"description": "the scan's bytes, with the content type it was stored with",
              "content": {t: _BINARY for t in SCAN_TYPES}},
        404: _SCOPE_404,
    },
)
def get_scan(claim_id: ClaimIdPath, scan_id: ScanIdPath, caller: CallerDep, db: DbDep,
             request: Request) -> FileResponse:
    """A stored scan's bytes. Scope: coordinator, adjuster, the liaison of the claim's township;
    never surveyors. Unknown, out of scope and another claim's scan: the same 404."""
    if not (_UUID.match(claim_id) and _UUID.match(scan_id)):
        raise not_found()
    if not _may_see(db, caller, claim_id):
        refuse(caller, "scan_out_of_scope", SCAN_PATH)
        raise not_found()
    row = _existing(db, scan_id)
    if row is None or row.claim_id != claim_id:
        raise not_found()
    path = _final_path(scan_dir(request), row.id, row.sha256)
    if not path.is_file():
        log.error("scan file missing scan=%s", row.id)
        raise not_found()
    return FileResponse(path, media_type=row.content_type,
                        headers={"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff",
                                 "X-Scan-SHA256": row.sha256})


__all__ = ["MAX_SCAN_BYTES", "PERSONAL_DATA_ROLES", "router", "scan_dir"]
