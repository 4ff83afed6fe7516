"""The open database every repository works on: the engine, its read and write transactions, the
data key that seals personal fields, and the role writes are checked for."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session

from ._base import NotFoundError
from .crypto import FieldCipher
from .schema import Claim

BUSY_TIMEOUT_MS = 10_000


def make_engine(path: Path) -> Engine:
    engine = create_engine(
        f"sqlite:///{path}",
        connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000},
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):  # noqa: ANN001
        # SQLAlchemy, not the sqlite3 module, emits BEGIN (see _on_begin): pysqlite's implicit
        # BEGIN comes only before the first write, so a read-then-write would not be one transaction.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        # FULL: a commit is on the flash before the call returns (dead battery right after "saved").
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA foreign_keys=ON")
        # Deleted rows are overwritten with zeros, not left in free pages: a claim the phone was
        # told to forget (a co-insurer's survey ended) must not stay readable in the file.
        cur.execute("PRAGMA secure_delete=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # noqa: ANN001
        # Writers take the write lock up front (IMMEDIATE): two threads that both read then write
        # would otherwise deadlock on the lock upgrade and one would fail with "database is locked".
        mode = conn.get_execution_options().get("dazu_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


class Db:
    """One phone's open database, handed to every repository. Writes take SQLite's write lock at
    BEGIN (IMMEDIATE); every transaction commits when its ``with`` block ends without an error."""

    def __init__(self, data_dir: Path, engine: Engine, cipher: FieldCipher):
        self.data_dir = data_dir
        self.engine = engine
        self.cipher = cipher
        self._write_engine = engine.execution_options(dazu_begin="IMMEDIATE")
        # The enrolled user's role (set by the app): writes this role may not make are refused
        # here, as the server would refuse them. None: not checked (tools, tests, upgrades).
        self.writer_role: str | None = None

    @contextmanager
    def write(self) -> Iterator[Session]:
        with Session(self._write_engine, expire_on_commit=False, autoflush=False) as session:
            with session.begin():
                yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False, autoflush=False) as session:
            with session.begin():
                yield session

    def checkpoint(self) -> None:
        """Fold the write-ahead log into the (secure_delete) database file and empty it."""
        with self.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")

    def close(self) -> None:
        self.engine.dispose()


class Repo:
    """One kind of record over the shared :class:`Db`."""

    def __init__(self, db: Db):
        self._db = db

    @property
    def _c(self) -> FieldCipher:
        return self._db.cipher

    @staticmethod
    def _claim(session: Session, claim_id: str) -> Claim:
        claim = session.get(Claim, claim_id)
        if claim is None:
            raise NotFoundError("claim", claim_id)
        return claim
