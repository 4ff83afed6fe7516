"""A surveyor's assignments: accept, decline with a reason, arrived (with GPS), done, costs.

The answer goes through the store's outbox like every other change (offline first: a surveyor at a
flooded village has no signal); the server applies a pushed ``assignment`` (status, decline
``reason``, arrival ``lat``/``lon``) exactly like its accept/decline/arrive/complete routes. The
reason and the arrival fix are also noted on the claim (append-only, synced) so that the claim's
own history shows them.

Costs: a pushed ``cost`` entity books the work fund's survey spending on the server (the same
rule as POST /fund/entries; the receipt hash is required). The receipt is a photo of the claim
(intake, GPS-stamped, uploaded by content hash like any photo), so its bytes reach the server
under exactly that hash; the claim also gets a note ``[cost] KIND AMOUNT NOTE receipt:SHA256``.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from typing import Any

from claimcore.localtime import to_china_time
from claimcore.money import format_fen, parse_yuan
from fieldapp.i18n import t
from fieldapp.state.capture import PhotoCapture

OPEN = ("new", "offered", "assigned")
NEXT: dict[str, tuple[str, ...]] = {
    "new": ("accepted", "declined"), "offered": ("accepted", "declined"),
    "assigned": ("accepted", "declined"), "accepted": ("arrived",), "arrived": ("done",),
}
COST_KINDS = ("vehicle", "meals", "other")


class AssignmentError(ValueError):
    """``key`` is the i18n key of the message, ``params`` its placeholders."""

    def __init__(self, key: str, **params: str):
        super().__init__(key)
        self.key = key
        self.params = params


@dataclass(frozen=True)
class CostEntry:
    kind: str
    amount_fen: int
    note: str
    receipt_sha256: str
    written_at: str = ""


_COST_NOTE = "[cost]"


def _cost_from_note(text: str, written_at: str) -> CostEntry | None:
    """The claim note ``[cost] KIND AMOUNT [NOTE…] receipt:SHA256`` that add_cost writes, read back
    (the cost itself leaves the phone once the server has booked it; the note stays with the claim)."""
    parts = text.split(" ")
    if len(parts) < 4 or parts[0] != _COST_NOTE or parts[1] not in COST_KINDS or not parts[-1].startswith("receipt:"):
        return None
    try:
        fen = parse_yuan(parts[2].replace(",", ""))
    except (ValueError, TypeError):
        return None
    return CostEntry(parts[1], fen, " ".join(parts[3:-1]), parts[-1].removeprefix("receipt:"), written_at)


class Assignments:
    def __init__(self, store: Any, user_id: str, photo_files: Any = None, lang: str = "zh"):
        self.store = store
        self.user_id = user_id
        self.photo_files = photo_files  # fieldapp.media.PhotoFiles: where receipt photos go
        self.lang = lang

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
        self.store.assignments.set_status(assignment_id, "declined", user=self.user_id, reason=reason)

    def arrived(self, assignment_id: str, fix: dict | None) -> None:
        a = self.store.assignments.get(assignment_id)
        if "arrived" not in self.actions(a):
            raise AssignmentError("assign.error.not_now")
        if a.claim_id:
            where = (f"{fix['lat']:.6f},{fix['lon']:.6f} ±{fix.get('accuracy_m') or 0:.0f}m"
                     if fix else "no GPS fix")
            self.store.notes.add(a.claim_id, f"[arrived] {where}", author=self.user_id)
        self.store.assignments.set_status(assignment_id, "arrived", user=self.user_id,
                                          lat=fix["lat"] if fix else None, lon=fix["lon"] if fix else None)

    def done(self, assignment_id: str) -> None:
        self._move(assignment_id, "done")

    def saved_costs(self, assignment_id: str) -> list[CostEntry]:
        """The costs this user already saved on the survey's claim, oldest first (so a second
        receipt is not booked twice by mistake)."""
        a = self.store.assignments.get(assignment_id)
        if not a.claim_id:
            return []
        found = (_cost_from_note(n.text, n.written_at) for n in self.store.notes.list_for_claim(a.claim_id)
                 if n.author == self.user_id)
        return sorted((c for c in found if c is not None), key=lambda c: c.written_at)

    def add_cost(self, assignment_id: str, kind: str, amount_text: str, note: str = "",
                 receipt: tuple[str, bytes] | None = None, fix: dict | None = None) -> CostEntry:
        """One survey cost with its receipt photo (the server's work fund takes no cost without
        one). Anything refused (kind, amount, no receipt, a receipt the photo intake refuses)
        raises AssignmentError and records nothing."""
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
        if receipt is None or not receipt[1]:
            raise AssignmentError("assign.error.receipt_needed")
        if self.photo_files is None:
            raise RuntimeError("Assignments needs photo_files to take a receipt photo")
        capture = PhotoCapture(self.store, self.photo_files, a.claim_id, self.user_id, self.lang)
        item = capture.add([receipt], fix, wait=True).items[0]
        if item.state != "stored" or not item.sha256:
            raise AssignmentError("assign.error.receipt", reason=item.message)
        note = (note or "").strip()
        # The fund's spending is dated in China time (its quarters are China's quarters).
        on = to_china_time(datetime.now(timezone.utc)).date().isoformat()
        self.store.assignments.log_cost(assignment_id, on=on, amount_fen=fen,
                                        # the fund's quarterly disclosure is published in Chinese
                                        note=" ".join(x for x in (t(f"assign.cost.{kind}", "zh"), note) if x),
                                        receipt_sha256=item.sha256)
        body = " ".join(x for x in (_COST_NOTE, kind, format_fen(fen), note, f"receipt:{item.sha256}") if x)
        self.store.notes.add(a.claim_id, body, author=self.user_id)
        return CostEntry(kind, fen, note, item.sha256)
