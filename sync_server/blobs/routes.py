"""Photo bytes, named by their SHA-256: which ones a device must still send, the resumable upload
(HEAD and PATCH with Upload-Offset/Upload-Length) and the download. Who may name and read a blob is
sync_server.blobs.provenance; the upload's steps are sync_server.blobs.service."""
from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Header, Path, Request
from fastapi.responses import FileResponse, Response
from pydantic import BaseModel, Field, StringConstraints

from ..audit import service as audit_service
from ..core.auth import CallerDep, DbDep, refuse
from ..core.errors import not_found
from ..core.schemas import E401, E422, JSON_BODY, SHA256_PATTERN, _err
from ..sync.policy import SHA256_RE
from . import provenance
from . import service as blobs_service
from .store import BlobStore

log = logging.getLogger("sync_server.access")

router = APIRouter()



class MissingIn(BaseModel):
    sha256: list[Annotated[str, StringConstraints(pattern=SHA256_PATTERN)]] = Field(
        max_length=1000, description="64 lower-case hex digits each, at most 1000")


class MissingOut(BaseModel):
    missing: list[str]


# Blob names: the pattern is documented, the routes check it themselves (HEAD and PATCH answer
# 400 invalid_sha256, GET answers 404 like any blob the caller may not see).
Sha256Path = Annotated[str, Path(description="64 lower-case hex digits", json_schema_extra={"pattern": SHA256_PATTERN})]


@router.post("/api/v1/blobs/missing", response_model=MissingOut, tags=["blobs"],
             responses={**JSON_BODY, **E401})
def blobs_missing(body: MissingIn, caller: CallerDep, db: DbDep, request: Request) -> dict:
    """The hashes this device must upload: those not on the server, and those it may not name
    (neither sent by it nor part of a record its user may see); both look the same."""
    # The names' shape and the 1000 cap are checked by MissingIn (422 invalid_request).
    store: BlobStore = request.app.state.blobs
    wanted = list(dict.fromkeys(body.sha256))
    stored = [h for h in wanted if store.exists(h)]
    with db.read() as session:
        known = provenance.known_hashes(session, caller.user, caller.device.id, stored)
    return {"missing": [h for h in wanted if h not in known]}


@router.head("/api/v1/blobs/{sha256}", tags=["blobs"], status_code=200, response_class=Response,
             responses={**E401, **E422,
                        200: {"description": "Upload-Offset: bytes durably held (and Upload-Length when complete)",
                              "headers": {"Upload-Offset": {"schema": {"type": "string", "pattern": "^[0-9]+$"}},
                                          "Upload-Length": {"schema": {"type": "string", "pattern": "^[0-9]+$"}}}},
                        400: _err("invalid_sha256: the name is not 64 lower-case hex digits")})
def blob_head(sha256: Sha256Path, caller: CallerDep, db: DbDep, request: Request) -> Response:
    blobs_service._check_sha(sha256)
    store: BlobStore = request.app.state.blobs
    size = store.size(sha256)
    if size is not None and blobs_service._known(db, caller, sha256):
        headers = {"Upload-Offset": str(size), "Upload-Length": str(size)}
    else:
        # Not on the server, or not this device's to name: the same answer (what this device
        # itself has sent so far), so a hash cannot be probed for a photo's existence.
        headers = {"Upload-Offset": str(store.partial_offset(sha256, caller.device.id))}
    headers["Cache-Control"] = "no-store"
    return Response(status_code=200, headers=headers)


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
        413: _err("blob_too_large, body_too_large, upload_quota: Upload-Length over DAZU_MAX_BLOB_BYTES, the body runs past "
                  "Upload-Length, or this device's unfinished uploads would hold over DAZU_UPLOAD_QUOTA_BYTES"),
        422: _err("sha256_mismatch: complete but the bytes did not hash to the name; discarded (offset 0)"),
    },
    openapi_extra={"requestBody": {"content": {"application/offset+octet-stream": {"schema": {"type": "string", "format": "binary"}}}, "required": True}},
)
async def blob_patch(
    sha256: Sha256Path,
    request: Request,
    caller: CallerDep,
    # Required and digits-only in the schema; a missing or malformed one is answered 400
    # missing_header (sync_server.core.errors maps header validation errors to that code).
    upload_offset: Annotated[str, Header(alias="Upload-Offset", pattern=r"^[0-9]+$", max_length=40,
                                         description="where this body starts")],
    upload_length: Annotated[str, Header(alias="Upload-Length", pattern=r"^[0-9]+$", max_length=40,
                                         description="the blob's total size")],
) -> Response:
    blobs_service._check_sha(sha256)
    offset = blobs_service._int_header(upload_offset, "Upload-Offset")
    length = blobs_service._int_header(upload_length, "Upload-Length")
    headers = await blobs_service.append(
        request.app.state.blobs, request.app.state.db, request.app.state.settings, caller, sha256,
        offset, length, request.headers.get("content-length"), request.stream())
    return Response(status_code=204, headers=headers)


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
        # A reference the caller may see, never the hash alone (nor a receipt of another insurer).
        allowed = provenance.downloadable(session, caller.user, sha256)
        claim_ids = audit_service.blob_claims(session, sha256) if allowed else []
    if not allowed:
        refuse(caller, "blob_out_of_scope", "/api/v1/blobs/{sha256}", object_kind="blob", object_ids=[sha256])
        raise not_found()
    audit_service.download(db, caller, "photo", sha256, claim_ids)
    with open(store.final_path(sha256), "rb") as f:
        magic = f.read(3)
    media = "image/jpeg" if magic == b"\xff\xd8\xff" else "application/octet-stream"
    return FileResponse(store.final_path(sha256), media_type=media,
                        headers={"Cache-Control": "private, max-age=31536000, immutable",
                                 "X-Content-Type-Options": "nosniff"})


