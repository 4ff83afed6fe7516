"""append-only hash-chained audit log, authentication throttling

Revision ID: 0009_audit
Revises: 0008_sealed_fields
Create Date: 2026-12-03 16:10:00.000000
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0009_audit'
down_revision = '0008_sealed_fields'
branch_labels = None
depends_on = None

# The audit log refuses UPDATE and DELETE in the database itself, so no code path (and no slip
# at a SQL prompt) can rewrite it quietly; `python -m sync_server audit verify` catches the rest.
_PG_GUARD = """
CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END;
$$ LANGUAGE plpgsql
"""


def upgrade() -> None:
    op.create_table('audit_log',
    sa.Column('seq', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_user_id', sa.String(length=36), nullable=True),
    sa.Column('device_id', sa.String(length=36), nullable=True),
    sa.Column('role', sa.String(length=20), nullable=True),
    sa.Column('action', sa.String(length=120), nullable=False),
    sa.Column('object_kind', sa.String(length=32), nullable=True),
    sa.Column('object_ids', sa.JSON(), nullable=True),
    sa.Column('claim_id', sa.String(length=36), nullable=True),
    sa.Column('outcome', sa.String(length=64), nullable=True),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('seq'),
    sa.UniqueConstraint('hash', name='uq_audit_log_hash')
    )
    op.create_index('ix_audit_log_claim_id', 'audit_log', ['claim_id'], unique=False)
    op.create_table('auth_failures',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('scope', sa.String(length=16), nullable=False),
    sa.Column('key', sa.String(length=128), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_auth_failures_key', 'auth_failures', ['scope', 'key', 'at'], unique=False)
    op.create_index('ix_auth_failures_at', 'auth_failures', ['at'], unique=False)
    with op.batch_alter_table('enrollment_codes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('qr_path', sa.Text(), nullable=True))

    if op.get_bind().dialect.name == 'postgresql':
        op.execute(_PG_GUARD)
        op.execute("CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log "
                   "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()")
        op.execute("CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
                   "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()")
    else:
        op.execute("CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
                   "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END")
        op.execute("CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
                   "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END")


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_update ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
    with op.batch_alter_table('enrollment_codes', schema=None) as batch_op:
        batch_op.drop_column('qr_path')
    op.drop_index('ix_auth_failures_at', table_name='auth_failures')
    op.drop_index('ix_auth_failures_key', table_name='auth_failures')
    op.drop_table('auth_failures')
    op.drop_index('ix_audit_log_claim_id', table_name='audit_log')
    op.drop_table('audit_log')
