"""A surveyor's answers from the app's state layer reach the real server through the store's
outbox and the real sync client: the rotation on the server moves exactly as if the HTTP routes
had been called. SQLite only (the push path is the same code on PostgreSQL; tests/sync_server
covers the rotation there)."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from fieldapp.state.assignments import Assignments
from fieldapp.sync.push import S_REJECTIONS
from sync_server.core import rules as core_rules
from sync_server.core.models import Assignment, Record
from sync_server.core.settings import Settings
from sync_server.fund import service as fund_service
from sync_server.fund.models import FundEntryRow
from sync_server.insurers.models import InsurerTerms
from sync_server.rotation.models import AssignmentDetails
from tests.sync.conftest import Phone, Server, blob_exists

LONGSHUI = "500111100"
POOL = {"lead": 4000, "co1": 2000, "co2": 2000, "co3": 2000}
FIX = {"lat": 29.599, "lon": 105.756, "accuracy_m": 12.0}
RECEIPT = Path(__file__).resolve().parents[1] / "e2e" / "photos"


@pytest.fixture
def world(sqlite_url, tmp_path):
    srv = Server(Settings(data_dir=tmp_path / "server", database_url=sqlite_url))
    h = srv.harness
    for code in POOL:
        h.add_insurer(code, f"{code} 保险")
    with h.db.write() as s:
        for position, (code, bp) in enumerate(POOL.items()):
            s.merge(InsurerTerms(insurer_code=code, share_bp=bp, is_lead=code == "lead", position=position))
    phones: list[Phone] = []

    def phone(name: str, role: str, **kw) -> Phone:
        p = Phone(name, tmp_path / name, srv).open()
        p.enroll(role, **kw)
        phones.append(p)
        return p

    yield srv, phone
    for p in phones:
        p.close()
    srv.close()


def fund_the_pool(srv: Server) -> None:
    """The lead's premium and its 2% contribution: the work fund never pays out below zero."""
    import datetime as dt



    with srv.harness.db.write() as s:
        fund_service.set_premium(s, core_rules.rule_settings(), dt.date.today().year, "lead", 10_000_000, dt.date.today(), None)
    agree_budget(srv, dt.date.today().year)


def agree_budget(srv: Server, year: int) -> None:
    """Spending stays within the year's confirmed budget: the lead proposes an ample one, the
    coordinator confirms it."""
    from tests.sync_server.test_fund_api import AMPLE_BUDGET

    r = srv.http.put(f"/api/v1/fund/budget?year={year}", headers=srv.harness.actor("adjuster").headers,
                     json={"amounts": AMPLE_BUDGET})
    assert r.status_code == 200, r.text
    version = (r.json()["proposed"] or r.json()["confirmed"])["version"]
    r = srv.http.post(f"/api/v1/fund/budget/{year}/confirm", headers=srv.harness.actor("coordinator").headers,
                      json={"version": version})
    assert r.status_code == 200, r.text


def _dispatched_to(srv: Server, claim_id: str) -> dict:
    adjuster = srv.harness.actor("adjuster")
    r = srv.http.post(f"/api/v1/claims/{claim_id}/dispatch", headers=adjuster.headers)
    assert r.status_code == 200, r.text
    return {a["insurer_code"]: a for a in r.json()["assignments"]}


def _server_assignment(srv: Server, aid: str) -> tuple[str, AssignmentDetails]:
    with srv.harness.db.read() as s:
        a, d = s.get(Assignment, aid), s.get(AssignmentDetails, aid)
        s.expunge(d)
        return a.status, d


def _server_notes(srv: Server, claim_id: str) -> list[str]:
    with srv.harness.db.read() as s:
        rows = s.scalars(select(Record).where(Record.entity == "note", Record.claim_id == claim_id))
        return [str((r.fields or {}).get("text")) for r in rows]


def test_accept_arrive_cost_done_reach_the_server(world):
    srv, phone = world
    fund_the_pool(srv)
    liaison = phone("liaison", "liaison", township_code=LONGSHUI)
    claim_id = liaison.new_claim(township=LONGSHUI)
    liaison.sync_until_quiet()
    got = _dispatched_to(srv, claim_id)
    insurer = next(code for code in got if code != "lead")
    surveyor = phone("surveyor", "surveyor", insurer_code=insurer)
    surveyor.sync_until_quiet()
    aid = got[insurer]["id"]
    assert surveyor.store.assignments.get(aid).status == "assigned"  # arrived through pull

    st = Assignments(surveyor.store, surveyor.user["id"], surveyor.files)
    st.accept(aid)
    st.arrived(aid, FIX)
    receipt = sorted(RECEIPT.glob("*.jpg"))[0].read_bytes()
    cost = st.add_cost(aid, "meals", "35.50", "午餐", receipt=("receipt.jpg", receipt), fix=FIX)
    st.done(aid)
    surveyor.sync_until_quiet()

    rejected = surveyor.store.settings.get(S_REJECTIONS, []) or []
    assert rejected == [], [(r["entity"], r["error"]) for r in rejected]  # nothing refused
    assert surveyor.store.outbox.count() == 0
    status, details = _server_assignment(srv, aid)
    assert status == "completed"
    assert details.arrived_at is not None and details.completed_at is not None
    assert (details.arrived_lat, details.arrived_lon) == (FIX["lat"], FIX["lon"])  # the fix at arrival
    # The cost is booked in the work fund: survey spending of this insurer, with the receipt's hash.
    with srv.harness.db.read() as s:
        entries = s.scalars(select(FundEntryRow).where(FundEntryRow.receipt_sha256 == cost.receipt_sha256)).all()
        assert [(e.amount_fen, e.category, e.insurer_code) for e in entries] == [(3550, "survey", insurer)]
    notes = _server_notes(srv, claim_id)
    # Arrival fix and cost are also on the claim's history.
    assert any(n.startswith("[arrived] 29.599000,105.756000") for n in notes), notes
    assert f"[cost] meals 35.50 午餐 receipt:{cost.receipt_sha256}" in notes, notes
    # ... and the receipt's bytes are on the server under that hash (what the fund entry names)
    assert blob_exists(srv, cost.receipt_sha256)
    # The server's answer comes back through pull: the phone shows what the server holds.
    surveyor.sync_until_quiet()
    assert surveyor.store.assignments.get(aid).status == "completed"
    assert st.actions(surveyor.store.assignments.get(aid)) == ()


def test_decline_reaches_the_server_and_hands_the_survey_on(world):
    srv, phone = world
    liaison = phone("liaison", "liaison", township_code=LONGSHUI)
    claim_id = liaison.new_claim(township=LONGSHUI)
    liaison.sync_until_quiet()
    got = _dispatched_to(srv, claim_id)
    insurer = next(code for code in got if code != "lead")
    surveyor = phone("surveyor", "surveyor", insurer_code=insurer)
    surveyor.sync_until_quiet()
    aid = got[insurer]["id"]

    Assignments(surveyor.store, surveyor.user["id"], surveyor.files).decline(aid, "车辆故障，今日无法到场")
    surveyor.sync_until_quiet()
    assert surveyor.store.settings.get(S_REJECTIONS, []) in ([], None)
    status, details = _server_assignment(srv, aid)
    assert status == "declined"
    assert details.decline_reason == "车辆故障，今日无法到场"  # the surveyor's own words
    with srv.harness.db.read() as s:
        others = s.scalars(select(Assignment).where(Assignment.claim_id == claim_id,
                                                    Assignment.insurer_code.not_in(["lead", insurer]))).all()
        assert [a.status for a in others] == ["assigned"]  # handed over to the next co-insurer
    assert any(n == "[declined] 车辆故障，今日无法到场" for n in _server_notes(srv, claim_id))
