"""The work fund over HTTP: premiums book 2% contributions, spending by category (a surveyor only
its own survey costs, with a receipt), the quarterly disclosure, year-end settlement, recoveries."""
from __future__ import annotations

from .test_rotation_api import add_claims, world  # noqa: F401  (fixture)

RECEIPT = "0123456789abcdef" * 4


def post(w, path, who, body):
    return w.client.post(path, headers=who.headers, json=body)


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
    r = post(world, "/api/v1/fund/entries", adj, {"on": "2026-02-01", "amount_fen": 100_000,
                                                  "category": "publicity", "note": "宣传册", "receipt_sha256": RECEIPT})
    assert r.status_code == 201
    r = post(world, "/api/v1/fund/entries", world.p.s1, {"on": "2026-03-05", "amount_fen": 8_050,
                                                         "category": "survey", "note": "车辆使用费",
                                                         "receipt_sha256": RECEIPT, "insurer_code": "co2"})
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
    from sync_server.coinsurance_models import InsurerTerms

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

    cost = str(_uuid.uuid4())
    fields = {"on": "2026-03-05", "amount_fen": 8_050, "category": "survey", "note": "车辆使用费",
              "receipt_sha256": RECEIPT}
    assert push(1, cost, fields)["status"] == "applied"
    assert push(2, cost, fields)["status"] == "applied"  # the same cost again from another batch
    no_receipt = push(3, str(_uuid.uuid4()), {**fields, "receipt_sha256": None})
    publicity = push(4, str(_uuid.uuid4()), {**fields, "category": "publicity"})
    assert no_receipt["status"] == publicity["status"] == "rejected"
    entries = world.client.get("/api/v1/fund/entries", headers=world.p.adjuster.headers).json()["entries"]
    booked = [e for e in entries if e["kind"] == "spending"]
    assert [(e["id"], e["amount_fen"], e["insurer_code"], e["category"]) for e in booked] == [
        (cost, 8_050, "co1", "survey")]
