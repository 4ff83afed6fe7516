"""Alembic environment: the URL comes from the caller (sync_server.migrate) or DATABASE_URL."""
from __future__ import annotations

from alembic import context
from sqlalchemy import engine_from_config, pool

# Every feature's tables, so that autogenerate sees the whole schema.
from sync_server.audit import models as _audit  # noqa: F401
from sync_server.authority import models as _authority  # noqa: F401
from sync_server.blobs import models as _blobs  # noqa: F401
from sync_server.claims import models as _claims  # noqa: F401
from sync_server.core.models import Base
from sync_server.core.settings import Settings
from sync_server.devices import models as _devices  # noqa: F401
from sync_server.events import models as _events  # noqa: F401
from sync_server.fund import models as _fund  # noqa: F401
from sync_server.insurers import models as _insurers  # noqa: F401
from sync_server.reports import models as _reports  # noqa: F401
from sync_server.rotation import models as _rotation  # noqa: F401
from sync_server.sync import models as _sync  # noqa: F401

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    return url or Settings.from_env().database_url


def run_migrations_offline() -> None:
    url = _url()
    context.configure(
        url=url,
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=url.startswith("sqlite"),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = engine_from_config(
        {"sqlalchemy.url": _url()}, prefix="sqlalchemy.", poolclass=pool.NullPool
    )
    with engine.connect() as conn:
        _run(conn)


def _run(connection) -> None:  # noqa: ANN001
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
