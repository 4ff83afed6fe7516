"""Opinions and votes in claim-authority reviews (queued in the outbox only)."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from . import contract
from ._base import (
    check_uuid,
    new_id,
)
from .db import Repo
from .outbox import record_mutation
from .schema import (
    Outbox,
)


class OpinionsRepo(Repo):
    """Opinions and votes in claim-authority reviews: append-only and kept nowhere but the outbox
    until the server has them; the published review then shows them (ReviewsRepo)."""

    def add(self, claim_id: str, vote: str, opinion: str = "") -> str:
        claim_id = check_uuid(claim_id, "claim_id")
        fields = contract.check("opinion", {"vote": vote, "opinion": (opinion or "").strip() or None},
                                creating=True, role=self._db.writer_role)
        opinion_id = new_id()
        with self._db.write() as session:
            record_mutation(session, self._c, "opinion", opinion_id,
                            {"claim_id": claim_id, **{k: v for k, v in fields.items() if v is not None}})
        return opinion_id

    def unsent(self, claim_id: str) -> list[dict[str, Any]]:
        """This phone's opinions on the claim the server has not confirmed yet, oldest first."""
        with self._db.read() as session:
            rows = session.scalars(select(Outbox).where(Outbox.entity == "opinion").order_by(Outbox.seq)).all()
            return [dict(r.fields or {}) for r in rows if (r.fields or {}).get("claim_id") == claim_id]

