"""Push and pull over the HTTP contract, on SQLite and PostgreSQL (in-process app)."""
from __future__ import annotations

from sqlalchemy import func, select

from sync_server.core.models import Change, Claim, Record

from .conftest import BAODING, LONGSHUI, claim_fields, new_id


def _count(harness, model) -> int:
    with harness.db.read() as s:
        return s.execute(select(func.count()).select_from(model)).scalar()


def test_valid_claim_is_applied_and_pulled(actors):
    cid = new_id()
    res = actors.liaison_a.push_one("claim", cid, claim_fields())
    assert res == {"seq": 1, "status": "applied", "version": 1, "error": None, "original_status": None,
                   "field": None}
    changes, _, _ = actors.adjuster.pull_all()
    claims = [c for c in changes if c["entity"] == "claim"]
    assert [c["id"] for c in claims] == [cid]
    assert claims[0]["fields"]["coverage"] == "natural_disaster"
    assert claims[0]["fields"]["status"] == "reported"
    assert claims[0]["version"] == 1


def test_invalid_mutations_are_rejected_and_change_nothing(actors, harness):
    good, bad_cov, bad_town, bad_role = new_id(), new_id(), new_id(), new_id()
    p = actors.liaison_a
    batch = [
        p.mutation("claim", good, claim_fields()),
        p.mutation("claim", bad_cov, claim_fields(coverage="meteor_strike")),
        p.mutation("claim", bad_town, claim_fields(township="500111999")),
        p.mutation("claim", bad_role, claim_fields(adjusted_amount_fen=100)),
        p.mutation("person", new_id(), {"claim_id": good, "role_in_claim": "victim", "name": "张三",
                                        "id_number": "500111199001011235"}),
        p.mutation("claim", new_id(), claim_fields(incident_at="yesterday")),
        p.mutation("claim", new_id(), claim_fields(BAODING)),  # another township
    ]
    r = p.push(batch)
    assert r.status_code == 200
    body = r.json()
    assert body["acked_seq"] == batch[-1]["seq"]
    statuses = [x["status"] for x in body["results"]]
    assert statuses == ["applied"] + ["rejected"] * 6
    errors = [(x["error"].split(":")[0], x["field"]) for x in body["results"][1:]]
    assert errors == [("not_in_list", "coverage"), ("not_in_list", "township_code"),
                      ("not_allowed_for_role", "adjusted_amount_fen"), ("wrong_kind", "id_number"),
                      ("wrong_kind", "incident_at"), ("township_not_permitted", None)]
    with harness.db.read() as s:
        assert s.execute(select(Claim.id)).scalars().all() == [good]
        assert s.execute(select(func.count()).select_from(Record)).scalar() == 0
        assert s.execute(select(func.count()).select_from(Change)).scalar() == 1


def test_rejected_update_leaves_the_claim_untouched(actors):
    cid = new_id()
    actors.liaison_a.push_one("claim", cid, claim_fields())
    # description valid, coverage invalid in the same mutation: nothing of it applies
    res = actors.liaison_a.push_one("claim", cid, {"description": "改过", "coverage": "nope"}, base_version=1)
    assert res["status"] == "rejected" and res["version"] == 1
    changes, _, _ = actors.adjuster.pull_all()
    assert changes[0]["fields"]["description"] == "暴雨致房屋进水"


def test_duplicate_batch_is_acknowledged_not_reapplied(actors, harness):
    p = actors.adjuster
    cid = new_id()
    batch = [p.mutation("claim", cid, claim_fields()),
             p.mutation("note", new_id(), {"claim_id": cid, "text": "现场已查勘"}),
             p.mutation("claim", new_id(), claim_fields(coverage="bogus"))]
    first = p.push(batch).json()
    before = (_count(harness, Change), _count(harness, Record))
    second = p.push(batch).json()
    assert first["acked_seq"] == second["acked_seq"] == 3
    assert [r["status"] for r in second["results"]] == ["duplicate"] * 3
    # a replay tells what the first attempt did, including a rejection
    assert [r["original_status"] for r in second["results"]] == ["applied", "applied", "rejected"]
    assert second["results"][2]["error"].startswith("not_in_list: claim.coverage:")
    assert second["results"][2]["field"] == "coverage"  # a replayed refusal still names its field
    assert (_count(harness, Change), _count(harness, Record)) == before


def test_different_fields_merge_same_field_conflicts(actors, harness):
    a, b = actors.adjuster, actors.adjuster2
    cid = new_id()
    a.push_one("claim", cid, claim_fields())
    # both devices edit offline from version 1
    ra = a.push_one("claim", cid, {"address": "龙水镇某村3组"}, base_version=1)
    rb = b.push_one("claim", cid, {"description": "暴雨，屋顶垮塌"}, base_version=1)
    assert ra["status"] == "applied" and rb["status"] == "applied"
    # now the same field from both
    a.push_one("claim", cid, {"claimed_amount_fen": 500_000}, base_version=3)
    rc = b.push_one("claim", cid, {"claimed_amount_fen": 650_000}, base_version=3)
    assert rc["status"] == "conflict"
    changes, _, _ = a.pull_all()
    fields = changes[-1]["fields"]
    assert fields["address"] == "龙水镇某村3组"
    assert fields["description"] == "暴雨，屋顶垮塌"
    assert fields["claimed_amount_fen"] == 650_000  # later arrival wins
    r = actors.coordinator.client.get("/api/v1/conflicts", headers=actors.coordinator.headers)
    assert r.status_code == 200
    [conflict] = r.json()["conflicts"]
    assert conflict["field"] == "claimed_amount_fen"
    assert conflict["kept_value"] == 650_000 and conflict["other_value"] == 500_000
    assert conflict["other_device_id"] == a.me.device_id
    # liaisons and surveyors do not review conflicts
    r = actors.liaison_a.client.get("/api/v1/conflicts", headers=actors.liaison_a.headers)
    assert r.status_code == 403
    # resolving marks it reviewed
    r = a.client.post(f"/api/v1/conflicts/{conflict['id']}/resolve", headers=a.headers)
    assert r.status_code == 200 and r.json()["resolved_by"] == a.me.user["id"]
    assert a.client.get("/api/v1/conflicts", headers=a.headers).json()["conflicts"] == []


def test_same_device_editing_its_own_field_is_no_conflict(actors):
    p = actors.adjuster
    cid = new_id()
    p.push_one("claim", cid, claim_fields())
    p.push_one("claim", cid, {"description": "一"}, base_version=1)
    res = p.push_one("claim", cid, {"description": "二"}, base_version=1)
    assert res["status"] == "applied"


def test_status_follows_workflow(actors):
    cid = new_id()
    actors.liaison_a.push_one("claim", cid, claim_fields())
    bad = actors.liaison_a.push_one("claim", cid, {"status": "registered"}, base_version=1)
    assert bad["status"] == "rejected" and bad["error"].startswith("illegal_transition")
    skip = actors.adjuster.push_one("claim", cid, {"status": "paid"}, base_version=1)
    assert skip["status"] == "rejected"
    ok = actors.adjuster.push_one("claim", cid, {"status": "registered"}, base_version=1)
    assert ok["status"] == "applied" and ok["version"] == 2
    no_reason = actors.liaison_a.push_one("claim", cid, {"status": "withdrawn"}, base_version=2)
    assert no_reason["status"] == "rejected"
    withdrawn = actors.liaison_a.push_one("claim", cid, {"status": "withdrawn", "status_reason": "重复报案"},
                                          base_version=2)
    assert withdrawn["status"] == "applied"


def test_photos_and_notes_are_append_only(actors):
    p = actors.adjuster
    cid, photo, note = new_id(), new_id(), new_id()
    p.push_one("claim", cid, claim_fields())
    sha = "ab" * 32
    assert p.push_one("photo", photo, {"claim_id": cid, "sha256": sha, "kind": "site"})["status"] == "applied"
    assert p.push_one("note", note, {"claim_id": cid, "text": "屋顶垮塌"})["status"] == "applied"
    assert p.push_one("photo", photo, {"claim_id": cid, "sha256": "cd" * 32})["error"].startswith("append_only")
    assert p.push_one("note", note, {"claim_id": cid, "text": "改"})["error"].startswith("append_only")
    assert p.push_one("note", note, {}, op="delete")["error"].startswith("append_only")
    assert p.push_one("photo", photo, {"claim_id": cid}, op="delete")["error"].startswith("append_only")
    # an identical re-send of the same photo is harmless
    assert p.push_one("photo", photo, {"claim_id": cid, "sha256": sha})["status"] == "applied"


def test_pull_scope_paging_and_empty(actors, harness):
    a_claims = [new_id() for _ in range(5)]
    b_claim = new_id()
    for cid in a_claims:
        actors.liaison_a.push_one("claim", cid, claim_fields(LONGSHUI))
    actors.liaison_b.push_one("claim", b_claim, claim_fields(BAODING))
    actors.liaison_a.push_one("note", new_id(), {"claim_id": a_claims[0], "text": "联络员备注"})

    seen_a, cursor_a, requests = actors.liaison_a.pull_all(limit=2)
    assert requests == 3  # 6 changes, 2 per page
    assert {c["id"] for c in seen_a if c["entity"] == "claim"} == set(a_claims)
    assert all(c["fields"].get("claim_id", c["id"]) != b_claim for c in seen_a)
    seen_b, _, _ = actors.liaison_b.pull_all()
    assert [c["id"] for c in seen_b] == [b_claim]

    # nothing new: one request, empty
    r = actors.liaison_a.client.get("/api/v1/sync/pull", headers=actors.liaison_a.headers,
                                    params={"cursor": cursor_a})
    assert r.json() == {"changes": [], "cursor": cursor_a, "has_more": False}
    assert len(r.content) < 200

    # a surveyor sees nothing until its insurer is assigned, then the claim and what it holds
    assert actors.surveyor_x.pull_all()[0] == []
    cursor_x = actors.surveyor_x.pull_all()[1]
    harness.assign(a_claims[0], "cpic")
    r = actors.surveyor_x.client.get("/api/v1/sync/pull", headers=actors.surveyor_x.headers,
                                     params={"cursor": cursor_x})
    got = r.json()["changes"]
    kinds = sorted(c["entity"] for c in got)
    assert kinds == ["assignment", "claim", "note"]
    assert {c["fields"].get("claim_id", c["id"]) for c in got} == {a_claims[0]}
    # the other co-insurer still sees nothing
    assert actors.surveyor_y.pull_all()[0] == []


def test_invalid_cursor_is_a_clear_400(actors):
    r = actors.adjuster.client.get("/api/v1/sync/pull", headers=actors.adjuster.headers,
                                   params={"cursor": "not-a-cursor"})
    assert r.status_code == 400 and r.json()["error"] == "invalid_cursor"


def test_out_of_scope_child_answers_like_unknown_claim(actors):
    cid_b = new_id()
    actors.liaison_b.push_one("claim", cid_b, claim_fields(BAODING))
    unknown = new_id()
    out = actors.liaison_a.push_one("note", new_id(), {"claim_id": cid_b, "text": "x"})
    missing = actors.liaison_a.push_one("note", new_id(), {"claim_id": unknown, "text": "x"})
    assert out["status"] == missing["status"] == "rejected"
    assert out["error"].replace(cid_b, "ID") == missing["error"].replace(unknown, "ID")
    # and an out-of-scope claim is never overwritten through an upsert
    res = actors.liaison_a.push_one("claim", cid_b, claim_fields(LONGSHUI))
    assert res["status"] == "rejected"
    changes, _, _ = actors.adjuster.pull_all()
    assert [c["fields"]["township_code"] for c in changes if c["id"] == cid_b] == [BAODING]


def test_surveyor_role_limits(actors, harness):
    cid = new_id()
    actors.adjuster.push_one("claim", cid, claim_fields())
    harness.assign(cid, "cpic")
    s = actors.surveyor_x
    created = s.push_one("claim", new_id(), {"status": "reported"})
    assert created["status"] == "rejected"
    assert s.push_one("person", new_id(), {"claim_id": cid, "role_in_claim": "victim"})["status"] == "rejected"
    assert s.push_one("note", new_id(), {"claim_id": cid, "text": "已到现场"})["status"] == "applied"
    # a surveyor of another insurer cannot even see the claim
    assert actors.surveyor_y.push_one("note", new_id(), {"claim_id": cid, "text": "x"})["error"].startswith(
        "claim_not_found")


def test_photo_evidence_and_timeline_reach_the_office(actors):
    """What makes a photo provable (device fix, evidence flags, the photo's own GPS) and the
    claim's timeline entries travel to the office unchanged; a timeline entry is append-only."""
    p = actors.liaison_a
    cid, photo, step = new_id(), new_id(), new_id()
    fields = {**claim_fields(), "report_no": "DZ-20260712-AB12-0001", "accuracy_m": 8.5}
    assert p.push_one("claim", cid, fields)["status"] == "applied"
    evidence = {"claim_id": cid, "sha256": "ef" * 32, "lat": 29.7, "lon": 105.7, "fix_alt": 390.0,
                "fix_accuracy_m": 12.0, "fix_at": "2026-07-12T03:41:00+08:00",
                "flags": ["fix_stale", "own_gps_far_from_fix"],
                "exif_gps": {"lat": 43.46, "lon": 11.88, "alt": None}, "exif_replaced": False}
    assert p.push_one("photo", photo, evidence)["status"] == "applied"
    entry = {"claim_id": cid, "from_status": None, "to_status": "reported", "role": "liaison",
             "at": "2026-07-12T03:42:00+08:00", "lat": 29.7, "lon": 105.7, "reason": None}
    assert p.push_one("transition", step, entry)["status"] == "applied"
    changed = {**entry, "reason": "改"}
    assert p.push_one("transition", step, changed)["error"].startswith("append_only")
    bad = p.push_one("transition", new_id(), {**entry, "to_status": "teleported"})
    assert bad["status"] == "rejected"

    changes, _, _ = actors.adjuster.pull_all()
    by_id = {c["id"]: c["fields"] for c in changes}
    assert by_id[cid]["report_no"] == "DZ-20260712-AB12-0001"
    assert by_id[photo]["flags"] == ["fix_stale", "own_gps_far_from_fix"]
    assert by_id[photo]["exif_gps"] == {"lat": 43.46, "lon": 11.88, "alt": None}
    assert by_id[photo]["fix_accuracy_m"] == 12.0
    assert by_id[step]["to_status"] == "reported" and by_id[step]["reason"] is None
