"""Tables of the phone's database (schema version 5), as SQLAlchemy 2 typed mappings.

Conventions: ids are UUID4 strings made where the record is created; times are UTC ISO-8601 strings
of fixed width (``2026-07-01T08:30:00.000000+00:00``) so that text order is time order; money is
integer fen; ``version`` is the server's version of the record (None until the server has it).
Columns ending in ``_enc`` hold AES-GCM sealed values (see crypto.py), never plaintext.

Changing a table here means adding an upgrade step in upgrade.py (and bumping SCHEMA_VERSION); the
test suite compares a database upgraded from v1 with one created fresh from these mappings.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

SCHEMA_VERSION = 5


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON, str: String, bytes: LargeBinary}


def _claim_fk() -> ForeignKey:
    return ForeignKey("claims.id", ondelete="CASCADE")


class Claim(Base):
    __tablename__ = "claims"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    report_no: Mapped[str] = mapped_column(String(32), unique=True)
    coverage: Mapped[str] = mapped_column(String(32))
    catalogue_version: Mapped[str | None] = mapped_column(String(32))
    township_code: Mapped[str | None] = mapped_column(String(12))
    village_code: Mapped[str | None] = mapped_column(String(15))
    incident_at: Mapped[str | None] = mapped_column(String(32))
    address: Mapped[str | None] = mapped_column(Text)
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    description: Mapped[str | None] = mapped_column(Text)
    loss_types: Mapped[list[Any]] = mapped_column(JSON)
    claimed_amount_fen: Mapped[int | None] = mapped_column(Integer)
    adjusted_amount_fen: Mapped[int | None] = mapped_column(Integer)
    paid_amount_fen: Mapped[int | None] = mapped_column(Integer)
    # v4: the loss inventory, the adjustment's reason and the payment (claimcore.amounts).
    loss_items: Mapped[list[Any] | None] = mapped_column(JSON)
    adjusted_reason: Mapped[str | None] = mapped_column(Text)
    paid_on: Mapped[str | None] = mapped_column(String(10))
    payee_person_id: Mapped[str | None] = mapped_column(String(36))
    transfer_ref: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(24))
    event_id: Mapped[str | None] = mapped_column(String(36))
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[str] = mapped_column(String(32))
    updated_at: Mapped[str] = mapped_column(String(32))
    version: Mapped[int | None] = mapped_column(Integer)
    is_draft: Mapped[bool] = mapped_column(Boolean)

    __table_args__ = (
        # The claims list: newest first, keyset-paged on (created_at, id).
        Index("ix_claims_newest", "created_at", "id"),
        Index("ix_claims_township", "township_code", "created_at"),
        Index("ix_claims_status", "status", "created_at"),
        Index("ix_claims_event", "event_id"),
    )


class Person(Base):
    __tablename__ = "persons"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    claim_id: Mapped[str] = mapped_column(String(36), _claim_fk())
    role_in_claim: Mapped[str] = mapped_column(String(16))  # claimcore.entities.PERSON_ROLES
    relation: Mapped[str | None] = mapped_column(String(32))  # to the victim: self, spouse, child ...
    name: Mapped[str | None] = mapped_column(String(64))
    # v5: the identity document the number is of (claimcore.entities.ID_TYPES); NULL: a resident ID.
    id_type: Mapped[str | None] = mapped_column(String(32))
    id_number_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    phone_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    bank_card_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    bank_name: Mapped[str | None] = mapped_column(String(64))
    medical_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[str] = mapped_column(String(32))
    updated_at: Mapped[str] = mapped_column(String(32))
    version: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (Index("ix_persons_claim", "claim_id", "role_in_claim"),)


class Document(Base):
    """The status of one checklist item of one claim."""

    __tablename__ = "documents"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    claim_id: Mapped[str] = mapped_column(String(36), _claim_fk())
    code: Mapped[str] = mapped_column(String(48))
    status: Mapped[str] = mapped_column(String(16))  # missing | collected | verified | not_applicable
    note: Mapped[str | None] = mapped_column(Text)
    scan_ref: Mapped[str | None] = mapped_column(String(36))
    updated_by: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[str] = mapped_column(String(32))
    version: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (UniqueConstraint("claim_id", "code", name="uq_documents_claim_doc"),)


class Scan(Base):
    """A scanned paper (ID card, bank card, medical record): an encrypted file under scans/."""

    __tablename__ = "scans"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    claim_id: Mapped[str] = mapped_column(String(36), _claim_fk())
    doc_code: Mapped[str] = mapped_column(String(48))
    sha256: Mapped[str] = mapped_column(String(64))  # of the plaintext
    byte_size: Mapped[int] = mapped_column(Integer)
    content_type: Mapped[str] = mapped_column(String(48))
    created_at: Mapped[str] = mapped_column(String(32))
    uploaded: Mapped[bool] = mapped_column(Boolean)

    __table_args__ = (Index("ix_scans_claim", "claim_id"),)


class Photo(Base):
    """A site photo. Its file is stored by fieldapp.media under its sha256; not encrypted."""

    __tablename__ = "photos"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    claim_id: Mapped[str] = mapped_column(String(36), _claim_fk())
    taken_at: Mapped[str | None] = mapped_column(String(32))
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    fix_alt: Mapped[float | None] = mapped_column(Float)
    fix_accuracy_m: Mapped[float | None] = mapped_column(Float)
    fix_at: Mapped[str | None] = mapped_column(String(32))
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    flags: Mapped[list[Any]] = mapped_column(JSON)
    exif_gps: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    exif_replaced: Mapped[bool] = mapped_column(Boolean)
    converted_from: Mapped[str | None] = mapped_column(String(16))
    # v2: none | preview | original (v1 had a boolean "uploaded"; previews now go first).
    upload_state: Mapped[str] = mapped_column(String(8))
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[str] = mapped_column(String(32))
    version: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (Index("ix_photos_claim", "claim_id"),)


class Note(Base):
    """Append-only free-text note on a claim."""

    __tablename__ = "notes"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    claim_id: Mapped[str] = mapped_column(String(36), _claim_fk())
    text: Mapped[str] = mapped_column(Text)
    author: Mapped[str | None] = mapped_column(String(64))
    written_at: Mapped[str] = mapped_column(String(32))
    version: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (Index("ix_notes_claim", "claim_id", "written_at"),)


class Transition(Base):
    """One step of a claim's timeline: who moved it from which state to which, when, where, why."""

    __tablename__ = "transitions"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    claim_id: Mapped[str] = mapped_column(String(36), _claim_fk())
    from_status: Mapped[str | None] = mapped_column(String(24))
    to_status: Mapped[str] = mapped_column(String(24))
    by_user: Mapped[str | None] = mapped_column(String(64))
    by_name: Mapped[str | None] = mapped_column(String(100))  # v4: the person, as the server names them
    role: Mapped[str | None] = mapped_column(String(16))
    at: Mapped[str] = mapped_column(String(32))
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    reason: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (Index("ix_transitions_claim", "claim_id", "at"),)


class Assignment(Base):
    """A survey assignment received from the server (co-insurer surveyors' rotation)."""

    __tablename__ = "assignments"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    claim_id: Mapped[str | None] = mapped_column(String(36))
    insurer_code: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(24))
    fields: Mapped[dict[str, Any]] = mapped_column(JSON)
    received_at: Mapped[str] = mapped_column(String(32))
    updated_at: Mapped[str] = mapped_column(String(32))
    version: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (Index("ix_assignments_claim", "claim_id"),)


class Draft(Base):
    """Wizard state, saved at every step; local only (never synced). Keyed by the future claim id."""

    __tablename__ = "drafts"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    step: Mapped[str | None] = mapped_column(String(48))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    saved_at: Mapped[str] = mapped_column(String(32))


class Outbox(Base):
    """Unsent local changes, in the wire format of a mutation (claimcore.wire)."""

    __tablename__ = "outbox"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    entity: Mapped[str] = mapped_column(String(24))
    entity_id: Mapped[str] = mapped_column(String(36))
    op: Mapped[str] = mapped_column(String(8))
    fields: Mapped[dict[str, Any]] = mapped_column(JSON)  # non-personal changed fields
    sealed: Mapped[bytes | None] = mapped_column(LargeBinary)  # personal changed fields, encrypted
    base_version: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[str] = mapped_column(String(32))

    # AUTOINCREMENT: a sequence number is never reused, even after the newest entries are acked and
    # deleted; the server deduplicates on (device, seq).
    __table_args__ = (Index("ix_outbox_entity", "entity", "entity_id"), {"sqlite_autoincrement": True})


class SyncState(Base):
    __tablename__ = "sync_state"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # always 1
    device_id: Mapped[str | None] = mapped_column(String(64))
    token_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    server_url: Mapped[str | None] = mapped_column(String(255))
    cursor: Mapped[str | None] = mapped_column(String(255))
    last_sync_at: Mapped[str | None] = mapped_column(String(32))
    last_error: Mapped[str | None] = mapped_column(Text)
    last_acked_seq: Mapped[int] = mapped_column(Integer)


class Setting(Base):
    __tablename__ = "settings"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)


class ConflictNote(Base):
    """v2. The server kept one value of a field changed on two devices; this records the other."""

    __tablename__ = "conflict_notes"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    claim_id: Mapped[str | None] = mapped_column(String(36))
    entity: Mapped[str] = mapped_column(String(24))
    entity_id: Mapped[str] = mapped_column(String(36))
    field: Mapped[str] = mapped_column(String(48))
    kept_value: Mapped[Any] = mapped_column(JSON)
    other_value: Mapped[Any] = mapped_column(JSON)
    detail: Mapped[str | None] = mapped_column(Text)
    at: Mapped[str | None] = mapped_column(String(32))
    received_at: Mapped[str] = mapped_column(String(32))
    seen: Mapped[bool] = mapped_column(Boolean)

    __table_args__ = (Index("ix_conflict_notes_claim", "claim_id"),)


class Review(Base):
    """v4. A claim-authority review as the server publishes it to every co-insurer (amount, tier,
    consultation, opinions and outcome; no personal data). A co-insurer's phone holds reviews of
    claims it never surveyed, so this is not tied to the claims table."""

    __tablename__ = "reviews"
    claim_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    doc: Mapped[dict[str, Any]] = mapped_column(JSON)
    received_at: Mapped[str] = mapped_column(String(32))
    version: Mapped[int | None] = mapped_column(Integer)
