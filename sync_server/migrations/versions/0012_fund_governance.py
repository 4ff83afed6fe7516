"""the work fund's agreed budget and the co-insurers' comments

Revision ID: 0012_fund_governance
Revises: 0011_report_records
Create Date: 2026-12-03 22:40:00.000000
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0012_fund_governance'
down_revision = '0011_report_records'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('fund_budgets',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('policy_year', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('proposed_by', sa.String(length=36), nullable=False),
    sa.Column('proposed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('confirmed_by', sa.String(length=36), nullable=True),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('(confirmed_by IS NULL) = (confirmed_at IS NULL)', name='ck_fund_budgets_confirmed'),
    sa.ForeignKeyConstraint(['proposed_by'], ['users.id'], ),
    sa.ForeignKeyConstraint(['confirmed_by'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('fund_budgets', schema=None) as batch_op:
        batch_op.create_index('ux_fund_budgets_year_version', ['policy_year', 'version'], unique=True)
    op.create_table('fund_budget_lines',
    sa.Column('budget_id', sa.String(length=36), nullable=False),
    sa.Column('category', sa.String(length=20), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.CheckConstraint('amount_fen >= 0', name='ck_fund_budget_lines_amount'),
    sa.ForeignKeyConstraint(['budget_id'], ['fund_budgets.id'], ),
    sa.PrimaryKeyConstraint('budget_id', 'category')
    )
    op.create_table('fund_comments',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('policy_year', sa.Integer(), nullable=False),
    sa.Column('quarter', sa.Integer(), nullable=False),
    sa.Column('insurer_code', sa.String(length=32), nullable=False),
    sa.Column('author_id', sa.String(length=36), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('quarter BETWEEN 1 AND 4', name='ck_fund_comments_quarter'),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], ),
    sa.ForeignKeyConstraint(['insurer_code'], ['insurers.code'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('fund_comments', schema=None) as batch_op:
        batch_op.create_index('ix_fund_comments_quarter', ['policy_year', 'quarter'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('fund_comments', schema=None) as batch_op:
        batch_op.drop_index('ix_fund_comments_quarter')
    op.drop_table('fund_comments')
    op.drop_table('fund_budget_lines')
    with op.batch_alter_table('fund_budgets', schema=None) as batch_op:
        batch_op.drop_index('ux_fund_budgets_year_version')
    op.drop_table('fund_budgets')
