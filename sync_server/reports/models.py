"""Tables of what people write into the reports (sync_server.reports.records): the annual report's
narrative and its submissions, the quarterly review's minutes."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, Date, DateTime, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..core.models import Base, BigId, Json


class AnnualReportNarrative(Base):
    """The draft of a year's written parts; ``revision`` counts its saves."""

    __tablename__ = "annual_report_narratives"
    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    sections: Mapped[dict] = mapped_column(Json, default=dict)
    revision: Mapped[int] = mapped_column(Integer, default=0)
    updated_by: Mapped[str | None] = mapped_column(String(36), nullable=True)
    updated_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class AnnualReportSubmission(Base):
    """One submission of a year's report to the Center: the text as submitted, and what became of
    it (withdrawn by the lead, or reviewed by the Center)."""

    __tablename__ = "annual_report_submissions"
    __table_args__ = (
        CheckConstraint("outcome IS NULL OR outcome IN ('accepted', 'returned')", name="ck_submission_outcome"),
    )
    # Their order: two submissions may share a moment (withdrawn and submitted again at once).
    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True)
    year: Mapped[int] = mapped_column(Integer, index=True)
    revision: Mapped[int] = mapped_column(Integer)
    sections: Mapped[dict] = mapped_column(Json)
    submitted_by: Mapped[str] = mapped_column(String(36))
    submitted_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    withdrawn_by: Mapped[str | None] = mapped_column(String(36), nullable=True)
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    reviewed_by: Mapped[str | None] = mapped_column(String(36), nullable=True)
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(16), nullable=True)
    review_comment: Mapped[str] = mapped_column(Text, default="")


class QuarterlyReviewMinutes(Base):
    """The quarterly review meeting on quarter ``quarter`` of ``year``: minutes and measures."""

    __tablename__ = "quarterly_review_minutes"
    __table_args__ = (CheckConstraint("quarter BETWEEN 1 AND 4", name="ck_minutes_quarter"),)
    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    quarter: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    held_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    attendees: Mapped[str] = mapped_column(Text, default="")
    minutes: Mapped[str] = mapped_column(Text, default="")
    measures: Mapped[list] = mapped_column(Json, default=list)
    revision: Mapped[int] = mapped_column(Integer, default=0)
    updated_by: Mapped[str | None] = mapped_column(String(36), nullable=True)
    updated_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


