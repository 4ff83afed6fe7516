"""Leave from the office over HTTP (SQLite and PostgreSQL): a co-insurer's contact goes on leave
and comes back early; GET /rotation and the dispatch follow; the rules are admin insurer leave's."""
from __future__ import annotations

from .test_rotation_api import add_claims, dispatch, world  # noqa: F401  (fixture)


def leave(w, code, start, end, who=None, **extra):
    return w.client.post(f"/api/v1/insurers/{code}/leave", headers=(who or w.p.coordinator).headers,
                         json={"from": start, "to": end, **extra})


def on_leave(w) -> dict[str, bool]:
    r = w.client.get("/api/v1/rotation", headers=w.p.s2.headers)
    assert r.status_code == 200, r.text
    return {o["insurer_code"]: o["on_leave"] for o in r.json()["order"]}


def test_leave_and_back_show_in_the_rotation(world):
    # the app's clock: 2026-07-06 09:00 China time
    assert not any(on_leave(world).values())
    r = leave(world, "co1", "2026-07-05T00:00:00+08:00", "2026-07-10T00:00:00+08:00", note="年假")
    assert r.status_code == 201, r.text
    row = r.json()
    assert row["code"] == "co1" and row["share_bp"] == 1500 and not row["is_lead"]
    assert [(w["from"], w["to"], w["note"]) for w in row["leave"]] == [
        ("2026-07-04T16:00:00+00:00", "2026-07-09T16:00:00+00:00", "年假")]
    later = leave(world, "co1", "2026-08-01T00:00:00+08:00", "2026-08-03T00:00:00+08:00", who=world.p.adjuster)
    assert later.status_code == 201 and len(later.json()["leave"]) == 2
    assert on_leave(world) == {"co1": True, "co2": False, "co3": False, "co4": False}
    # GET /insurers shows the same row
    listed = world.client.get("/api/v1/insurers", headers=world.p.coordinator.headers).json()["insurers"]
    assert [i for i in listed if i["code"] == "co1"] == [later.json()]
    a, b = add_claims(world.harness, 2)
    assert dispatch(world, a)[1]["insurer_code"] == "co2"  # skipped while away
    world.clock.advance(hours=1)
    r = world.client.post("/api/v1/insurers/co1/back", headers=world.p.adjuster.headers)
    assert r.status_code == 200, r.text
    windows = r.json()["leave"]
    # the window covering now ends now; the one in August stays
    assert [(w["from"], w["to"]) for w in windows] == [
        ("2026-07-04T16:00:00+00:00", "2026-07-06T02:00:00+00:00"),
        ("2026-07-31T16:00:00+00:00", "2026-08-02T16:00:00+00:00")]
    assert on_leave(world)["co1"] is False
    assert dispatch(world, b)[1]["insurer_code"] == "co1"  # back: it takes the turn it kept
    # coming back twice changes nothing
    again = world.client.post("/api/v1/insurers/co1/back", headers=world.p.adjuster.headers)
    assert again.status_code == 200 and again.json()["leave"] == windows


def test_leave_refusals(world):
    h = world.p.coordinator
    r = leave(world, "co1", "2026-07-10T00:00:00+08:00", "2026-07-10T00:00:00+08:00")
    assert r.status_code == 422 and r.json()["error"] == "invalid_leave"
    r = leave(world, "co1", "2026-07-10T00:00:00+08:00", "2026-07-01T00:00:00+08:00")
    assert r.status_code == 422 and r.json()["error"] == "invalid_leave"
    r = leave(world, "co1", "2026-07-01T00:00:00", "2026-07-10T00:00:00+08:00")
    assert r.status_code == 422 and r.json()["error"] == "invalid_datetime"
    r = leave(world, "co1", "2026-07-01T00:00:00+08:00", "2026-07-10T00:00:00+08:00", note="长" * 201)
    assert r.status_code == 422 and r.json()["error"] == "invalid_request"
    r = leave(world, "nobody", "2026-07-01T00:00:00+08:00", "2026-07-10T00:00:00+08:00")
    assert r.status_code == 404
    assert world.client.post("/api/v1/insurers/nobody/back", headers=h.headers).status_code == 404
    for who in (world.p.s1, world.p.liaison):
        assert leave(world, "co1", "2026-07-01T00:00:00+08:00", "2026-07-10T00:00:00+08:00",
                     who=who).status_code == 403
        assert world.client.post("/api/v1/insurers/co1/back", headers=who.headers).status_code == 403
    listed = world.client.get("/api/v1/insurers", headers=h.headers).json()["insurers"]
    assert all(i["leave"] == [] for i in listed)  # nothing was booked
