"""A surveyor's assignments: accept, decline with a reason, arrived (with GPS), done, costs.

The answer goes through the store's outbox like every other change (offline first: a surveyor at a
flooded village has no signal). The reason, the arrival fix and cost entries are recorded on the
claim as notes (append-only, synced), a receipt as an encrypted scan of the claim; the store has no
separate entity for them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from claimcore.money import format_fen, parse_yuan

OPEN = ("new", "offered", "assigned")
NEXT: dict[str, tuple[str, ...]] = {
    "new": ("accepted", "declined"), "offered": ("accepted", "declined"),
    "assigned": ("accepted", "declined"), "accepted": ("arrived",), "arrived": ("done",),
}
COST_KINDS = ("vehicle", "meals", "other")
RECEIPT_DOC = "survey_cost_receipt"


class AssignmentError(ValueError):
    def __init__(self, key: str):
        super().__init__(key)
        self.key = key


@dataclass(frozen=True)
class CostEntry:
    kind: str
    amount_fen: int
    note: str


class Assignments:
    def __init__(self, store: Any, user_id: str):
        self.store = store
        self.user_id = user_id

    def list(self) -> list:
        items = self.store.assignments.list()
        return sorted(items, key=lambda a: (a.status not in OPEN, a.received_at))

    def actions(self, assignment: Any) -> tuple[str, ...]:
        return NEXT.get(assignment.status, ())

    def _move(self, assignment_id: str, target: str) -> None:
        a = self.store.assignments.get(assignment_id)
        if target not in self.actions(a):
            raise AssignmentError("assign.error.not_now")
        self.store.assignments.set_status(assignment_id, target, user=self.user_id)

    def accept(self, assignment_id: str) -> None:
        self._move(assignment_id, "accepted")

    def decline(self, assignment_id: str, reason: str) -> None:
        reason = (reason or "").strip()
        if not reason:
            raise AssignmentError("assign.error.reason")
        a = self.store.assignments.get(assignment_id)
        if "declined" not in self.actions(a):
            raise AssignmentError("assign.error.not_now")
        if a.claim_id:
            self.store.notes.add(a.claim_id, f"[declined] {reason}", author=self.user_id)
        self.store.assignments.set_status(assignment_id, "declined", user=self.user_id)

    def arrived(self, assignment_id: str, fix: dict | None) -> None:
        a = self.store.assignments.get(assignment_id)
        if "arrived" not in self.actions(a):
            raise AssignmentError("assign.error.not_now")
        if a.claim_id:
            where = (f"{fix['lat']:.6f},{fix['lon']:.6f} ±{fix.get('accuracy_m') or 0:.0f}m"
                     if fix else "no GPS fix")
            self.store.notes.add(a.claim_id, f"[arrived] {where}", author=self.user_id)
        self.store.assignments.set_status(assignment_id, "arrived", user=self.user_id)

    def done(self, assignment_id: str) -> None:
        self._move(assignment_id, "done")

    def add_cost(self, assignment_id: str, kind: str, amount_text: str, note: str = "",
                 receipt: tuple[str, bytes] | None = None) -> CostEntry:
        if kind not in COST_KINDS:
            raise AssignmentError("assign.error.cost_kind")
        try:
            fen = parse_yuan(amount_text)
        except (ValueError, TypeError):
            raise AssignmentError("assign.error.amount") from None
        if fen <= 0:
            raise AssignmentError("assign.error.amount")
        a = self.store.assignments.get(assignment_id)
        if not a.claim_id:
            raise AssignmentError("assign.error.no_claim")
        if receipt is not None:
            name, data = receipt
            self.store.documents.attach_scan(a.claim_id, RECEIPT_DOC, data,
                                             content_type="application/pdf" if name.lower().endswith(".pdf")
                                             else "image/jpeg", user=self.user_id)
        self.store.notes.add(a.claim_id, f"[cost] {kind} {format_fen(fen)} {note}".strip(), author=self.user_id)
        return CostEntry(kind, fen, note)
