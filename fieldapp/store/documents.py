"""Checklist items of a claim and their scanned papers (sealed files under scans/)."""
from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from claimcore import document_rules, entities
from claimcore.filetypes import ScanError, check_scan

from . import contract
from ._base import (
    NotFoundError,
    StoreValidationError,
    new_id,
    now_iso,
)
from .crypto import FieldCipher, aad_for
from .db import Repo
from .outbox import record_mutation
from .records import (
    DocumentRecord,
    ScanUploadItem,
)
from .schema import (
    Claim,
    Document,
    Scan,
)

_DOC_NAMESPACE = uuid.UUID("4f6a2b8e-1d3c-4e5f-9a7b-0c1d2e3f4a5b")


def document_id(claim_id: str, doc_code: str) -> str:
    """Deterministic, so two phones marking the same checklist item address the same record."""
    return str(uuid.uuid5(_DOC_NAMESPACE, f"{claim_id}/{doc_code}"))


def scan_path(data_dir: Path, scan_id: str) -> Path:
    """Where a scan's sealed file lives under the store's folder."""
    uuid.UUID(scan_id)  # never a path from outside
    return data_dir / "scans" / f"{scan_id}.bin"


def document_record(d: Document) -> DocumentRecord:
    return DocumentRecord(d.id, d.claim_id, d.code, d.status, d.note, d.scan_ref, d.updated_by,
                          d.updated_at, d.version)


_UNSET: Any = object()


class DocumentsRepo(Repo):
    """Checklist items of a claim (one record per claim and document code) and their scans."""

    def set_status(self, claim_id: str, code: str, status: str, *, note: str | None = _UNSET,
                   user: str | None = None) -> DocumentRecord:
        checked = contract.check("document", {"code": code, "status": status,
                                              **({} if note is _UNSET else {"note": note})}, creating=True,
                                 role=self._db.writer_role)
        code = checked["code"]
        if note is not _UNSET:
            note = checked["note"]
        with self._db.write() as session:
            claim = self._claim(session, claim_id)
            return _set_document(session, self._c, claim, code,
                                 {"status": status, **({} if note is _UNSET else {"note": note})}, user,
                                 role=self._db.writer_role)

    def attach_scan(self, claim_id: str, doc_code: str, data: bytes, *, user: str | None = None) -> str:
        """Store a scanned paper ENCRYPTED under scans/ and link it to the checklist item (status
        becomes ``collected`` if it was missing). Returns the scan id.

        Only JPEG, PNG, HEIC and PDF files up to ``claimcore.filetypes.MAX_SCAN_BYTES`` are
        accepted, judged by their bytes (``claimcore.filetypes.check_scan``, the rule the server
        applies too); anything else is refused with a StoreValidationError. The content type
        stored is the one the bytes show, whatever the file was called."""
        if not isinstance(data, (bytes, bytearray)) or not data:
            raise StoreValidationError("error.store.scan_empty")
        role = self._db.writer_role
        if role is not None and role not in entities.FILE_ROLES:
            # Scans are victims' personal data: the server takes them only from the roles that
            # handle a claim's files, so a co-insurer's phone must not hold one it can never send.
            raise StoreValidationError("error.store.scan_not_for_surveyors")
        doc_code = contract.check("document", {"code": doc_code})["code"]
        try:
            content_type = check_scan(data)
        except ScanError as exc:
            raise StoreValidationError.refused_by(exc) from None
        scan_id = new_id()
        path = scan_path(self._db.data_dir, scan_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        with open(tmp, "wb") as f:
            f.write(self._c.seal_bytes(bytes(data), aad_for("scans", "file", scan_id)))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        try:
            with self._db.write() as session:
                claim = self._claim(session, claim_id)
                session.add(Scan(id=scan_id, claim_id=claim_id, doc_code=doc_code,
                                 sha256=hashlib.sha256(data).hexdigest(), byte_size=len(data),
                                 content_type=content_type, created_at=now_iso(), uploaded=False))
                existing = session.get(Document, document_id(claim_id, doc_code))
                changes: dict[str, Any] = {"scan_ref": scan_id}
                if existing is None or existing.status == "missing":
                    changes["status"] = "collected"
                _set_document(session, self._c, claim, doc_code, changes, user, role=role)
        except BaseException:
            path.unlink(missing_ok=True)  # the record was not written: no orphan file
            raise
        return scan_id

    def read_scan(self, scan_id: str) -> bytes:
        try:
            sealed = scan_path(self._db.data_dir, scan_id).read_bytes()
        except FileNotFoundError:
            raise NotFoundError("scan", scan_id) from None
        return self._c.open_bytes(sealed, aad_for("scans", "file", scan_id))

    def pending_scan_uploads(self) -> list[ScanUploadItem]:
        with self._db.read() as session:
            rows = session.scalars(select(Scan).where(Scan.uploaded.is_(False)).order_by(Scan.created_at)).all()
            return [ScanUploadItem(s.id, s.claim_id, s.doc_code, s.sha256, s.byte_size, s.content_type)
                    for s in rows]

    def mark_scan_uploaded(self, scan_id: str) -> None:
        with self._db.write() as session:
            scan = session.get(Scan, scan_id)
            if scan is None:
                raise NotFoundError("scan", scan_id)
            scan.uploaded = True

    def list_for_claim(self, claim_id: str) -> list[DocumentRecord]:
        with self._db.read() as session:
            rows = session.scalars(select(Document).where(Document.claim_id == claim_id)
                                   .order_by(Document.code)).all()
            return [document_record(d) for d in rows]


def _set_document(session: Session, cipher: FieldCipher, claim: Claim, code: str,
                  changes: dict[str, Any], user: str | None, *, role: str | None) -> DocumentRecord:
    """Write a checklist item. A change (not a repeat of what is stored) is checked against
    claimcore.document_rules: past collection, only the offices change the checklist, as the
    server's push path decides."""
    claim_id = claim.id
    doc_id = document_id(claim_id, code)
    doc = session.get(Document, doc_id)
    stamp = now_iso()
    if doc is None:
        doc = Document(id=doc_id, claim_id=claim_id, code=code, status="missing", note=None,
                       scan_ref=None, updated_by=user, updated_at=stamp, version=None)
        session.add(doc)
        changed = {"claim_id": claim_id, "code": code, **changes}
    else:
        changed = {k: v for k, v in changes.items() if getattr(doc, k) != v}
        if not changed:
            return document_record(doc)
        changed = {"claim_id": claim_id, "code": code, **changed}
    try:
        document_rules.check_document_change(claim.status, role)
    except document_rules.DocumentsClosed as exc:
        raise StoreValidationError.refused_by(exc) from None
    for k, v in changes.items():
        setattr(doc, k, v)
    doc.updated_by = user
    doc.updated_at = stamp
    record_mutation(session, cipher, "document", doc_id, {**changed, "updated_by": user},
                    base_version=doc.version)
    return document_record(doc)
