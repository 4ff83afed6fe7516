"""consultations: the co-insurers' meeting before a vote; authority_reviews.version

Revision ID: 0004_consultations
Revises: 0003_scans
Create Date: 2026-12-03 11:00:00.000000
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa



revision = '0004_consultations'
down_revision = '0003_scans'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('consultations',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('claim_id', sa.String(length=36), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('held_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('attendees', sa.JSON(none_as_null=True), nullable=False),
    sa.Column('engage_assessor', sa.Boolean(), nullable=False),
    sa.Column('engage_lawyer', sa.Boolean(), nullable=False),
    sa.Column('minutes', sa.Text(), nullable=False),
    sa.Column('recorded_by', sa.String(length=36), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['claim_id'], ['claims.id'], ),
    sa.ForeignKeyConstraint(['recorded_by'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('consultations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consultations_claim_id'), ['claim_id'], unique=False)
    with op.batch_alter_table('authority_reviews', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version', sa.Integer(), server_default='0', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('authority_reviews', schema=None) as batch_op:
        batch_op.drop_column('version')
    with op.batch_alter_table('consultations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consultations_claim_id'))
    op.drop_table('consultations')
