"""Tables of the rotation: ``assignment_log`` (the append-only log the rotation is recomputed from;
``seq`` is its order) and ``assignment_details`` (what an assignment row does not hold: event,
reason, arrival GPS, answer and completion times, a version for sync)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from ..core.models import Base, BigId, utcnow


class AssignmentLog(Base):
    __tablename__ = "assignment_log"
    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    kind: Mapped[str] = mapped_column(String(20))
    insurer_code: Mapped[str] = mapped_column(String(32), index=True)
    claim_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    dispatch: Mapped[str] = mapped_column(String(20))
    assignment_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    event_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    actor_user_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = ({"sqlite_autoincrement": True},)


class AssignmentDetails(Base):
    __tablename__ = "assignment_details"
    assignment_id: Mapped[str] = mapped_column(String(36), ForeignKey("assignments.id"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    event_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    assigned_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    answered_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    decline_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    arrived_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    arrived_lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    arrived_lon: Mapped[float | None] = mapped_column(Float, nullable=True)
    completed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


