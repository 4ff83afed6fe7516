"""What a sync does to the store: the server's changes applied, refused records queued again, the
files of forgotten claims deleted."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import bindparam, delete, or_, select, text, update
from sqlalchemy.orm import Session

from claimcore import wire, workflow

from ._base import (
    StoreValidationError,
    now_iso,
)
from .conflicts import store_conflict
from .crypto import FieldCipher
from .db import Db, Repo
from .documents import scan_path
from .outbox import pending_field_map, record_mutation
from .persons import PERSON_EDITABLE, PERSON_SEALED_FIELDS, person_record, seal_person_value
from .records import (
    ApplyResult,
)
from .reviews import store_review
from .rows import LOCAL_ONLY, SYNCED_MODELS, column_names, wire_columns
from .schema import (
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
    Scan,
    Setting,
    Transition,
)
from .settings import SettingsRepo
from .sync_state import state_row

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


def _take_version(table: Any) -> Any:  # noqa: ANN401 - a Table
    """Raise a record's version to the receipt's, never lower it."""
    return (update(table)
            .where(table.c.id == bindparam("record_id"),
                   or_(table.c.version.is_(None), table.c.version < bindparam("taken")))
            .values(version=bindparam("taken")))


class RemoteChangesRepo(Repo):
    """The store's side of a sync, behind Store.apply_remote_changes, Store.requeue_record and
    Store.purge_forgotten_files."""

    def __init__(self, db: Db):
        super().__init__(db)
        self._settings = SettingsRepo(db)

    def requeue_record(self, entity: str, record_id: str) -> bool:
        """Queue the whole record again, as the phone holds it now: the server refused an earlier
        write of it (a rule changed, a role lost its scope, its claim was refused first), and the
        server must end up with it. False when this phone no longer holds the record."""
        model = SYNCED_MODELS.get(entity)
        if model is None:
            return False
        with self._db.write() as session:
            row = session.get(model, record_id)
            if row is None:
                return False
            if entity == "person":
                rec = person_record(self._c, row)
                fields = {k: getattr(rec, k) for k in ("claim_id", *PERSON_EDITABLE)}
                fields["created_at"] = rec.created_at
            else:
                fields = {k: getattr(row, k) for k in wire_columns(model)}
                if entity == "claim":
                    fields.setdefault("report_no", row.report_no)
            record_mutation(session, self._c, entity, record_id, fields, base_version=row.version)
            return True

    def take_versions(self, versions: Iterable[tuple[str, str, int]]) -> None:
        """The versions the server's push receipts gave this phone's own writes ``(entity, id,
        version)``: the next edit is based on them. The pull does not bring a write back that the
        server stored exactly as sent; one it merged or changed comes with its fields and version.
        A newer version the phone holds already (pulled since) stays. One executemany per kind of
        record, not a read and an ORM write per receipt: a first sync takes 14,000."""
        by_model: dict[Any, list[dict[str, Any]]] = {}
        for entity, record_id, version in versions:
            model = SYNCED_MODELS.get(entity)
            if model is not None:
                by_model.setdefault(model, []).append({"record_id": record_id, "taken": version})
        with self._db.write() as session:
            for model, rows in by_model.items():
                session.execute(_take_version(model.__table__), rows)

    def apply(self, changes: Iterable[Mapping[str, Any]], new_cursor: str | None) -> ApplyResult:
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

        ``claim_access`` with op ``delete`` (a co-insurer's survey of the claim ended: declined,
        timed out, cancelled, or long enough after completion) makes the phone forget the claim:
        the claim, its persons, documents, scans, photos, notes, timeline, conflict notes, drafts
        and the outbox entries of those records are deleted in the same transaction, whatever is
        unsent (the sync pushes before it pulls, so the surveyor's own notes and costs went first;
        what is still queued would be refused, the claim being out of scope). The photo and scan
        files are listed for :meth:`purge_forgotten_files`, and the file is checkpointed so no
        copy of the deleted pages stays in the write-ahead log.
        """
        result = _apply_remote(self._db, list(changes), new_cursor)
        if result.forgotten:
            self._db.checkpoint()
        return result

    def purge_forgotten_files(self, photo_files: Any = None) -> int:
        """Delete the photo files and scans of forgotten claims (listed durably when the claim was
        forgotten, so a crash in between only delays this). A photo the phone holds again for a
        claim it may see is kept. Returns the files' count handled."""
        todo = self._settings.get(S_FORGET_FILES) or {}
        shas, scans = list(todo.get("photos") or []), list(todo.get("scans") or [])
        if not shas and not scans:
            return 0
        with self._db.read() as session:
            held = set(session.scalars(select(Photo.sha256).where(Photo.sha256.in_(shas)))) if shas else set()
        for scan_id in scans:
            try:
                scan_path(self._db.data_dir, scan_id).unlink(missing_ok=True)
            except ValueError:
                pass
        if photo_files is not None:
            for sha in shas:
                if sha not in held:
                    try:
                        photo_files.remove(sha)
                    except ValueError:
                        pass
            self._settings.set(S_FORGET_FILES, None)
        else:
            self._settings.set(S_FORGET_FILES, {"photos": shas, "scans": []})
        return len(shas) + len(scans)


def _apply_remote(db: Db, changes: list[Mapping[str, Any]], new_cursor: str | None) -> ApplyResult:
    cipher = db.cipher
    applied = 0
    kept: list[tuple[str, str, str]] = []
    skipped: list[tuple[str, str]] = []
    forgotten: list[str] = []
    with db.write() as session:
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
                raise StoreValidationError("error.store.malformed_change", detail=str(exc)) from None
            entity, rid, op = change["entity"], change["id"], change["op"]
            fields = {k: v for k, v in change["fields"].items() if k not in ("id", "version")}
            version = change["version"]
            if entity == "conflict":
                store_conflict(session, cipher, rid, fields, stamp)
                applied += 1
                continue
            if entity == "authority_review":
                store_review(session, rid, op, fields, version, stamp)
                applied += 1
                continue
            if entity == "claim_access":
                # "upsert": the insurer has the claim (again); its rows come as usual.
                if op == "delete" and _forget_claim(session, fields.get("claim_id")):
                    forgotten.append(str(fields.get("claim_id")).lower())
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
                    if stamped in column_names(model):
                        base[stamped] = stamp
                if "updated_at" in column_names(model):
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
        state = state_row(session)
        state.cursor = new_cursor
    return ApplyResult(applied, kept, skipped, forgotten)


# Photo files and scans of forgotten claims, waiting to be deleted (RemoteChangesRepo.purge_forgotten_files).
S_FORGET_FILES = "store.forget_files"


def _forget_claim(session: Session, claim_id: Any) -> bool:
    """Delete a claim and everything the phone holds under it (see RemoteChangesRepo.apply).
    True when the phone held anything of it."""
    try:
        claim_id = wire.normalise_uuid(claim_id, "claim_id")
    except wire.WireError:
        return False
    children = (Person, Document, Scan, Photo, Note, Transition)
    record_ids: set[str] = {claim_id}
    for model in children:
        record_ids.update(session.scalars(select(model.id).where(model.claim_id == claim_id)))
    shas = list(session.scalars(select(Photo.sha256).where(Photo.claim_id == claim_id)))
    scans = list(session.scalars(select(Scan.id).where(Scan.claim_id == claim_id)))
    held = len(record_ids) > 1 or session.get(Claim, claim_id) is not None
    ids = sorted(record_ids)
    for start in range(0, len(ids), 500):
        session.execute(delete(Outbox).where(Outbox.entity_id.in_(ids[start:start + 500]),
                                             Outbox.entity.in_(tuple(SYNCED_MODELS))))
    for model in children:
        session.execute(delete(model).where(model.claim_id == claim_id))
    session.execute(delete(ConflictNote).where(ConflictNote.claim_id == claim_id))
    session.execute(delete(Draft).where(Draft.id == claim_id))
    session.execute(delete(Claim).where(Claim.id == claim_id))
    if shas or scans:
        row = session.get(Setting, S_FORGET_FILES)
        todo = dict(row.value or {}) if row is not None else {}
        todo["photos"] = sorted(set(todo.get("photos") or []) | set(shas))
        todo["scans"] = sorted(set(todo.get("scans") or []) | set(scans))
        if row is None:
            session.add(Setting(key=S_FORGET_FILES, value=todo))
        else:
            row.value = todo
    return held


def _assign_values(cipher: FieldCipher, entity: str, rid: str, values: dict[str, Any]) -> dict[str, Any]:
    model = _REMOTE_MODELS[entity]
    cols = set(column_names(model)) - LOCAL_ONLY
    out: dict[str, Any] = {}
    for k, v in values.items():
        if entity == "person" and k in PERSON_SEALED_FIELDS:
            out[PERSON_SEALED_FIELDS[k]] = seal_person_value(cipher, rid, k, v)
        elif k in cols:
            out[k] = v
        elif entity == "assignment" and k not in ("id", "version"):
            out.setdefault("fields", {})[k] = v  # extra assignment details the server sends
        # other unknown fields: a newer server's additions, ignored by this version
    return out


_SERVER_ONLY = ("conflict", "authority_review", "claim_access")


