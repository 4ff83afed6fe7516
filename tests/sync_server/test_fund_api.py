"""The work fund over HTTP: premiums book 2% contributions, spending by category (a surveyor only
its own survey costs, with a receipt), the quarterly disclosure, year-end settlement, recoveries."""
from __future__ import annotations

import hashlib

from claimcore import entities

from .test_rotation_api import add_claims, world  # noqa: F401  (fixture)

# A receipt photo: a cost names it by hash, and only a device that sent these bytes (or sees a
# record holding them) may name it.
RECEIPT_PHOTO = b"\xff\xd8\xff\xe0" + "车辆使用费发票".encode() * 64 + b"\xff\xd9"
RECEIPT = hashlib.sha256(RECEIPT_PHOTO).hexdigest()


def post(w, path, who, body):
    return w.client.post(path, headers=who.headers, json=body)


def upload(w, who, data: bytes = RECEIPT_PHOTO) -> str:
    """``who``'s device sends ``data`` in full (the server keeps one copy of any bytes)."""
    sha = hashlib.sha256(data).hexdigest()
    r = w.client.patch(f"/api/v1/blobs/{sha}", content=data, headers={
        **who.headers, "Upload-Offset": "0", "Upload-Length": str(len(data)),
        "Content-Type": "application/offset+octet-stream"})
    assert r.status_code == 204, r.text
    return sha


# Spending is held to the year's confirmed budget: the tests that spend agree an ample one first.
AMPLE_BUDGET = {c: 100_000_000 for c in entities.SPENDING_CATEGORIES}


def agree_budget(w, year: int = 2026, amounts: dict | None = None, note: str = "") -> dict:
    """The lead's adjuster proposes the year's budget, the coordinator confirms that version."""
    r = w.client.put("/api/v1/fund/budget", params={"year": year}, headers=w.p.adjuster.headers,
                     json={"amounts": AMPLE_BUDGET if amounts is None else amounts, "note": note})
    assert r.status_code == 200, r.text
    version = (r.json()["proposed"] or r.json()["confirmed"])["version"]
    r = w.client.post(f"/api/v1/fund/budget/{year}/confirm", headers=w.p.coordinator.headers,
                      json={"version": version})
    assert r.status_code == 200, r.text
    return r.json()


def accepted_survey(w, surveyor=None) -> dict:
    """A claim dispatched to the next co-insurer in turn (co1 in a fresh pool), accepted by its
    surveyor (``surveyor``, default world.p.s1): the survey costs may be booked on."""
    surveyor = surveyor or w.p.s1
    (cid,) = add_claims(w.harness, 1)
    r = w.client.post(f"/api/v1/claims/{cid}/dispatch", headers=w.p.adjuster.headers)
    assert r.status_code == 200, r.text
    a = next(x for x in r.json()["assignments"] if x["insurer_code"] == surveyor.user["insurer_code"])
    r = w.client.post(f"/api/v1/assignments/{a['id']}/accept", headers=surveyor.headers)
    assert r.status_code == 200, r.text
    return a


def test_premiums_spending_disclosure_settlement(world):
    adj = world.p.adjuster
    # pool: lead 40%, co1..co4 15% each; premiums excluding tax, 2% each (half-up):
    premiums = {"lead": 40_000_033, "co1": 15_000_025, "co2": 15_000_000, "co3": 15_000_000, "co4": 14_999_942}
    for code, p in premiums.items():
        r = post(world, "/api/v1/fund/premiums", adj,
                 {"policy_year": 2026, "insurer_code": code, "premium_ex_tax_fen": p, "received_on": "2026-01-20"})
        assert r.status_code == 201, r.text
    # entering a premium again replaces its contribution (nothing doubles)
    post(world, "/api/v1/fund/premiums", adj,
         {"policy_year": 2026, "insurer_code": "co4", "premium_ex_tax_fen": 14_999_942, "received_on": "2026-01-20"})
    # 800,000.66→800,001; 300,000.50→300,001; 300,000; 300,000; 299,998.84→299,999 = 2,000,001
    agree_budget(world)
    upload(world, adj)
    r = post(world, "/api/v1/fund/entries", adj, {"on": "2026-02-01", "amount_fen": 100_000,
                                                  "category": "publicity", "note": "宣传册", "receipt_sha256": RECEIPT})
    assert r.status_code == 201
    survey = accepted_survey(world)
    upload(world, world.p.s1)
    r = post(world, "/api/v1/fund/entries", world.p.s1, {"on": "2026-03-05", "amount_fen": 8_050,
                                                         "category": "survey", "note": "车辆使用费",
                                                         "receipt_sha256": RECEIPT, "insurer_code": "co2",
                                                         "assignment_id": survey["id"]})
    assert r.status_code == 201 and r.json()["insurer_code"] == "co1"  # its own insurer, whatever it says
    refused = [
        post(world, "/api/v1/fund/entries", world.p.s1, {"on": "2026-03-05", "amount_fen": 10,
                                                         "category": "publicity", "receipt_sha256": RECEIPT}),
        post(world, "/api/v1/fund/entries", world.p.s1, {"on": "2026-03-05", "amount_fen": 10, "category": "survey"}),
        post(world, "/api/v1/fund/entries", adj, {"on": "2026-03-05", "amount_fen": 10.5, "category": "survey"}),
        post(world, "/api/v1/fund/entries", adj, {"on": "2026-03-05", "amount_fen": 10, "category": "sales"}),
        post(world, "/api/v1/fund/entries", world.p.liaison, {"on": "2026-03-05", "amount_fen": 10,
                                                              "category": "survey"}),
    ]
    assert [r.status_code for r in refused] == [403, 403, 422, 422, 403]
    d = world.client.get("/api/v1/fund/disclosure", params={"year": 2026, "quarter": 1},
                         headers=world.p.s3.headers).json()
    assert d["income_fen"] == 2_000_001
    assert d["income_by_insurer"] == {"lead": 800_001, "co1": 300_001, "co2": 300_000, "co3": 300_000,
                                      "co4": 299_999}
    assert d["spending_by_category"] == {"publicity": 100_000, "survey": 8_050, "communication": 0,
                                         "project_work": 0}
    assert d["closing_fen"] == 2_000_001 - 108_050
    # parts of 108,050: lead 43,220; each co 16,207.5 → 16,207 + the 2 fen left to co1, co2 (code order)
    parts = {c: p["spending_part_fen"] for c, p in d["insurer_parts"].items()}
    assert parts == {"lead": 43_220, "co1": 16_208, "co2": 16_208, "co3": 16_207, "co4": 16_207}
    s = world.client.get("/api/v1/fund/settlement", params={"year": 2026}, headers=adj.headers).json()
    assert s["settlement"] == {"lead": 756_781, "co1": 283_793, "co2": 283_792, "co3": 283_793, "co4": 283_792}
    assert sum(s["settlement"].values()) == d["closing_fen"]


def test_recoveries_of_claims_the_lead_paid(world):
    add_claims(world.harness, 1, paid_amount_fen=1_000_001)
    got = world.client.get("/api/v1/fund/recoveries", headers=world.p.coordinator.headers).json()
    (claim,) = got["claims"]
    assert sum(claim["parts"].values()) == 1_000_001
    assert got["to_recover_by_insurer"] == {"co1": 150_000, "co2": 150_000, "co3": 150_000, "co4": 150_000}
    assert claim["parts"]["lead"] == 400_001
    assert world.client.get("/api/v1/fund/recoveries", headers=world.p.liaison.headers).status_code == 403


def test_incomplete_shares_are_a_clear_refusal_not_a_crash(world):
    from sync_server.insurers.models import InsurerTerms

    with world.harness.db.write() as s:
        s.get(InsurerTerms, "co4").share_bp = 1000  # the pool now adds up to 9,500 bp
    (cid,) = add_claims(world.harness, 1, paid_amount_fen=100, adjusted_amount_fen=400_000_00)
    h = world.p.coordinator.headers
    r = world.client.get(f"/api/v1/claims/{cid}/authority", headers=h)
    assert r.status_code == 409 and r.json()["error"] == "shares_incomplete"
    r = world.client.get("/api/v1/fund/recoveries", headers=h)
    assert r.status_code == 409 and "9500" in r.json()["message"]
    r = world.client.get("/api/v1/fund/disclosure", params={"year": 2026, "quarter": 1}, headers=h)
    assert r.status_code == 409
    claim = world.client.get("/api/v1/assignments", headers=h)  # unrelated reads still work
    assert claim.status_code == 200


def test_survey_cost_logged_offline_reaches_the_fund_once(world):
    """A surveyor's phone pushes a cost (entity ``cost``) with its receipt: it is booked as survey
    spending of that surveyor's insurer, a replay books nothing twice, and the same rules as the
    HTTP route refuse what a surveyor may not log."""
    import uuid as _uuid

    s1 = world.p.s1

    def push(seq, entity_id, fields):
        r = world.client.post("/api/v1/sync/push", headers=s1.headers, json={
            "device_id": s1.device_id,
            "mutations": [{"seq": seq, "entity": "cost", "id": entity_id, "op": "upsert",
                           "fields": fields, "base_version": None}]})
        assert r.status_code == 200, r.text
        return r.json()["results"][0]

    r = post(world, "/api/v1/fund/premiums", world.p.adjuster,
             {"policy_year": 2026, "insurer_code": "co1", "premium_ex_tax_fen": 15_000_000, "received_on": "2026-01-20"})
    assert r.status_code == 201, r.text
    agree_budget(world)
    survey = accepted_survey(world)
    upload(world, s1)
    cost = str(_uuid.uuid4())
    fields = {"on": "2026-03-05", "amount_fen": 8_050, "category": "survey", "note": "车辆使用费",
              "receipt_sha256": RECEIPT, "assignment_id": survey["id"]}
    assert push(1, cost, fields)["status"] == "applied"
    assert push(2, cost, fields)["status"] == "applied"  # the same cost again from another batch
    no_receipt = push(3, str(_uuid.uuid4()), {**fields, "receipt_sha256": None})
    publicity = push(4, str(_uuid.uuid4()), {**fields, "category": "publicity"})
    assert no_receipt["status"] == publicity["status"] == "rejected"
    entries = world.client.get("/api/v1/fund/entries", headers=world.p.adjuster.headers).json()["entries"]
    booked = [e for e in entries if e["kind"] == "spending"]
    assert [(e["id"], e["amount_fen"], e["insurer_code"], e["category"]) for e in booked] == [
        (cost, 8_050, "co1", "survey")]
