"""Tables of the photo bytes: ``blobs`` (verified bytes: hash, size), ``blob_refs`` (which records
reference them, for scope), ``blob_uploads`` (who sent which bytes: provenance) and
``pending_blob_refs`` (references a record made before its device sent the bytes)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    DateTime,
    Index,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from ..core.models import Base, BigId, utcnow


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


class BlobUpload(Base):
    """Which device sent a blob's bytes in full (its provenance). Knowing a photo's SHA-256 is not
    owning the photo: a device may name a blob in a record only when it uploaded those bytes itself
    (or the blob already belongs to a record its user may see); see sync_server.provenance."""

    __tablename__ = "blob_uploads"
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    device_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class PendingBlobRef(Base):
    """A record that names a blob its device has not (yet) shown it holds: the record is kept, but
    the blob stays unreadable through it until that device completes an upload of those bytes
    (then the reference moves to ``blob_refs``)."""

    __tablename__ = "pending_blob_refs"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    sha256: Mapped[str] = mapped_column(String(64))
    device_id: Mapped[str] = mapped_column(String(36))
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str] = mapped_column(String(64))
    claim_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    insurer_code: Mapped[str | None] = mapped_column(String(32), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    __table_args__ = (
        UniqueConstraint("sha256", "entity", "entity_id", name="uq_pending_blob_refs"),
        Index("ix_pending_blob_refs_sha_device", "sha256", "device_id"),
    )


