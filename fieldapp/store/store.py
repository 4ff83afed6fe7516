"""The Store: opening the database safely, and the repositories over it."""
from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from fieldapp.i18n import both

from . import recovery, upgrade
from ._base import StoreError, now_iso
from .assignments import AssignmentsRepo
from .claims import ClaimsRepo
from .conflicts import ConflictsRepo
from .crypto import FieldCipher, FileKeyProvider, KeyProvider, StoreKeyError
from .db import Db, make_engine
from .documents import DocumentsRepo
from .drafts import DraftsRepo
from .fund import FundRepo
from .notes import NotesRepo
from .opinions import OpinionsRepo
from .outbox import OutboxRepo
from .persons import PersonsRepo
from .photos import PhotosRepo
from .records import ApplyResult
from .remote import RemoteChangesRepo
from .reviews import ReviewsRepo
from .schema import SCHEMA_VERSION, Base, Outbox, Setting, SyncState
from .settings import SettingsRepo
from .sync_state import SyncStateRepo

DB_NAME = "store.db"
KEY_FILE = "store.key"


class Store:
    """The phone's database: the open :class:`Db` and the repositories over it. Create with
    :func:`open_store`; see the package docstring for the API."""

    def __init__(self, db: Db, recovery_report: recovery.RecoveryReport | None, upgraded_from: list[int]):
        self.db = db
        self.data_dir = db.data_dir
        self.db_path = db.data_dir / DB_NAME
        self.engine = db.engine
        self.recovery_report = recovery_report
        self.upgraded_to = upgraded_from
        self.claims = ClaimsRepo(db)
        self.persons = PersonsRepo(db)
        self.documents = DocumentsRepo(db)
        self.photos = PhotosRepo(db)
        self.notes = NotesRepo(db)
        self.assignments = AssignmentsRepo(db)
        self.drafts = DraftsRepo(db)
        self.settings = SettingsRepo(db)
        self.reviews = ReviewsRepo(db)
        self.opinions = OpinionsRepo(db)
        self.fund = FundRepo(db)
        self.conflicts = ConflictsRepo(db)
        self.outbox = OutboxRepo(db)
        self.sync_state = SyncStateRepo(db)
        self._remote = RemoteChangesRepo(db)

    @property
    def writer_role(self) -> str | None:
        """The enrolled user's role (set by the app); see :attr:`Db.writer_role`."""
        return self.db.writer_role

    @writer_role.setter
    def writer_role(self, role: str | None) -> None:
        self.db.writer_role = role

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- sync -----------------------------------------------------------------------------------
    def requeue_record(self, entity: str, record_id: str) -> bool:
        """See RemoteChangesRepo.requeue_record."""
        return self._remote.requeue_record(entity, record_id)

    def apply_remote_changes(self, changes: Iterable[Mapping[str, Any]], new_cursor: str | None) -> ApplyResult:
        """See RemoteChangesRepo.apply: one page of server changes and the new cursor, one transaction."""
        return self._remote.apply(changes, new_cursor)

    def take_versions(self, versions: Iterable[tuple[str, str, int]]) -> None:
        """See RemoteChangesRepo.take_versions."""
        self._remote.take_versions(versions)

    def purge_forgotten_files(self, photo_files: Any = None) -> int:
        """See RemoteChangesRepo.purge_forgotten_files."""
        return self._remote.purge_forgotten_files(photo_files)


# =============================================================================================
# Opening
# =============================================================================================

def open_store(data_dir: Path | str, *, key_provider: KeyProvider | None = None) -> Store:
    """Open (creating if needed) the store in ``data_dir``.

    Checks the file (``PRAGMA quick_check``): a damaged file is quarantined, its readable unsent
    changes exported and queued again, and ``store.recovery_report`` describes it for the user.
    Upgrades an older schema in place (after a backup copy). Raises :class:`StoreKeyError` when the
    data key is missing or belongs to another database, :class:`StoreTooNewError` for a database
    written by a newer app.

    ``key_provider`` defaults to a 0600 key file ``store.key`` in ``data_dir`` (desktop/web mode);
    a phone build passes its secure-storage provider.
    """
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    provider = key_provider if key_provider is not None else FileKeyProvider(data_dir / KEY_FILE)
    path = data_dir / DB_NAME

    report = None
    salvaged = None
    if path.exists():
        problem = recovery.check_integrity(path)
        if problem is not None:
            report, salvaged = recovery.quarantine(data_dir, path, problem)

    upgraded: list[int] = []
    fresh = not path.exists() or path.stat().st_size == 0
    if not fresh:
        if upgrade.read_version(path) == 0:
            fresh = True  # an empty file (e.g. created by a crashed first start): no tables yet
        else:
            upgraded = upgrade.upgrade(path, data_dir / "backups")

    engine = make_engine(path)
    try:
        if fresh:
            with engine.begin() as conn:
                existing = conn.exec_driver_sql(
                    "SELECT count(*) FROM sqlite_master WHERE type='table'").scalar()
                if existing:
                    raise StoreError(f"{path} has tables but no schema version: not a store database")
                Base.metadata.create_all(conn)
                conn.exec_driver_sql(f"PRAGMA user_version = {SCHEMA_VERSION}")

        with Session(engine) as session:
            check = session.get(Setting, "key_check")
        key = provider.load_key()
        if check is None:
            key = key if key is not None else provider.create_key()
        elif key is None:
            raise StoreKeyError(both("error.store.key_missing"))
        cipher = FieldCipher(key)
        if check is not None and not cipher.verify_key_check(base64.b64decode(check.value)):
            raise StoreKeyError(both("error.store.key_mismatch"))

        store = Store(Db(data_dir, engine, cipher), report, upgraded)
        with store.db.write() as session:
            if check is None:
                session.add(Setting(key="key_check",
                                    value=base64.b64encode(cipher.key_check()).decode("ascii")))
            if session.get(SyncState, 1) is None:
                session.add(SyncState(id=1, last_acked_seq=0))
            if salvaged is not None and report is not None:
                _requeue_salvaged(session, salvaged, report)
        return store
    except BaseException:
        engine.dispose()
        raise


def _requeue_salvaged(session: Session, found: recovery.Salvage, report: recovery.RecoveryReport) -> None:
    for e in found.entries:
        if not e.get("entity") or not e.get("id") or "__unparsed__" in (e.get("fields") or {}):
            continue
        session.add(Outbox(
            seq=e["seq"], entity=e["entity"], entity_id=e["id"], op=e.get("op") or "upsert",
            fields=e.get("fields") or {},
            sealed=base64.b64decode(e["sealed_b64"]) if e.get("sealed_b64") else None,
            base_version=e.get("base_version"), created_at=e.get("created_at") or now_iso(),
        ))
    session.flush()
    state = session.get(SyncState, 1)
    if report.device_identity_kept and found.device and found.seq_floor is not None:
        state.device_id = found.device["device_id"]
        tok = found.device.get("token_enc_b64")
        state.token_enc = base64.b64decode(tok) if tok else None
        state.server_url = found.device.get("server_url")
        state.last_acked_seq = found.device.get("last_acked_seq") or 0
        # New local changes continue above every seq the old database ever issued.
        session.execute(text("DELETE FROM sqlite_sequence WHERE name = 'outbox'"))
        session.execute(text("INSERT INTO sqlite_sequence (name, seq) VALUES ('outbox', :s)"),
                        {"s": found.seq_floor})
    state.cursor = None  # local records are gone: pull everything again
    reports = session.get(Setting, "recovery_reports")
    history = list(reports.value) if reports else []
    history = (history + [report.as_dict()])[-10:]
    if reports:
        reports.value = history
    else:
        session.add(Setting(key="recovery_reports", value=history))
