"""The co-insurer survey rotation (annex 2 of the seed: "依次轮流通知", at least 1–2 co-insurers a month).

Everything here is pure: no database, no clock. The rotation's state is *derived* from the
assignment log by :func:`replay`; nothing is kept anywhere else, so any co-insurer with the log
and the insurer list can recompute it and check that the lead dispatched fairly.

Definitions (docs/coinsurance.md explains them with examples):

* **turns used** of a co-insurer: the number of its ``assigned`` log entries of an *ordinary*
  dispatch. A decline or a time-out does not give the turn back: the assignment already used it.
* **standing** = turns used + turns *forgiven* while on leave. When the rotation passes over a
  co-insurer because its surveyor is on leave (a ``skipped_on_leave`` entry), its standing is
  raised to at most one below the standing the chosen co-insurer had: it keeps the one turn it
  was skipped for (it comes first when back) but does not pile up a backlog of surveys.
* **rank** of a co-insurer: (standing, seq of its last ordinary turn (never = 0), base position).
  The turn order is the co-insurers sorted by rank; the next one is the first available in it.
* **the month floor**: from day ``floor_from_day`` of a calendar month (China time), while fewer
  than ``month_floor`` distinct co-insurers have *accepted* a survey in that month (ordinary or
  event), the rotation prefers, among the co-insurers of the lowest standing, one that has neither
  accepted nor holds an unanswered assignment this month. The preference acts only *within* the
  lowest standing, which is what keeps turns used within 1 of each other among co-insurers that
  stay available; it costs the floor at most ``month_floor - 1`` dispatches of delay.
* **out of turn**: a survey passed on after every co-insurer of the lowest standing has already
  declined (or let time out) *this* claim goes to the lowest standing among the rest, but is not
  counted as a turn: it is an extra survey, shown as such. Counting it would put someone two turns
  ahead of the co-insurer that refused.
* **event** dispatches (major disasters) assign every available co-insurer and never touch
  standings: they count for the month's participation only.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Iterable, Sequence

from claimcore.localtime import CHINA_TIME

ASSIGNED = "assigned"
ACCEPTED = "accepted"
DECLINED = "declined"
TIMED_OUT = "timed_out"
SKIPPED_ON_LEAVE = "skipped_on_leave"
COMPLETED = "completed"
LOG_KINDS = (ASSIGNED, ACCEPTED, DECLINED, TIMED_OUT, SKIPPED_ON_LEAVE, COMPLETED)

ORDINARY = "ordinary"
# A survey passed on after every co-insurer of the lowest standing has declined (or let time out)
# *this* claim: whoever takes it is ahead already, so it is not counted as a turn (it is shown as
# an extra survey instead). That is what keeps turns used within 1 of each other.
OUT_OF_TURN = "out_of_turn"
EVENT = "event"
DISPATCH_KINDS = (ORDINARY, OUT_OF_TURN, EVENT)
CLAIM_DISPATCHES = (ORDINARY, OUT_OF_TURN)


class RotationError(ValueError):
    """An action that the log does not allow (e.g. accepting an assignment that timed out)."""


@dataclass(frozen=True)
class LeaveWindow:
    """The surveyor contact of an insurer is away from ``start`` (inclusive) to ``end`` (exclusive)."""

    start: datetime
    end: datetime

    def covers(self, at: datetime) -> bool:
        return self.start <= at < self.end


@dataclass(frozen=True)
class CoInsurer:
    code: str
    position: int  # base order of the rotation (the order the lead was given the contacts in)
    leave: tuple[LeaveWindow, ...] = ()

    def on_leave(self, at: datetime) -> bool:
        return any(w.covers(at) for w in self.leave)


@dataclass(frozen=True)
class RotationSettings:
    timeout: timedelta = timedelta(hours=2)
    month_floor: int = 2
    floor_from_day: int = 20

    def __post_init__(self) -> None:
        if self.timeout <= timedelta(0):
            raise ValueError("timeout must be positive")
        if self.month_floor < 0:
            raise ValueError("month_floor must be >= 0")
        if not 1 <= self.floor_from_day <= 31:
            raise ValueError("floor_from_day must be a day of the month (1-31)")


@dataclass(frozen=True)
class LogEntry:
    """One line of the assignment log. ``seq`` is its place in the log (1, 2, 3 …)."""

    seq: int
    at: datetime
    kind: str
    insurer_code: str
    claim_id: str | None
    dispatch: str = ORDINARY
    assignment_id: str | None = None
    event_id: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in LOG_KINDS:
            raise ValueError(f"unknown log kind {self.kind!r}")
        if self.dispatch not in DISPATCH_KINDS:
            raise ValueError(f"unknown dispatch kind {self.dispatch!r}")
        if self.at.tzinfo is None:
            raise ValueError("log times must carry a time zone")


@dataclass(frozen=True)
class Pending:
    assignment_id: str
    insurer_code: str
    claim_id: str | None
    dispatch: str
    assigned_at: datetime
    event_id: str | None = None


def month_of(at: datetime) -> str:
    """The calendar month (China time) an instant falls in, as ``YYYY-MM``."""
    local = at.astimezone(CHINA_TIME)
    return f"{local.year:04d}-{local.month:02d}"


@dataclass
class RotationState:
    insurers: tuple[CoInsurer, ...]
    settings: RotationSettings = field(default_factory=RotationSettings)
    turns: dict[str, int] = field(default_factory=dict)
    extra: dict[str, int] = field(default_factory=dict)  # out-of-turn surveys taken
    forgiven: dict[str, int] = field(default_factory=dict)
    last_turn_seq: dict[str, int] = field(default_factory=dict)
    pending: dict[str, Pending] = field(default_factory=dict)
    # assignment_id -> (insurer, claim, dispatch, state) for every assignment ever made
    assignments: dict[str, dict] = field(default_factory=dict)
    offered: dict[str, list[str]] = field(default_factory=dict)  # claim -> co-insurers offered (ordinary)
    held_by: dict[str, str] = field(default_factory=dict)  # claim -> co-insurer that accepted it
    accepted_in_month: dict[str, set[str]] = field(default_factory=dict)
    history: list[LogEntry] = field(default_factory=list)
    _skips: dict[str | None, list[str]] = field(default_factory=dict)

    # -- derived views ----------------------------------------------------------------------
    @property
    def codes(self) -> list[str]:
        return [i.code for i in self.insurers]

    def insurer(self, code: str) -> CoInsurer:
        for i in self.insurers:
            if i.code == code:
                return i
        raise KeyError(code)

    def standing(self, code: str) -> int:
        return self.turns.get(code, 0) + self.forgiven.get(code, 0)

    def rank_key(self, code: str) -> tuple[int, int, int]:
        return (self.standing(code), self.last_turn_seq.get(code, 0), self.insurer(code).position)

    def turn_order(self) -> list[str]:
        return sorted(self.codes, key=self.rank_key)

    @property
    def last_seq(self) -> int:
        return self.history[-1].seq if self.history else 0

    def participants(self, month: str) -> set[str]:
        return set(self.accepted_in_month.get(month, set()))

    def pending_in_month(self, month: str) -> set[str]:
        return {p.insurer_code for p in self.pending.values() if month_of(p.assigned_at) == month}

    def floor_state(self, at: datetime) -> dict:
        month = month_of(at)
        participants = self.participants(month)
        day = at.astimezone(CHINA_TIME).day
        met = len(participants) >= self.settings.month_floor
        return {
            "month": month,
            "required": self.settings.month_floor,
            "from_day": self.settings.floor_from_day,
            "participants": sorted(participants),
            "met": met,
            "preferring": (not met) and day >= self.settings.floor_from_day,
        }


def new_state(insurers: Sequence[CoInsurer], settings: RotationSettings | None = None) -> RotationState:
    codes = [i.code for i in insurers]
    if len(set(codes)) != len(codes):
        raise ValueError("duplicate co-insurer code")
    return RotationState(insurers=tuple(insurers), settings=settings or RotationSettings())


# -- replay: the only way state changes --------------------------------------------------------

def apply(state: RotationState, entry: LogEntry) -> None:
    """Fold one log entry into ``state`` (in place). Entries must come in seq order."""
    if entry.seq <= state.last_seq:
        raise RotationError(f"log entry {entry.seq} out of order (after {state.last_seq})")
    code = entry.insurer_code
    if code not in state.codes:
        raise RotationError(f"log entry {entry.seq} names unknown co-insurer {code!r}")
    if entry.kind == SKIPPED_ON_LEAVE:
        state._skips.setdefault(entry.claim_id, []).append(code)
    elif entry.kind == ASSIGNED:
        if entry.assignment_id is None or entry.assignment_id in state.assignments:
            raise RotationError(f"log entry {entry.seq}: assignment id missing or reused")
        skips = state._skips.pop(entry.claim_id, [])
        if entry.dispatch == ORDINARY:
            chosen_standing = state.standing(code)
            for skipped in skips:
                # Skipped on leave: keep exactly one turn of priority, forgive the rest.
                floor = chosen_standing - 1
                if state.standing(skipped) < floor:
                    state.forgiven[skipped] = state.forgiven.get(skipped, 0) + floor - state.standing(skipped)
            state.turns[code] = state.turns.get(code, 0) + 1
            state.last_turn_seq[code] = entry.seq
        elif entry.dispatch == OUT_OF_TURN:
            state.extra[code] = state.extra.get(code, 0) + 1
        if entry.dispatch in CLAIM_DISPATCHES and entry.claim_id is not None:
            state.offered.setdefault(entry.claim_id, []).append(code)
        state.pending[entry.assignment_id] = Pending(
            entry.assignment_id, code, entry.claim_id, entry.dispatch, entry.at, entry.event_id
        )
        state.assignments[entry.assignment_id] = {
            "insurer_code": code, "claim_id": entry.claim_id, "dispatch": entry.dispatch,
            "event_id": entry.event_id, "status": ASSIGNED, "assigned_at": entry.at,
        }
    else:
        record = state.assignments.get(entry.assignment_id or "")
        if record is None or record["insurer_code"] != code:
            raise RotationError(f"log entry {entry.seq}: no such assignment for {code}")
        allowed = {
            ACCEPTED: (ASSIGNED,), DECLINED: (ASSIGNED,), TIMED_OUT: (ASSIGNED,),
            COMPLETED: (ACCEPTED,),
        }[entry.kind]
        if record["status"] not in allowed:
            raise RotationError(
                f"log entry {entry.seq}: assignment is {record['status']}, cannot become {entry.kind}"
            )
        record["status"] = entry.kind
        if entry.kind in (ACCEPTED, DECLINED, TIMED_OUT):
            state.pending.pop(entry.assignment_id, None)
        if entry.kind == ACCEPTED:
            state.accepted_in_month.setdefault(month_of(entry.at), set()).add(code)
            if entry.claim_id is not None and record["dispatch"] in CLAIM_DISPATCHES:
                state.held_by[entry.claim_id] = code
    state.history.append(entry)


def replay(log: Iterable[LogEntry], insurers: Sequence[CoInsurer],
           settings: RotationSettings | None = None) -> RotationState:
    """The rotation state after the given log: the one function every check starts from."""
    state = new_state(insurers, settings)
    for entry in log:
        apply(state, entry)
    return state


# -- decisions: pure functions of (state, time) that return the log entries to append -----------

@dataclass(frozen=True)
class Pick:
    code: str | None
    skipped_on_leave: tuple[str, ...]
    floor_preferred: bool
    in_turn: bool = True


def pick_next(state: RotationState, at: datetime, claim_id: str | None = None) -> Pick:
    """Who gets the next ordinary survey at ``at`` (and who is passed over for being on leave).

    Co-insurers already offered this claim (they declined or timed out) are not offered it again.
    """
    tried = set(state.offered.get(claim_id, [])) if claim_id is not None else set()
    everyone_available = [c for c in state.turn_order() if not state.insurer(c).on_leave(at)]
    order = [c for c in state.turn_order() if c not in tried]
    available = [c for c in order if not state.insurer(c).on_leave(at)]
    if not available:
        return Pick(None, tuple(c for c in order), False)
    lowest = min(state.standing(c) for c in available)
    # Not in turn when everyone of the lowest standing has already refused this claim.
    in_turn = lowest == min(state.standing(c) for c in everyone_available)
    candidates = [c for c in available if state.standing(c) == lowest]
    preferred = False
    floor = state.floor_state(at)
    if floor["preferring"]:
        month = floor["month"]
        busy = state.participants(month) | state.pending_in_month(month)
        fresh = [c for c in candidates if c not in busy]
        if fresh and fresh[0] != candidates[0]:
            preferred = True
        if fresh:
            candidates = fresh
    chosen = candidates[0]
    if not in_turn:
        return Pick(chosen, (), preferred, in_turn=False)
    chosen_key = state.rank_key(chosen)
    skipped = tuple(
        c for c in order if state.insurer(c).on_leave(at) and state.rank_key(c) < chosen_key
    )
    return Pick(chosen, skipped, preferred)


def next_co_insurer(state: RotationState, at: datetime, claim_id: str | None = None) -> str | None:
    """The co-insurer whose turn it is at ``at``; None when every one is on leave (or tried)."""
    return pick_next(state, at, claim_id).code


def _new_id() -> str:
    return str(uuid.uuid4())


def dispatch_ordinary(state: RotationState, claim_id: str, at: datetime,
                      assignment_id: str | None = None) -> list[LogEntry]:
    """Log entries that give ``claim_id``'s survey to the co-insurer in turn (none if nobody can)."""
    if claim_id in state.held_by:
        raise RotationError(f"claim {claim_id} is already held by {state.held_by[claim_id]}")
    if any(p.claim_id == claim_id and p.dispatch in CLAIM_DISPATCHES for p in state.pending.values()):
        raise RotationError(f"claim {claim_id} already has an unanswered co-insurer assignment")
    pick = pick_next(state, at, claim_id)
    seq = state.last_seq
    entries = []
    for code in pick.skipped_on_leave:
        seq += 1
        entries.append(LogEntry(seq, at, SKIPPED_ON_LEAVE, code, claim_id, ORDINARY))
    if pick.code is not None:
        seq += 1
        entries.append(LogEntry(seq, at, ASSIGNED, pick.code, claim_id,
                                ORDINARY if pick.in_turn else OUT_OF_TURN,
                                assignment_id or _new_id()))
    return entries


def dispatch_event(state: RotationState, event_id: str, claims: Sequence[tuple[str, str]],
                   at: datetime, ids: Iterable[str] | None = None) -> list[LogEntry]:
    """Central dispatch of a major disaster: the event's claims, given as (claim_id,
    township_code), are shared among *every* co-insurer available at ``at`` in contiguous
    blocks of township order (so each surveyor works neighbouring places). Standings are
    untouched: event work is not an ordinary turn. Claims already held or pending are left out.
    """
    ids = iter(ids) if ids is not None else None
    busy = set(state.held_by) | {p.claim_id for p in state.pending.values() if p.claim_id}
    todo = sorted(((t, c) for c, t in claims if c not in busy), key=lambda x: (x[0] or "", x[1]))
    people = [i.code for i in sorted(state.insurers, key=lambda i: i.position) if not i.on_leave(at)]
    if not people or not todo:
        return []
    seq = state.last_seq
    entries = []
    n, k = len(todo), len(people)
    for index, (_township, claim_id) in enumerate(todo):
        code = people[index * k // n]  # block index: contiguous, sizes differ by at most 1
        seq += 1
        entries.append(LogEntry(seq, at, ASSIGNED, code, claim_id, EVENT,
                                next(ids) if ids is not None else _new_id(), event_id))
    return entries


def respond(state: RotationState, assignment_id: str, kind: str, at: datetime,
            next_assignment_id: str | None = None, *, in_place: bool = False) -> list[LogEntry]:
    """Accept, decline or complete an assignment. A decline passes the survey on at once.

    Time-outs are evaluated first: answering after the deadline is refused, because the survey
    has (lazily) already passed to the next co-insurer.
    """
    if kind not in (ACCEPTED, DECLINED, COMPLETED):
        raise RotationError(f"cannot respond with {kind!r}")
    record = state.assignments.get(assignment_id)
    if record is None:
        raise RotationError(f"no assignment {assignment_id}")
    if (record["status"] == ASSIGNED and record["dispatch"] in CLAIM_DISPATCHES
            and at >= record["assigned_at"] + state.settings.timeout):
        raise RotationError(
            f"assignment timed out at {(record['assigned_at'] + state.settings.timeout).isoformat()}"
        )
    needed = ACCEPTED if kind == COMPLETED else ASSIGNED
    if record["status"] != needed:
        raise RotationError(f"assignment is {record['status']}, cannot become {kind}")
    entry = LogEntry(state.last_seq + 1, at, kind, record["insurer_code"], record["claim_id"],
                     record["dispatch"], assignment_id, record["event_id"])
    passes_on = kind == DECLINED and record["dispatch"] in CLAIM_DISPATCHES and record["claim_id"] is not None
    if not passes_on and not in_place:
        return [entry]
    # With ``in_place`` the entries are applied to ``state`` as they are made (the server's
    # request-local state: one replay per request instead of one per step).
    trial = state if in_place else _copy(state)
    apply(trial, entry)
    entries = [entry]
    if passes_on:
        more = dispatch_ordinary(trial, record["claim_id"], at, next_assignment_id)
        for e in more:
            apply(trial, e)
        entries += more
    return entries


def expire(state: RotationState, now: datetime, *, in_place: bool = False) -> list[LogEntry]:
    """Time-outs due by ``now`` and the hand-overs they cause, as log entries to append.

    Evaluated lazily (on read and on dispatch) instead of by a timer: the ``timed_out`` entry is
    dated at the deadline, and the survey passes to the next co-insurer *now*, so the next
    surveyor's own two hours start when it can actually see the assignment.
    """
    # Only surveys offered in turn time out: an event's assignments are the lead's central
    # dispatch (统一调度), not an offer that passes on, and must not lose the surveyor its access.
    overdue = sorted(
        (p for p in state.pending.values()
         if p.dispatch in CLAIM_DISPATCHES and now >= p.assigned_at + state.settings.timeout),
        key=lambda p: (p.assigned_at, p.assignment_id),
    )
    if not overdue:
        return []
    trial = state if in_place else _copy(state)
    out: list[LogEntry] = []
    for p in overdue:
        deadline = p.assigned_at + state.settings.timeout
        batch = [LogEntry(trial.last_seq + 1, deadline, TIMED_OUT, p.insurer_code, p.claim_id,
                          p.dispatch, p.assignment_id, p.event_id)]
        apply(trial, batch[0])
        if p.claim_id is not None:
            more = dispatch_ordinary(trial, p.claim_id, now)
            for e in more:
                apply(trial, e)
            batch += more
        out += batch
    return out


def _copy(state: RotationState) -> RotationState:
    return replay(state.history, state.insurers, state.settings)


def summary(state: RotationState, at: datetime, history_limit: int | None = None) -> dict:
    """What the coordinator sees at a glance (the shape of GET /api/v1/rotation)."""
    floor = state.floor_state(at)
    pick = pick_next(state, at)
    history = state.history if history_limit is None else state.history[-history_limit:]
    return {
        "order": [
            {
                "insurer_code": c,
                "turns_used": state.turns.get(c, 0),
                "extra_surveys": state.extra.get(c, 0),
                "forgiven": state.forgiven.get(c, 0),
                "standing": state.standing(c),
                "on_leave": state.insurer(c).on_leave(at),
                "participated_this_month": c in floor["participants"],
            }
            for c in state.turn_order()
        ],
        "next": pick.code,
        "month": floor["month"],
        "participants": floor["participants"],
        "floor": floor,
        "history": [
            {"at": e.at.isoformat(), "insurer_code": e.insurer_code, "claim_id": e.claim_id,
             "kind": e.kind, "dispatch": e.dispatch, "assignment_id": e.assignment_id,
             "event_id": e.event_id}
            for e in history
        ],
    }


__all__ = [
    "CHINA_TIME", "LOG_KINDS", "ASSIGNED", "ACCEPTED", "DECLINED", "TIMED_OUT", "SKIPPED_ON_LEAVE",
    "COMPLETED", "ORDINARY", "OUT_OF_TURN", "EVENT", "CLAIM_DISPATCHES", "RotationError", "LeaveWindow", "CoInsurer",
    "RotationSettings", "LogEntry", "Pending", "RotationState", "Pick", "month_of", "new_state",
    "apply", "replay", "pick_next", "next_co_insurer", "dispatch_ordinary", "dispatch_event",
    "respond", "expire", "summary",
]
