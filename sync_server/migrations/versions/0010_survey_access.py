"""survey access of co-insurers: when it ends, and what the phone must forget

Revision ID: 0010_survey_access
Revises: 0009_audit
Create Date: 2026-12-03 16:10:00.000000

``assignments.completed_at``: when the survey was completed (the scope keeps the claim visible to
the insurer's surveyors for DAZU_SURVEY_ACCESS_DAYS_AFTER_COMPLETION days after it).
``assignments.access_ended_at``: the end of this assignment's access was handled (its phones were
told to forget the claim). Left empty for assignments that ended before this upgrade, so the first
pull of their insurer's surveyors tells the phones that still hold those claims to forget them.
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0010_survey_access'
down_revision = '0009_audit'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("assignments") as batch:
        batch.add_column(sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("access_ended_at", sa.DateTime(timezone=True), nullable=True))
    # Completed surveys keep the completion time the co-insurance rules recorded.
    op.execute(
        "UPDATE assignments SET completed_at = (SELECT d.completed_at FROM assignment_details d "
        "WHERE d.assignment_id = assignments.id) WHERE status = 'completed'"
    )


def downgrade() -> None:
    with op.batch_alter_table("assignments") as batch:
        batch.drop_column("access_ended_at")
        batch.drop_column("completed_at")
