"""Survey assignments the server sent, and the surveyor's answers and costs."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from . import contract
from ._base import (
    NotFoundError,
    StoreValidationError,
    new_id,
    now_iso,
)
from .db import Repo
from .outbox import record_mutation
from .records import (
    AssignmentRecord,
)
from .schema import (
    Assignment,
)


def _assignment_record(a: Assignment) -> AssignmentRecord:
    return AssignmentRecord(a.id, a.claim_id, a.insurer_code, a.status, dict(a.fields or {}),
                            a.received_at, a.updated_at, a.version)


class AssignmentsRepo(Repo):
    """Survey assignments received from the server (they arrive through apply_remote_changes)."""

    def list(self, *, status: str | None = None) -> list[AssignmentRecord]:
        with self._db.read() as session:
            stmt = select(Assignment).order_by(Assignment.received_at.desc())
            if status is not None:
                stmt = stmt.where(Assignment.status == status)
            return [_assignment_record(a) for a in session.scalars(stmt)]

    def get(self, assignment_id: str) -> AssignmentRecord:
        with self._db.read() as session:
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
        with self._db.write() as session:
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
            raise StoreValidationError("error.store.amount_not_positive")
        note = contract.check("cost", {"on": on, "amount_fen": amount_fen, "category": category, "note": note,
                                       "receipt_sha256": receipt_sha256}, creating=True)["note"] or ""
        if not (isinstance(receipt_sha256, str) and len(receipt_sha256) == 64):
            raise StoreValidationError("error.store.receipt_needed")
        with self._db.write() as session:
            a = session.get(Assignment, assignment_id)
            if a is None:
                raise NotFoundError("assignment", assignment_id)
            cost_id = new_id()
            record_mutation(session, self._c, "cost", cost_id, {
                "assignment_id": assignment_id, "on": on, "amount_fen": amount_fen,
                "category": category, "note": note, "receipt_sha256": receipt_sha256})
            return cost_id

