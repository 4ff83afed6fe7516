"""Work-fund spending booked by the office offline."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from . import contract
from ._base import (
    StoreValidationError,
    new_id,
)
from .db import Repo
from .outbox import record_mutation
from .schema import (
    Outbox,
)


class FundRepo(Repo):
    """Work-fund spending booked by the office while the server cannot be reached: an append-only
    ``cost`` the server books once under its id (the same entity as a surveyor's survey cost)."""

    def queue_spending(self, *, on: str, amount_fen: int, category: str, note: str = "") -> str:
        if isinstance(amount_fen, bool) or not isinstance(amount_fen, int) or amount_fen <= 0:
            raise StoreValidationError("error.store.amount_not_positive")
        fields = contract.check("cost", {"on": on, "amount_fen": amount_fen, "category": category,
                                         "note": (note or "").strip() or None}, creating=True)
        entry_id = new_id()
        with self._db.write() as session:
            record_mutation(session, self._c, "cost", entry_id, {k: v for k, v in fields.items() if v is not None})
        return entry_id

    def unsent(self) -> list[dict[str, Any]]:
        """Spending booked here and not yet confirmed by the server, oldest first."""
        with self._db.read() as session:
            rows = session.scalars(select(Outbox).where(Outbox.entity == "cost").order_by(Outbox.seq)).all()
            return [dict(r.fields or {}, id=r.entity_id) for r in rows if not (r.fields or {}).get("assignment_id")]

