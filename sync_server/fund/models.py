"""Tables of the work fund: ``premiums`` (each insurer's premium excluding tax per policy year),
``fund_entries`` (contributions, spending, year-end settlements; a correction is a reversal and a
replacement naming the entry), ``recovery_entries`` (what was demanded from a co-insurer for the
claims the lead paid, and what it paid back) and the fund's governance below.

- ``fund_budgets``       each version of a policy year's budget: who of the lead proposed it and
                         when, and who of the coordinator's office confirmed it and when (共同商议确认).
                         A changed budget is a new version, unconfirmed until confirmed again;
                         versions are never edited, so the record shows every agreed range.
- ``fund_budget_lines``  a version's amount per spending category
- ``fund_comments``      the co-insurers' comments on a quarter's disclosure (建议权): insurer,
                         author, time, text; never edited or deleted"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from ..core.models import Base, utcnow


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




class FundBudget(Base):
    __tablename__ = "fund_budgets"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    policy_year: Mapped[int] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(Text, default="")
    proposed_by: Mapped[str] = mapped_column(String(36), ForeignKey("users.id"))
    proposed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    confirmed_by: Mapped[str | None] = mapped_column(String(36), ForeignKey("users.id"), nullable=True)
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    __table_args__ = (
        # Two proposals at once cannot both become the same version.
        Index("ux_fund_budgets_year_version", "policy_year", "version", unique=True),
        CheckConstraint("(confirmed_by IS NULL) = (confirmed_at IS NULL)", name="ck_fund_budgets_confirmed"),
    )


class FundBudgetLine(Base):
    __tablename__ = "fund_budget_lines"
    budget_id: Mapped[str] = mapped_column(String(36), ForeignKey("fund_budgets.id"), primary_key=True)
    category: Mapped[str] = mapped_column(String(20), primary_key=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (CheckConstraint("amount_fen >= 0", name="ck_fund_budget_lines_amount"),)


class FundComment(Base):
    __tablename__ = "fund_comments"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    policy_year: Mapped[int] = mapped_column(Integer)
    quarter: Mapped[int] = mapped_column(Integer)
    insurer_code: Mapped[str] = mapped_column(String(32), ForeignKey("insurers.code"))
    author_id: Mapped[str] = mapped_column(String(36), ForeignKey("users.id"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    __table_args__ = (
        Index("ix_fund_comments_quarter", "policy_year", "quarter"),
        CheckConstraint("quarter BETWEEN 1 AND 4", name="ck_fund_comments_quarter"),
    )
