"""Tables of the co-insurance rules (issue 5), on top of the sync core's ``Base``.

Nothing here is a counter: the rotation is recomputed from ``assignment_log`` (see rotation.py),
fund balances from ``fund_entries`` (fund.py), authority results from ``opinions``.

- ``insurer_terms``     share (basis points), lead flag and base rotation position per insurer
- ``insurer_contacts``  the named surveyor contact(s) of an insurer
- ``insurer_leave``     a contact's leave (from, to): the rotation skips the insurer meanwhile
- ``assignment_log``    the append-only rotation log; ``seq`` is its order
- ``assignment_details`` what the sync core's ``assignments`` row does not hold: event, reason,
                        arrival GPS, answer and completion times, a version for sync
- ``coinsurance_events`` major disasters declared by the lead or the coordinator
- ``event_claim_exclusions`` claims the office took out of an event by hand: never grouped into
                        it again automatically
- ``opinions``          co-insurers' recorded opinions and votes on a claim's amount
- ``authority_reviews`` the tier decided when the adjusted amount was set, and the stored result
- ``consultations``     the co-insurers' meeting (会商会议) on a claim of the full-consultation tier
- ``premiums``          each insurer's premium excluding tax per policy year
- ``fund_entries``      contributions, spending (with category and receipt), year-end settlements;
                        a correction is a reversal and a replacement naming the entry (``corrects``)
- ``recovery_entries``  recovering the claims the lead paid for all: what was demanded from a
                        co-insurer and what it paid back; a correction takes an entry back
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base, BigId, Json, utcnow


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


class Premium(Base):
    __tablename__ = "premiums"
    policy_year: Mapped[int] = mapped_column(Integer, primary_key=True)
    insurer_code: Mapped[str] = mapped_column(String(32), ForeignKey("insurers.code"), primary_key=True)
    premium_ex_tax_fen: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class FundEntryRow(Base):
    __tablename__ = "fund_entries"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    on: Mapped[dt.date] = mapped_column(Date, index=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    insurer_code: Mapped[str | None] = mapped_column(String(32), nullable=True)
    category: Mapped[str | None] = mapped_column(String(20), nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")
    receipt_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    assignment_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    policy_year: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_by: Mapped[str | None] = mapped_column(String(36), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # A correction never edits a booked entry: it books a reversal (``correction`` = reversal) and
    # perhaps a replacement, each naming the entry it corrects and why.
    corrects: Mapped[str | None] = mapped_column(String(36), nullable=True)
    correction: Mapped[str | None] = mapped_column(String(12), nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)

    # At most one reversal (and one replacement) per entry, even when two offices correct at once.
    __table_args__ = (Index("ux_fund_entries_correction", "corrects", "correction", unique=True),)


class RecoveryEntryRow(Base):
    """A demand to a co-insurer for its part of the claims the lead paid, a receipt of what it
    paid back, or a correction taking one of these back (its negative amount; ``corrects`` names
    it). Append-only: nothing here is ever updated or deleted."""

    __tablename__ = "recovery_entries"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    insurer_code: Mapped[str] = mapped_column(String(32), ForeignKey("insurers.code"), index=True)
    kind: Mapped[str] = mapped_column(String(12))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    on: Mapped[dt.date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text, default="")
    corrects: Mapped[str | None] = mapped_column(String(36), ForeignKey("recovery_entries.id"), nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_by: Mapped[str] = mapped_column(String(36), ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    __table_args__ = (
        # An entry is taken back at most once, even when two offices correct it at the same moment.
        Index("ux_recovery_entries_corrects", "corrects", unique=True),
        CheckConstraint("kind IN ('demanded', 'received', 'correction')", name="ck_recovery_entries_kind"),
        CheckConstraint("(kind = 'correction') = (corrects IS NOT NULL)", name="ck_recovery_entries_corrects"),
        CheckConstraint("(kind <> 'correction' AND amount_fen > 0) OR (kind = 'correction' AND amount_fen < 0)",
                        name="ck_recovery_entries_amount"),
    )
