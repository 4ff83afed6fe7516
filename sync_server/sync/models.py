"""Tables of the push: ``push_receipts`` (one row per device and seq ever processed: the result a
replay gets back) and ``conflicts`` (the value a later edit replaced when two devices changed the
same field)."""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    BigInteger,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    event,
)
from sqlalchemy.orm import Mapped, mapped_column

from ..core import sealing
from ..core.models import Base, BigId, SealedValueJson, utcnow


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


class Conflict(Base):
    __tablename__ = "conflicts"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str] = mapped_column(String(64))
    claim_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    field: Mapped[str] = mapped_column(String(64))
    # Sealed whole when ``field`` is a sealed field (sealing.mark_conflict).
    kept_value: Mapped[Any] = mapped_column(SealedValueJson, nullable=True)
    other_value: Mapped[Any] = mapped_column(SealedValueJson, nullable=True)
    kept_device_id: Mapped[str] = mapped_column(String(36))
    other_device_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    kept_version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    resolved_by: Mapped[str | None] = mapped_column(String(36), nullable=True)


# Sealing hooks (sync_server.core.sealing): a conflict about a sealed field keeps both values sealed.
for _when in ("before_insert", "before_update"):
    event.listen(Conflict, _when, sealing.mark_conflict)
for _when in ("after_insert", "after_update"):
    event.listen(Conflict, _when, sealing.unmark_conflict)
