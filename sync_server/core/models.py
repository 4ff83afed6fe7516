"""Database tables of the sync server (SQLAlchemy 2.x declarative).

The tables every feature reads: the people, the claims and their records, the assignments that
give surveyors their scope, and the change log behind pull. Each feature keeps its own tables in
its ``models`` module on this ``Base`` (the schema itself is the Alembic migrations'). Tables here:

- ``insurers``       the nine co-insurers (code, name); the co-insurance rules add share, lead flag, contacts
- ``users``          people with a role; liaisons carry a township, surveyors an insurer
- ``claims``         the claim record (typed columns for what the server queries, JSON for the rest)
- ``records``        persons, documents, photos and notes of a claim (field JSON, field versions)
- ``assignments``    which insurer (and surveyor) works a claim; drives the surveyors' scope
- ``changes``        the pull feed: one row per entity with its latest snapshot and a server seq"""
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
    event,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from . import sealing

# SQLite only auto-numbers an ``INTEGER PRIMARY KEY``; BIGINT would not alias the rowid.
BigId = BigInteger().with_variant(Integer(), "sqlite")


Json = JSON(none_as_null=True)


# Personal data sealed at rest (sync_server.core.sealing): the contract's sealed fields are stored
# AES-GCM encrypted inside these JSON columns and opened on read.
SealedJson = sealing.SealedFields()


SealedValueJson = sealing.SealedValue()


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
    fields: Mapped[dict[str, Any]] = mapped_column(SealedJson, default=dict)
    field_versions: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    # A person's ID number as an HMAC (blind index, sealing.Sealer.blind_index): exact-match
    # search and duplicate checks without opening every person. Set on write (sealing.index_record).
    id_index: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    created_by: Mapped[str | None] = mapped_column(String(36), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Assignment(Base):
    """An insurer's (and optionally a named surveyor's) part in working a claim.

    The co-insurance rules own the life cycle and add columns; scope needs ``claim_id``,
    ``insurer_code``, ``status`` and ``completed_at`` (see changelog.assignment_gives_access).
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
    # Survey access (sync_server.claims.survey_access): a completed survey keeps its claim visible to the
    # insurer's surveyors for DAZU_SURVEY_ACCESS_DAYS_AFTER_COMPLETION days from ``completed_at``;
    # ``access_ended_at`` says the end of this assignment's access was handled (the phones were
    # told to forget the claim, unless another assignment still gives the insurer access).
    completed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    access_ended_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

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
    fields: Mapped[dict[str, Any]] = mapped_column(SealedJson, default=dict)
    changed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # The device whose push made the entity exactly what it sent: its own pulls skip the row
    # (sync_server.core.changelog.record_change).
    origin_device_id: Mapped[str | None] = mapped_column(String(36), nullable=True)

    __table_args__ = (
        UniqueConstraint("entity", "entity_id", name="uq_changes_entity"),
        # Deleted seqs must never be handed out again (a phone's cursor may point past them).
        {"sqlite_autoincrement": True},
    )


# Sealing hooks (sync_server.core.sealing): a person's blind index follows its fields.
for _when in ("before_insert", "before_update"):
    event.listen(Record, _when, sealing.index_record)
