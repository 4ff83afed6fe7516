"""event_claim_exclusions (claims taken out of an event by hand); fund corrections as counter-entries

Revision ID: 0005_exclusions_corrections
Revises: 0004_consultations
Create Date: 2026-12-08 10:00:00.000000
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa



revision = '0005_exclusions_corrections'
down_revision = '0004_consultations'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('event_claim_exclusions',
    sa.Column('event_id', sa.String(length=36), nullable=False),
    sa.Column('claim_id', sa.String(length=36), nullable=False),
    sa.Column('created_by', sa.String(length=36), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['claim_id'], ['claims.id'], ),
    sa.ForeignKeyConstraint(['event_id'], ['coinsurance_events.id'], ),
    sa.PrimaryKeyConstraint('event_id', 'claim_id')
    )
    with op.batch_alter_table('event_claim_exclusions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_event_claim_exclusions_claim_id'), ['claim_id'], unique=False)
    with op.batch_alter_table('fund_entries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('corrects', sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column('correction', sa.String(length=12), nullable=True))
        batch_op.add_column(sa.Column('reason', sa.Text(), nullable=True))
        batch_op.create_index('ux_fund_entries_correction', ['corrects', 'correction'], unique=True)


def downgrade() -> None:
    with op.batch_alter_table('fund_entries', schema=None) as batch_op:
        batch_op.drop_index('ux_fund_entries_correction')
        batch_op.drop_column('reason')
        batch_op.drop_column('correction')
        batch_op.drop_column('corrects')
    with op.batch_alter_table('event_claim_exclusions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_event_claim_exclusions_claim_id'))
    op.drop_table('event_claim_exclusions')
