"""The claim's routes outside the sync feed: its document scans (personal data,
sync_server.claims.scans), the office's search for a person by ID number
(sync_server.claims.persons) and the amount a claim may be paid under the programme's caps
(sync_server.events.caps)."""
from __future__ import annotations

import logging
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from claimcore import entities, validators
from claimcore.filetypes import SCAN_TYPES

from ..audit import service as audit_service
from ..core import domain
from ..core.auth import CallerDep, DbDep, refuse
from ..core.changelog import claim_visible
from ..core.errors import not_found
from ..core.models import Claim
from ..core.schemas import AUTH, E401, E422, JSON_BODY, UUID_PATTERN, StorableText, _err
from ..events import caps as events_caps
from . import persons
from . import scans as claims_scans

log = logging.getLogger("sync_server.access")
router = APIRouter()


class PoolShareOut(BaseModel):
    cap_fen: int
    total_fen: int = Field(description="the pool's amounts before the cap (a year's: after its events' reductions)")
    over: bool
    ratio: str = Field(description="cap / total, rounded down, e.g. \"75.00%\"; \"100.00%\" within the cap")
    share_fen: int = Field(description="this claim's pro-rata share: adjusted × cap / total, rounded down")
    left_fen: int = Field(description="what the cap has left after the payments to the pool's other claims")
    payable_fen: int


class PayableOut(BaseModel):
    claim_id: str
    adjusted_fen: int | None
    payable_fen: int | None = Field(description="the most this claim may be paid now; null before adjustment")
    reduced: bool
    policy_year: int | None
    event: PoolShareOut | None = Field(description="the claim's event, when it is in one")
    year: PoolShareOut | None
    explain_zh: str
    explain_en: str
    source_zh: str = Field(description="where the caps come from (the agreement year, provisional or not)")
    source_en: str
    provisional: bool | None


@router.get("/api/v1/claims/{claim_id}/payable", response_model=PayableOut, tags=["claims"],
            responses={**AUTH, **E422, 404: _err("not_found: no such claim, or out of scope (identical answers)")})
def get_payable(claim_id: Annotated[str, Path(max_length=64)], caller: CallerDep, db: DbDep,
                request: Request) -> dict:
    """The claim's payable amount under the per-event and per-year caps (pro rata when a pool's
    adjusted amounts exceed its cap), with the reduction ratio and the caps' source."""
    with db.read() as session:
        claim = session.get(Claim, claim_id)
        if claim is None or not claim_visible(session, caller.user, claim_id):
            raise not_found()
        answer = events_caps.payable(session, claim)
        if answer is not None:
            return answer.as_dict()
        from claimcore.agreement import terms_on

        terms = terms_on(claim.incident_at)
        return {"claim_id": claim_id, "adjusted_fen": None, "payable_fen": None, "reduced": False,
                "policy_year": terms.year, "event": None, "year": None, "explain_zh": "", "explain_en": "",
                "source_zh": terms.source_text("zh"), "source_en": terms.source_text("en"),
                "provisional": terms.agreement.provisional}


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


@router.put(
    claims_scans.SCAN_PATH,
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
    upload = claims_scans.upload_of(claim_id, scan_id, request.headers)
    status, row = await claims_scans.receive(db, caller, claims_scans.scan_dir(request), upload, request.stream())
    return JSONResponse(row, status_code=status)


@router.get(
    claims_scans.SCAN_PATH,
    tags=["scans"],
    summary="Download a document scan (personal data; only over TLS)",
    response_class=Response,
    responses={
        **E401,
        **E422,
        200: {"description": "the scan's bytes, with the content type it was stored with",
              "content": {t: _BINARY for t in SCAN_TYPES}},
        404: _SCOPE_404,
    },
)
def get_scan(claim_id: ClaimIdPath, scan_id: ScanIdPath, caller: CallerDep, db: DbDep,
             request: Request) -> Response:
    """A stored scan's bytes. Scope: coordinator, adjuster, the liaison of the claim's township;
    never surveyors. Unknown, out of scope and another claim's scan: the same 404."""
    if not (claims_scans._UUID.match(claim_id) and claims_scans._UUID.match(scan_id)):
        raise not_found()
    if not claims_scans._may_see(db, caller, claim_id):
        refuse(caller, "scan_out_of_scope", claims_scans.SCAN_PATH, claim_id=claim_id)
        raise not_found()
    row = claims_scans._existing(db, scan_id)
    if row is None or row.claim_id != claim_id:
        raise not_found()
    path = claims_scans._final_path(claims_scans.scan_dir(request), row.id, row.sha256)
    if not path.is_file():
        log.error("scan file missing scan=%s", row.id)
        raise not_found()
    content = claims_scans.read_scan(db, path, row.id)
    audit_service.download(db, caller, "scan", row.id, [claim_id])  # who took which claim's ID papers
    return Response(content, media_type=row.content_type,
                    headers={"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff",
                             "X-Scan-SHA256": row.sha256})


class PersonSearchIn(StorableText):
    id_number: str = Field(min_length=1, max_length=40,
                           description="the document's number (spaces and dashes are ignored); a resident ID "
                                       "number has 18 characters")
    id_type: Literal[entities.ID_TYPES] = Field(  # type: ignore[valid-type]
        default=validators.DEFAULT_ID_TYPE,
        description="the identity document the number is of (the record contract's id_types)")


class PersonMatch(BaseModel):
    claim_id: str
    person_id: str
    role_in_claim: str | None


class PersonSearchOut(BaseModel):
    matches: list[PersonMatch]


@router.post(
    "/api/v1/persons/search",
    response_model=PersonSearchOut,
    tags=["persons"],
    responses={
        **JSON_BODY,
        **E401,
        403: _err("forbidden: only adjusters and the coordinator"),
        422: _err("invalid_request, invalid_text, invalid_id_number: the body does not have the documented "
                  "shape (see detail, also for an unknown id_type), text holding NUL or an unpaired surrogate, "
                  "or not a valid number of that document type"),
    },
)
def search_persons(body: PersonSearchIn, caller: CallerDep, db: DbDep, request: Request) -> dict:
    return {"matches": persons.search(db, caller, request.url.path, body.id_number, body.id_type)}


