"""blob provenance: which device uploaded which bytes

Revision ID: 0007_blob_provenance
Revises: 0006_recovery_entries
Create Date: 2026-12-03 16:10:00.000000
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0007_blob_provenance'
down_revision = '0006_recovery_entries'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('blob_uploads',
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('device_id', sa.String(length=36), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('sha256', 'device_id')
    )
    op.create_table('pending_blob_refs',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('device_id', sa.String(length=36), nullable=False),
    sa.Column('entity', sa.String(length=32), nullable=False),
    sa.Column('entity_id', sa.String(length=64), nullable=False),
    sa.Column('claim_id', sa.String(length=36), nullable=True),
    sa.Column('insurer_code', sa.String(length=32), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('sha256', 'entity', 'entity_id', name='uq_pending_blob_refs')
    )
    with op.batch_alter_table('pending_blob_refs', schema=None) as batch_op:
        batch_op.create_index('ix_pending_blob_refs_sha_device', ['sha256', 'device_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('pending_blob_refs', schema=None) as batch_op:
        batch_op.drop_index('ix_pending_blob_refs_sha_device')
    op.drop_table('pending_blob_refs')
    op.drop_table('blob_uploads')
