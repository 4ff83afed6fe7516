"""Conflict notes: a field's value the server did not keep."""
from __future__ import annotations

import base64
import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ._base import (
    NotFoundError,
)
from .crypto import FieldCipher, aad_for
from .db import Repo
from .persons import PERSON_SEALED_FIELDS
from .records import (
    ConflictRecord,
)
from .schema import (
    ConflictNote,
)


class ConflictsRepo(Repo):
    """Conflict notes received from the server: the value of a field that was not kept."""

    def list(self, *, claim_id: str | None = None, unseen_only: bool = False) -> list[ConflictRecord]:
        with self._db.read() as session:
            stmt = select(ConflictNote).order_by(ConflictNote.received_at.desc())
            if claim_id is not None:
                stmt = stmt.where(ConflictNote.claim_id == claim_id)
            if unseen_only:
                stmt = stmt.where(ConflictNote.seen.is_(False))
            return [_conflict_record(self._c, n) for n in session.scalars(stmt)]

    def mark_seen(self, note_id: str) -> None:
        with self._db.write() as session:
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


def store_conflict(session: Session, cipher: FieldCipher, note_id: str, fields: dict[str, Any], stamp: str) -> None:
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
