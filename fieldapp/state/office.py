"""The office console's data: the lead insurer's office and the district's coordinator run the
programme from it; co-insurers' surveyors read their part (rotation, events, reviews, the fund).

Two sources, one rule: what this phone's store holds (claims, reviews) is read locally; what only
the server knows (the rotation, events, assignments, the work fund, conflicts, reports) is asked for
and the answer kept in the store, so a screen shows the last answer and its time when the network
is gone. Acts (dispatch, leave, events, premiums, corrections, settling conflicts) are the
server's to record: without it they are refused with the reason (NeedsServer), never half-done
here. Spending alone goes through the outbox (online or not): the server books it once under its
id, by the same rules.

No Flet here: every figure is tested against the server's own answers in tests/ui.
"""
from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable
from urllib.parse import quote, urlencode

from claimcore import amounts, entities
from claimcore.localtime import CHINA_TIME
from claimcore.wire import now_iso
from fieldapp.state.context import NeedsServer
from fieldapp.store import OfficeClaimRow

OFFICE = tuple(entities.OFFICE_ROLES)
# Each screen and who may open it: the server answers the same roles (its feature routes).
SECTION_ROLES: dict[str, tuple[str, ...]] = {
    "overview": OFFICE,
    "dispatch": OFFICE,
    "rotation": (*OFFICE, "surveyor"),
    "events": (*OFFICE, "surveyor"),
    "reviews": (*OFFICE, "surveyor"),
    "fund": (*OFFICE, "surveyor"),
    "reports": OFFICE,
    "conflicts": OFFICE,
}
SECTIONS = tuple(SECTION_ROLES)
WAITING_FOR_SURVEY = ("reported", "registered")  # a dispatch takes them to survey_dispatched
SPENDING_CATEGORIES = entities.SPENDING_CATEGORIES
# The lead insurer manages the work fund: its adjusters book premiums, spending and corrections
# and propose the budget; the coordinator supervises (reads, confirms the budget); the pool's
# members (surveyors, the lead's adjusters) comment on a quarter's disclosure. As the server has it.
FUND_BOOKERS = ("adjuster",)
BUDGET_CONFIRMERS = ("coordinator",)
FUND_COMMENTERS = ("surveyor", "adjuster")
# Refusals of the fund's rules, said in the user's language (fieldapp.sync.errors) rather than
# the server's English.
_LOCALISED_REFUSALS = ("no_budget", "over_budget")
_CACHE = "office:"


@dataclass(frozen=True)
class Snapshot:
    """The server's answer as this phone holds it."""

    data: Any
    fetched_at: str
    fresh: bool  # asked just now; False: the last answer kept here (offline)


@dataclass(frozen=True)
class Group:
    code: str
    count: int = 0
    claimed_fen: int = 0
    adjusted_fen: int = 0
    paid_fen: int = 0


@dataclass(frozen=True)
class Overdue:
    row: OfficeClaimRow
    what: str  # "decision" (30 days from complete documents) or "payment" (10 days from agreement)
    due: dt.date
    days_over: int


@dataclass(frozen=True)
class Overview:
    total: int
    by_township: list[Group]
    by_coverage: list[Group]
    by_status: list[Group]
    overdue: list[Overdue]
    claimed_fen: int
    adjusted_fen: int
    paid_fen: int


@dataclass(frozen=True)
class ReviewRow:
    claim_id: str
    report_no: str
    coverage: str | None
    township_code: str | None
    amount_fen: int | None
    tier: str
    state: str  # window_open | consultation_due | votes | cleared
    reason: str
    doc: dict = field(default_factory=dict, compare=False)


def review_state(doc: dict) -> str:
    """Where a published review stands, in the words the office uses for it."""
    if doc.get("cleared"):
        return "cleared"
    if doc.get("reason_code") == "consultation_required":
        return "consultation_due"
    if doc.get("tier") == "full_consultation":
        return "votes"
    return "window_open"


def _group(rows: Iterable[OfficeClaimRow], key: Callable[[OfficeClaimRow], str | None]) -> list[Group]:
    acc: dict[str, list[int]] = {}
    for r in rows:
        a = acc.setdefault(key(r) or "-", [0, 0, 0, 0])
        a[0] += 1
        a[1] += r.claimed_amount_fen or 0
        a[2] += r.adjusted_amount_fen or 0
        a[3] += r.paid_amount_fen or 0
    return sorted((Group(k, *v) for k, v in acc.items()), key=lambda g: (-g.count, g.code))


def overdue(rows: Iterable[OfficeClaimRow], today: dt.date) -> list[Overdue]:
    """Claims past the notice's deadlines (claimcore.amounts.deadlines), most overdue first."""
    out = []
    for r in rows:
        if r.status == "closed":
            continue
        timeline = [(s, at) for s, at in (("submitted", r.submitted_at), ("approved", r.approved_at),
                                           ("paid", r.paid_at)) if at]
        d = amounts.deadlines(timeline, r.reported_at, today)
        if d.decision_due and not d.decided and today > d.decision_due:
            out.append(Overdue(r, "decision", d.decision_due, (today - d.decision_due).days))
        elif d.payment_due and not d.paid and today > d.payment_due:
            out.append(Overdue(r, "payment", d.payment_due, (today - d.payment_due).days))
    return sorted(out, key=lambda o: (-o.days_over, o.row.report_no))


def overview(rows: list[OfficeClaimRow], today: dt.date) -> Overview:
    return Overview(
        total=len(rows),
        by_township=_group(rows, lambda r: r.township_code),
        by_coverage=_group(rows, lambda r: r.coverage),
        by_status=_group(rows, lambda r: r.status),
        overdue=overdue(rows, today),
        claimed_fen=sum(r.claimed_amount_fen or 0 for r in rows),
        adjusted_fen=sum(r.adjusted_amount_fen or 0 for r in rows),
        paid_fen=sum(r.paid_amount_fen or 0 for r in rows),
    )


def deadline_of(assignment: dict, timeout_minutes: int) -> str | None:
    """When an offered survey passes to the next co-insurer if unanswered."""
    at = assignment.get("assigned_at")
    if not at:
        return None
    moment = dt.datetime.fromisoformat(str(at).replace("Z", "+00:00"))
    return (moment + dt.timedelta(minutes=timeout_minutes)).isoformat()


def today_in_china() -> dt.date:
    return dt.datetime.now(CHINA_TIME).date()


class Office:
    def __init__(self, ctx):
        self.ctx = ctx

    @property
    def store(self):
        return self.ctx.store

    def sections(self) -> tuple[str, ...]:
        return tuple(s for s in SECTIONS if self.ctx.role in SECTION_ROLES[s])

    # -- the server's answers, kept for offline reading -------------------------------------------
    def cached(self, key: str) -> Snapshot | None:
        kept = self.store.settings.get(_CACHE + key)
        return Snapshot(kept["data"], kept["at"], False) if isinstance(kept, dict) and "data" in kept else None

    def fetch(self, key: str, path: str) -> Snapshot | None:
        """Ask the server; offline, the last answer kept here (None if there never was one)."""
        try:
            status, body = self.ctx._call("GET", path)
        except NeedsServer:
            return self.cached(key)
        if status != 200:
            raise NeedsServer("refused", _message(status, body))
        at = now_iso()
        self.store.settings.set(_CACHE + key, {"data": body, "at": at})
        return Snapshot(body, at, True)

    def rotation(self) -> Snapshot | None:
        return self.fetch("rotation", "/api/v1/rotation?history=200")

    def assignments(self) -> Snapshot | None:
        return self.fetch("assignments", "/api/v1/assignments")

    def events(self) -> Snapshot | None:
        return self.fetch("events", "/api/v1/events")

    def event(self, event_id: str) -> Snapshot | None:
        return self.fetch(f"event:{event_id}", f"/api/v1/events/{quote(event_id)}")

    def civil_affairs(self, event_id: str) -> Snapshot | None:
        """A natural disaster's civil-affairs step: townships' reports to the bureau, the bureau's
        figures and when they reached the lead, the claims' statistics beside them."""
        return self.fetch(f"civil:{event_id}", _civil_path(event_id, "json"))

    def civil_affairs_file(self, event_id: str, fmt: str) -> tuple[str, bytes]:
        """The export for the civil affairs bureau (PDF or XLSX): (file name, bytes)."""
        if self.ctx.sync_service is None:
            raise NeedsServer("offline")
        from fieldapp.sync.errors import SyncError

        try:
            status, data, ctype = self.ctx.sync_service.client.download(_civil_path(event_id, fmt))
        except SyncError:
            raise NeedsServer("offline") from None
        if status != 200 or "json" in ctype:
            raise NeedsServer("refused", f"HTTP {status}")
        return f"dazu-civil-affairs-{event_id[:8]}.{fmt}", data

    def fund_entries(self) -> Snapshot | None:
        return self.fetch("fund_entries", "/api/v1/fund/entries")

    def disclosure(self, year: int, quarter: int) -> Snapshot | None:
        return self.fetch(f"disclosure:{year}-{quarter}",
                          "/api/v1/fund/disclosure?" + urlencode({"year": year, "quarter": quarter}))

    def budget(self, year: int) -> Snapshot | None:
        return self.fetch(f"budget:{year}", f"/api/v1/fund/budget?year={year}")

    def settlement(self, year: int) -> Snapshot | None:
        return self.fetch(f"settlement:{year}", f"/api/v1/fund/settlement?year={year}")

    def recoveries(self) -> Snapshot | None:
        return self.fetch("recoveries", "/api/v1/fund/recoveries")

    def conflicts(self) -> Snapshot | None:
        return self.fetch("conflicts", "/api/v1/conflicts")

    def report(self, kind: str, year: int, quarter: int | None) -> Snapshot | None:
        return self.fetch(f"report:{kind}-{year}-{quarter or 0}", _report_path(kind, year, quarter, "json"))

    def report_file(self, kind: str, year: int, quarter: int | None, fmt: str) -> tuple[str, bytes]:
        """The report as a file (PDF or XLSX) to save or share: (file name, bytes)."""
        if self.ctx.sync_service is None:
            raise NeedsServer("offline")
        from fieldapp.sync.errors import SyncError

        try:
            status, data, ctype = self.ctx.sync_service.client.download(_report_path(kind, year, quarter, fmt))
        except SyncError:
            raise NeedsServer("offline") from None
        if status != 200 or "json" in ctype:
            raise NeedsServer("refused", f"HTTP {status}")
        name = f"dazu-{kind}-{year}" + (f"-q{quarter}" if kind == "quarterly" else "") + f".{fmt}"
        return name, data

    # -- what the phone holds -------------------------------------------------------------------
    def overview(self, today: dt.date | None = None) -> Overview:
        return overview(self.store.claims.office_rows(), today or today_in_china())

    def dispatch_queue(self) -> list[OfficeClaimRow]:
        """Claims waiting for a survey, oldest first."""
        return [r for r in self.store.claims.office_rows() if r.status in WAITING_FOR_SURVEY]

    def search(self, text: str) -> list[OfficeClaimRow]:
        """Exact match on the report number, the victim's name or a person's ID number."""
        wanted = (text or "").strip()
        if not wanted:
            return []
        by_id = self.store.persons.claims_with_id_number(wanted)
        return [r for r in self.store.claims.office_rows()
                if r.report_no.upper() == wanted.upper() or r.victim_name == wanted or r.id in by_id]

    def reviews(self) -> dict[str, list[ReviewRow]]:
        """Published reviews by tier, open ones first."""
        out: dict[str, list[ReviewRow]] = {}
        order = {"consultation_due": 0, "votes": 1, "window_open": 2, "cleared": 3}
        for doc in self.store.reviews.list():
            if not doc.get("tier"):
                continue
            lang_reason = doc.get("reason_zh") if self.ctx.language == "zh" else doc.get("reason")
            out.setdefault(doc["tier"], []).append(ReviewRow(
                doc["claim_id"], doc.get("report_no") or doc["claim_id"][:8], doc.get("coverage"),
                doc.get("township_code"), doc.get("amount_fen"), doc["tier"], review_state(doc),
                lang_reason or "", doc))
        for rows in out.values():
            rows.sort(key=lambda r: (order[r.state], r.report_no))
        return out

    def event_claims(self, event_id: str) -> list[OfficeClaimRow]:
        return [r for r in self.store.claims.office_rows() if r.event_id == event_id]

    # -- acts the server records ------------------------------------------------------------------
    def _act(self, method: str, path: str, body: dict | None = None, ok: tuple[int, ...] = (200, 201)) -> Any:
        status, answer = self.ctx._call(method, path, body)
        if status not in ok:
            raise NeedsServer("refused", _message(status, answer, self.ctx.language))
        self.ctx.sync_now(wait=False)  # what the act changed on claims follows the pull
        return answer

    def dispatch(self, claim_ids: Iterable[str]) -> dict[str, str | None]:
        """Dispatch each claim through the rotation: claim id -> None (done) or why not."""
        out: dict[str, str | None] = {}
        for cid in claim_ids:
            try:
                self._act("POST", f"/api/v1/claims/{quote(cid)}/dispatch")
                out[cid] = None
            except NeedsServer as exc:
                if exc.code == "offline":
                    raise
                out[cid] = exc.message(self.ctx.language)
        return out

    def set_leave(self, insurer_code: str, start: dt.datetime, end: dt.datetime, note: str = "") -> dict:
        return self._act("POST", f"/api/v1/insurers/{quote(insurer_code)}/leave",
                         {"from": start.isoformat(), "to": end.isoformat(), "note": note})

    def end_leave(self, insurer_code: str) -> dict:
        return self._act("POST", f"/api/v1/insurers/{quote(insurer_code)}/back")

    def declare_event(self, name: str, coverage: str, township_codes: list[str], started_at: dt.datetime) -> dict:
        return self._act("POST", "/api/v1/events", {"name": name, "coverage": coverage,
                                                    "township_codes": township_codes,
                                                    "started_at": started_at.isoformat()})

    def add_to_event(self, event_id: str, claim_id: str) -> dict:
        return self._act("POST", f"/api/v1/events/{quote(event_id)}/claims/{quote(claim_id)}")

    def remove_from_event(self, event_id: str, claim_id: str) -> dict:
        return self._act("DELETE", f"/api/v1/events/{quote(event_id)}/claims/{quote(claim_id)}")

    def dispatch_event(self, event_id: str) -> list[dict]:
        return self._act("POST", f"/api/v1/events/{quote(event_id)}/dispatch")["assignments"]

    def record_township_report(self, event_id: str, township_code: str, reported_at: dt.datetime,
                               figures: dict[str, int], note: str = "") -> dict:
        """A township reported the disaster to the civil affairs bureau (the office on its behalf)."""
        return self._act("POST", f"/api/v1/events/{quote(event_id)}/civil-affairs/township-reports",
                         {"township_code": township_code, "reported_at": reported_at.isoformat(),
                          **_figures(figures), "note": note})

    def record_bureau_figures(self, event_id: str, received_at: dt.datetime, figures: dict[str, int],
                              note: str = "") -> dict:
        """The bureau's district-wide figures reached the lead insurer at ``received_at``."""
        return self._act("POST", f"/api/v1/events/{quote(event_id)}/civil-affairs/bureau-figures",
                         {"received_at": received_at.isoformat(), **_figures(figures), "note": note})

    def book_premium(self, year: int, insurer_code: str, premium_ex_tax_fen: int, received_on: dt.date) -> dict:
        return self._act("POST", "/api/v1/fund/premiums", {
            "policy_year": year, "insurer_code": insurer_code, "premium_ex_tax_fen": premium_ex_tax_fen,
            "received_on": received_on.isoformat()})

    def books_fund(self) -> bool:
        return self.ctx.role in FUND_BOOKERS

    def confirms_budget(self) -> bool:
        return self.ctx.role in BUDGET_CONFIRMERS

    def comments_on_fund(self) -> bool:
        return self.ctx.role in FUND_COMMENTERS

    def propose_budget(self, year: int, amounts: dict[str, int], note: str = "") -> dict:
        """The lead's proposal (or change) of the year's budget: in force once confirmed."""
        return self._act("PUT", f"/api/v1/fund/budget?year={int(year)}", {"amounts": amounts, "note": note})

    def confirm_budget(self, year: int, version: int) -> dict:
        """The coordinator confirms the version it read (refused if the lead changed it since)."""
        return self._act("POST", f"/api/v1/fund/budget/{int(year)}/confirm", {"version": version})

    def comment_on_disclosure(self, year: int, quarter: int, text: str) -> dict:
        return self._act("POST", "/api/v1/fund/disclosure/comments?" + urlencode({"year": year, "quarter": quarter}),
                         {"text": text})

    def book_spending(self, on: dt.date, amount_fen: int, category: str, note: str = "") -> str:
        """Spending goes through this phone's outbox, online or not: the server books it once
        under its id by the same rules as POST /fund/entries, so a lost reply or a retry never
        books it twice. Returns the entry's id."""
        entry_id = self.store.fund.queue_spending(on=on.isoformat(), amount_fen=amount_fen, category=category,
                                                  note=note)
        self.ctx.data_changed()
        return entry_id

    def queued_spending(self) -> list[dict]:
        return self.store.fund.unsent()

    def correct_entry(self, entry_id: str, reason: str, amount_fen: int | None = None) -> dict:
        body: dict[str, Any] = {"reason": reason}
        if amount_fen:
            body["amount_fen"] = amount_fen
        return self._act("POST", f"/api/v1/fund/entries/{quote(entry_id)}/corrections", body)

    def record_recovery(self, insurer_code: str, kind: str, amount_fen: int, on: dt.date, note: str = "") -> dict:
        """A demand sent to a co-insurer for its share of paid claims (``demands``), or money it
        paid back (``receipts``)."""
        if kind not in ("demands", "receipts"):
            raise ValueError(kind)
        return self._act("POST", f"/api/v1/fund/recoveries/{quote(insurer_code)}/{kind}",
                         {"amount_fen": amount_fen, "on": on.isoformat(), "note": note})

    def correct_recovery(self, entry_id: str, reason: str) -> dict:
        return self._act("POST", f"/api/v1/fund/recoveries/entries/{quote(entry_id)}/corrections",
                         {"reason": reason})

    def settle_conflict(self, conflict: dict, restore: bool) -> dict:
        """Mark a conflict reviewed; with ``restore``, first put the overwritten value back as an
        ordinary edit from this phone (the server keeps the latest edit)."""
        if restore:
            repo = {"claim": self.store.claims, "person": self.store.persons}.get(conflict.get("entity"))
            if repo is None:
                raise NeedsServer("refused", f"{conflict.get('entity')} values are restored on the claim screen")
            repo.update(conflict["entity_id"], **{conflict["field"]: conflict.get("other_value")})
            self.ctx.data_changed()
        return self._act("POST", f"/api/v1/conflicts/{int(conflict['id'])}/resolve")


# What a township or the bureau reports, in that order; what the event's claims can count of it.
DISASTER_FIGURES = entities.DISASTER_FIGURES
CLAIM_MEASURES = entities.DISASTER_CLAIM_MEASURES


def _figures(figures: dict[str, int]) -> dict[str, int]:
    missing = [k for k in DISASTER_FIGURES if k not in figures]
    if missing:
        raise ValueError(f"figures missing: {', '.join(missing)}")
    return {k: int(figures[k]) for k in DISASTER_FIGURES}


def _civil_path(event_id: str, fmt: str) -> str:
    return f"/api/v1/events/{quote(event_id)}/civil-affairs?" + urlencode({"format": fmt})


def _report_path(kind: str, year: int, quarter: int | None, fmt: str) -> str:
    params: dict[str, Any] = {"year": year, "format": fmt}
    if kind == "quarterly":
        params["quarter"] = quarter
    return f"/api/v1/reports/{kind}?" + urlencode(params)


def _message(status: int, body: Any, lang: str | None = None) -> str:
    if lang and isinstance(body, dict) and body.get("error") in _LOCALISED_REFUSALS:
        from fieldapp.sync.errors import refusal_text

        return refusal_text(body["error"], lang)
    if isinstance(body, dict) and body.get("message"):
        return str(body["message"])
    return f"HTTP {status}"


def month_floor_met(rotation: dict) -> bool | None:
    """This month's floor (at least 1-2 co-insurers take part), as the server judged it."""
    floor = rotation.get("floor") or {}
    return bool(floor["met"]) if "met" in floor else None


def history_counts(rotation: dict) -> Counter:
    return Counter(h.get("kind") for h in rotation.get("history") or [])
