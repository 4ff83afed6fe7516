"""Tables of the audit: ``audit_log`` (the hash-chained entries; the database refuses UPDATE and
DELETE) and ``auth_failures`` (the failed sign-ins the throttle counts)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from ..core.models import Base


class AuditEntry(Base):
    __tablename__ = "audit_log"
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    actor_user_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    device_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    role: Mapped[str | None] = mapped_column(String(20), nullable=True)
    action: Mapped[str] = mapped_column(String(120))
    object_kind: Mapped[str | None] = mapped_column(String(32), nullable=True)
    object_ids: Mapped[list | None] = mapped_column(JSON, nullable=True)
    claim_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(64), nullable=True)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    __table_args__ = (
        UniqueConstraint("hash", name="uq_audit_log_hash"),
        Index("ix_audit_log_claim_id", "claim_id"),
    )


class AuthFailure(Base):
    """One failed token or enrollment code, by client address (and code prefix): the throttle's count."""

    __tablename__ = "auth_failures"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True,
                                    autoincrement=True)
    scope: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(128))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index("ix_auth_failures_key", "scope", "key", "at"),
        Index("ix_auth_failures_at", "at"),
    )


