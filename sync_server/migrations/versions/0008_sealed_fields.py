"""sealed personal data: the blind index of ID numbers (records.id_index)

Revision ID: 0008_sealed_fields
Revises: 0007_blob_provenance
Create Date: 2026-12-03 16:10:00.000000
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0008_sealed_fields'
down_revision = '0007_blob_provenance'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The blind index of a person's ID number (HMAC-SHA256 under a key derived from the server's
    # seal key). The sealing itself changes no column type: sealed values are JSON inside the same
    # columns; rows from before it are sealed by `python -m sync_server admin seal-existing`.
    with op.batch_alter_table('records', schema=None) as batch_op:
        batch_op.add_column(sa.Column('id_index', sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f('ix_records_id_index'), ['id_index'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('records', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_records_id_index'))
        batch_op.drop_column('id_index')
