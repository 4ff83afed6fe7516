"""The new-claim wizard's drafts (local only)."""
from __future__ import annotations

import json
from typing import Any

from sqlalchemy import delete, select

from ._base import (
    StoreValidationError,
    now_iso,
)
from .db import Repo
from .records import (
    DraftRecord,
)
from .schema import (
    Draft,
)


class DraftsRepo(Repo):
    """Wizard state saved at every step; local only (never synced, never in the outbox)."""

    def save(self, draft_id: str, data: dict[str, Any], *, step: str | None = None,
             kind: str = "claim_wizard") -> DraftRecord:
        try:
            json.dumps(data)
        except (TypeError, ValueError) as exc:
            raise StoreValidationError("error.store.draft_not_json", detail=str(exc)) from None
        stamp = now_iso()
        with self._db.write() as session:
            d = session.get(Draft, draft_id)
            if d is None:
                d = Draft(id=draft_id, kind=kind, step=step, data=data, saved_at=stamp)
                session.add(d)
            else:
                d.kind, d.step, d.data, d.saved_at = kind, step, data, stamp
            return DraftRecord(draft_id, kind, step, data, stamp)

    def load(self, draft_id: str) -> DraftRecord | None:
        with self._db.read() as session:
            d = session.get(Draft, draft_id)
            return DraftRecord(d.id, d.kind, d.step, dict(d.data), d.saved_at) if d else None

    def delete(self, draft_id: str) -> bool:
        with self._db.write() as session:
            return bool(session.execute(delete(Draft).where(Draft.id == draft_id)).rowcount)

    def list(self, *, kind: str | None = None) -> list[DraftRecord]:
        with self._db.read() as session:
            stmt = select(Draft).order_by(Draft.saved_at.desc())
            if kind is not None:
                stmt = stmt.where(Draft.kind == kind)
            return [DraftRecord(d.id, d.kind, d.step, dict(d.data), d.saved_at) for d in session.scalars(stmt)]

