"""the change feed remembers the phone a pushed change came from

Revision ID: 0014_change_origin
Revises: 0013_civil_affairs
Create Date: 2026-12-04 17:10:00.000000

``changes.origin_device_id``: the device whose push made the stored entity exactly what that
device sent (its fields verbatim, on the version it had: no merge, no conflict, nothing the
server worked out itself). A pull by that device skips the row: the phone holds it already and
took its new version from the push's receipt. Empty for everything else (server-side changes,
merges, conflicts, rows written before this revision), which every device is served as before.
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0014_change_origin'
down_revision = '0013_civil_affairs'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("changes") as batch:
        batch.add_column(sa.Column("origin_device_id", sa.String(36), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("changes") as batch:
        batch.drop_column("origin_device_id")
