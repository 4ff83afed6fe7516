"""Notes on a claim (append-only)."""
from __future__ import annotations

from sqlalchemy import select

from . import contract
from ._base import (
    new_id,
    now_iso,
)
from .db import Repo
from .outbox import record_mutation
from .records import (
    NoteRecord,
)
from .schema import (
    Note,
)


class NotesRepo(Repo):
    """Append-only notes: there is no update or delete."""

    def add(self, claim_id: str, text: str, *, author: str | None = None) -> NoteRecord:
        text = contract.check("note", {"text": text.strip() if isinstance(text, str) else text},
                              creating=True)["text"]
        with self._db.write() as session:
            self._claim(session, claim_id)
            n = Note(id=new_id(), claim_id=claim_id, text=text, author=author, written_at=now_iso(),
                     version=None)
            session.add(n)
            record_mutation(session, self._c, "note", n.id,
                            {"claim_id": claim_id, "text": text, "author": author, "written_at": n.written_at})
            return NoteRecord(n.id, n.claim_id, n.text, n.author, n.written_at)

    def list_for_claim(self, claim_id: str) -> list[NoteRecord]:
        with self._db.read() as session:
            rows = session.scalars(select(Note).where(Note.claim_id == claim_id)
                                   .order_by(Note.written_at, Note.id)).all()
            return [NoteRecord(n.id, n.claim_id, n.text, n.author, n.written_at) for n in rows]

