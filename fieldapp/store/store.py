"""The Store: opening the database safely, and the repositories over it."""
from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, bindparam, create_engine, delete, event, exists, func, select, text, tuple_
from sqlalchemy.orm import Session

from claimcore import amounts, entities, wire, workflow
from claimcore.catalogue import load_catalogue
from claimcore.filetypes import ScanError, check_scan
from claimcore.divisions import load_divisions

from . import contract, recovery, upgrade
from ._base import (
    CHINA_TZ,
    NotFoundError,
    StoreError,
    StoreValidationError,
    check_coord,
    check_text,
    now_iso,
    utc_iso,
)
from .crypto import FieldCipher, FileKeyProvider, KeyProvider, StoreKeyError, aad_for
from .outbox import PERSON_SEALED_FIELDS, OutboxRepo, open_fields, pending_field_map, record_mutation
from .records import (
    ApplyResult,
    AssignmentRecord,
    ClaimDetail,
    ClaimListRow,
    ClaimPage,
    ConflictRecord,
    DocumentRecord,
    DraftRecord,
    NoteRecord,
    OfficeClaimRow,
    PageKey,
    PersonRecord,
    PhotoRecord,
    ScanUploadItem,
    SyncStateRecord,
    TransitionRecord,
    UploadItem,
)
from .schema import (
    SCHEMA_VERSION,
    Assignment,
    Base,
    Claim,
    ConflictNote,
    Document,
    Draft,
    Note,
    Outbox,
    Person,
    Photo,
    Review,
    Scan,
    Setting,
    SyncState,
    Transition,
)

DB_NAME = "store.db"
KEY_FILE = "store.key"
BUSY_TIMEOUT_MS = 10_000

UPLOAD_STATES = ("none", "preview", "original")
_DOC_NAMESPACE = uuid.UUID("4f6a2b8e-1d3c-4e5f-9a7b-0c1d2e3f4a5b")

# Claim fields a user may edit with claims.update(); status moves only through transition().
CLAIM_EDITABLE = frozenset({
    "coverage", "catalogue_version", "township_code", "village_code", "incident_at", "address", "lat",
    "lon", "accuracy_m", "description", "loss_types", "claimed_amount_fen", "adjusted_amount_fen", "paid_amount_fen",
    "event_id", "is_draft", "loss_items", "adjusted_reason", "paid_on", "payee_person_id", "transfer_ref",
})
PERSON_EDITABLE = frozenset({"role_in_claim", "relation", "name", "id_number", "phone", "bank_card",
                             "bank_name", "medical"})


@lru_cache(maxsize=1)
def township_names() -> dict[str, str]:
    """Township code -> name (claimcore.divisions), cached: the list screen asks for 30 at a time."""
    return {t.code: t.name for t in load_divisions().townships}


def _new_id() -> str:
    return str(uuid.uuid4())


def _check_uuid(value: Any, field: str) -> str:
    try:
        return wire.normalise_uuid(value, field)
    except wire.WireError:
        raise StoreValidationError(f"编号格式无效：{field}", f"{field}: not a UUID: {value!r}") from None


def document_id(claim_id: str, doc_code: str) -> str:
    """Deterministic, so two phones marking the same checklist item address the same record."""
    return str(uuid.uuid5(_DOC_NAMESPACE, f"{claim_id}/{doc_code}"))


def _make_engine(path: Path) -> Engine:
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
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # noqa: ANN001
        # Writers take the write lock up front (IMMEDIATE): two threads that both read then write
        # would otherwise deadlock on the lock upgrade and one would fail with "database is locked".
        mode = conn.get_execution_options().get("dazu_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


def _fix_value(fix: Any, *names: str) -> Any:
    for name in names:
        if isinstance(fix, Mapping):
            if name in fix:
                return fix[name]
        elif hasattr(fix, name):
            return getattr(fix, name)
    return None


class Store:
    """The phone's database. Create with :func:`open_store`; see the package docstring for the API."""

    def __init__(self, data_dir: Path, engine: Engine, cipher: FieldCipher,
                 recovery_report: recovery.RecoveryReport | None, upgraded_from: list[int]):
        self.data_dir = data_dir
        self.db_path = data_dir / DB_NAME
        self.engine = engine
        self._write_engine = engine.execution_options(dazu_begin="IMMEDIATE")
        self._cipher = cipher
        self.recovery_report = recovery_report
        self.upgraded_to = upgraded_from
        # The enrolled user's role (set by the app): writes this role may not make are refused
        # here, as the server would refuse them. None: not checked (tools, tests, upgrades).
        self.writer_role: str | None = None
        self.claims = ClaimsRepo(self)
        self.persons = PersonsRepo(self)
        self.documents = DocumentsRepo(self)
        self.photos = PhotosRepo(self)
        self.notes = NotesRepo(self)
        self.assignments = AssignmentsRepo(self)
        self.drafts = DraftsRepo(self)
        self.settings = SettingsRepo(self)
        self.reviews = ReviewsRepo(self)
        self.opinions = OpinionsRepo(self)
        self.fund = FundRepo(self)
        self.conflicts = ConflictsRepo(self)
        self.outbox = OutboxRepo(self)
        self.sync_state = SyncStateRepo(self)

    # -- transactions ---------------------------------------------------------------------------
    @contextmanager
    def _write(self) -> Iterator[Session]:
        with Session(self._write_engine, expire_on_commit=False, autoflush=False) as session:
            with session.begin():
                yield session

    @contextmanager
    def _read(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False, autoflush=False) as session:
            with session.begin():
                yield session

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- sync -----------------------------------------------------------------------------------
    def requeue_record(self, entity: str, record_id: str) -> bool:
        """Queue the whole record again, as the phone holds it now: the server refused an earlier
        write of it (a rule changed, a role lost its scope, its claim was refused first), and the
        server must end up with it. False when this phone no longer holds the record."""
        model = _SYNCED_MODELS.get(entity)
        if model is None:
            return False
        with self._write() as session:
            row = session.get(model, record_id)
            if row is None:
                return False
            if entity == "person":
                rec = _person_record(self._cipher, row)
                fields = {k: getattr(rec, k) for k in ("claim_id", *PERSON_EDITABLE)}
                fields["created_at"] = rec.created_at
            else:
                fields = {k: getattr(row, k) for k in _wire_columns(model)}
                if entity == "claim":
                    fields.setdefault("report_no", row.report_no)
            record_mutation(session, self._cipher, entity, record_id, fields, base_version=row.version)
            return True

    def apply_remote_changes(self, changes: Iterable[Mapping[str, Any]], new_cursor: str | None) -> ApplyResult:
        """Apply one page of server changes and store the new pull cursor, in ONE transaction.

        A change is ``{"entity", "id", "version", "op": "upsert"|"delete", "fields": {all fields}}``.

        The rule for unsent local edits: a field that has an unsent local edit (an outbox entry of
        the same entity and id names it) keeps its LOCAL value; every other field takes the
        server's value, and the record takes the server's version. The push that follows sends the
        local value, and the server decides (later arrival wins, the other value is kept in a
        conflict note that comes back as a ``conflict`` change). A server ``delete`` of a record
        with unsent local edits is not applied for the same reason. Personal fields arrive in
        plaintext and are sealed before they are written. Unknown entities (a newer server) are
        skipped and reported, never guessed at.
        """
        return _apply_remote(self, list(changes), new_cursor)


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

    engine = _make_engine(path)
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
            raise StoreKeyError(
                "找不到本机数据库的密钥，无法读取个人信息；请联系技术支持，不要删除数据 "
                "(the data key of this database is missing)")
        cipher = FieldCipher(key)
        if check is not None and not cipher.verify_key_check(base64.b64decode(check.value)):
            raise StoreKeyError("密钥与本机数据库不匹配 (the data key does not belong to this database)")

        store = Store(data_dir, engine, cipher, report, upgraded)
        with store._write() as session:
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


# =============================================================================================
# Repositories
# =============================================================================================

class _Repo:
    def __init__(self, store: Store):
        self._s = store

    @property
    def _c(self) -> FieldCipher:
        return self._s._cipher

    @staticmethod
    def _claim(session: Session, claim_id: str) -> Claim:
        claim = session.get(Claim, claim_id)
        if claim is None:
            raise NotFoundError("claim", claim_id)
        return claim


def _validate_claim_fields(fields: dict[str, Any], *, creating: bool = False,
                           role: str | None = None) -> dict[str, Any]:
    """Check and normalise claim fields given by a caller (raises StoreValidationError)."""
    unknown = sorted(set(fields) - CLAIM_EDITABLE)
    if unknown:
        raise StoreValidationError(f"不能修改此项：{unknown[0]}", f"claim field {unknown[0]!r} cannot be set here")
    fields = dict(fields)
    for name in ("address", "description", "coverage", "catalogue_version"):
        if isinstance(fields.get(name), str):
            fields[name] = fields[name].strip()
    if "incident_at" in fields:
        fields["incident_at"] = utc_iso(fields["incident_at"], "incident_at")
    if fields.get("loss_types") is None and "loss_types" in fields:
        fields["loss_types"] = []
    if isinstance(fields.get("loss_types"), (set, frozenset, tuple)):
        fields["loss_types"] = list(fields["loss_types"])
    out = contract.check("claim", fields, creating=creating, role=role)
    for name in ("lat", "lon", "accuracy_m"):
        if out.get(name) is not None:
            out[name] = float(out[name])
    if "village_code" in out and out["village_code"] and out.get("township_code"):
        if not load_divisions().is_village_in(out["township_code"], out["village_code"]):
            raise StoreValidationError("村（社区）不属于所选镇街", "village is not in the chosen township")
    return out


def _check_coverage(coverage: str, catalogue_version: str | None) -> str:
    from claimcore.catalogue import load_catalogue

    catalogue = load_catalogue(catalogue_version)
    try:
        catalogue.coverage(coverage)
    except ValueError as exc:
        raise StoreValidationError(f"未知的险种：{coverage}", str(exc)) from None
    return catalogue.version


class ClaimsRepo(_Repo):
    def create(
        self,
        *,
        coverage: str,
        role: str,
        created_by: str | None = None,
        township_code: str | None = None,
        village_code: str | None = None,
        incident_at: datetime | str | None = None,
        address: str | None = None,
        lat: float | None = None,
        lon: float | None = None,
        accuracy_m: float | None = None,
        description: str | None = None,
        loss_types: Iterable[str] = (),
        claimed_amount_fen: int | None = None,
        event_id: str | None = None,
        catalogue_version: str | None = None,
        is_draft: bool = False,
        claim_id: str | None = None,
        at: datetime | str | None = None,
    ) -> str:
        """Report a new claim (state ``reported``). Returns its id; its report number is made here.

        ``role`` must be allowed to report (claimcore.workflow.check_report). Writes the claim, its
        first timeline entry and both outbox mutations in one transaction. ``claim_id`` lets the
        new-claim wizard keep the id its draft was saved under.
        """
        workflow.check_report(role)
        fields = _validate_claim_fields({
            "coverage": coverage, "township_code": township_code, "village_code": village_code,
            "incident_at": incident_at, "address": address, "lat": lat, "lon": lon,
            "accuracy_m": accuracy_m, "description": description, "loss_types": list(loss_types),
            "claimed_amount_fen": claimed_amount_fen, "event_id": event_id, "is_draft": is_draft,
            "catalogue_version": catalogue_version,
        }, creating=True, role=self._s.writer_role)
        fields["catalogue_version"] = _check_coverage(fields["coverage"], catalogue_version)
        created_by = check_text(created_by, "created_by", max_len=64)
        claim_id = _check_uuid(claim_id, "claim_id") if claim_id is not None else _new_id()
        stamp = utc_iso(at, "at") if at is not None else now_iso()
        with self._s._write() as session:
            if session.get(Claim, claim_id) is not None:
                raise StoreValidationError("案件已存在", f"claim {claim_id} already exists")
            report_no = _next_report_no(session)
            claim = Claim(id=claim_id, report_no=report_no, status=workflow.INITIAL_STATE,
                          created_by=created_by, created_at=stamp, updated_at=stamp, version=None,
                          adjusted_amount_fen=None, paid_amount_fen=None, **fields)
            session.add(claim)
            wire = {k: getattr(claim, k) for k in _wire_columns(Claim)}
            record_mutation(session, self._c, "claim", claim_id, wire)
            _add_transition(session, self._c, claim_id, None, workflow.INITIAL_STATE, user=created_by,
                            role=role, at=stamp, lat=lat, lon=lon, reason=None)
            # The wizard's draft under the same id goes in the same transaction: after a crash there
            # is either the draft or the claim, never both (resuming it would report twice).
            session.execute(delete(Draft).where(Draft.id == claim_id))
            return claim_id

    def update(self, claim_id: str, **fields: Any) -> frozenset[str]:
        """Change claim fields. Writes only what really changed, with an outbox entry carrying only
        those fields (and the server version it was based on). Returns the changed field names;
        an empty set means nothing was written."""
        values = _validate_claim_fields(fields, role=self._s.writer_role)
        with self._s._write() as session:
            claim = self._claim(session, claim_id)
            if "coverage" in values or "catalogue_version" in values:
                cov = values.get("coverage", claim.coverage)
                values["catalogue_version"] = _check_coverage(cov, values.get("catalogue_version", claim.catalogue_version))
            if "village_code" in values and values["village_code"] and "township_code" not in values:
                if not load_divisions().is_village_in(claim.township_code or "", values["village_code"]):
                    raise StoreValidationError("村（社区）不属于所选镇街", "village is not in the claim's township")
            changed = {k: v for k, v in values.items() if getattr(claim, k) != v}
            if not changed:
                return frozenset()
            _check_money(session, claim, changed)
            for k, v in changed.items():
                setattr(claim, k, v)
            claim.updated_at = now_iso()
            record_mutation(session, self._c, "claim", claim_id, changed, base_version=claim.version)
            return frozenset(changed)

    def transition(
        self,
        claim_id: str,
        target: str,
        *,
        role: str,
        user: str | None,
        lat: float | None = None,
        lon: float | None = None,
        reason: str | None = None,
        checklist_complete: bool = False,
        authority_cleared: bool = False,
        survey_participant: bool = False,
        at: datetime | str | None = None,
    ) -> TransitionRecord:
        """Move the claim to ``target`` if claimcore.workflow allows it (else WorkflowError, and
        nothing is written). Records who, when, where and why in the timeline. Outbox: a ``claim``
        mutation with the new ``status`` and a ``transition`` mutation with the timeline entry."""
        checked = contract.check("transition", {"lat": lat, "lon": lon,
                                                "reason": reason.strip() or None if isinstance(reason, str) else reason})
        lat, lon, reason = (None if checked[k] is None else checked[k] for k in ("lat", "lon", "reason"))
        lat, lon = (None if v is None else float(v) for v in (lat, lon))
        stamp = utc_iso(at, "at") if at is not None else now_iso()
        with self._s._write() as session:
            claim = self._claim(session, claim_id)
            workflow.check_transition(claim.status, target, role, checklist_complete=checklist_complete,
                                      authority_cleared=authority_cleared, reason=reason,
                                      survey_participant=survey_participant)
            _check_money(session, claim, {}, target)
            source = claim.status
            claim.status = target
            claim.updated_at = now_iso()
            # The reason travels with the status too: the server checks the same guard.
            change = {"status": target, **({"status_reason": reason} if reason else {})}
            record_mutation(session, self._c, "claim", claim_id, change, base_version=claim.version)
            return _add_transition(session, self._c, claim_id, source, target, user=user, role=role,
                                   at=stamp, lat=lat, lon=lon, reason=reason)

    def get(self, claim_id: str) -> ClaimDetail:
        """Everything about one claim, personal data decrypted (masking is the screen's job)."""
        with self._s._read() as session:
            c = self._claim(session, claim_id)
            persons = session.scalars(select(Person).where(Person.claim_id == claim_id)
                                      .order_by(Person.created_at, Person.id)).all()
            docs = session.scalars(select(Document).where(Document.claim_id == claim_id)
                                   .order_by(Document.code)).all()
            photos = session.scalars(select(Photo).where(Photo.claim_id == claim_id)
                                     .order_by(Photo.taken_at, Photo.created_at)).all()
            notes = session.scalars(select(Note).where(Note.claim_id == claim_id)
                                    .order_by(Note.written_at, Note.id)).all()
            steps = session.scalars(select(Transition).where(Transition.claim_id == claim_id)
                                    .order_by(Transition.at, Transition.id)).all()
            pending: set[str] = set()
            for row in session.scalars(select(Outbox).where(Outbox.entity == "claim",
                                                            Outbox.entity_id == claim_id)):
                pending.update(open_fields(self._c, row))
            return ClaimDetail(
                **{k: getattr(c, k) for k in _columns(Claim)},
                township_name=township_names().get(c.township_code or ""),
                persons=[_person_record(self._c, p) for p in persons],
                documents=[_document_record(d) for d in docs],
                photos=[_photo_record(p) for p in photos],
                notes=[NoteRecord(n.id, n.claim_id, n.text, n.author, n.written_at) for n in notes],
                timeline=[_transition_record(t) for t in steps],
                pending_fields=frozenset(pending),
            )

    def timeline(self, claim_id: str) -> list[TransitionRecord]:
        with self._s._read() as session:
            self._claim(session, claim_id)
            steps = session.scalars(select(Transition).where(Transition.claim_id == claim_id)
                                    .order_by(Transition.at, Transition.id)).all()
            return [_transition_record(t) for t in steps]

    def list_page(
        self,
        *,
        status: str | Iterable[str] | None = None,
        township_code: str | None = None,
        coverage: str | None = None,
        event_id: str | None = None,
        is_draft: bool | None = None,
        search: str | None = None,
        limit: int = 30,
        after: PageKey | None = None,
        offset: int | None = None,
    ) -> ClaimPage:
        """One page of the claims list, newest first (by created_at, then id).

        Page with ``after=page.next_key`` (keyset: stable while new claims arrive, and as fast on
        page 300 as on page 1); ``offset`` is there for screens that jump to a page number.
        ``search`` matches the report number, the victim's name or the place (substring).
        """
        if not (1 <= limit <= 500):
            raise StoreValidationError("每页条数应在 1–500 之间", "limit must be 1..500")
        params: dict[str, Any] = {"lim": limit + 1, "off": int(offset or 0)}
        if status is not None:
            params["statuses"] = [status] if isinstance(status, str) else list(status)
        for name, value in (("township_code", township_code), ("coverage", coverage),
                            ("event_id", event_id), ("is_draft", is_draft)):
            if value is not None:
                params[name] = value
        if search:
            params["like"] = "%" + search.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        if after is not None:
            params["after_created"], params["after_id"] = after.created_at, after.id
        stmt = _list_statement(frozenset(k for k in params if k not in ("lim", "off")))
        names = township_names()
        with self._s.engine.connect() as conn:
            result = conn.execute(stmt, params).all()
        # positional: query columns in ClaimListRow order, the township name slotted in after its code
        rows = [ClaimListRow(*r[:5], names.get(r[4] or ""), *r[5:12], bool(r[12]), bool(r[13]))
                for r in result[:limit]]
        next_key = PageKey(rows[-1].created_at, rows[-1].id) if len(result) > limit else None
        return ClaimPage(rows, next_key)

    def office_rows(self) -> list[OfficeClaimRow]:
        """Every claim on this phone (drafts aside), oldest report first, with its amounts and the
        moments its deadlines run from: three queries, whatever the number of claims (an office
        holds thousands)."""
        with self._s._read() as session:
            claims = session.execute(select(
                Claim.id, Claim.report_no, Claim.coverage, Claim.status, Claim.township_code, Claim.event_id,
                Claim.incident_at, Claim.created_at, Claim.claimed_amount_fen, Claim.adjusted_amount_fen,
                Claim.paid_amount_fen).where(Claim.is_draft.is_(False))
                .order_by(Claim.created_at, Claim.id)).all()
            victims: dict[str, str] = {}
            for cid, name in session.execute(select(Person.claim_id, Person.name).where(
                    Person.role_in_claim == "victim").order_by(Person.created_at.desc())):
                victims[cid] = name  # the earliest victim wins, as on the claims list
            moments: dict[tuple[str, str], str] = {}
            for cid, state, first, last in session.execute(
                    select(Transition.claim_id, Transition.to_status, func.min(Transition.at), func.max(Transition.at))
                    .where(Transition.to_status.in_(("reported", "submitted", "approved", "paid")))
                    .group_by(Transition.claim_id, Transition.to_status)):
                moments[(cid, state)] = first if state in ("reported", "submitted") else last
        rows = [OfficeClaimRow(*r, victims.get(r[0]), moments.get((r[0], "reported")) or r[7],
                               moments.get((r[0], "submitted")), moments.get((r[0], "approved")),
                               moments.get((r[0], "paid")))
                for r in claims]
        return sorted(rows, key=lambda r: (r.reported_at, r.id))

    def existing_ids(self, ids: Iterable[str]) -> set[str]:
        """Which of ``ids`` are claims on this phone (one query per 500 ids)."""
        wanted = sorted(set(ids))
        found: set[str] = set()
        with self._s._read() as session:
            for start in range(0, len(wanted), 500):
                found.update(session.scalars(select(Claim.id).where(Claim.id.in_(wanted[start:start + 500]))))
        return found

    def count(self, *, status: str | None = None) -> int:
        with self._s._read() as session:
            stmt = select(func.count()).select_from(Claim)
            if status is not None:
                stmt = stmt.where(Claim.status == status)
            return session.scalar(stmt) or 0


@lru_cache(maxsize=64)
def _list_statement(shape: frozenset[str]) -> Any:
    """The claims-list query for one combination of filters, built once with bind parameters.

    Building a select() with its three correlated subqueries costs several times more than running
    it on an indexed table; the list screen runs it on every scroll and every return to the screen.
    """
    victim = (select(Person.name).where(Person.claim_id == Claim.id, Person.role_in_claim == "victim")
              .order_by(Person.created_at).limit(1).scalar_subquery())
    photo_count = select(func.count()).where(Photo.claim_id == Claim.id).scalar_subquery()
    unsynced = exists().where(Outbox.entity == "claim", Outbox.entity_id == Claim.id)
    stmt = select(
        Claim.id, Claim.report_no, Claim.coverage, Claim.status, Claim.township_code,
        Claim.village_code, Claim.incident_at, Claim.created_at, Claim.updated_at,
        Claim.claimed_amount_fen, victim.label("victim_name"), photo_count.label("photo_count"),
        Claim.is_draft, unsynced.label("unsynced"),
    )
    if "statuses" in shape:
        stmt = stmt.where(Claim.status.in_(bindparam("statuses", expanding=True)))
    for name in ("township_code", "coverage", "event_id", "is_draft"):
        if name in shape:
            stmt = stmt.where(getattr(Claim, name) == bindparam(name))
    if "like" in shape:
        like = bindparam("like")
        victims = select(Person.claim_id).where(Person.name.like(like, escape="\\"))
        stmt = stmt.where(Claim.report_no.like(like, escape="\\") | Claim.address.like(like, escape="\\")
                          | Claim.id.in_(victims))
    if "after_created" in shape:
        stmt = stmt.where(tuple_(Claim.created_at, Claim.id)
                          < tuple_(bindparam("after_created"), bindparam("after_id")))
    return (stmt.order_by(Claim.created_at.desc(), Claim.id.desc())
            .limit(bindparam("lim")).offset(bindparam("off")))


def _next_report_no(session: Session) -> str:
    """DZ-YYYYMMDD-TTTT-NNNN: local (China) date, this install's random 4-letter tag, and a daily
    counter. The tag keeps numbers made offline on different phones apart; the UUID stays the
    identity, the report number is what people read out on the phone."""
    day = datetime.now(CHINA_TZ).strftime("%Y%m%d")
    tag_row = session.get(Setting, "report_tag")
    if tag_row is None:
        alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud on the phone
        tag_row = Setting(key="report_tag", value="".join(secrets.choice(alphabet) for _ in range(4)))
        session.add(tag_row)
    counter_row = session.get(Setting, "report_counter")
    counter = dict(counter_row.value) if counter_row else {}
    n = int(counter.get(day, 0))
    while True:
        n += 1
        report_no = f"DZ-{day}-{tag_row.value}-{n:04d}"
        if session.scalar(select(func.count()).where(Claim.report_no == report_no)) == 0:
            break
    if counter_row is None:
        session.add(Setting(key="report_counter", value={day: n}))
    else:
        counter_row.value = {day: n}
    return report_no


def _money_persons(session: Session, claim_id: str) -> list[dict[str, Any]]:
    """The claim's persons as claimcore.amounts reads them (whether a bank account is on file)."""
    rows = session.scalars(select(Person).where(Person.claim_id == claim_id)).all()
    return [{"id": p.id, "role_in_claim": p.role_in_claim, "has_bank_account": p.bank_card_enc is not None}
            for p in rows]


def _check_money(session: Session, claim: Claim, changed: dict[str, Any], target: str | None = None) -> None:
    """claimcore.amounts on a write (``changed``) or a move to ``target``, as the server checks."""
    if target is None and not amounts.MONEY_FIELDS & set(changed):
        return
    persons = _money_persons(session, claim.id)
    values = {**{k: getattr(claim, k) for k in _columns(Claim)}, **changed}
    limits = amounts.limits_for(claim.coverage, values.get("loss_types") or [], amounts.victims_of(persons),
                                load_catalogue(claim.catalogue_version))
    try:
        if target is None:
            amounts.check_write(changed, limits)
        else:
            amounts.check_state(target, values, persons, limits)
    except amounts.AmountError as exc:
        raise StoreValidationError(exc.message("zh"), exc.message("en")) from None


def _add_transition(session: Session, cipher: FieldCipher, claim_id: str, source: str | None,
                    target: str, *, user: str | None, role: str | None, at: str,
                    lat: float | None, lon: float | None, reason: str | None) -> TransitionRecord:
    t = Transition(id=_new_id(), claim_id=claim_id, from_status=source, to_status=target, by_user=user,
                   role=role, at=at, lat=lat, lon=lon, reason=reason, version=None)
    session.add(t)
    record_mutation(session, cipher, "transition", t.id, {k: getattr(t, k) for k in _wire_columns(Transition)})
    return _transition_record(t)


def _columns(model: type[Base]) -> list[str]:
    return [c.key for c in model.__table__.columns]


# Columns that never travel in a mutation: the record id is the mutation's "id", the version is
# the server's, upload_state is this phone's own bookkeeping.
_LOCAL_ONLY = {"id", "version", "upload_state"}


_SYNCED_MODELS: dict[str, type[Base]] = {
    "claim": Claim, "person": Person, "document": Document, "photo": Photo, "note": Note,
    "transition": Transition,
}


def _wire_columns(model: type[Base]) -> list[str]:
    return [c for c in _columns(model) if c not in _LOCAL_ONLY]


def _transition_record(t: Transition) -> TransitionRecord:
    return TransitionRecord(t.id, t.claim_id, t.from_status, t.to_status, t.by_user, t.role, t.at,
                            t.lat, t.lon, t.reason, t.by_name)


def _document_record(d: Document) -> DocumentRecord:
    return DocumentRecord(d.id, d.claim_id, d.code, d.status, d.note, d.scan_ref, d.updated_by,
                          d.updated_at, d.version)


def _photo_record(p: Photo) -> PhotoRecord:
    return PhotoRecord(
        p.id, p.sha256, p.claim_id, p.taken_at, p.lat, p.lon, p.fix_alt, p.fix_accuracy_m,
        p.fix_at, p.width, p.height, list(p.flags or []), p.exif_gps, bool(p.exif_replaced),
        p.converted_from, p.upload_state, p.created_by, p.created_at)


# A sealed value is bound to the field's name as it was first sealed: the bank card was named
# bank_account then, and renaming its label would make every sealed account unreadable.
_SEAL_LABELS = {"bank_card": "bank_account"}


def _seal_person_value(cipher: FieldCipher, person_id: str, name: str, value: Any) -> bytes | None:
    if value is None:
        return None
    return cipher.seal_bytes(json.dumps(value, ensure_ascii=False).encode("utf-8"),
                             aad_for("persons", _SEAL_LABELS.get(name, name), person_id))


def _open_person_value(cipher: FieldCipher, person_id: str, name: str, sealed: bytes | None) -> Any:
    if sealed is None:
        return None
    return json.loads(cipher.open_bytes(sealed, aad_for("persons", _SEAL_LABELS.get(name, name), person_id)))


def _person_record(cipher: FieldCipher, p: Person) -> PersonRecord:
    opened = {name: _open_person_value(cipher, p.id, name, getattr(p, col))
              for name, col in PERSON_SEALED_FIELDS.items()}
    return PersonRecord(id=p.id, claim_id=p.claim_id, role_in_claim=p.role_in_claim, relation=p.relation, name=p.name,
                        bank_name=p.bank_name, created_at=p.created_at, updated_at=p.updated_at,
                        version=p.version, **opened)


def _validate_person_fields(fields: dict[str, Any], role: str | None = None, *,
                            creating: bool = False) -> dict[str, Any]:
    unknown = sorted(set(fields) - PERSON_EDITABLE)
    if unknown:
        raise StoreValidationError(f"不能修改此项：{unknown[0]}", f"person field {unknown[0]!r} cannot be set here")
    fields = {k: (v.strip() or None) if isinstance(v, str) and k != "role_in_claim" else v
              for k, v in fields.items()}
    return contract.check("person", fields, role=role, creating=creating)


class PersonsRepo(_Repo):
    """Victims, claimants, payees, agents and heirs of a claim. ID number, phone, bank account and
    medical details are sealed at rest; records come back decrypted."""

    def add(self, claim_id: str, *, role_in_claim: str, name: str | None = None, relation: str | None = None,
            id_number: str | None = None, phone: str | None = None, bank_card: str | None = None,
            bank_name: str | None = None, medical: Any = None, person_id: str | None = None) -> str:
        values = _validate_person_fields({
            "role_in_claim": role_in_claim, "name": name, "relation": relation, "id_number": id_number, "phone": phone,
            "bank_card": bank_card, "bank_name": bank_name, "medical": medical},
            self._s.writer_role, creating=True)
        person_id = _check_uuid(person_id, "person_id") if person_id is not None else _new_id()
        stamp = now_iso()
        with self._s._write() as session:
            self._claim(session, claim_id)
            p = Person(id=person_id, claim_id=claim_id, role_in_claim=values["role_in_claim"],
                       relation=values["relation"],
                       name=values["name"], bank_name=values["bank_name"], created_at=stamp,
                       updated_at=stamp, version=None)
            for wire_name, col in PERSON_SEALED_FIELDS.items():
                setattr(p, col, _seal_person_value(self._c, person_id, wire_name, values[wire_name]))
            session.add(p)
            wire = {"claim_id": claim_id, "created_at": stamp,
                    **{k: v for k, v in values.items() if v is not None}}
            record_mutation(session, self._c, "person", person_id, wire)
            return person_id

    def update(self, person_id: str, **fields: Any) -> frozenset[str]:
        values = _validate_person_fields(fields, self._s.writer_role)
        with self._s._write() as session:
            p = session.get(Person, person_id)
            if p is None:
                raise NotFoundError("person", person_id)
            current = _person_record(self._c, p)
            changed = {k: v for k, v in values.items() if getattr(current, k) != v}
            if not changed:
                return frozenset()
            for k, v in changed.items():
                if k in PERSON_SEALED_FIELDS:
                    setattr(p, PERSON_SEALED_FIELDS[k], _seal_person_value(self._c, person_id, k, v))
                else:
                    setattr(p, k, v)
            p.updated_at = now_iso()
            record_mutation(session, self._c, "person", person_id, {"claim_id": p.claim_id, **changed},
                            base_version=p.version)
            return frozenset(changed)

    def remove(self, person_id: str) -> None:
        with self._s._write() as session:
            p = session.get(Person, person_id)
            if p is None:
                raise NotFoundError("person", person_id)
            claim_id, version = p.claim_id, p.version
            session.delete(p)
            record_mutation(session, self._c, "person", person_id, {"claim_id": claim_id},
                            op="delete", base_version=version)

    def get(self, person_id: str) -> PersonRecord:
        with self._s._read() as session:
            p = session.get(Person, person_id)
            if p is None:
                raise NotFoundError("person", person_id)
            return _person_record(self._c, p)

    def claims_with_id_number(self, id_number: str) -> set[str]:
        """The claims naming a person with exactly this ID number (sealed at rest: each is opened
        and compared, never searched by substring)."""
        wanted = (id_number or "").strip().upper()
        if not wanted:
            return set()
        with self._s._read() as session:
            rows = session.execute(select(Person.id, Person.claim_id, Person.id_number_enc)
                                   .where(Person.id_number_enc.is_not(None))).all()
        return {cid for pid, cid, sealed in rows
                if str(_open_person_value(self._c, pid, "id_number", sealed) or "").upper() == wanted}

    def list_for_claim(self, claim_id: str) -> list[PersonRecord]:
        with self._s._read() as session:
            rows = session.scalars(select(Person).where(Person.claim_id == claim_id)
                                   .order_by(Person.created_at, Person.id)).all()
            return [_person_record(self._c, p) for p in rows]


_UNSET: Any = object()


class DocumentsRepo(_Repo):
    """Checklist items of a claim (one record per claim and document code) and their scans."""

    def set_status(self, claim_id: str, code: str, status: str, *, note: str | None = _UNSET,
                   user: str | None = None) -> DocumentRecord:
        checked = contract.check("document", {"code": code, "status": status,
                                              **({} if note is _UNSET else {"note": note})}, creating=True,
                                 role=self._s.writer_role)
        code = checked["code"]
        if note is not _UNSET:
            note = checked["note"]
        with self._s._write() as session:
            self._claim(session, claim_id)
            return _set_document(session, self._c, claim_id, code,
                                 {"status": status, **({} if note is _UNSET else {"note": note})}, user)

    def attach_scan(self, claim_id: str, doc_code: str, data: bytes, *, user: str | None = None) -> str:
        """Store a scanned paper ENCRYPTED under scans/ and link it to the checklist item (status
        becomes ``collected`` if it was missing). Returns the scan id.

        Only JPEG, PNG, HEIC and PDF files up to ``claimcore.filetypes.MAX_SCAN_BYTES`` are
        accepted, judged by their bytes (``claimcore.filetypes.check_scan``, the rule the server
        applies too); anything else is refused with a StoreValidationError. The content type
        stored is the one the bytes show, whatever the file was called."""
        if not isinstance(data, (bytes, bytearray)) or not data:
            raise StoreValidationError("扫描件为空", "scan: no bytes")
        role = self._s.writer_role
        if role is not None and role not in entities.FILE_ROLES:
            # Scans are victims' personal data: the server takes them only from the roles that
            # handle a claim's files, so a co-insurer's phone must not hold one it can never send.
            raise StoreValidationError("查勘员不能附扫描件（个人信息由联络员和理赔员收集）",
                                       "Surveyors do not attach scans (personal papers are collected by the "
                                       "liaison and the adjuster)")
        doc_code = contract.check("document", {"code": doc_code})["code"]
        try:
            content_type = check_scan(data)
        except ScanError as exc:
            raise StoreValidationError(exc.zh, exc.en) from None
        scan_id = _new_id()
        path = self._scan_path(scan_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        with open(tmp, "wb") as f:
            f.write(self._c.seal_bytes(bytes(data), aad_for("scans", "file", scan_id)))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        try:
            with self._s._write() as session:
                self._claim(session, claim_id)
                session.add(Scan(id=scan_id, claim_id=claim_id, doc_code=doc_code,
                                 sha256=hashlib.sha256(data).hexdigest(), byte_size=len(data),
                                 content_type=content_type, created_at=now_iso(), uploaded=False))
                existing = session.get(Document, document_id(claim_id, doc_code))
                changes: dict[str, Any] = {"scan_ref": scan_id}
                if existing is None or existing.status == "missing":
                    changes["status"] = "collected"
                _set_document(session, self._c, claim_id, doc_code, changes, user)
        except BaseException:
            path.unlink(missing_ok=True)  # the record was not written: no orphan file
            raise
        return scan_id

    def read_scan(self, scan_id: str) -> bytes:
        try:
            sealed = self._scan_path(scan_id).read_bytes()
        except FileNotFoundError:
            raise NotFoundError("scan", scan_id) from None
        return self._c.open_bytes(sealed, aad_for("scans", "file", scan_id))

    def pending_scan_uploads(self) -> list[ScanUploadItem]:
        with self._s._read() as session:
            rows = session.scalars(select(Scan).where(Scan.uploaded.is_(False)).order_by(Scan.created_at)).all()
            return [ScanUploadItem(s.id, s.claim_id, s.doc_code, s.sha256, s.byte_size, s.content_type)
                    for s in rows]

    def mark_scan_uploaded(self, scan_id: str) -> None:
        with self._s._write() as session:
            scan = session.get(Scan, scan_id)
            if scan is None:
                raise NotFoundError("scan", scan_id)
            scan.uploaded = True

    def list_for_claim(self, claim_id: str) -> list[DocumentRecord]:
        with self._s._read() as session:
            rows = session.scalars(select(Document).where(Document.claim_id == claim_id)
                                   .order_by(Document.code)).all()
            return [_document_record(d) for d in rows]

    def _scan_path(self, scan_id: str) -> Path:
        uuid.UUID(scan_id)  # never a path from outside
        return self._s.data_dir / "scans" / f"{scan_id}.bin"


def _set_document(session: Session, cipher: FieldCipher, claim_id: str, code: str,
                  changes: dict[str, Any], user: str | None) -> DocumentRecord:
    doc_id = document_id(claim_id, code)
    doc = session.get(Document, doc_id)
    stamp = now_iso()
    if doc is None:
        doc = Document(id=doc_id, claim_id=claim_id, code=code, status="missing", note=None,
                       scan_ref=None, updated_by=user, updated_at=stamp, version=None)
        session.add(doc)
        changed = {"claim_id": claim_id, "code": code, **changes}
    else:
        changed = {k: v for k, v in changes.items() if getattr(doc, k) != v}
        if not changed:
            return _document_record(doc)
        changed = {"claim_id": claim_id, "code": code, **changed}
    for k, v in changes.items():
        setattr(doc, k, v)
    doc.updated_by = user
    doc.updated_at = stamp
    record_mutation(session, cipher, "document", doc_id, {**changed, "updated_by": user},
                    base_version=doc.version)
    return _document_record(doc)


class PhotosRepo(_Repo):
    """Site photos (files are stored by fieldapp.media under their sha256; here: their record)."""

    def add(self, claim_id: str, intake: Any, *, fix: Any = None, taken_at: datetime | str | None = None,
            user: str | None = None) -> str:
        """Record a photo from fieldapp.media's IntakeResult (sha256, width, height, exif_gps, flags,
        exif_replaced, converted_from) and the device's GPS fix at capture (lat, lon, altitude,
        accuracy_m, fix_time; a mapping or an object). ``fix``/``taken_at`` default to the ones
        the IntakeResult carries; no fix at all is recorded as such (the intake flagged it).

        Identical bytes are one photo: adding the same sha256 to the same claim again returns the
        existing id and writes nothing; to another claim it is refused."""
        sha = getattr(intake, "sha256", None)
        if not isinstance(sha, str) or len(sha) != 64 or any(ch not in "0123456789abcdef" for ch in sha):
            raise StoreValidationError("照片缺少有效的 SHA-256", "photo: intake has no valid sha256")
        if fix is None:
            fix = getattr(intake, "fix", None)  # IntakeResult carries the fix it stamped
        if taken_at is None:
            taken_at = getattr(intake, "captured_at", None)
        lat = lon = alt = acc = fix_at = None
        if fix is not None:
            lat = check_coord(_fix_value(fix, "lat", "latitude"), "fix.lat", 90)
            lon = check_coord(_fix_value(fix, "lon", "longitude"), "fix.lon", 180)
            alt = _fix_value(fix, "altitude", "alt")
            acc = _fix_value(fix, "accuracy_m", "accuracy")
            fix_at = utc_iso(_fix_value(fix, "fix_time", "fix_at", "at"), "fix.fix_time")
        flags = list(getattr(intake, "flags", None) or [])
        photo_id = _new_id()
        stamp = now_iso()
        with self._s._write() as session:
            self._claim(session, claim_id)
            existing = session.scalar(select(Photo).where(Photo.sha256 == sha))
            if existing is not None:
                if existing.claim_id == claim_id:
                    return existing.id
                raise StoreValidationError("这张照片已属于另一个案件",
                                           f"photo {sha[:12]} already belongs to claim {existing.claim_id}")
            photo = Photo(
                id=photo_id, sha256=sha, claim_id=claim_id,
                taken_at=utc_iso(taken_at, "taken_at"), lat=lat, lon=lon,
                fix_alt=float(alt) if alt is not None else None,
                fix_accuracy_m=float(acc) if acc is not None else None, fix_at=fix_at,
                width=getattr(intake, "width", None), height=getattr(intake, "height", None),
                flags=[str(f) for f in flags], exif_gps=getattr(intake, "exif_gps", None),
                exif_replaced=bool(getattr(intake, "exif_replaced", False)),
                converted_from=getattr(intake, "converted_from", None), upload_state="none",
                created_by=user, created_at=stamp, version=None)
            session.add(photo)
            record_mutation(session, self._c, "photo", photo_id,
                            {k: getattr(photo, k) for k in _wire_columns(Photo)})
            return photo_id

    def get_by_sha(self, sha256: str) -> PhotoRecord | None:
        with self._s._read() as session:
            p = session.scalar(select(Photo).where(Photo.sha256 == sha256))
            return _photo_record(p) if p else None

    def list_for_claim(self, claim_id: str) -> list[PhotoRecord]:
        with self._s._read() as session:
            rows = session.scalars(select(Photo).where(Photo.claim_id == claim_id)
                                   .order_by(Photo.taken_at, Photo.created_at)).all()
            return [_photo_record(p) for p in rows]

    def pending_upload(self, limit: int | None = None) -> list[UploadItem]:
        """Photos whose original the server does not hold yet, oldest first."""
        with self._s._read() as session:
            stmt = (select(Photo.sha256, Photo.claim_id, Photo.upload_state)
                    .where(Photo.upload_state != "original").order_by(Photo.created_at))
            if limit is not None:
                stmt = stmt.limit(limit)
            return [UploadItem(*r) for r in session.execute(stmt)]

    def mark_uploaded(self, sha256: str, kind: str) -> str:
        """Record that the server durably holds the ``preview`` or the ``original``. Never moves
        backwards (a late preview acknowledgement does not undo 'original'). Returns the state."""
        if kind not in ("preview", "original"):
            raise StoreValidationError("上传类型应为 preview 或 original", "kind must be preview or original")
        with self._s._write() as session:
            p = session.scalar(select(Photo).where(Photo.sha256 == sha256))
            if p is None:
                raise NotFoundError("photo", sha256)
            if UPLOAD_STATES.index(kind) > UPLOAD_STATES.index(p.upload_state):
                p.upload_state = kind
            return p.upload_state


class NotesRepo(_Repo):
    """Append-only notes: there is no update or delete."""

    def add(self, claim_id: str, text: str, *, author: str | None = None) -> NoteRecord:
        text = contract.check("note", {"text": text.strip() if isinstance(text, str) else text},
                              creating=True)["text"]
        with self._s._write() as session:
            self._claim(session, claim_id)
            n = Note(id=_new_id(), claim_id=claim_id, text=text, author=author, written_at=now_iso(),
                     version=None)
            session.add(n)
            record_mutation(session, self._c, "note", n.id,
                            {"claim_id": claim_id, "text": text, "author": author, "written_at": n.written_at})
            return NoteRecord(n.id, n.claim_id, n.text, n.author, n.written_at)

    def list_for_claim(self, claim_id: str) -> list[NoteRecord]:
        with self._s._read() as session:
            rows = session.scalars(select(Note).where(Note.claim_id == claim_id)
                                   .order_by(Note.written_at, Note.id)).all()
            return [NoteRecord(n.id, n.claim_id, n.text, n.author, n.written_at) for n in rows]


def _assignment_record(a: Assignment) -> AssignmentRecord:
    return AssignmentRecord(a.id, a.claim_id, a.insurer_code, a.status, dict(a.fields or {}),
                            a.received_at, a.updated_at, a.version)


class AssignmentsRepo(_Repo):
    """Survey assignments received from the server (they arrive through apply_remote_changes)."""

    def list(self, *, status: str | None = None) -> list[AssignmentRecord]:
        with self._s._read() as session:
            stmt = select(Assignment).order_by(Assignment.received_at.desc())
            if status is not None:
                stmt = stmt.where(Assignment.status == status)
            return [_assignment_record(a) for a in session.scalars(stmt)]

    def get(self, assignment_id: str) -> AssignmentRecord:
        with self._s._read() as session:
            a = session.get(Assignment, assignment_id)
            if a is None:
                raise NotFoundError("assignment", assignment_id)
            return _assignment_record(a)

    def set_status(self, assignment_id: str, status: str, *, user: str | None = None,
                   reason: str | None = None, lat: float | None = None, lon: float | None = None) -> bool:
        """The surveyor's answer (accepted, declined with ``reason``, arrived with the GPS fix,
        done); sent to the server, where it takes the same path as the assignment routes."""
        checked = contract.check("assignment", {"status": status, "reason": reason}, creating=True)
        status, reason = checked["status"], checked["reason"]
        with self._s._write() as session:
            a = session.get(Assignment, assignment_id)
            if a is None:
                raise NotFoundError("assignment", assignment_id)
            if a.status == status:
                return False
            a.status = status
            a.updated_at = now_iso()
            fields: dict[str, Any] = {"status": status, "updated_by": user}
            if reason is not None:
                fields["reason"] = reason
            if lat is not None and lon is not None:
                fields["lat"], fields["lon"] = float(lat), float(lon)
            record_mutation(session, self._c, "assignment", assignment_id, fields, base_version=a.version)
            return True

    def log_cost(self, assignment_id: str, *, on: str, amount_fen: int, note: str,
                 receipt_sha256: str, category: str = "survey") -> str:
        """A survey cost (vehicle, meals) with its receipt photo's hash, for the co-insurers' work
        fund. Append-only: the server books it once under this id. Returns the cost id."""
        if isinstance(amount_fen, bool) or not isinstance(amount_fen, int) or amount_fen <= 0:
            raise StoreValidationError("金额应为正数（分）", "amount_fen must be a positive integer (fen)")
        note = contract.check("cost", {"on": on, "amount_fen": amount_fen, "category": category, "note": note,
                                       "receipt_sha256": receipt_sha256}, creating=True)["note"] or ""
        if not (isinstance(receipt_sha256, str) and len(receipt_sha256) == 64):
            raise StoreValidationError("请附上票据照片", "a receipt photo is required")
        with self._s._write() as session:
            a = session.get(Assignment, assignment_id)
            if a is None:
                raise NotFoundError("assignment", assignment_id)
            cost_id = _new_id()
            record_mutation(session, self._c, "cost", cost_id, {
                "assignment_id": assignment_id, "on": on, "amount_fen": amount_fen,
                "category": category, "note": note, "receipt_sha256": receipt_sha256})
            return cost_id


class DraftsRepo(_Repo):
    """Wizard state saved at every step; local only (never synced, never in the outbox)."""

    def save(self, draft_id: str, data: dict[str, Any], *, step: str | None = None,
             kind: str = "claim_wizard") -> DraftRecord:
        try:
            json.dumps(data)
        except (TypeError, ValueError) as exc:
            raise StoreValidationError("草稿数据无法保存", f"draft data is not JSON: {exc}") from None
        stamp = now_iso()
        with self._s._write() as session:
            d = session.get(Draft, draft_id)
            if d is None:
                d = Draft(id=draft_id, kind=kind, step=step, data=data, saved_at=stamp)
                session.add(d)
            else:
                d.kind, d.step, d.data, d.saved_at = kind, step, data, stamp
            return DraftRecord(draft_id, kind, step, data, stamp)

    def load(self, draft_id: str) -> DraftRecord | None:
        with self._s._read() as session:
            d = session.get(Draft, draft_id)
            return DraftRecord(d.id, d.kind, d.step, dict(d.data), d.saved_at) if d else None

    def delete(self, draft_id: str) -> bool:
        with self._s._write() as session:
            return bool(session.execute(delete(Draft).where(Draft.id == draft_id)).rowcount)

    def list(self, *, kind: str | None = None) -> list[DraftRecord]:
        with self._s._read() as session:
            stmt = select(Draft).order_by(Draft.saved_at.desc())
            if kind is not None:
                stmt = stmt.where(Draft.kind == kind)
            return [DraftRecord(d.id, d.kind, d.step, dict(d.data), d.saved_at) for d in session.scalars(stmt)]


class ReviewsRepo(_Repo):
    """Claim-authority reviews as the server last published them (read-only here)."""

    def get(self, claim_id: str) -> dict[str, Any] | None:
        with self._s._read() as session:
            row = session.get(Review, claim_id)
            return dict(row.doc, claim_id=claim_id) if row is not None else None

    def put(self, claim_id: str, doc: dict[str, Any]) -> None:
        """The server's direct answer (e.g. to a recorded consultation), until the feed's copy."""
        with self._s._write() as session:
            row = session.get(Review, claim_id)
            if row is None:
                session.add(Review(claim_id=claim_id, doc=dict(doc), received_at=now_iso(), version=None))
            else:
                row.doc, row.received_at = {**row.doc, **doc}, now_iso()

    def list(self) -> list[dict[str, Any]]:
        with self._s._read() as session:
            rows = session.scalars(select(Review).order_by(Review.received_at.desc())).all()
            return [dict(r.doc, claim_id=r.claim_id) for r in rows]


class OpinionsRepo(_Repo):
    """Opinions and votes in claim-authority reviews: append-only and kept nowhere but the outbox
    until the server has them; the published review then shows them (ReviewsRepo)."""

    def add(self, claim_id: str, vote: str, opinion: str = "") -> str:
        claim_id = _check_uuid(claim_id, "claim_id")
        fields = contract.check("opinion", {"vote": vote, "opinion": (opinion or "").strip() or None},
                                creating=True, role=self._s.writer_role)
        opinion_id = _new_id()
        with self._s._write() as session:
            record_mutation(session, self._c, "opinion", opinion_id,
                            {"claim_id": claim_id, **{k: v for k, v in fields.items() if v is not None}})
        return opinion_id

    def unsent(self, claim_id: str) -> list[dict[str, Any]]:
        """This phone's opinions on the claim the server has not confirmed yet, oldest first."""
        with self._s._read() as session:
            rows = session.scalars(select(Outbox).where(Outbox.entity == "opinion").order_by(Outbox.seq)).all()
            return [dict(r.fields or {}) for r in rows if (r.fields or {}).get("claim_id") == claim_id]


class FundRepo(_Repo):
    """Work-fund spending booked by the office while the server cannot be reached: an append-only
    ``cost`` the server books once under its id (the same entity as a surveyor's survey cost)."""

    def queue_spending(self, *, on: str, amount_fen: int, category: str, note: str = "") -> str:
        if isinstance(amount_fen, bool) or not isinstance(amount_fen, int) or amount_fen <= 0:
            raise StoreValidationError("金额应为正数（分）", "amount_fen must be a positive integer (fen)")
        fields = contract.check("cost", {"on": on, "amount_fen": amount_fen, "category": category,
                                         "note": (note or "").strip() or None}, creating=True)
        entry_id = _new_id()
        with self._s._write() as session:
            record_mutation(session, self._c, "cost", entry_id, {k: v for k, v in fields.items() if v is not None})
        return entry_id

    def unsent(self) -> list[dict[str, Any]]:
        """Spending booked here and not yet confirmed by the server, oldest first."""
        with self._s._read() as session:
            rows = session.scalars(select(Outbox).where(Outbox.entity == "cost").order_by(Outbox.seq)).all()
            return [dict(r.fields or {}, id=r.entity_id) for r in rows if not (r.fields or {}).get("assignment_id")]


class SettingsRepo(_Repo):
    """Small local key/value settings (JSON values). Local only."""

    def get(self, key: str, default: Any = None) -> Any:
        with self._s._read() as session:
            row = session.get(Setting, key)
            return row.value if row is not None else default

    def set(self, key: str, value: Any) -> None:
        with self._s._write() as session:
            row = session.get(Setting, key)
            if row is None:
                session.add(Setting(key=key, value=value))
            else:
                row.value = value


class ConflictsRepo(_Repo):
    """Conflict notes received from the server: the value of a field that was not kept."""

    def list(self, *, claim_id: str | None = None, unseen_only: bool = False) -> list[ConflictRecord]:
        with self._s._read() as session:
            stmt = select(ConflictNote).order_by(ConflictNote.received_at.desc())
            if claim_id is not None:
                stmt = stmt.where(ConflictNote.claim_id == claim_id)
            if unseen_only:
                stmt = stmt.where(ConflictNote.seen.is_(False))
            return [_conflict_record(self._c, n) for n in session.scalars(stmt)]

    def mark_seen(self, note_id: str) -> None:
        with self._s._write() as session:
            n = session.get(ConflictNote, note_id)
            if n is None:
                raise NotFoundError("conflict", note_id)
            n.seen = True


def _conflict_value_aad(note_id: str, which: str) -> str:
    return aad_for("conflict_notes", which, note_id)


def _conflict_record(cipher: FieldCipher, n: ConflictNote) -> ConflictRecord:
    def opened(value: Any, which: str) -> Any:
        if isinstance(value, dict) and set(value) == {"sealed"}:
            return json.loads(cipher.open_bytes(base64.b64decode(value["sealed"]),
                                                _conflict_value_aad(n.id, which)))
        return value

    return ConflictRecord(n.id, n.claim_id, n.entity, n.entity_id, n.field,
                          opened(n.kept_value, "kept_value"), opened(n.other_value, "other_value"),
                          n.detail, n.at, n.received_at, bool(n.seen))


class SyncStateRepo(_Repo):
    """The sync client's bookkeeping: device identity, token (sealed), server, pull cursor."""

    _FIELDS = frozenset({"device_id", "token", "server_url", "cursor", "last_sync_at", "last_error"})

    def _row(self, session: Session) -> SyncState:
        row = session.get(SyncState, 1)
        if row is None:
            row = SyncState(id=1, last_acked_seq=0)
            session.add(row)
            session.flush()
        return row

    def get(self) -> SyncStateRecord:
        with self._s._read() as session:
            row = session.get(SyncState, 1)
            token = self._c.open_text(row.token_enc, aad_for("sync_state", "token", "1")) if row else None
            return SyncStateRecord(row.device_id, token, row.server_url, row.cursor, row.last_sync_at,
                                   row.last_error, row.last_acked_seq)

    def set(self, **fields: Any) -> None:
        """Set any of device_id, token, server_url, cursor, last_sync_at, last_error (None clears)."""
        unknown = set(fields) - self._FIELDS
        if unknown:
            raise StoreValidationError(f"未知的同步状态项：{sorted(unknown)}", f"unknown sync_state fields {sorted(unknown)}")
        if "last_sync_at" in fields:
            fields["last_sync_at"] = utc_iso(fields["last_sync_at"], "last_sync_at")
        with self._s._write() as session:
            row = self._row(session)
            for k, v in fields.items():
                if k == "token":
                    row.token_enc = self._c.seal_text(v, aad_for("sync_state", "token", "1"))
                else:
                    setattr(row, k, v)


# =============================================================================================
# Applying server changes
# =============================================================================================

_REMOTE_MODELS: dict[str, type[Base]] = {
    "claim": Claim, "person": Person, "document": Document, "photo": Photo, "note": Note,
    "transition": Transition, "assignment": Assignment,
}
_DEFAULTS: dict[str, dict[str, Any]] = {
    "claim": {"loss_types": [], "status": workflow.INITIAL_STATE, "is_draft": False},
    "photo": {"flags": [], "exif_replaced": False},
    "document": {"status": "missing"},
    "assignment": {"fields": {}, "status": "new"},
    "note": {"text": ""},
}


def _apply_remote(store: Store, changes: list[Mapping[str, Any]], new_cursor: str | None) -> ApplyResult:
    cipher = store._cipher
    applied = 0
    kept: list[tuple[str, str, str]] = []
    skipped: list[tuple[str, str]] = []
    with store._write() as session:
        # A page may carry a person before its claim: check foreign keys at commit, not per row.
        session.execute(text("PRAGMA defer_foreign_keys = ON"))
        changes = list(changes)
        page_ids = {c.get("id") for c in changes if isinstance(c, Mapping) and isinstance(c.get("id"), str)}
        pending = pending_field_map(session, cipher, {i.lower() for i in page_ids})
        stamp = now_iso()
        for raw in changes:
            entity = raw.get("entity") if isinstance(raw, Mapping) else None
            if isinstance(entity, str) and entity not in _REMOTE_MODELS and entity not in _SERVER_ONLY:
                skipped.append((entity, str(raw.get("id"))))  # e.g. cost, opinion: no local table
                continue
            try:
                change = wire.validate_change(raw)
            except wire.WireError as exc:
                raise StoreValidationError("服务器数据格式错误，本页未应用", f"malformed change: {exc}") from None
            entity, rid, op = change["entity"], change["id"], change["op"]
            fields = {k: v for k, v in change["fields"].items() if k not in ("id", "version")}
            version = change["version"]
            if entity == "conflict":
                _store_conflict(session, cipher, rid, fields, stamp)
                applied += 1
                continue
            if entity == "authority_review":
                _store_review(session, rid, op, fields, version, stamp)
                applied += 1
                continue
            model = _REMOTE_MODELS[entity]
            local = pending.get((entity, rid), set())
            row = session.get(model, rid)
            if op == "delete":
                if local:
                    kept.append((entity, rid, "*"))
                elif row is not None:
                    session.delete(row)
                    applied += 1
                continue
            kept.extend((entity, rid, f) for f in sorted(local) if f in fields)
            values = {k: v for k, v in fields.items() if k not in local}
            columns = _assign_values(cipher, entity, rid, values)
            if row is None:
                base = {**_DEFAULTS.get(entity, {})}
                for stamped in ("created_at", "written_at"):
                    if stamped in _columns(model):
                        base[stamped] = stamp
                if "updated_at" in _columns(model):
                    base["updated_at"] = stamp
                if entity == "photo":
                    base["upload_state"] = "original"  # came from the server: it holds the file
                if entity == "assignment":
                    base["received_at"] = stamp
                row = model(id=rid, **{**base, **columns}, version=version)
                session.add(row)
            else:
                for k, v in columns.items():
                    setattr(row, k, v)
                if version is not None:
                    row.version = version
            applied += 1
        session.flush()
        state = store.sync_state._row(session)
        state.cursor = new_cursor
    return ApplyResult(applied, kept, skipped)


def _assign_values(cipher: FieldCipher, entity: str, rid: str, values: dict[str, Any]) -> dict[str, Any]:
    model = _REMOTE_MODELS[entity]
    cols = set(_columns(model)) - _LOCAL_ONLY
    out: dict[str, Any] = {}
    for k, v in values.items():
        if entity == "person" and k in PERSON_SEALED_FIELDS:
            out[PERSON_SEALED_FIELDS[k]] = _seal_person_value(cipher, rid, k, v)
        elif k in cols:
            out[k] = v
        elif entity == "assignment" and k not in ("id", "version"):
            out.setdefault("fields", {})[k] = v  # extra assignment details the server sends
        # other unknown fields: a newer server's additions, ignored by this version
    return out


_SERVER_ONLY = ("conflict", "authority_review")


def _store_review(session: Session, claim_id: str, op: str, fields: dict[str, Any], version: int | None,
                  stamp: str) -> None:
    row = session.get(Review, claim_id)
    if op == "delete":
        if row is not None:
            session.delete(row)
        return
    if row is None:
        row = Review(claim_id=claim_id, doc={}, received_at=stamp)
        session.add(row)
    elif row.version is not None and version is not None and version < row.version:
        return  # an older state of the review (pages are ordered, but never go back)
    row.doc, row.version, row.received_at = dict(fields), version, stamp


def _store_conflict(session: Session, cipher: FieldCipher, note_id: str, fields: dict[str, Any], stamp: str) -> None:
    entity = str(fields.get("entity") or "")
    field_name = str(fields.get("field") or "")
    kept_value, other_value = fields.get("kept_value"), fields.get("other_value")
    if entity == "person" and field_name in PERSON_SEALED_FIELDS:
        # A conflict over an ID number must not put it on disk in the clear.
        kept_value = {"sealed": base64.b64encode(cipher.seal_bytes(
            json.dumps(kept_value, ensure_ascii=False).encode(), _conflict_value_aad(note_id, "kept_value"))).decode()}
        other_value = {"sealed": base64.b64encode(cipher.seal_bytes(
            json.dumps(other_value, ensure_ascii=False).encode(), _conflict_value_aad(note_id, "other_value"))).decode()}
    note = session.get(ConflictNote, note_id)
    if note is None:
        note = ConflictNote(id=note_id, received_at=stamp, seen=False)
        session.add(note)
    note.claim_id = fields.get("claim_id")
    note.entity = entity
    note.entity_id = str(fields.get("entity_id") or "")
    note.field = field_name
    note.kept_value = kept_value
    note.other_value = other_value
    note.detail = fields.get("detail")
    note.at = fields.get("at")
