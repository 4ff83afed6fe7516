"""Tables of events: ``coinsurance_events`` (major disasters declared by the lead or the
coordinator), ``event_claim_exclusions`` (claims the office took out of an event by hand, never
grouped into it again) and the civil-affairs step's reports (a township's report to the bureau,
the bureau's figures as the lead received them)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from claimcore import entities

from ..core.models import Base, Json, utcnow


class CoinsuranceEvent(Base):
    __tablename__ = "coinsurance_events"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    coverage: Mapped[str] = mapped_column(String(40))
    township_codes: Mapped[list[str]] = mapped_column(Json, default=list)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    declared_by: Mapped[str | None] = mapped_column(String(36), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class EventClaimExclusion(Base):
    """The office took this claim out of this event by hand: automatic grouping never puts it back
    (adding it by hand again deletes the row)."""

    __tablename__ = "event_claim_exclusions"
    event_id: Mapped[str] = mapped_column(String(36), ForeignKey("coinsurance_events.id"), primary_key=True)
    claim_id: Mapped[str] = mapped_column(String(36), ForeignKey("claims.id"), primary_key=True, index=True)
    created_by: Mapped[str | None] = mapped_column(String(36), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


# What a township or the bureau reports, in this order everywhere (JSON, XLSX, PDF, the console).
FIGURES = entities.DISASTER_FIGURES


FIGURE_MAX = 1_000_000


class _Figures:
    deaths: Mapped[int] = mapped_column(Integer)
    missing: Mapped[int] = mapped_column(Integer)
    injured: Mapped[int] = mapped_column(Integer)
    damaged_households: Mapped[int] = mapped_column(Integer)
    collapsed_households: Mapped[int] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_by: Mapped[str] = mapped_column(String(36), ForeignKey("users.id"))
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


def _checks(table: str) -> tuple:
    return (CheckConstraint("deaths >= 0 AND missing >= 0 AND injured >= 0 AND damaged_households >= 0 "
                            "AND collapsed_households >= 0", name=f"ck_{table}_counts"),
            CheckConstraint("collapsed_households <= damaged_households", name=f"ck_{table}_collapsed"))


class CivilAffairsTownshipReport(_Figures, Base):
    """A township's report of the disaster to the bureau (append-only; the latest stands)."""

    __tablename__ = "civil_affairs_township_reports"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(36), ForeignKey("coinsurance_events.id"))
    township_code: Mapped[str] = mapped_column(String(12))
    reported_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_civil_affairs_township_reports_event", "event_id", "township_code"),
                      *_checks("civil_affairs_township_reports"))


class BureauFigures(_Figures, Base):
    """The bureau's district-wide figures as they reached the lead insurer (append-only)."""

    __tablename__ = "civil_affairs_bureau_figures"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(36), ForeignKey("coinsurance_events.id"))
    received_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_civil_affairs_bureau_figures_event", "event_id"),
                      *_checks("civil_affairs_bureau_figures"))


