"""Database tables of the sync server (SQLAlchemy 2.x declarative).

Other modules (the co-insurance rules: rotation, fund, reports) import ``Base`` from here and add
their own tables and an Alembic migration on top of ``0001_sync_core``. Tables here:

- ``insurers``       the nine co-insurers (code, name); issue 5 adds share, lead flag, contacts
- ``users``          people with a role; liaisons carry a township, surveyors an insurer
- ``enrollment_codes`` one-time codes (only their hash) that a phone trades for a device token
- ``devices``        enrolled phones/browsers: token hash, revocation, highest acknowledged push seq
- ``push_receipts``  one row per (device, seq) ever processed: the result a replay gets back
- ``claims``         the claim record (typed columns for what the server queries, JSON for the rest)
- ``records``        persons, documents, photos and notes of a claim (field JSON, field versions)
- ``assignments``    which insurer (and surveyor) works a claim; drives the surveyors' scope
- ``changes``        the pull feed: one row per entity with its latest snapshot and a server seq
- ``conflicts``      the losing value whenever the same field was changed on two devices
- ``blobs``, ``blob_refs``  verified photo bytes and which records reference them (for scope)
- ``scans``         document scans (personal data): claim, checklist item, hash, type; bytes on disk
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# SQLite only auto-numbers an ``INTEGER PRIMARY KEY``; BIGINT would not alias the rowid.
BigId = BigInteger().with_variant(Integer(), "sqlite")
Json = JSON(none_as_null=True)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class Base(DeclarativeBase):
    pass


class Insurer(Base):
    __tablename__ = "insurers"
    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class User(Base):
    __tablename__ = "users"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    township_code: Mapped[str | None] = mapped_column(String(12), nullable=True)
    insurer_code: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("insurers.code"), nullable=True
    )
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class EnrollmentCode(Base):
    __tablename__ = "enrollment_codes"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[str] = mapped_column(String(36), ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    device_id: Mapped[str | None] = mapped_column(String(36), nullable=True)


class Device(Base):
    __tablename__ = "devices"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(36), ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    acked_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    last_push_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class PushReceipt(Base):
    __tablename__ = "push_receipts"
    device_id: Mapped[str] = mapped_column(String(36), ForeignKey("devices.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Claim(Base):
    __tablename__ = "claims"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(32), default="reported", index=True)
    coverage: Mapped[str] = mapped_column(String(40), index=True)
    township_code: Mapped[str] = mapped_column(String(12), index=True)
    village_code: Mapped[str | None] = mapped_column(String(15), nullable=True)
    incident_at: Mapped[str] = mapped_column(String(40))
    description: Mapped[str] = mapped_column(Text)
    event_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    claimed_amount_fen: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    adjusted_amount_fen: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    paid_amount_fen: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    catalogue_version: Mapped[str | None] = mapped_column(String(40), nullable=True)
    # Fields without a column of their own (address, loss_types, ...): see policy.CLAIM_FIELDS.
    data: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    # {field: [version, device_id]}: which push last set each field; conflicts are found here.
    field_versions: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    created_by: Mapped[str | None] = mapped_column(String(36), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Record(Base):
    """A person, document, photo or note of a claim."""

    __tablename__ = "records"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    entity: Mapped[str] = mapped_column(String(32))
    claim_id: Mapped[str] = mapped_column(String(36), ForeignKey("claims.id"), index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    sha256: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    fields: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    field_versions: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    created_by: Mapped[str | None] = mapped_column(String(36), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Assignment(Base):
    """An insurer's (and optionally a named surveyor's) part in working a claim.

    The co-insurance rules (issue 5) own the life cycle and add columns; scope only needs
    ``claim_id``, ``insurer_code`` and ``status`` (see scope.ASSIGNMENT_STATUSES_WITHOUT_ACCESS).
    """

    __tablename__ = "assignments"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    claim_id: Mapped[str] = mapped_column(String(36), ForeignKey("claims.id"), index=True)
    insurer_code: Mapped[str] = mapped_column(String(32), ForeignKey("insurers.code"))
    surveyor_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("users.id"), nullable=True
    )
    status: Mapped[str] = mapped_column(String(32), default="assigned")
    kind: Mapped[str] = mapped_column(String(32), default="ordinary")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    __table_args__ = (Index("ix_assignments_insurer_claim", "insurer_code", "claim_id"),)


class Change(Base):
    """The pull feed. One row per entity: a newer change deletes the older row and takes a new seq,
    so a pull never returns an entity twice and an unchanged entity costs nothing."""

    __tablename__ = "changes"
    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str] = mapped_column(String(64))
    op: Mapped[str] = mapped_column(String(8))
    version: Mapped[int] = mapped_column(Integer)
    claim_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    insurer_code: Mapped[str | None] = mapped_column(String(32), nullable=True)
    fields: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    changed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    __table_args__ = (
        UniqueConstraint("entity", "entity_id", name="uq_changes_entity"),
        # Deleted seqs must never be handed out again (a phone's cursor may point past them).
        {"sqlite_autoincrement": True},
    )


class Conflict(Base):
    __tablename__ = "conflicts"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str] = mapped_column(String(64))
    claim_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    field: Mapped[str] = mapped_column(String(64))
    kept_value: Mapped[Any] = mapped_column(Json, nullable=True)
    other_value: Mapped[Any] = mapped_column(Json, nullable=True)
    kept_device_id: Mapped[str] = mapped_column(String(36))
    other_device_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    kept_version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    resolved_by: Mapped[str | None] = mapped_column(String(36), nullable=True)


class Blob(Base):
    __tablename__ = "blobs"
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class BlobRef(Base):
    """Which record references a blob: GET /blobs/{sha256} is allowed when one of them is in scope."""

    __tablename__ = "blob_refs"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str] = mapped_column(String(64))
    claim_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    insurer_code: Mapped[str | None] = mapped_column(String(32), nullable=True)

    __table_args__ = (UniqueConstraint("sha256", "entity", "entity_id", name="uq_blob_refs"),)


class Scan(Base):
    """A document scan (ID card, bank card, medical papers, the signed application): personal data.

    The bytes live under ``<DAZU_DATA_DIR>/scans/`` (mode 0600), named by scan id and hash; this row
    says which claim and checklist item they belong to. Written by ``sync_server.scans``; read only
    by the roles that may see the claim's personal data (never surveyors).
    """

    __tablename__ = "scans"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    claim_id: Mapped[str] = mapped_column(String(36), ForeignKey("claims.id"), index=True)
    doc_code: Mapped[str] = mapped_column(String(48))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    content_type: Mapped[str] = mapped_column(String(48))
    uploaded_by: Mapped[str | None] = mapped_column(String(36), nullable=True)
    device_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
