"""Tables of claim authority: ``authority_reviews`` (the tier decided when the adjusted amount was
set, and the stored result), ``consultations`` (the co-insurers' meeting on a claim of the
full-consultation tier) and ``opinions`` (the co-insurers' recorded opinions and votes)."""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from ..core.models import Base, Json, utcnow


class AuthorityReview(Base):
    __tablename__ = "authority_reviews"
    claim_id: Mapped[str] = mapped_column(String(36), ForeignKey("claims.id"), primary_key=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    tier: Mapped[str] = mapped_column(String(40))
    opened_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    window_ends_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    result: Mapped[dict[str, Any] | None] = mapped_column(Json, nullable=True)
    # Bumped at every change the co-insurers are told of (the published review's version).
    version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class Consultation(Base):
    """The meeting the lead calls before any vote on a claim of 300,000 yuan or more (annex 2:
    会商讨论决定是否聘请公估公司、律师…). About one adjusted amount, like the opinions."""

    __tablename__ = "consultations"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    claim_id: Mapped[str] = mapped_column(String(36), ForeignKey("claims.id"), index=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    held_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    attendees: Mapped[list[Any]] = mapped_column(Json)
    engage_assessor: Mapped[bool] = mapped_column(Boolean)
    engage_lawyer: Mapped[bool] = mapped_column(Boolean)
    minutes: Mapped[str] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(36), ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Opinion(Base):
    __tablename__ = "opinions"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    claim_id: Mapped[str] = mapped_column(String(36), ForeignKey("claims.id"), index=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)  # the amount the opinion is about
    insurer_code: Mapped[str] = mapped_column(String(32), ForeignKey("insurers.code"))
    user_id: Mapped[str] = mapped_column(String(36), ForeignKey("users.id"))
    vote: Mapped[str] = mapped_column(String(16))
    opinion: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


