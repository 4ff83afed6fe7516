"""recovery_entries: demands to co-insurers for their parts of the claims the lead paid, receipts,
corrections as counter-entries

Revision ID: 0006_recovery_entries
Revises: 0005_exclusions_corrections
Create Date: 2026-12-15 10:00:00.000000
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0006_recovery_entries'
down_revision = '0005_exclusions_corrections'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('recovery_entries',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('insurer_code', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('on', sa.Date(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('corrects', sa.String(length=36), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('created_by', sa.String(length=36), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('demanded', 'received', 'correction')", name='ck_recovery_entries_kind'),
    sa.CheckConstraint("(kind = 'correction') = (corrects IS NOT NULL)", name='ck_recovery_entries_corrects'),
    sa.CheckConstraint("(kind <> 'correction' AND amount_fen > 0) OR (kind = 'correction' AND amount_fen < 0)",
                       name='ck_recovery_entries_amount'),
    sa.ForeignKeyConstraint(['corrects'], ['recovery_entries.id'], ),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], ),
    sa.ForeignKeyConstraint(['insurer_code'], ['insurers.code'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('recovery_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recovery_entries_insurer_code'), ['insurer_code'], unique=False)
        batch_op.create_index('ux_recovery_entries_corrects', ['corrects'], unique=True)


def downgrade() -> None:
    with op.batch_alter_table('recovery_entries', schema=None) as batch_op:
        batch_op.drop_index('ux_recovery_entries_corrects')
        batch_op.drop_index(batch_op.f('ix_recovery_entries_insurer_code'))
    op.drop_table('recovery_entries')
