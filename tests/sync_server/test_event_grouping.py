"""Events group their claims by themselves (SQLite and PostgreSQL, real HTTP through the app): on
declaration and on every push that creates a claim or changes what it is matched on; the latest
started event wins; the office adds and removes claims by hand, and a claim taken out is never
grouped back; the grouping reaches phones as a new claim version; event dispatch finds the claims."""
from __future__ import annotations

from sync_server.events import service as events_service

from .conftest import Phone, claim_fields, new_id
from .test_rotation_api import BAODING, LONGSHUI, world  # noqa: F401  (fixture)

STARTED = "2026-07-05T20:00:00+08:00"
AFTER = "2026-07-06T03:40:00+08:00"
BEFORE = "2026-07-05T19:59:59+08:00"


def declare(w, townships=(LONGSHUI,), started=STARTED, coverage="natural_disaster", name="2026-07 暴雨"):
    r = w.client.post("/api/v1/events", headers=w.p.coordinator.headers,
                      json={"name": name, "coverage": coverage, "township_codes": list(townships),
                            "started_at": started})
    assert r.status_code == 201, r.text
    return r.json()


def report(phone, township=LONGSHUI, incident=AFTER, **extra) -> str:
    cid = new_id()
    result = phone.push_one("claim", cid, claim_fields(township, incident_at=incident, **extra))
    assert result["status"] == "applied", result
    return cid


def detail(w, event_id, who=None):
    r = w.client.get(f"/api/v1/events/{event_id}", headers=(who or w.p.adjuster).headers)
    assert r.status_code == 200, r.text
    return r.json()


def pulled(phone, claim_id) -> dict:
    changes, _, _ = phone.pull_all()
    (claim,) = [c for c in changes if c["entity"] == "claim" and c["id"] == claim_id]
    return claim


def old_claim(w, reported_at) -> str:
    """A claim from before incident times were required (as the sync core stores one)."""
    from sync_server.core.changelog import record_change
    from sync_server.core.models import Claim
    from sync_server.sync.claims import claim_snapshot

    cid = new_id()
    with w.harness.db.write() as s:
        claim = Claim(id=cid, coverage="natural_disaster", township_code=LONGSHUI, incident_at="",
                      description="旧案件", data={"reported_at": reported_at}, field_versions={})
        s.add(claim)
        s.flush()
        record_change(s, "claim", cid, claim_snapshot(claim), version=1, claim_id=cid)
    return cid


def event_of(w, claim_id) -> str | None:
    from sync_server.core.models import Claim

    with w.harness.db.read() as s:
        return s.get(Claim, claim_id).event_id


def test_declaring_an_event_groups_the_claims_it_matches_at_once(world):
    liaison = Phone(world.client, world.p.liaison)
    liaison_b = Phone(world.client, world.harness.actor("liaison", township_code=BAODING))
    inside = report(liaison)
    at_start = report(liaison, incident=STARTED)
    elsewhere = report(liaison_b, BAODING)
    other_cover = report(liaison, coverage="fire_explosion")
    earlier = report(liaison, incident=BEFORE)
    # no incident time on record (an old claim): when it was reported counts
    reported_late, reported_early = old_claim(world, AFTER), old_claim(world, BEFORE)
    ev = declare(world)
    assert ev["claims"] == 3
    got = detail(world, ev["id"])
    assert sorted(got["claim_ids"]) == sorted([inside, at_start, reported_late])
    for cid in (elsewhere, other_cover, earlier, reported_early):
        assert event_of(world, cid) is None
    # the grouping is a new version of the claim, pulled like any other change
    claim = pulled(liaison, inside)
    assert claim["version"] == 2 and claim["fields"]["event_id"] == ev["id"]
    assert pulled(liaison, earlier)["fields"]["event_id"] is None
    # GET /events keeps its shape and counts the grouped claims
    listed = world.client.get("/api/v1/events", headers=world.p.s1.headers).json()
    assert [(e["id"], e["claims"]) for e in listed] == [(ev["id"], 3)]
    assert set(listed[0]) == {"id", "name", "coverage", "township_codes", "started_at", "declared_by", "claims"}


def test_a_claim_pushed_later_joins_the_event_and_its_phone_learns_it(world):
    ev = declare(world, townships=(LONGSHUI,))
    liaison = Phone(world.client, world.p.liaison)
    liaison_b = Phone(world.client, world.harness.actor("liaison", township_code=BAODING))
    joined = report(liaison)
    assert event_of(world, joined) == ev["id"]
    claim = pulled(liaison, joined)
    assert claim["fields"]["event_id"] == ev["id"] and claim["version"] == 2
    assert event_of(world, report(liaison_b, BAODING)) is None
    assert event_of(world, report(liaison, coverage="fire_explosion")) is None
    late = report(liaison, incident=BEFORE)
    assert event_of(world, late) is None
    # the incident time corrected on the phone: the claim now matches and joins
    result = liaison.push_one("claim", late, {"incident_at": AFTER}, base_version=1)
    assert result["status"] == "applied", result
    assert event_of(world, late) == ev["id"]
    assert pulled(liaison, late)["fields"]["event_id"] == ev["id"]
    # an edit that does not touch what the claim is matched on changes nothing about the event
    other = report(liaison, coverage="fire_explosion")
    assert liaison.push_one("claim", other, {"description": "火灾"}, base_version=1)["status"] == "applied"
    assert event_of(world, other) is None
    assert detail(world, ev["id"])["claims"] == 2


def test_the_latest_started_event_wins(world):
    first = declare(world, started="2026-07-01T00:00:00+08:00", name="第一场暴雨")
    second = declare(world, townships=(LONGSHUI, BAODING), started="2026-07-05T00:00:00+08:00", name="第二场暴雨")
    liaison = Phone(world.client, world.p.liaison)
    between = report(liaison, incident="2026-07-03T12:00:00+08:00")
    after_both = report(liaison, incident="2026-07-06T12:00:00+08:00")
    assert event_of(world, between) == first["id"]
    assert event_of(world, after_both) == second["id"]
    # declaring a third, later event does not take claims out of the event they are in
    third = declare(world, started="2026-07-02T00:00:00+08:00", name="第三场")
    assert detail(world, third["id"])["claims"] == 0
    assert event_of(world, between) == first["id"]


def test_the_office_adds_and_removes_claims_by_hand(world):
    ev = declare(world)
    other_ev = declare(world, townships=(BAODING,), name="宝顶镇暴雨")
    liaison = Phone(world.client, world.p.liaison)
    grouped = report(liaison)
    odd = report(liaison, coverage="fire_explosion")
    h = world.p.adjuster.headers
    # any role but the office is refused; unknown ids are 404
    for who in (world.p.liaison, world.p.s1):
        path = f"/api/v1/events/{ev['id']}/claims/{grouped}"
        assert world.client.post(path, headers=who.headers).status_code == 403
        assert world.client.delete(path, headers=who.headers).status_code == 403
    assert world.client.post(f"/api/v1/events/{new_id()}/claims/{odd}", headers=h).status_code == 404
    assert world.client.post(f"/api/v1/events/{ev['id']}/claims/{new_id()}", headers=h).status_code == 404
    assert world.client.delete(f"/api/v1/events/{new_id()}/claims/{grouped}", headers=h).status_code == 404
    assert world.client.delete(f"/api/v1/events/{ev['id']}/claims/{odd}", headers=h).status_code == 404
    # by hand: any coverage
    r = world.client.post(f"/api/v1/events/{ev['id']}/claims/{odd}", headers=h)
    assert r.status_code == 200, r.text
    assert sorted(r.json()["claim_ids"]) == sorted([grouped, odd]) and r.json()["claims"] == 2
    # moved from one event to another
    r = world.client.post(f"/api/v1/events/{other_ev['id']}/claims/{odd}", headers=world.p.coordinator.headers)
    assert r.json()["claim_ids"] == [odd] and detail(world, ev["id"])["claim_ids"] == [grouped]
    # removed: no event, a new version in the feed
    r = world.client.delete(f"/api/v1/events/{ev['id']}/claims/{grouped}", headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["claims"] == 0 and r.json()["claim_ids"] == []
    claim = pulled(liaison, grouped)
    assert claim["fields"]["event_id"] is None and claim["version"] == 3
    assert world.client.delete(f"/api/v1/events/{ev['id']}/claims/{grouped}", headers=h).status_code == 404
    # edited again on the phone (its incident time too): never grouped back into that event
    moved = liaison.push_one("claim", grouped, {"incident_at": "2026-07-06T05:00:00+08:00",
                                                "description": "补充：房屋倒塌"}, base_version=3)
    assert moved["status"] == "applied", moved
    assert event_of(world, grouped) is None
    # adding it by hand again is the office's choice, and forgets the removal
    assert world.client.post(f"/api/v1/events/{ev['id']}/claims/{grouped}", headers=h).json()["claim_ids"] == [grouped]
    assert pulled(liaison, grouped)["fields"]["event_id"] == ev["id"]


def test_event_detail_counts_by_township_and_status(world):
    ev = declare(world, townships=(LONGSHUI, BAODING))
    liaison = Phone(world.client, world.p.liaison)
    liaison_b = Phone(world.client, world.harness.actor("liaison", township_code=BAODING))
    a, b = report(liaison), report(liaison)
    c = report(liaison_b, BAODING)
    r = world.client.post(f"/api/v1/claims/{a}/dispatch", headers=world.p.adjuster.headers)
    assert r.status_code == 200, r.text
    got = detail(world, ev["id"], world.p.s2)  # surveyors read events as before
    assert got["claims"] == 3 and sorted(got["claim_ids"]) == sorted([a, b, c])
    assert got["by_township"] == {LONGSHUI: 2, BAODING: 1}
    assert got["by_status"] == {"survey_dispatched": 1, "reported": 2}
    assert {k: got[k] for k in ("name", "coverage", "township_codes", "declared_by")} == {
        "name": ev["name"], "coverage": "natural_disaster", "township_codes": [LONGSHUI, BAODING],
        "declared_by": world.p.coordinator.user["id"]}
    assert got["started_at"] == "2026-07-05T12:00:00+00:00"
    assert world.client.get(f"/api/v1/events/{new_id()}", headers=world.p.adjuster.headers).status_code == 404
    assert world.client.get(f"/api/v1/events/{ev['id']}", headers=world.p.liaison.headers).status_code == 403


def test_event_dispatch_finds_the_grouped_claims(world):
    liaison = Phone(world.client, world.p.liaison)
    before = [report(liaison) for _ in range(3)]
    ev = declare(world)
    after = [report(liaison) for _ in range(2)]
    stray = report(liaison, incident=BEFORE)
    r = world.client.post(f"/api/v1/events/{ev['id']}/dispatch", headers=world.p.adjuster.headers)
    assert r.status_code == 200, r.text
    got = r.json()["assignments"]
    assert sorted(a["claim_id"] for a in got) == sorted(before + after)
    assert stray not in {a["claim_id"] for a in got}
    assert {a["kind"] for a in got} == {"event"} and {a["event_id"] for a in got} == {ev["id"]}


def test_a_claim_pushed_while_an_event_is_declared_still_joins_it(world):
    """The declaration has read the claims but not committed when a phone pushes a new one: the
    push waits for it (PostgreSQL: the grouping lock; SQLite: one writer at a time) and then
    sees the event, so no claim falls between the two."""
    import threading

    from sync_server.core.models import User

    liaison = Phone(world.client, world.p.liaison)
    cid = new_id()
    results = []
    push = threading.Thread(target=lambda: results.append(liaison.push_one("claim", cid, claim_fields())))
    with world.harness.db.write() as s:
        ev = events_service.declare_event(s, s.get(User, world.p.coordinator.user["id"]), "暴雨", "natural_disaster",
                              [LONGSHUI], events_service.parse_moment(STARTED))
        push.start()
        push.join(timeout=1.5)
        assert push.is_alive()  # waiting for the declaration to commit
    push.join(timeout=60)
    assert results and results[0]["status"] == "applied", results
    assert event_of(world, cid) == ev["id"]
