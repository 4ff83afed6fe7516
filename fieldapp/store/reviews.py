"""Claim-authority reviews as the server published them."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ._base import (
    now_iso,
)
from .db import Repo
from .schema import (
    Review,
)


class ReviewsRepo(Repo):
    """Claim-authority reviews as the server last published them (read-only here)."""

    def get(self, claim_id: str) -> dict[str, Any] | None:
        with self._db.read() as session:
            row = session.get(Review, claim_id)
            return dict(row.doc, claim_id=claim_id) if row is not None else None

    def put(self, claim_id: str, doc: dict[str, Any]) -> None:
        """The server's direct answer (e.g. to a recorded consultation), until the feed's copy."""
        with self._db.write() as session:
            row = session.get(Review, claim_id)
            if row is None:
                session.add(Review(claim_id=claim_id, doc=dict(doc), received_at=now_iso(), version=None))
            else:
                row.doc, row.received_at = {**row.doc, **doc}, now_iso()

    def list(self) -> list[dict[str, Any]]:
        with self._db.read() as session:
            rows = session.scalars(select(Review).order_by(Review.received_at.desc())).all()
            return [dict(r.doc, claim_id=r.claim_id) for r in rows]


def store_review(session: Session, claim_id: str, op: str, fields: dict[str, Any], version: int | None,
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

