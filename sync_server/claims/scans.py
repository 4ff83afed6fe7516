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
scan. The body is streamed to disk (never held whole) and refused past MAX_SCAN_BYTES."""
from __future__ import annotations

import hashlib
import logging
import os
import re
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path as FsPath

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.exc import IntegrityError
from starlette.requests import ClientDisconnect

from claimcore import entities
from claimcore.filetypes import MAX_SCAN_BYTES, SCAN_TYPES, ScanTypeError, sniff_scan

from ..blobs.store import fsync_dir
from ..core import domain, sealing
from ..core.auth import refuse
from ..core.changelog import claim_visible, now_iso
from ..core.db import Database
from ..core.error_codes import ERR
from ..core.errors import ApiError, not_found
from ..core.schemas import UUID_PATTERN
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


def _media_type(headers: Mapping[str, str]) -> str | None:
    raw = headers.get("content-type")
    if raw is None:
        return None
    return raw.split(";", 1)[0].strip().lower()


def _place(tmp: FsPath, final: FsPath) -> None:
    """fsync'ed temporary file -> its final name, atomically; the folder's entry fsync'ed too."""
    final.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.replace(tmp, final)
    fsync_dir(final.parent)


def _owner(scan_id: str) -> str:
    return f"scan:{scan_id}"  # the sealed bytes open only under this scan's id


def _seal_file(db: Database, path: FsPath, scan_id: str) -> None:
    """Replace a verified scan's bytes by their sealed form (sync_server.core.sealing), in place and
    durably: an ID card on disk is no more readable without the server key than its number."""
    sealed = sealing.sealer_of(db.engine.dialect).seal_bytes(path.read_bytes(), _owner(scan_id))
    fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
    with os.fdopen(fd, "wb") as f:
        f.write(sealed)
        f.flush()
        os.fsync(f.fileno())


def read_scan(db: Database, path: FsPath, scan_id: str) -> bytes:
    """A stored scan's bytes, opened; a scan stored before sealing existed is read as it is
    (``admin seal-existing`` seals it)."""
    blob = path.read_bytes()
    if sealing.is_sealed_file(blob):
        return sealing.sealer_of(db.engine.dialect).open_bytes(blob, _owner(scan_id))
    return blob


def seal_stored_scans(db: Database, root: FsPath) -> int:
    """Seal the scans still in plaintext, and re-seal under the newest key; returns how many."""
    from sqlalchemy import select

    sealer = sealing.sealer_of(db.engine.dialect)
    newest = sealer.newest().kid.encode()
    with db.read() as session:
        rows = [(r.id, r.sha256) for r in session.execute(select(Scan)).scalars()]
    done = 0
    for scan_id, sha in rows:
        path = _final_path(root, scan_id, sha)
        if not path.is_file():
            continue
        blob = path.read_bytes()
        if sealing.is_sealed_file(blob) and blob[len(sealing.FILE_MAGIC):].startswith(newest):
            continue
        plain = read_scan(db, path, scan_id)
        tmp = path.with_name(path.name + ".sealing")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(sealer.seal_bytes(plain, _owner(scan_id)))
            f.flush()
            os.fsync(f.fileno())
        _place(tmp, path)
        done += 1
    return done


def _existing(db: Database, scan_id: str) -> Scan | None:
    with db.read() as session:
        row = session.get(Scan, scan_id)
        if row is not None:
            session.expunge(row)
        return row


def _same_or_conflict(row: Scan, claim_id: str, sha: str) -> tuple[int, dict]:
    if row.claim_id == claim_id and row.sha256 == sha:
        return 200, _scan_dict(row)
    raise ApiError(409, ERR.scan_id_in_use, "this scan id already holds other bytes; a new scan needs a new id")


def _store(db: Database, root: FsPath, tmp: FsPath, scan_id: str, claim_id: str, doc_code: str, sha: str,
           size: int, content_type: str, caller) -> tuple[int, dict]:  # noqa: ANN001
    """Put the verified bytes in place and index them; 200 for a replay of the same bytes."""
    row = _existing(db, scan_id)
    if row is not None:
        return _same_or_conflict(row, claim_id, sha)
    final = _final_path(root, scan_id, sha)
    _seal_file(db, tmp, scan_id)
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


@dataclass(frozen=True)
class ScanUpload:
    """What a PUT of a scan declares in its path and headers, checked (upload_of)."""

    claim_id: str
    scan_id: str
    doc_code: str
    declared_sha: str
    declared_type: str


def upload_of(claim_id: str, scan_id: str, headers: Mapping[str, str]) -> ScanUpload:
    """The upload a PUT declares, or its refusal. These checks do not depend on the claim, so
    their answers cannot tell an out-of-scope claim from an unknown one."""
    if not (_UUID.match(claim_id) and _UUID.match(scan_id)):
        raise not_found()
    doc_code = headers.get("x-document-code")
    declared_sha = headers.get("x-scan-sha256")
    if doc_code is None or declared_sha is None:
        missing = "X-Document-Code" if doc_code is None else "X-Scan-SHA256"
        raise ApiError(400, ERR.missing_header, f"header {missing} is required")
    if not _SHA256.match(declared_sha):
        raise ApiError(400, ERR.invalid_sha256, "X-Scan-SHA256 must be 64 lower-case hex digits")
    if doc_code not in domain.document_codes():
        raise ApiError(422, ERR.unknown_document_code, "X-Document-Code is not a document code of the catalogue")
    declared_type = _media_type(headers)
    if declared_type not in SCAN_TYPES:
        raise ApiError(415, ERR.unsupported_scan_type,
                       f"{ScanTypeError.EN}; send Content-Type {', '.join(SCAN_TYPES)}")
    length = headers.get("content-length")
    if length is not None and _DIGITS.match(length) and int(length) > MAX_SCAN_BYTES:
        raise ApiError(413, ERR.scan_too_large, f"a scan may be at most {MAX_SCAN_BYTES} bytes")
    return ScanUpload(claim_id, scan_id, doc_code, declared_sha, declared_type)


async def receive(db: Database, caller, root: FsPath, upload: ScanUpload,  # noqa: ANN001
                  body: AsyncIterator[bytes]) -> tuple[int, dict]:
    """Stream a scan's bytes to disk, check them (hash, type) and store them: (201, the scan) when
    stored, (200, the scan) for a replay of the same bytes. Scope is checked before any byte is read."""
    claim_id, scan_id = upload.claim_id, upload.scan_id
    if not await run_in_threadpool(_may_see, db, caller, claim_id):
        refuse(caller, "scan_out_of_scope", SCAN_PATH, claim_id=claim_id)
        raise not_found()
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
                async for chunk in body:
                    if not chunk:
                        continue
                    size += len(chunk)
                    if size > MAX_SCAN_BYTES:
                        raise ApiError(413, ERR.scan_too_large, f"a scan may be at most {MAX_SCAN_BYTES} bytes",
                                       headers={"Connection": "close"})
                    if len(head) < SNIFF_BYTES:
                        head += chunk[:SNIFF_BYTES - len(head)]
                    digest.update(chunk)
                    f.write(chunk)
            except ClientDisconnect:
                # Nobody is left to read an answer; nothing is stored.
                raise ApiError(422, ERR.invalid_request, "the connection closed before the body ended") from None
            f.flush()
            await run_in_threadpool(os.fsync, f.fileno())
        sha = digest.hexdigest()
        if sha != upload.declared_sha:
            log.info("refused reason=scan_sha256_mismatch device=%s", caller.device.id)
            raise ApiError(422, ERR.sha256_mismatch, "the body does not hash to X-Scan-SHA256; nothing was stored")
        try:
            actual_type = sniff_scan(head)
        except ScanTypeError as exc:
            raise ApiError(415, ERR.unsupported_scan_type, exc.en) from None
        if actual_type != upload.declared_type:
            raise ApiError(415, ERR.content_type_mismatch,
                           f"the bytes are {actual_type} but Content-Type says {upload.declared_type}")
        return await run_in_threadpool(
            _store, db, root, tmp, scan_id, claim_id, upload.doc_code, sha, size, actual_type, caller)
    finally:
        tmp.unlink(missing_ok=True)  # moved into place when stored; otherwise dropped


__all__ = ["MAX_SCAN_BYTES", "PERSONAL_DATA_ROLES", "router", "scan_dir"]


