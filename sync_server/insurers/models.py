"""Tables of the pool's insurers beyond their ``insurers`` row: ``insurer_terms`` (share in basis
points, lead flag, base rotation position), ``insurer_contacts`` (the named surveyor contacts) and
``insurer_leave`` (a contact's leave; the rotation skips the insurer meanwhile)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from ..core.models import Base, utcnow


class InsurerTerms(Base):
    __tablename__ = "insurer_terms"
    insurer_code: Mapped[str] = mapped_column(String(32), ForeignKey("insurers.code"), primary_key=True)
    share_bp: Mapped[int] = mapped_column(Integer, default=0)
    is_lead: Mapped[bool] = mapped_column(Boolean, default=False)
    position: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class InsurerContact(Base):
    __tablename__ = "insurer_contacts"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    insurer_code: Mapped[str] = mapped_column(String(32), ForeignKey("insurers.code"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(32), nullable=True)
    user_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("users.id"), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class InsurerLeave(Base):
    __tablename__ = "insurer_leave"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    insurer_code: Mapped[str] = mapped_column(String(32), ForeignKey("insurers.code"), index=True)
    starts_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


