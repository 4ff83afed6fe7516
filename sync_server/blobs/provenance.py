"""Evidence by provenance: who may name, see and download a blob (a photo, a preview, a receipt).

A blob is named by its SHA-256, and a hash is no secret: it travels in pulled records, in notes
("[cost] ... receipt:HASH"), in the fund's entry list. So knowing a hash grants nothing:

* A device may **reference** a blob (a photo record's ``sha256``/``preview_sha256``, a cost's
  receipt) only when it sent those bytes in full itself (``blob_uploads``), or when the blob
  already belongs to a record its user may see. Otherwise a photo record is still kept (a phone
  pushes its records before or while it uploads their bytes), but its reference waits in
  ``pending_blob_refs`` and grants nothing until that device completes an upload of the bytes;
  a cost is refused with ``receipt_not_uploaded``, exactly as for a receipt not on the server.
* ``HEAD /blobs/{sha}`` and ``POST /blobs/missing`` answer a blob the device may not reference
  exactly like a missing one, so the device uploads it (storage still deduplicates).
* A download needs a reference the caller may see. A receipt's reference is seen by the office
  and, when the cost is charged to an insurer, by that insurer's surveyors: never by everyone
  (a receipt with no insurer is the office's only).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, select, text
from sqlalchemy.orm import Session

from ..core.changelog import OFFICE_ROLES, row_visible
from ..core.db import dialect_insert, insert_new
from ..core.models import User, utcnow
from .models import Blob, BlobRef, BlobUpload, PendingBlobRef

# Entities whose references are the work fund's receipts (not a claim's evidence).
RECEIPT_ENTITIES = frozenset({"cost"})


def ref_visible(session: Session, user: User, ref: BlobRef) -> bool:
    """May ``user`` see the record behind this reference (and so the blob)?"""
    if user.role in OFFICE_ROLES:
        return True
    if ref.entity in RECEIPT_ENTITIES:
        # A receipt is the office's and the charged insurer's: a receipt with no insurer is not
        # public (row_visible would call a row without claim and insurer public).
        return ref.insurer_code is not None and user.role == "surveyor" and user.insurer_code == ref.insurer_code
    if ref.claim_id is None and ref.insurer_code is None:
        return False  # a reference to nothing in particular grants nothing
    if user.role == "surveyor":
        from ..claims.survey_access import record_visible_to_surveyor

        # A photo of a victim's paper (an ID card...) is not served to surveyors (survey_access).
        if not record_visible_to_surveyor(session, ref.entity, ref.entity_id):
            return False
    return row_visible(session, user, ref.claim_id, ref.insurer_code)


def downloadable(session: Session, user: User, sha256: str) -> bool:
    refs = session.execute(select(BlobRef).where(BlobRef.sha256 == sha256)).scalars().all()
    return any(ref_visible(session, user, r) for r in refs)


_LOCK_SPACE = 4207  # advisory locks (classid, objid) of blob provenance; other locks use one bigint


def _take_turns(session: Session, sha256: str, *, upload: bool) -> None:
    """A push naming a blob and the upload completing it take turns on PostgreSQL.

    Otherwise both may run at once: the push finds no upload yet and parks its reference, the
    upload (committing first) finds no parked reference yet, and the photo stays unreadable for
    good. Pushes share the lock (they never wait for one another, so they cannot deadlock); an
    upload takes it alone and holds nothing else. SQLite runs one writer at a time anyway."""
    if session.get_bind().dialect.name != "postgresql":
        return
    objid = int(sha256[:8], 16) - 2**31  # a signed 32-bit key; a shared one only costs a wait
    lock = "pg_advisory_xact_lock" if upload else "pg_advisory_xact_lock_shared"
    session.execute(text(f"SELECT {lock}(:space, :objid)"), {"space": _LOCK_SPACE, "objid": objid})


def uploaded_by(session: Session, sha256: str, device_id: str) -> bool:
    return session.get(BlobUpload, (sha256, device_id)) is not None


def may_reference(session: Session, user: User, device_id: str, sha256: str) -> bool:
    """Did this device send these bytes, or does the blob belong to a record the user may see?"""
    return uploaded_by(session, sha256, device_id) or downloadable(session, user, sha256)


def known_hashes(session: Session, user: User, device_id: str, hashes: list[str]) -> set[str]:
    """The hashes of ``hashes`` this device may reference (a few queries, not one per hash)."""
    if not hashes:
        return set()
    known: set[str] = set()
    for start in range(0, len(hashes), 500):
        chunk = hashes[start:start + 500]
        known.update(session.execute(select(BlobUpload.sha256).where(
            BlobUpload.sha256.in_(chunk), BlobUpload.device_id == device_id)).scalars())
        rest = [h for h in chunk if h not in known]
        if not rest:
            continue
        refs = session.execute(select(BlobRef).where(BlobRef.sha256.in_(rest))).scalars().all()
        for r in refs:
            if r.sha256 not in known and ref_visible(session, user, r):
                known.add(r.sha256)
    return known


@dataclass
class Batch:
    """What ``reference`` reads, read once for the photos of a push applied as one unit: of the
    hashes and records read (``hashes``, ``ids``), those the device may reference and the
    references waiting (kept up to date as the batch parks more)."""

    hashes: frozenset[str]
    ids: frozenset[str]
    known: frozenset[str]
    waiting: set[tuple[str, str, str]]
    referenced: set[tuple[str, str, str]]  # the references that count already (kept up to date too)
    # New references (counted, waiting) as rows, written by write_batch with the batch's records.
    new_refs: list[dict[str, Any]] = field(default_factory=list)
    new_waiting: list[dict[str, Any]] = field(default_factory=list)

    def unwritten(self) -> bool:
        return bool(self.new_refs or self.new_waiting)


def write_batch(session: Session, batch: Batch) -> None:
    """The batch's new references, one executemany per table."""
    for table, waiting in ((BlobRef.__table__, batch.new_refs), (PendingBlobRef.__table__, batch.new_waiting)):
        rows = list(waiting)
        waiting.clear()  # before the statement: the batch's statement hook asks whether any are left
        if rows:
            session.execute(table.insert(), rows)


def read_batch(session: Session, user: User, device_id: str, refs: list[tuple[str, str, str]]) -> Batch:
    """``refs``: (sha256, entity, entity_id) the batch will reference. Every hash's turn is taken
    first (in hash order), as ``reference`` takes it, so an upload completing now is seen."""
    hashes = sorted({sha for sha, _, _ in refs})
    for sha in hashes:
        _take_turns(session, sha, upload=False)
    waiting: set[tuple[str, str, str]] = set()
    referenced: set[tuple[str, str, str]] = set()
    ids = sorted({entity_id for _, _, entity_id in refs})
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        waiting.update(tuple(row) for row in session.execute(
            select(PendingBlobRef.sha256, PendingBlobRef.entity, PendingBlobRef.entity_id)
            .where(PendingBlobRef.entity_id.in_(chunk))))
        referenced.update(tuple(row) for row in session.execute(
            select(BlobRef.sha256, BlobRef.entity, BlobRef.entity_id).where(BlobRef.entity_id.in_(chunk))))
    return Batch(frozenset(hashes), frozenset(ids), frozenset(known_hashes(session, user, device_id, hashes)),
                 waiting, referenced)


def reference(session: Session, user: User, device_id: str, sha256: str, entity: str, entity_id: str, *,
              claim_id: str | None = None, insurer_code: str | None = None, batch: Batch | None = None) -> bool:
    """Declare that a record names a blob. Returns True when the reference counts now (it grants
    downloads); False when it waits for this device to upload the bytes. ``batch``: read_batch's
    answers for a whole push (what the queries here would find)."""
    if batch is not None and sha256 in batch.hashes:
        counts = sha256 in batch.known  # read_batch took this hash's turn
    else:
        _take_turns(session, sha256, upload=False)
        counts = may_reference(session, user, device_id, sha256)
    key = (sha256, entity, entity_id)
    if batch is not None and entity_id in batch.ids:
        # Rows for the batch to write with its new records (the batch knows what is there).
        if counts and key not in batch.referenced:
            batch.referenced.add(key)
            batch.new_refs.append({"sha256": sha256, "entity": entity, "entity_id": entity_id,
                                   "claim_id": claim_id, "insurer_code": insurer_code})
        elif not counts and key not in batch.waiting:
            batch.waiting.add(key)
            batch.new_waiting.append({"sha256": sha256, "device_id": device_id, "entity": entity,
                                      "entity_id": entity_id, "claim_id": claim_id, "insurer_code": insurer_code,
                                      "created_at": utcnow()})
        return counts
    if counts:
        add_blob_ref(session, sha256, entity, entity_id, claim_id=claim_id, insurer_code=insurer_code)
        return True
    if session.execute(select(PendingBlobRef.id).where(
            PendingBlobRef.sha256 == sha256, PendingBlobRef.entity == entity, PendingBlobRef.entity_id == entity_id)
    ).first() is None:
        session.add(PendingBlobRef(sha256=sha256, device_id=device_id, entity=entity, entity_id=entity_id,
                                   claim_id=claim_id, insurer_code=insurer_code))
    return False


def record_upload(session: Session, sha256: str, size: int, device_id: str, user_id: str) -> None:
    """A device sent a blob's bytes in full and they hashed to its name: remember it, and let the
    records this device pushed before the bytes arrived reference the blob now. Rows another
    device (or another upload of this one) wrote at the same moment are left as they are."""
    _take_turns(session, sha256, upload=True)
    now = utcnow()
    insert_new(session, Blob.__table__, [{"sha256": sha256, "size": size, "created_at": now}])
    insert_new(session, BlobUpload.__table__, [{"sha256": sha256, "device_id": device_id, "user_id": user_id,
                                                "created_at": now}])
    # The waiting references move inside the database (no push can park another meanwhile: the
    # upload holds this hash's turn, and SQLite has one writer).
    mine = {"sha256": sha256, "device_id": device_id}
    session.execute(_move_waiting(session.get_bind().dialect.name), mine)
    session.execute(_DROP_WAITING, mine)


_PENDING = PendingBlobRef.__table__
_WAITING = (_PENDING.c.sha256 == bindparam("sha256"), _PENDING.c.device_id == bindparam("device_id"))
_DROP_WAITING = _PENDING.delete().where(*_WAITING)


@functools.cache
def _move_waiting(dialect: str):  # noqa: ANN202 - an Insert
    moved = ("sha256", "entity", "entity_id", "claim_id", "insurer_code")
    return dialect_insert(dialect, BlobRef.__table__).from_select(
        moved, select(*(_PENDING.c[name] for name in moved)).where(*_WAITING)).on_conflict_do_nothing()


def add_blob_ref(session: Session, sha256: str, entity: str, entity_id: str, *, claim_id: str | None = None,
                 insurer_code: str | None = None) -> None:
    """Declare that a record (or a fund entry) references a blob; GET /blobs/{sha256} checks these
    for scope."""
    if session.execute(select(BlobRef.id).where(
            BlobRef.sha256 == sha256, BlobRef.entity == entity, BlobRef.entity_id == entity_id)).first() is None:
        session.add(BlobRef(sha256=sha256, entity=entity, entity_id=entity_id, claim_id=claim_id,
                            insurer_code=insurer_code))
