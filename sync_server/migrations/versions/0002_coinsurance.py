"""coinsurance: insurer terms, rotation log, events, opinions, fund

Revision ID: 0002_coinsurance
Revises: 0001_sync_core
Create Date: 2026-11-29 01:11:49.394373
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0002_coinsurance'
down_revision = '0001_sync_core'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('assignment_log',
    sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('insurer_code', sa.String(length=32), nullable=False),
    sa.Column('claim_id', sa.String(length=36), nullable=True),
    sa.Column('dispatch', sa.String(length=20), nullable=False),
    sa.Column('assignment_id', sa.String(length=36), nullable=True),
    sa.Column('event_id', sa.String(length=36), nullable=True),
    sa.Column('actor_user_id', sa.String(length=36), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('seq'),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('assignment_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assignment_log_claim_id'), ['claim_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_assignment_log_insurer_code'), ['insurer_code'], unique=False)

    op.create_table('coinsurance_events',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('coverage', sa.String(length=40), nullable=False),
    sa.Column('township_codes', sa.JSON(none_as_null=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('declared_by', sa.String(length=36), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('fund_entries',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('on', sa.Date(), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('insurer_code', sa.String(length=32), nullable=True),
    sa.Column('category', sa.String(length=20), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('receipt_sha256', sa.String(length=64), nullable=True),
    sa.Column('assignment_id', sa.String(length=36), nullable=True),
    sa.Column('policy_year', sa.Integer(), nullable=True),
    sa.Column('created_by', sa.String(length=36), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('fund_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_fund_entries_on'), ['on'], unique=False)

    op.create_table('authority_reviews',
    sa.Column('claim_id', sa.String(length=36), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('tier', sa.String(length=40), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('window_ends_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('result', sa.JSON(none_as_null=True), nullable=True),
    sa.ForeignKeyConstraint(['claim_id'], ['claims.id'], ),
    sa.PrimaryKeyConstraint('claim_id')
    )
    op.create_table('insurer_leave',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('insurer_code', sa.String(length=32), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['insurer_code'], ['insurers.code'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('insurer_leave', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_insurer_leave_insurer_code'), ['insurer_code'], unique=False)

    op.create_table('insurer_terms',
    sa.Column('insurer_code', sa.String(length=32), nullable=False),
    sa.Column('share_bp', sa.Integer(), nullable=False),
    sa.Column('is_lead', sa.Boolean(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['insurer_code'], ['insurers.code'], ),
    sa.PrimaryKeyConstraint('insurer_code')
    )
    op.create_table('premiums',
    sa.Column('policy_year', sa.Integer(), nullable=False),
    sa.Column('insurer_code', sa.String(length=32), nullable=False),
    sa.Column('premium_ex_tax_fen', sa.BigInteger(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['insurer_code'], ['insurers.code'], ),
    sa.PrimaryKeyConstraint('policy_year', 'insurer_code')
    )
    op.create_table('insurer_contacts',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('insurer_code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('phone', sa.String(length=32), nullable=True),
    sa.Column('user_id', sa.String(length=36), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['insurer_code'], ['insurers.code'], ),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('insurer_contacts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_insurer_contacts_insurer_code'), ['insurer_code'], unique=False)

    op.create_table('opinions',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('claim_id', sa.String(length=36), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('insurer_code', sa.String(length=32), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('vote', sa.String(length=16), nullable=False),
    sa.Column('opinion', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['claim_id'], ['claims.id'], ),
    sa.ForeignKeyConstraint(['insurer_code'], ['insurers.code'], ),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('opinions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_opinions_claim_id'), ['claim_id'], unique=False)

    op.create_table('assignment_details',
    sa.Column('assignment_id', sa.String(length=36), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.String(length=36), nullable=True),
    sa.Column('assigned_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decline_reason', sa.Text(), nullable=True),
    sa.Column('arrived_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('arrived_lat', sa.Float(), nullable=True),
    sa.Column('arrived_lon', sa.Float(), nullable=True),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['assignment_id'], ['assignments.id'], ),
    sa.PrimaryKeyConstraint('assignment_id')
    )


def downgrade() -> None:
    op.drop_table('assignment_details')
    with op.batch_alter_table('opinions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_opinions_claim_id'))

    op.drop_table('opinions')
    with op.batch_alter_table('insurer_contacts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_insurer_contacts_insurer_code'))

    op.drop_table('insurer_contacts')
    op.drop_table('premiums')
    op.drop_table('insurer_terms')
    with op.batch_alter_table('insurer_leave', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_insurer_leave_insurer_code'))

    op.drop_table('insurer_leave')
    op.drop_table('authority_reviews')
    with op.batch_alter_table('fund_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_fund_entries_on'))

    op.drop_table('fund_entries')
    op.drop_table('coinsurance_events')
    with op.batch_alter_table('assignment_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_assignment_log_insurer_code'))
        batch_op.drop_index(batch_op.f('ix_assignment_log_claim_id'))

    op.drop_table('assignment_log')
