"""The rotation over HTTP on a real database (SQLite and PostgreSQL): dispatch, answers, lazy
time-outs, leave, events, scope, and assignments reaching phones through pull."""
from __future__ import annotations

import datetime as dt
import uuid
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient

from sync_server.app import create_app
from sync_server.core.changelog import record_change
from sync_server.core.models import Claim
from sync_server.insurers.models import InsurerLeave, InsurerTerms
from sync_server.rotation import rules as rot
from sync_server.sync.claims import claim_snapshot

LONGSHUI = "500111100"
BAODING = "500111102"
POOL = {"lead": 4000, "co1": 1500, "co2": 1500, "co3": 1500, "co4": 1500}


class Clock:
    def __init__(self, start: dt.datetime):
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **kw) -> None:
        self.now += dt.timedelta(**kw)


def setup_pool(harness, shares=POOL, lead="lead"):
    for position, (code, bp) in enumerate(shares.items()):
        harness.add_insurer(code, f"{code} 保险")
    with harness.db.write() as s:
        for position, (code, bp) in enumerate(shares.items()):
            s.merge(InsurerTerms(insurer_code=code, share_bp=bp, is_lead=code == lead, position=position))


def add_claims(harness, n, township=LONGSHUI, event_id=None, **extra) -> list[str]:
    ids = []
    with harness.db.write() as s:
        for _ in range(n):
            cid = str(uuid.uuid4())
            claim = Claim(id=cid, coverage="natural_disaster", township_code=township,
                          incident_at="2026-07-12T03:40:00+08:00", description="演示：暴雨", event_id=event_id,
                          data={}, field_versions={}, **extra)
            s.add(claim)
            s.flush()
            # as the sync core does for a pushed claim: its snapshot goes into the pull feed
            record_change(s, "claim", cid, claim_snapshot(claim), version=1, claim_id=cid)
            ids.append(cid)
    return ids


@pytest.fixture
def world(settings, harness):
    clock = Clock(dt.datetime(2026, 7, 6, 1, 0, tzinfo=dt.timezone.utc))
    setup_pool(harness)
    app = create_app(settings.with_(extra={"clock": clock}))
    with TestClient(app) as client:
        people = SimpleNamespace(
            adjuster=harness.actor("adjuster"),
            coordinator=harness.actor("coordinator"),
            liaison=harness.actor("liaison", township_code=LONGSHUI),
            s1=harness.actor("surveyor", insurer_code="co1"),
            s2=harness.actor("surveyor", insurer_code="co2"),
            s3=harness.actor("surveyor", insurer_code="co3"),
            s4=harness.actor("surveyor", insurer_code="co4"),
        )
        yield SimpleNamespace(client=client, clock=clock, harness=harness, p=people)


def dispatch(w, claim_id, who=None):
    r = w.client.post(f"/api/v1/claims/{claim_id}/dispatch", headers=(who or w.p.adjuster).headers)
    assert r.status_code == 200, r.text
    return r.json()["assignments"]


def surveyor_of(w, code):
    return getattr(w.p, "s" + code[-1])


def test_dispatch_goes_to_the_lead_and_the_co_insurers_in_turn(world):
    claims = add_claims(world.harness, 5)
    got = []
    for cid in claims:
        out = dispatch(world, cid)
        assert [a["kind"] for a in out] == ["lead", "ordinary"]
        assert out[0]["insurer_code"] == "lead" and out[0]["surveyor_id"] == world.p.adjuster.user["id"]
        assert set(out[1]) >= {"id", "insurer_code", "surveyor_id", "status"}
        assert out[1]["status"] == "assigned"
        got.append(out[1]["insurer_code"])
    assert got == ["co1", "co2", "co3", "co4", "co1"]
    # the co-insurer's assignment names its surveyor
    assert out[1]["surveyor_id"] == world.p.s1.user["id"]
    # dispatching the same claim again is refused and changes nothing
    r = world.client.post(f"/api/v1/claims/{claims[0]}/dispatch", headers=world.p.adjuster.headers)
    assert r.status_code == 409 and r.json()["error"] == "already_dispatched"
    rotation = world.client.get("/api/v1/rotation", headers=world.p.coordinator.headers).json()
    assert [o["insurer_code"] for o in rotation["order"]] == ["co2", "co3", "co4", "co1"]
    assert rotation["next"] == "co2"
    assert [h["kind"] for h in rotation["history"]] == ["assigned"] * 5


def test_only_the_lead_and_coordinator_dispatch(world):
    (cid,) = add_claims(world.harness, 1)
    for who in (world.p.s1, world.p.liaison):
        r = world.client.post(f"/api/v1/claims/{cid}/dispatch", headers=who.headers)
        assert r.status_code == 403
    assert world.client.get("/api/v1/rotation", headers=world.p.liaison.headers).status_code == 403
    assert dispatch(world, cid, world.p.coordinator)[1]["insurer_code"] == "co1"
    r = world.client.post(f"/api/v1/claims/{uuid.uuid4()}/dispatch", headers=world.p.adjuster.headers)
    assert r.status_code == 404


def test_decline_uses_the_turn_and_passes_on_and_scope_holds(world):
    a, b = add_claims(world.harness, 2)
    first = dispatch(world, a)[1]
    assert first["insurer_code"] == "co1"
    # another insurer's surveyor cannot touch it: answered like a missing assignment
    r = world.client.post(f"/api/v1/assignments/{first['id']}/accept", headers=world.p.s2.headers)
    assert r.status_code == 404
    r = world.client.post(f"/api/v1/assignments/{first['id']}/decline", headers=world.p.s1.headers,
                          json={"reason": ""})
    assert r.status_code == 422  # a decline needs a reason; nothing changed
    r = world.client.post(f"/api/v1/assignments/{first['id']}/decline", headers=world.p.s1.headers,
                          json={"reason": "查勘员外出培训"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["assignment"]["status"] == "declined"
    assert body["assignment"]["decline_reason"] == "查勘员外出培训"
    (handed,) = body["handed_over"]
    assert handed["insurer_code"] == "co2" and handed["claim_id"] == a
    assert dispatch(world, b)[1]["insurer_code"] == "co3"  # co1's turn was used by its decline
    # co2 accepts, arrives with GPS, completes
    h = world.p.s2.headers
    assert world.client.post(f"/api/v1/assignments/{handed['id']}/accept", headers=h).status_code == 200
    r = world.client.post(f"/api/v1/assignments/{handed['id']}/arrive", headers=h,
                          json={"lat": 29.7, "lon": 105.8})
    assert r.status_code == 200 and r.json()["assignment"]["arrived_lat"] == 29.7
    r = world.client.post(f"/api/v1/assignments/{handed['id']}/complete", headers=h)
    assert r.json()["assignment"]["status"] == "completed"
    # a surveyor's list holds only its insurer's assignments
    mine = world.client.get("/api/v1/assignments", headers=world.p.s1.headers).json()["assignments"]
    assert {x["insurer_code"] for x in mine} == {"co1"}
    hist = world.client.get("/api/v1/rotation", headers=world.p.s3.headers).json()["history"]
    assert [(x["kind"], x["insurer_code"]) for x in hist] == [
        ("assigned", "co1"), ("declined", "co1"), ("assigned", "co2"), ("assigned", "co3"),
        ("accepted", "co2"), ("completed", "co2")]


def test_time_out_is_applied_lazily_on_read(world):
    (a,) = add_claims(world.harness, 1)
    first = dispatch(world, a)[1]
    world.clock.advance(hours=2, minutes=1)
    r = world.client.post(f"/api/v1/assignments/{first['id']}/accept", headers=world.p.s1.headers)
    assert r.status_code == 409 and "timed out" in r.json()["message"]
    rotation = world.client.get("/api/v1/rotation", headers=world.p.adjuster.headers).json()
    kinds = [(x["kind"], x["insurer_code"]) for x in rotation["history"]]
    assert kinds == [("assigned", "co1"), ("timed_out", "co1"), ("assigned", "co2")]
    assert rotation["history"][1]["at"].startswith("2026-07-06T03:00")  # the deadline
    # reading again appends nothing
    again = world.client.get("/api/v1/rotation", headers=world.p.adjuster.headers).json()
    assert len(again["history"]) == 3


def test_leave_skips_without_losing_the_turn(world):
    with world.harness.db.write() as s:
        s.add(InsurerLeave(id=str(uuid.uuid4()), insurer_code="co1",
                           starts_at=dt.datetime(2026, 7, 1, tzinfo=dt.timezone.utc),
                           ends_at=dt.datetime(2026, 7, 7, tzinfo=dt.timezone.utc), note="休假"))
    a, b, c = add_claims(world.harness, 3)
    first = dispatch(world, a)[1]
    assert first["insurer_code"] == "co2"
    world.client.post(f"/api/v1/assignments/{first['id']}/accept", headers=world.p.s2.headers)
    world.clock.advance(days=1)  # 7 July 01:00 UTC: co1 is back
    assert dispatch(world, b)[1]["insurer_code"] == "co1"
    hist = world.client.get("/api/v1/rotation", headers=world.p.adjuster.headers).json()["history"]
    assert ("skipped_on_leave", "co1") in [(x["kind"], x["insurer_code"]) for x in hist]


def test_assignments_reach_the_surveyor_phone_through_pull(world):
    (a,) = add_claims(world.harness, 1)
    first = dispatch(world, a)[1]
    r = world.client.get("/api/v1/sync/pull", headers=world.p.s1.headers)
    changes = r.json()["changes"]
    assignment = [c for c in changes if c["entity"] == "assignment"]
    assert [c["id"] for c in assignment] == [first["id"]]
    assert {"insurer_code": "co1", "claim_id": a, "status": "assigned"}.items() <= assignment[0]["fields"].items()
    assert any(c["entity"] == "claim" and c["id"] == a for c in changes)  # and the claim it concerns
    other = world.client.get("/api/v1/sync/pull", headers=world.p.s2.headers).json()["changes"]
    assert not [c for c in other if c["entity"] in ("assignment", "claim")]


def test_event_dispatch_uses_every_co_insurer_and_no_turn(world):
    r = world.client.post("/api/v1/events", headers=world.p.s1.headers,
                          json={"name": "x", "coverage": "natural_disaster", "township_codes": [LONGSHUI],
                                "started_at": "2026-07-05T20:00:00+08:00"})
    assert r.status_code == 403
    r = world.client.post("/api/v1/events", headers=world.p.coordinator.headers,
                          json={"name": "2026-07 龙水镇/宝顶镇 暴雨", "coverage": "natural_disaster",
                                "township_codes": [LONGSHUI, BAODING], "started_at": "2026-07-05T20:00:00+08:00"})
    assert r.status_code == 201, r.text
    ev = r.json()
    assert ev["started_at"] == "2026-07-05T12:00:00+00:00"
    add_claims(world.harness, 5, LONGSHUI, event_id=ev["id"])
    add_claims(world.harness, 3, BAODING, event_id=ev["id"])
    r = world.client.post(f"/api/v1/events/{ev['id']}/dispatch", headers=world.p.adjuster.headers)
    got = r.json()["assignments"]
    assert len(got) == 8 and {a["insurer_code"] for a in got} == {"co1", "co2", "co3", "co4"}
    assert all(a["kind"] == "event" for a in got)
    rotation = world.client.get("/api/v1/rotation", headers=world.p.adjuster.headers).json()
    assert all(o["turns_used"] == 0 for o in rotation["order"])
    # dispatching the event again assigns nothing twice
    again = world.client.post(f"/api/v1/events/{ev['id']}/dispatch", headers=world.p.adjuster.headers)
    assert again.json()["assignments"] == []
    bad = world.client.post("/api/v1/events", headers=world.p.adjuster.headers,
                            json={"name": "x", "coverage": "meteor", "township_codes": [LONGSHUI],
                                  "started_at": "2026-07-05T20:00:00+08:00"})
    assert bad.status_code == 422


def test_the_log_replays_to_the_state_the_server_shows(world):
    claims = add_claims(world.harness, 6)
    for k, cid in enumerate(claims):
        a = dispatch(world, cid)[1]
        code = a["insurer_code"]
        if k % 3 == 0:
            world.client.post(f"/api/v1/assignments/{a['id']}/decline", headers=surveyor_of(world, code).headers,
                              json={"reason": "忙"})
        elif k % 3 == 1:
            world.client.post(f"/api/v1/assignments/{a['id']}/accept", headers=surveyor_of(world, code).headers)
        world.clock.advance(minutes=30)
    shown = world.client.get("/api/v1/rotation", headers=world.p.adjuster.headers).json()
    log = [rot.LogEntry(i + 1, dt.datetime.fromisoformat(h["at"]), h["kind"], h["insurer_code"], h["claim_id"],
                        h["dispatch"], h["assignment_id"], h["event_id"]) for i, h in enumerate(shown["history"])]
    mine = rot.replay(log, [rot.CoInsurer(c, i) for i, c in enumerate(["co1", "co2", "co3", "co4"], 1)])
    assert {c: mine.turns.get(c, 0) for c in ["co1", "co2", "co3", "co4"]} == {
        o["insurer_code"]: o["turns_used"] for o in shown["order"]}
    assert rot.next_co_insurer(mine, world.clock.now) == shown["next"]



def test_a_phone_answers_offline_through_push(world):
    from .conftest import Phone

    a, b = add_claims(world.harness, 2)
    first = dispatch(world, a)[1]
    phone = Phone(world.client, world.p.s1)
    result = phone.push_one("assignment", first["id"], {"status": "declined", "updated_by": "x"})
    assert result["status"] == "applied", result
    hist = world.client.get("/api/v1/rotation", headers=world.p.adjuster.headers).json()["history"]
    assert [(h["kind"], h["insurer_code"]) for h in hist] == [("assigned", "co1"), ("declined", "co1"),
                                                             ("assigned", "co2")]
    # the same answer from another queue changes nothing; an answer for another insurer is refused
    again = Phone(world.client, world.harness.enroll(world.p.s1.user["id"]))
    assert again.push_one("assignment", first["id"], {"status": "declined"})["status"] == "applied"
    s3 = Phone(world.client, world.p.s3)
    assert s3.push_one("assignment", first["id"], {"status": "accepted"})["status"] == "rejected"
    second = dispatch(world, b)[1]
    assert second["insurer_code"] == "co3"
    assert s3.push_one("assignment", second["id"], {"status": "accepted"})["status"] == "applied"
    assert s3.push_one("assignment", second["id"], {"status": "lost"})["status"] == "rejected"
    assert len(world.client.get("/api/v1/rotation", headers=world.p.adjuster.headers).json()["history"]) == 5
