"""Who sees what, from the phones' side: out of scope must look exactly like unknown.

Liaison of township A against township B's claims, photos and pulls; surveyor of insurer X
against insurer Y's; a revoked and an unknown token.
"""
from __future__ import annotations

import hashlib
import random
import uuid

import pytest
from sqlalchemy import select

from fieldapp.sync import TokenRevoked
from sync_server.devices import service as accounts

from .conftest import TOWNSHIP_A, TOWNSHIP_B, server_records, valid_id_number


def _pulled_ids(phone) -> set[str]:
    """Every entity id the phone holds after a full pull from scratch."""
    phone.store.sync_state.set(cursor=None)
    phone.client.sync_once()
    ids: set[str] = set()
    page = phone.store.claims.list_page(limit=500)
    for row in page.rows:
        detail = phone.store.claims.get(row.id)
        ids.add(row.id)
        ids.update(p.id for p in detail.persons)
        ids.update(p.sha256 for p in detail.photos)
    ids.update(a.id for a in phone.store.assignments.list())
    return ids


def _auth(phone) -> dict[str, str]:
    return {"Authorization": f"Bearer {phone.store.sync_state.get().token}"}


@pytest.fixture
def world(server, phones):
    """Township A and B liaisons with a claim each (person + photo), an adjuster, two surveyors."""
    a, b, office = phones("liaison_a"), phones("liaison_b"), phones("adjuster")
    a.enroll("liaison", township_code=TOWNSHIP_A)
    b.enroll("liaison", township_code=TOWNSHIP_B)
    office.enroll("adjuster")
    made = {}
    for phone, town, seed in ((a, TOWNSHIP_A, 1), (b, TOWNSHIP_B, 2)):
        cid = phone.new_claim(township=town)
        pid = phone.store.persons.add(cid, role_in_claim="victim", name=f"{town}户主",
                                      id_number=valid_id_number(random.Random(seed)))
        sha = phone.add_photo(cid, seed=seed)
        phone.sync_until_quiet()
        made[phone.name] = {"claim": cid, "person": pid, "photo": sha}
    x, y = phones("surveyor_x"), phones("surveyor_y")
    x.enroll("surveyor", insurer_code="INS_X")
    y.enroll("surveyor", insurer_code="INS_Y")
    ax = server.harness.assign(made["liaison_a"]["claim"], "INS_X")
    ay = server.harness.assign(made["liaison_b"]["claim"], "INS_Y")
    return {"a": a, "b": b, "office": office, "x": x, "y": y, "made": made, "assign": {"x": ax, "y": ay}}


def test_pulls_hold_only_what_each_role_may_see(world):
    made = world["made"]
    own_a = set(made["liaison_a"].values())
    own_b = set(made["liaison_b"].values())
    assert _pulled_ids(world["a"]) == own_a
    assert _pulled_ids(world["b"]) == own_b
    assert _pulled_ids(world["x"]) == own_a | {world["assign"]["x"]}
    assert _pulled_ids(world["y"]) == own_b | {world["assign"]["y"]}
    assert _pulled_ids(world["office"]) >= own_a | own_b


def test_blob_of_another_township_answers_like_an_unknown_blob(world, server):
    a = world["a"]
    theirs = world["made"]["liaison_b"]["photo"]
    nobody = hashlib.sha256(b"never uploaded").hexdigest()
    for phone, foreign in ((a, theirs), (world["x"], theirs), (world["y"], world["made"]["liaison_a"]["photo"])):
        r_foreign = phone.http.get(f"/api/v1/blobs/{foreign}", headers=_auth(phone))
        r_unknown = phone.http.get(f"/api/v1/blobs/{nobody}", headers=_auth(phone))
        assert (r_foreign.status_code, r_foreign.content) == (r_unknown.status_code, r_unknown.content)
        assert r_foreign.status_code == 404
    own = a.http.get(f"/api/v1/blobs/{world['made']['liaison_a']['photo']}", headers=_auth(a))
    assert own.status_code == 200 and own.content == a.files.path(world["made"]["liaison_a"]["photo"]).read_bytes()


def test_writes_into_another_townships_claim_are_refused_like_unknown(world, server):
    a = world["a"]
    theirs = world["made"]["liaison_b"]["claim"]
    unknown = str(uuid.uuid4())
    before = server_records(server, "person")
    # A person and a note on B's claim, and the same on a claim id nobody has.
    p1 = a.store.persons.add(world["made"]["liaison_a"]["claim"], role_in_claim="claimant", name="x")  # in scope
    a.client.sync_once()
    results = []
    for target in (theirs, unknown):
        m = {"seq": 10_000 + len(results), "entity": "note", "id": str(uuid.uuid4()), "op": "upsert",
             "fields": {"claim_id": target, "text": "越权备注"}, "base_version": None}
        r = a.http.post("/api/v1/sync/push", headers=_auth(a),
                        json={"device_id": a.store.sync_state.get().device_id, "mutations": [m]})
        results.append(r.json()["results"][0])
    assert [r["status"] for r in results] == ["rejected", "rejected"]
    assert results[0]["error"].replace(theirs, "ID") == results[1]["error"].replace(unknown, "ID")
    after = server_records(server, "person")
    assert {p["id"] for p in after} - {p["id"] for p in before} == {p1}
    assert all(r["fields"].get("text") != "越权备注" for r in server_records(server, "note"))


def test_claim_edit_out_of_scope_answers_like_unknown_claim(world):
    a = world["a"]
    theirs = world["made"]["liaison_b"]["claim"]
    unknown = str(uuid.uuid4())
    results = []
    for i, target in enumerate((theirs, unknown)):
        m = {"seq": 20_000 + i, "entity": "claim", "id": target, "op": "upsert",
             "fields": {"description": "越权修改"}, "base_version": 1}
        r = a.http.post("/api/v1/sync/push", headers=_auth(a),
                        json={"device_id": a.store.sync_state.get().device_id, "mutations": [m]})
        results.append(r.json()["results"][0])
    assert results[0]["status"] == results[1]["status"] == "rejected"
    assert results[0]["error"].replace(theirs, "ID") == results[1]["error"].replace(unknown, "ID")


def test_revoked_and_unknown_tokens_get_the_same_401(world, server):
    a = world["a"]
    revoked = _auth(a)
    with server.harness.db.write() as s:
        accounts.revoke_device(s, a.store.sync_state.get().device_id)
    unknown = {"Authorization": "Bearer " + "x" * 43}
    for method, path, body in (("GET", "/api/v1/me", None), ("GET", "/api/v1/sync/pull", None),
                               ("POST", "/api/v1/sync/push", {"device_id": "d", "mutations": []}),
                               ("POST", "/api/v1/blobs/missing", {"sha256": []}),
                               ("GET", f"/api/v1/blobs/{world['made']['liaison_a']['photo']}", None)):
        r1 = a.http.request(method, path, headers=revoked, json=body)
        r2 = a.http.request(method, path, headers=unknown, json=body)
        assert r1.status_code == r2.status_code == 401, (path, r1.status_code, r2.status_code)
        assert r1.content == r2.content
    # The client turns it into "enrol again" and keeps the phone's data.
    a.new_claim(description="撤销后新增")
    with pytest.raises(TokenRevoked):
        a.client.sync_once()
    assert a.client.status().needs_reenroll and a.store.outbox.count() > 0
    with server.harness.db.read() as s:
        from sync_server.core.models import Claim
        assert all(c.description != "撤销后新增" for c in s.scalars(select(Claim)))
