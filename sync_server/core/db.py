"""Engines and sessions for SQLite and PostgreSQL.

Two session factories share one engine:
- ``Database.read()``: ordinary transactions (SQLite ``BEGIN`` DEFERRED; PostgreSQL READ COMMITTED).
- ``Database.write()``: transactions that will write. On SQLite they start with ``BEGIN IMMEDIATE``
  so that two writers never both read then both try to upgrade to a write lock (which SQLite
  answers with "database is locked" instead of waiting). On PostgreSQL callers lock the rows they
  read-modify-write (``SELECT ... FOR UPDATE``) and the change log takes its own advisory lock.

pysqlite's own transaction handling is switched off (``isolation_level = None``) so SQLAlchemy's
``BEGIN``/``SAVEPOINT`` are what SQLite sees; per-mutation savepoints depend on that.

On SQLite the process's writers also take turns on a lock of their own before ``BEGIN IMMEDIATE``:
SQLite's busy handler polls for a held write lock with sleeps growing to 100 ms, so writers
waiting for it wake late and in no order; a thread waiting on the lock is woken as soon as the
writer before it ends. (Measured with 200 phones pushing at once: a smaller gain than the
spread between runs; bench/README.md.) The busy timeout still covers writers of other processes
(the admin commands).
"""
from __future__ import annotations

import functools
import threading
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any, Iterator

from sqlalchemy import Table, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from . import sealing
from .settings import Settings

_WRITE_OPTION = "dazu_write"


@functools.cache
def dialect_insert(dialect: str, table: Table):  # noqa: ANN201 - the dialect's Insert
    """``INSERT`` of a dialect (by name), which knows ``on_conflict_do_nothing``. One object per
    table and dialect, and callers keep theirs: a statement built once keeps its cache key, where
    building it anew costs more than running it."""
    return (postgresql if dialect == "postgresql" else sqlite).insert(table)


@functools.cache
def _insert_new(dialect: str, table: Table):  # noqa: ANN202
    return dialect_insert(dialect, table).on_conflict_do_nothing()


def insert_new(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """INSERT the rows, leaving out those whose key is taken (ON CONFLICT DO NOTHING, on both
    databases): another transaction writing the same row at this moment is not an error."""
    if rows:
        session.execute(_insert_new(session.get_bind().dialect.name, table), rows)


def make_engine(database_url: str) -> Engine:
    if database_url.startswith("sqlite"):
        engine = create_engine(
            database_url,
            connect_args={"timeout": 60, "check_same_thread": False},
            pool_size=8,
            max_overflow=16,
            pool_pre_ping=False,
        )

        db_file = sealing.sqlite_path(database_url)

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_conn, _record):  # noqa: ANN001
            dbapi_conn.isolation_level = None
            # Private to the server's user before WAL mode starts: SQLite gives the -wal and -shm
            # files the database file's mode.
            sealing.protect_sqlite_file(db_file)
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA busy_timeout=60000")  # first: every statement below may wait for a lock
            # WAL lets pulls read while a push writes; it is a property of the file, so it is set
            # once: switching it asks for a lock that a connection opened while others write did
            # not always get ("database is locked" from two engines at once, under load).
            if cur.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                cur.execute("PRAGMA journal_mode=WAL")
            # synchronous=FULL makes an acknowledged push survive a power cut, not only a crash.
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA foreign_keys=ON")
            # Deleted rows (an erased person's sealed values, replaced feed rows) are overwritten
            # with zeros where that costs no extra writes.
            cur.execute("PRAGMA secure_delete=FAST")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):  # noqa: ANN001
            if conn.get_execution_options().get(_WRITE_OPTION):
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            else:
                conn.exec_driver_sql("BEGIN")

        return engine
    return create_engine(database_url, pool_size=10, max_overflow=30, pool_pre_ping=True)


class Database:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.engine = make_engine(settings.database_url)
        # The server key that seals personal data (sync_server.core.sealing) hangs on this engine's own
        # dialect: the column types find it there, and two databases never share one by accident.
        setattr(self.engine.dialect, sealing.DIALECT_ATTR, sealing.Sealer.from_settings(settings))
        sealing.protect_dir(Path(settings.data_dir))
        sealing.protect_sqlite_file(sealing.sqlite_path(settings.database_url))
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        self.is_postgres = self.engine.dialect.name == "postgresql"
        # One writer at a time in this process, woken in turn (see the module's docstring).
        self._writer = threading.RLock() if self.is_sqlite else None
        # Sessions carry the settings: the scope rules need the server's clock and the survey
        # access period (sync_server.changelog.access_policy) wherever a claim's visibility is checked.
        self._read = sessionmaker(self.engine, expire_on_commit=False, info={"settings": settings})
        self._write = sessionmaker(
            self.engine.execution_options(**{_WRITE_OPTION: True}), expire_on_commit=False,
            info={"settings": settings},
        )

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self._read() as session:
            try:
                yield session
            finally:
                session.rollback()

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A session whose transaction commits when the block ends normally, rolls back otherwise."""
        with self._writer or nullcontext(), self._write() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()
