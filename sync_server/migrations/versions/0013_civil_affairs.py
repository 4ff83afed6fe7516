"""natural disasters reported to the civil affairs bureau

Revision ID: 0013_civil_affairs
Revises: 0012_fund_governance
Create Date: 2026-12-03 22:40:00.000000

The notice's natural-disaster flow begins with 街镇将受灾情况上报区民政局 → 民政局将全区受灾情况提供给
人保财险大足支公司. Two append-only tables keep those two steps per event, with their figures:

``civil_affairs_township_reports``  a township's report to the bureau (初报, 续报 …): when it
                                    reported and what it counted; the latest per township stands
``civil_affairs_bureau_figures``    the bureau's district-wide figures as the lead insurer received
                                    them (when, and the figures); the latest stands

Neither is ever overwritten by the figures the claims give: the two sources stay side by side.
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0013_civil_affairs'
down_revision = '0012_fund_governance'
branch_labels = None
depends_on = None


def _figures() -> list:
    return [
        sa.Column("deaths", sa.Integer(), nullable=False),
        sa.Column("missing", sa.Integer(), nullable=False),
        sa.Column("injured", sa.Integer(), nullable=False),
        sa.Column("damaged_households", sa.Integer(), nullable=False),
        sa.Column("collapsed_households", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False, server_default=""),
        sa.Column("recorded_by", sa.String(36), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    ]


def _checks(table: str) -> list:
    return [
        sa.CheckConstraint("deaths >= 0 AND missing >= 0 AND injured >= 0 AND damaged_households >= 0 "
                           "AND collapsed_households >= 0", name=f"ck_{table}_counts"),
        sa.CheckConstraint("collapsed_households <= damaged_households", name=f"ck_{table}_collapsed"),
    ]


def upgrade() -> None:
    op.create_table(
        "civil_affairs_township_reports",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("event_id", sa.String(36), sa.ForeignKey("coinsurance_events.id"), nullable=False),
        sa.Column("township_code", sa.String(12), nullable=False),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
        *_figures(),
        *_checks("civil_affairs_township_reports"),
    )
    op.create_index("ix_civil_affairs_township_reports_event", "civil_affairs_township_reports",
                    ["event_id", "township_code"])
    op.create_table(
        "civil_affairs_bureau_figures",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("event_id", sa.String(36), sa.ForeignKey("coinsurance_events.id"), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        *_figures(),
        *_checks("civil_affairs_bureau_figures"),
    )
    op.create_index("ix_civil_affairs_bureau_figures_event", "civil_affairs_bureau_figures", ["event_id"])


def downgrade() -> None:
    op.drop_index("ix_civil_affairs_bureau_figures_event", table_name="civil_affairs_bureau_figures")
    op.drop_table("civil_affairs_bureau_figures")
    op.drop_index("ix_civil_affairs_township_reports_event", table_name="civil_affairs_township_reports")
    op.drop_table("civil_affairs_township_reports")
