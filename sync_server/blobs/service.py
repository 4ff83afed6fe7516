"""The resumable upload of a photo's bytes and who may name a blob: a device appends to its own
partial upload until the bytes hash to the name; only then does the blob count as its (provenance),
so a hash alone never reveals or grants another device's photo."""
from __future__ import annotations

import logging
import os
import re
from collections.abc import AsyncIterator

from fastapi.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from ..core.auth import Caller
from ..core.db import Database
from ..core.error_codes import ERR
from ..core.errors import ApiError
from ..core.settings import Settings
from ..sync.policy import SHA256_RE
from . import provenance
from .store import BlobStore, UploadBusy

log = logging.getLogger("sync_server.access")


def _known(db: Database, caller: Caller, sha256: str) -> bool:
    """May this device name the blob (it sent the bytes, or a record its user sees holds them)?"""
    with db.read() as session:
        return provenance.may_reference(session, caller.user, caller.device.id, sha256)


def _check_sha(sha256: str) -> None:
    if not SHA256_RE.match(sha256):
        raise ApiError(400, ERR.invalid_sha256, "blob names are 64 lower-case hex digits")


_DIGITS = re.compile(r"[0-9]{1,40}\Z")  # ASCII only: str.isdigit() also accepts "²" and "١", which int() then refuses or misreads


def _int_header(value: str | None, name: str) -> int:
    if value is None or not _DIGITS.match(value):
        raise ApiError(400, ERR.missing_header, f"header {name} must be a non-negative integer")
    return int(value)


def _complete(store: BlobStore, db: Database, sha256: str, length: int, caller: Caller) -> bool:
    """The last bytes arrived: verify them against the name (``store.complete`` fsyncs them first,
    so the PATCH itself does not) and, when they match, record the blob, this device's upload and
    the references its records made before the bytes arrived. One worker-thread hop for all of it."""
    if not store.complete(sha256, caller.device.id):
        return False
    with db.write() as session:
        provenance.record_upload(session, sha256, length, caller.device.id, caller.user.id)
    return True


async def append(store: BlobStore, db: Database, settings: Settings, caller: Caller, sha256: str, offset: int,
                 length: int, declared: str | None, chunks: AsyncIterator[bytes]) -> dict[str, str]:
    """One PATCH of a resumable upload: append ``chunks`` at ``offset`` to this device's partial
    upload of the blob of ``length`` bytes (``declared``: the request's Content-Length, if any).
    Returns the answer's headers (Upload-Offset, and Upload-Length once the blob is complete);
    refusals are ApiErrors that carry where to resume."""
    if length > settings.max_blob_bytes:
        raise ApiError(413, ERR.blob_too_large, f"blobs are at most {settings.max_blob_bytes} bytes")
    if declared is not None and _DIGITS.match(declared) and offset + int(declared) > length:
        raise ApiError(413, ERR.body_too_large, "body runs past Upload-Length")

    device = caller.device.id
    size = store.size(sha256)
    if size is not None and await run_in_threadpool(_known, db, caller, sha256):
        return {"Upload-Offset": str(size), "Upload-Length": str(size)}
    # Otherwise the device sends the bytes, into its own partial upload, whether or not the server
    # holds them already: it learns nothing about other devices' blobs until its own bytes hash
    # to the name, and then it has shown it holds the photo (complete() keeps one copy).
    # Listed here, not in a worker thread: the folder holds unfinished uploads only (a finished
    # one takes its lock file with it), and a thread hop costs more CPU than listing it.
    held = store.partial_bytes(device)
    others = sum(n for h, n in held.items() if h != sha256)
    if others + length > settings.upload_quota_bytes:
        raise ApiError(413, ERR.upload_quota,
                       f"this device's unfinished uploads may hold at most {settings.upload_quota_bytes} bytes; "
                       "finish or abandon the others first",
                       headers={"Upload-Offset": str(held.get(sha256, 0))}, offset=held.get(sha256, 0))
    try:
        with store.upload_lock(sha256, device):
            current = store.partial_offset(sha256, device)
            if offset != current:
                raise ApiError(409, ERR.offset_mismatch, f"the server holds {current} bytes",
                               headers={"Upload-Offset": str(current)}, offset=current)
            written = 0
            too_long = False
            with store.open_append(sha256, device) as f:
                try:
                    async for chunk in chunks:
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
                new_offset = offset + written
                if too_long or new_offset != length:
                    # Durable before the offset is reported (the last PATCH's bytes: _complete).
                    await run_in_threadpool(os.fsync, f.fileno())
            if too_long:
                # The whole request's bytes go; what was held before it stays.
                await run_in_threadpool(store.truncate_partial, sha256, device, offset)
                raise ApiError(413, ERR.body_too_large, "body runs past Upload-Length",
                               headers={"Upload-Offset": str(offset)})
            if new_offset == length:
                if not await run_in_threadpool(_complete, store, db, sha256, length, caller):
                    log.info("refused reason=sha256_mismatch device=%s", caller.device.id)
                    raise ApiError(422, ERR.sha256_mismatch,
                                   "the bytes do not hash to this name; the upload was discarded, start again at 0",
                                   headers={"Upload-Offset": "0"}, offset=0)
                return {"Upload-Offset": str(length), "Upload-Length": str(length)}
            return {"Upload-Offset": str(new_offset)}
    except UploadBusy:
        current = store.partial_offset(sha256, device)
        raise ApiError(409, ERR.upload_in_progress, "another upload of this blob is running",
                       headers={"Upload-Offset": str(current)}, offset=current) from None
