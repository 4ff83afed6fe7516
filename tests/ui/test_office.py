"""The office console's data (fieldapp.state.office) against the real server: every figure a
screen shows equals the server's own answer, offline reads show the copy kept on the phone, and
acts that need the server are refused offline with nothing half-done. Real SQLite stores, the real
sync client, the real app over its ASGI transport (tests/sync/conftest)."""
from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from fieldapp.state.context import AppContext, NeedsServer
from fieldapp.state.office import Office, overdue, review_state
from fieldapp.store import OfficeClaimRow
from tests.sync.conftest import Phone, Server, valid_id_number
from tests.ui.test_surveyor_sync import (  # noqa: F401  (fixture: the server, a pool of four, phones)
    fund_the_pool,
    world,
)

LONGSHUI, BAODING, LONGGANG = "500111100", "500111102", "500111001"
YEAR = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).year
QUARTER = (dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).month - 1) // 3 + 1


class OfficeCtx:
    """The part of the app's context the office state uses, over a real phone: its store and its
    sync client. ``_call`` is the app's own; a sync the act asks for is run by the test."""

    _call = AppContext._call

    def __init__(self, phone: Phone):
        self.phone, self.store, self.language = phone, phone.store, "zh"
        self.sync_service = SimpleNamespace(client=phone.client)
        self.syncs_asked = 0

    @property
    def role(self) -> str:
        return self.phone.role

    def sync_now(self, wait: bool = True) -> None:
        self.syncs_asked += 1

    def data_changed(self) -> None:
        pass


def _get(srv: Server, path: str, role: str = "coordinator") -> dict:
    r = srv.http.get(path, headers=srv.harness.actor(role).headers)
    assert r.status_code == 200, r.text
    return r.json()


def _claims(phone: Phone, specs, incident_at: str = "2026-07-01T08:00:00+08:00") -> list[str]:
    ids = []
    for township, coverage, fen in specs:
        ids.append(phone.new_claim(township=township, coverage=coverage, claimed_amount_fen=fen,
                                   incident_at=incident_at))
    phone.sync_until_quiet()
    return ids


def test_overview_counts_and_amounts_equal_the_servers_report(world):
    srv, phone = world
    liaison = phone("reporter", "adjuster")  # an adjuster reports in any township
    _claims(liaison, [(LONGSHUI, "natural_disaster", 120_000), (LONGSHUI, "fire_explosion", 80_000),
                      (BAODING, "natural_disaster", 50_000)])
    office_phone = phone("office", "adjuster")
    office_phone.sync_until_quiet()
    office = Office(OfficeCtx(office_phone))

    ov = office.overview()
    report = _get(srv, f"/api/v1/reports/annual?year={YEAR}")
    assert ov.total == report["claims"]["total"] == 3
    for mine, theirs in ((ov.by_township, "by_township"), (ov.by_coverage, "by_coverage"),
                         (ov.by_status, "by_status")):
        assert {g.code: (g.count, g.claimed_fen) for g in mine} == {
            g["code"]: (g["count"], g["claimed_fen"]) for g in report["claims"][theirs]}
    assert ov.claimed_fen == report["amounts"]["claimed_fen"] == 250_000
    snap = office.report("annual", YEAR, None)
    assert snap.fresh and snap.data == report


def test_dispatch_queue_dispatch_and_the_rotation_board(world):
    srv, phone = world
    liaison = phone("liaison", "liaison", township_code=LONGSHUI)
    first, second = _claims(liaison, [(LONGSHUI, "natural_disaster", None)] * 2)
    coordinator = phone("office", "coordinator")
    coordinator.sync_until_quiet()
    ctx = OfficeCtx(coordinator)
    office = Office(ctx)
    assert [r.id for r in office.dispatch_queue()] == [first, second]  # oldest first

    assert office.dispatch([first]) == {first: None}
    assert ctx.syncs_asked == 1
    coordinator.sync_until_quiet()
    assert [r.id for r in office.dispatch_queue()] == [second]
    board = office.rotation()
    assert board.fresh
    server_board = _get(srv, "/api/v1/rotation?history=200")
    assert board.data["order"] == server_board["order"]
    assert board.data["next"] == server_board["next"]
    assert board.data["history"] == server_board["history"]
    offered = [a for a in office.assignments().data["assignments"] if a["kind"] != "lead"]
    assert [a["claim_id"] for a in offered] == [first]
    assert offered[0]["insurer_code"] in {"co1", "co2", "co3"}

    # a claim dispatched twice is refused by the server, said per claim, nothing else changes
    again = office.dispatch([first, second])
    assert again[second] is None and again[first]


def test_offline_the_last_answers_are_shown_and_acts_are_refused(world):
    srv, phone = world
    coordinator = phone("office", "coordinator")
    office = Office(OfficeCtx(coordinator))
    online = office.rotation()
    events = office.events()
    coordinator.transport.offline = True
    kept = office.rotation()
    assert kept is not None and not kept.fresh
    assert kept.data == online.data and kept.fetched_at == online.fetched_at
    assert office.events().data == events.data
    assert office.disclosure(YEAR, QUARTER) is None  # never fetched: nothing to show, nothing made up
    with pytest.raises(NeedsServer) as refused:
        office.declare_event("洪水", "natural_disaster", [LONGSHUI], dt.datetime.now(dt.timezone.utc))
    assert refused.value.code == "offline"
    with pytest.raises(NeedsServer):
        office.book_premium(YEAR, "co1", 10_000_000, dt.date.today())
    coordinator.transport.offline = False
    assert _get(srv, "/api/v1/events") == []
    assert _get(srv, "/api/v1/fund/entries")["entries"] == []


def test_spending_goes_through_the_outbox_and_is_booked_once_even_when_a_reply_is_lost(world):
    srv, phone = world
    fund_the_pool(srv)
    lead = phone("office", "adjuster")  # the lead insurer books the fund
    office = Office(OfficeCtx(lead))
    lead.transport.offline = True
    entry_id = office.book_spending(dt.date.today(), 12_345, "communication", "协调会场地")
    assert [e["id"] for e in office.queued_spending()] == [entry_id]
    lead.transport.offline = False
    lead.transport.lose_after = 0  # the push commits on the server, its reply is lost
    for _ in range(5):  # the requests before the push (if any) go through; the push's reply is lost
        lead.transport.lose_after = 0
        try:
            lead.client.sync_once()
        except Exception:  # noqa: BLE001 - the lost reply, as the real network loses it
            pass
        if _get(srv, "/api/v1/fund/entries")["entries"]:
            break
    assert office.queued_spending(), "booked on the server, still waiting here: its reply was lost"
    lead.sync_until_quiet()
    booked = [e for e in _get(srv, "/api/v1/fund/entries")["entries"] if e["kind"] == "spending"]
    assert [(e["id"], e["amount_fen"], e["category"], e["note"]) for e in booked] == [
        (entry_id, 12_345, "communication", "协调会场地")]
    assert office.queued_spending() == []


def test_search_is_exact_on_report_number_name_and_id_number(world):
    srv, phone = world
    liaison = phone("liaison", "liaison", township_code=LONGSHUI)
    claim_id = liaison.new_claim(township=LONGSHUI)
    number = valid_id_number()
    liaison.store.persons.add(claim_id, role_in_claim="victim", name="张三丰", id_number=number)
    other = liaison.new_claim(township=LONGSHUI)
    liaison.store.persons.add(other, role_in_claim="victim", name="张三")
    liaison.sync_until_quiet()
    adjuster = phone("office", "adjuster")
    adjuster.sync_until_quiet()
    office = Office(OfficeCtx(adjuster))
    report_no = adjuster.store.claims.get(claim_id).report_no
    assert [r.id for r in office.search(report_no)] == [claim_id]
    assert [r.id for r in office.search(report_no.lower())] == [claim_id]
    assert [r.id for r in office.search("张三丰")] == [claim_id]
    assert [r.id for r in office.search("张三")] == [other]  # exact, not a substring
    assert [r.id for r in office.search(number)] == [claim_id]
    assert office.search(number[:-1]) == []
    assert office.search(report_no[:-1]) == []


def test_events_group_their_claims_and_dispatch_them(world):
    srv, phone = world
    coordinator = phone("office", "coordinator")
    office = Office(OfficeCtx(coordinator))
    start = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1)
    during = (start + dt.timedelta(minutes=30)).isoformat()
    liaison = phone("reporter", "adjuster")
    before = _claims(liaison, [(LONGSHUI, "natural_disaster", None)], during)
    earlier = _claims(liaison, [(LONGSHUI, "natural_disaster", None)], (start - dt.timedelta(days=1)).isoformat())
    ev = office.declare_event("2026年12月洪水", "natural_disaster", [LONGSHUI, BAODING], start)
    inside = _claims(liaison, [(LONGSHUI, "natural_disaster", None), (BAODING, "natural_disaster", None)], during)
    outside = earlier + _claims(liaison, [(LONGGANG, "natural_disaster", None),
                                          (LONGSHUI, "fire_explosion", None)], during)
    coordinator.sync_until_quiet()
    detail = office.event(ev["id"]).data
    grouped = set(before + inside)  # the claim reported before the declaration joins at once
    assert set(detail["claim_ids"]) == grouped and detail["claims"] == 3
    assert detail["by_township"] == {LONGSHUI: 2, BAODING: 1}
    assert {r.id for r in office.event_claims(ev["id"])} == grouped  # pulled claims carry event_id
    assert not {r.id for r in office.event_claims(ev["id"])} & set(outside)

    office.remove_from_event(ev["id"], inside[0])
    office.add_to_event(ev["id"], outside[0])
    coordinator.sync_until_quiet()
    detail = office.event(ev["id"]).data
    assert set(detail["claim_ids"]) == {before[0], inside[1], outside[0]}
    assert {r.id for r in office.event_claims(ev["id"])} == set(detail["claim_ids"])
    made = office.dispatch_event(ev["id"])
    assert {a["claim_id"] for a in made if a["kind"] != "lead"} == set(detail["claim_ids"])


def test_the_fund_books_corrects_and_discloses_as_the_server_does(world):
    srv, phone = world
    lead_phone, coordinator_phone = phone("office", "adjuster"), phone("desk", "coordinator")
    office, desk = Office(OfficeCtx(lead_phone)), Office(OfficeCtx(coordinator_phone))
    assert office.books_fund() and not desk.books_fund() and desk.confirms_budget()
    today = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).date()
    # the coordinator supervises: it books nothing
    with pytest.raises(NeedsServer) as refused:
        desk.book_premium(YEAR, "co1", 10_000_000, today)
    assert refused.value.code == "refused" and "lead insurer books" in refused.value.detail
    # the lead proposes the year's budget, the coordinator confirms the version it reads
    proposed = office.propose_budget(YEAR, {"publicity": 40_000, "communication": 10_000}, "联席会议商定")
    assert proposed["proposed"]["version"] == 1 and proposed["confirmed"] is None
    pending = desk.budget(YEAR).data["proposed"]
    assert pending == _get(srv, f"/api/v1/fund/budget?year={YEAR}")["proposed"]
    assert desk.confirm_budget(YEAR, pending["version"])["confirmed"]["version"] == 1
    office.book_premium(YEAR, "co1", 10_000_000, today)
    spent = {"id": office.book_spending(today, 30_000, "publicity", "宣传册")}
    lead_phone.sync_until_quiet()
    disclosure = office.disclosure(YEAR, QUARTER).data
    assert disclosure == _get(srv, f"/api/v1/fund/disclosure?year={YEAR}&quarter={QUARTER}")
    assert disclosure["spending_fen"] == 30_000 and disclosure["income_fen"] == 200_000

    # over the confirmed budget: refused, in the user's language
    with pytest.raises(NeedsServer) as refused:
        office.correct_entry(spent["id"], "金额录错", 40_001)
    assert refused.value.detail == "超出该类经费本年度已确认的预算"
    office.correct_entry(spent["id"], "金额录错", 25_000)
    entries = office.fund_entries().data["entries"]
    assert {e["amount_fen"] for e in entries if e["kind"] == "spending"} == {30_000, -30_000, 25_000}
    original = next(e for e in entries if e["id"] == spent["id"])
    assert original["amount_fen"] == 30_000 and original["corrected_by"]  # never edited
    # a co-insurer comments on the quarter's disclosure; everyone reads it there
    surveyor = Office(OfficeCtx(phone("co1-phone", "surveyor", insurer_code="co1")))
    assert surveyor.comments_on_fund() and not desk.comments_on_fund()
    surveyor.comment_on_disclosure(YEAR, QUARTER, "建议增加方言宣传")
    disclosure = office.disclosure(YEAR, QUARTER).data
    assert disclosure["spending_fen"] == 25_000
    assert disclosure == _get(srv, f"/api/v1/fund/disclosure?year={YEAR}&quarter={QUARTER}")
    assert [(c["insurer_code"], c["text"]) for c in disclosure["comments"]] == [("co1", "建议增加方言宣传")]
    assert disclosure["budget"]["by_category"]["publicity"] == {"budget_fen": 40_000, "spent_fen": 25_000,
                                                                "remaining_fen": 15_000}
    assert office.settlement(YEAR).data == _get(srv, f"/api/v1/fund/settlement?year={YEAR}")
    name, pdf = office.report_file("quarterly", YEAR, QUARTER, "pdf")
    assert name == f"dazu-quarterly-{YEAR}-q{QUARTER}.pdf" and pdf.startswith(b"%PDF")
    name, xlsx = office.report_file("annual", YEAR, None, "xlsx")
    assert name == f"dazu-annual-{YEAR}.xlsx" and xlsx.startswith(b"PK")


def test_a_surveyor_sees_the_pool_not_the_office():
    ctx = SimpleNamespace(role="surveyor")
    assert Office(ctx).sections() == ("rotation", "events", "reviews", "fund")
    assert Office(SimpleNamespace(role="liaison")).sections() == ()
    assert Office(SimpleNamespace(role="coordinator")).sections()[0] == "overview"


def _row(report_no: str, status: str, **moments) -> OfficeClaimRow:
    return OfficeClaimRow(report_no, report_no, "natural_disaster", status, LONGSHUI, None, None,
                          "2026-09-01T08:00:00+08:00", None, None, None, None, "2026-09-01T08:00:00+08:00",
                          moments.get("submitted"),
                          moments.get("approved"), moments.get("paid"))


def test_overdue_follows_the_notices_deadlines():
    today = dt.date(2026, 12, 3)
    rows = [
        _row("A", "under_review", submitted="2026-10-01T10:00:00+08:00"),  # decision due 10-31
        _row("B", "under_review", submitted="2026-11-10T10:00:00+08:00"),  # due 12-10: not yet
        _row("C", "stamped", submitted="2026-10-01T10:00:00+08:00", approved="2026-11-20T10:00:00+08:00"),
        _row("D", "paid", submitted="2026-10-01T10:00:00+08:00", approved="2026-11-01T10:00:00+08:00",
             paid="2026-11-05T10:00:00+08:00"),
        _row("E", "closed", submitted="2026-01-01T10:00:00+08:00"),
    ]
    got = overdue(rows, today)
    assert [(o.row.report_no, o.what, o.due.isoformat(), o.days_over) for o in got] == [
        ("A", "decision", "2026-10-31", 33), ("C", "payment", "2026-11-30", 3)]


def test_review_states():
    assert review_state({"cleared": True, "tier": "full_consultation"}) == "cleared"
    assert review_state({"tier": "full_consultation", "reason_code": "consultation_required"}) == "consultation_due"
    assert review_state({"tier": "full_consultation", "reason_code": "waiting_votes"}) == "votes"
    assert review_state({"tier": "inform_coinsurers", "reason_code": "waiting_opinions"}) == "window_open"


def test_conflicts_are_listed_as_the_server_has_them_and_settled_by_keep_or_restore(world):
    srv, phone = world
    liaison = phone("liaison", "liaison", township_code=LONGSHUI)
    adjuster = phone("office", "adjuster")
    cid = liaison.new_claim(township=LONGSHUI, description="原始描述")
    other = liaison.new_claim(township=LONGSHUI, description="另一件")
    liaison.sync_until_quiet()
    adjuster.sync_until_quiet()
    for claim_id, mine, theirs in ((cid, "联络员的描述", "理赔员的描述"), (other, "联络员2", "理赔员2")):
        liaison.store.claims.update(claim_id, description=mine)
        adjuster.store.claims.update(claim_id, description=theirs)
    liaison.sync_until_quiet()
    adjuster.sync_until_quiet()  # arrives second: its values are kept, the liaison's overwritten
    office = Office(OfficeCtx(adjuster))
    listed = office.conflicts().data["conflicts"]
    assert listed == _get(srv, "/api/v1/conflicts")["conflicts"]
    by_claim = {c["claim_id"]: c for c in listed}
    assert by_claim[cid]["other_value"] == "联络员的描述" and by_claim[cid]["kept_value"] == "理赔员的描述"

    office.settle_conflict(by_claim[cid], restore=False)
    office.settle_conflict(by_claim[other], restore=True)
    adjuster.sync_until_quiet()
    assert _get(srv, "/api/v1/conflicts")["conflicts"] == []  # both reviewed
    liaison.sync_until_quiet()
    assert liaison.store.claims.get(cid).description == "理赔员的描述"
    assert liaison.store.claims.get(other).description == "联络员2"  # the overwritten value, restored


def test_reviews_are_grouped_by_tier_with_the_servers_state(world):
    srv, phone = world
    adjuster = phone("office", "adjuster")
    office = Office(OfficeCtx(adjuster))
    from tests.sync_server.test_rotation_api import add_claims

    made = {amount: add_claims(srv.harness, 1, status="adjusted", adjusted_amount_fen=amount)[0]
            for amount in (150_000_00, 400_000_00)}
    for cid in made.values():
        _get(srv, f"/api/v1/claims/{cid}/authority")  # opens and publishes the review
    adjuster.sync_until_quiet()
    groups = office.reviews()
    inform = {r.claim_id: r for r in groups["inform_coinsurers"]}
    full = {r.claim_id: r for r in groups["full_consultation"]}
    assert set(inform) == {made[150_000_00]} and set(full) == {made[400_000_00]}
    assert inform[made[150_000_00]].state == "window_open"
    assert full[made[400_000_00]].state == "consultation_due"
    for cid, row in {**inform, **full}.items():
        server = _get(srv, f"/api/v1/claims/{cid}/authority")
        assert (row.amount_fen, row.tier, row.reason) == (server["amount_fen"], server["tier"], server["reason_zh"])


def test_recoveries_are_demanded_received_and_corrected_as_the_server_counts_them(world):
    srv, phone = world
    from tests.sync_server.test_rotation_api import add_claims

    add_claims(srv.harness, 1, status="paid", paid_amount_fen=100_000_00)  # the lead paid 100,000 yuan for all
    coordinator = phone("office", "coordinator")
    office = Office(OfficeCtx(coordinator))
    owed = office.recoveries().data["by_insurer"]["co1"]["owed_fen"]
    assert owed == 20_000_00  # co1's 20 % share
    today = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).date()
    office.record_recovery("co1", "demands", owed, today, "2026年第4季度代付赔款")
    received = office.record_recovery("co1", "receipts", 15_000_00, today)
    with pytest.raises(NeedsServer) as refused:
        office.record_recovery("co1", "receipts", 6_000_00, today)  # more than was demanded
    assert refused.value.code == "refused"
    office.correct_recovery(received["id"], "到账金额录错")
    office.record_recovery("co1", "receipts", 12_000_00, today)
    mine = office.recoveries().data
    assert mine == _get(srv, "/api/v1/fund/recoveries")
    assert mine["by_insurer"]["co1"] == {"owed_fen": owed, "demanded_fen": owed, "received_fen": 12_000_00,
                                         "outstanding_fen": owed - 12_000_00}
    assert [e["kind"] for e in mine["entries"] if e["insurer_code"] == "co1"].count("correction") == 1
