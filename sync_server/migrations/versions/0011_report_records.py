"""the annual report's narrative and submission, the quarterly review's minutes

Revision ID: 0011_report_records
Revises: 0010_survey_access
Create Date: 2026-12-03 22:40:00.000000
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0011_report_records'
down_revision = '0010_survey_access'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The draft of a year's written parts (案件分析, 宣传效果, 存在的不足, 下一步工作打算) as JSON.
    op.create_table(
        "annual_report_narratives",
        sa.Column("year", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("sections", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("updated_by", sa.String(36), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
    )
    # Each submission to the Center with the text as submitted; withdrawn or reviewed later.
    op.create_table(
        "annual_report_submissions",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(36), nullable=False, unique=True),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("sections", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("submitted_by", sa.String(36), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("withdrawn_by", sa.String(36), nullable=True),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reviewed_by", sa.String(36), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(16), nullable=True),
        sa.Column("review_comment", sa.Text(), nullable=False, server_default=""),
        sa.CheckConstraint("outcome IS NULL OR outcome IN ('accepted', 'returned')", name="ck_submission_outcome"),
    )
    op.create_index("ix_annual_report_submissions_year", "annual_report_submissions", ["year"])
    # The quarterly review meeting on a quarter: minutes and the measures agreed.
    op.create_table(
        "quarterly_review_minutes",
        sa.Column("year", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("quarter", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("held_on", sa.Date(), nullable=True),
        sa.Column("attendees", sa.Text(), nullable=False, server_default=""),
        sa.Column("minutes", sa.Text(), nullable=False, server_default=""),
        sa.Column("measures", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("updated_by", sa.String(36), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("quarter BETWEEN 1 AND 4", name="ck_minutes_quarter"),
    )


def downgrade() -> None:
    op.drop_table("quarterly_review_minutes")
    op.drop_index("ix_annual_report_submissions_year", table_name="annual_report_submissions")
    op.drop_table("annual_report_submissions")
    op.drop_table("annual_report_narratives")
