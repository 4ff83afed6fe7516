"""The work fund's bounds (SQLite and PostgreSQL, real HTTP in-process): a survey cost needs a
survey its insurer accepted and a receipt the caller uploaded; every spending is held to the caps;
the balance never goes below zero; the record contract refuses absurd amounts on the phone too."""
from __future__ import annotations

import uuid

import pytest

from claimcore import entities
from sync_server.core import rules as core_rules
from sync_server.fund import service as fund_service
from sync_server.fund.models import FundEntryRow

from .test_fund_api import RECEIPT, accepted_survey, add_claims, agree_budget, post, upload
from .test_rotation_api import world  # noqa: F401  (fixture)


def fund(w, premium_fen: int = 40_000_000) -> None:
    """The lead's premium: its 2% contribution is what the fund holds; and an ample budget agreed
    for the year, so the bounds here are the ones that bite."""
    agree_budget(w)
    r = post(w, "/api/v1/fund/premiums", w.p.adjuster, {"policy_year": 2026, "insurer_code": "lead",
                                                        "premium_ex_tax_fen": premium_fen, "received_on": "2026-01-20"})
    assert r.status_code == 201, r.text


def cost(w, who, amount_fen: int, **extra):
    body = {"on": "2026-03-05", "amount_fen": amount_fen, "category": "survey", "note": "车辆使用费",
            "receipt_sha256": RECEIPT, **extra}
    return post(w, "/api/v1/fund/entries", who, body)


def push_cost(w, who, seq: int, fields: dict) -> dict:
    r = w.client.post("/api/v1/sync/push", headers=who.headers, json={"device_id": who.device_id, "mutations": [
        {"seq": seq, "entity": "cost", "id": str(uuid.uuid4()), "op": "upsert", "fields": fields,
         "base_version": None}]})
    assert r.status_code == 200, r.text
    return r.json()["results"][0]


def spent(w) -> int:
    with w.harness.db.read() as s:
        return sum(r.amount_fen for r in s.query(FundEntryRow).filter(FundEntryRow.kind == "spending"))


def test_a_survey_cost_needs_a_survey_the_insurer_accepted(world):
    w = world
    fund(w)
    s1 = w.p.s1
    upload(w, s1)
    # The attack: no assignment at all, by route and by push.
    r = cost(w, s1, 8_050)
    assert (r.status_code, r.json()["error"]) == (404, "not_found")
    pushed = push_cost(w, s1, 1, {"on": "2026-03-05", "amount_fen": 8_050, "category": "survey",
                                  "receipt_sha256": RECEIPT})
    assert pushed["error"].startswith("not_found")
    # Offered but not accepted yet.
    (cid,) = add_claims(w.harness, 1)
    offered = next(a for a in w.client.post(f"/api/v1/claims/{cid}/dispatch", headers=w.p.adjuster.headers
                                            ).json()["assignments"] if a["insurer_code"] == "co1")
    r = cost(w, s1, 8_050, assignment_id=offered["id"])
    assert (r.status_code, r.json()["error"]) == (409, "assignment_not_accepted")
    # Another insurer's survey looks like none.
    r = cost(w, w.p.s2, 8_050, assignment_id=offered["id"])
    assert (r.status_code, r.json()["error"]) in ((404, "not_found"), (422, "receipt_not_uploaded"))
    assert spent(w) == 0
    assert w.client.post(f"/api/v1/assignments/{offered['id']}/accept", headers=s1.headers).status_code == 200
    assert cost(w, s1, 8_050, assignment_id=offered["id"]).status_code == 201
    # The phone names the claim (the assignment is found by the insurer's survey on it).
    pushed = push_cost(w, s1, 2, {"on": "2026-03-05", "amount_fen": 1_200, "category": "survey",
                                  "receipt_sha256": RECEIPT, "claim_id": cid})
    assert pushed["status"] == "applied", pushed
    assert spent(w) == 9_250


def test_a_receipt_never_uploaded_is_refused(world):
    w = world
    fund(w)
    survey = accepted_survey(w)
    never = "9" * 64
    r = cost(w, w.p.s1, 100, assignment_id=survey["id"], receipt_sha256=never)
    assert (r.status_code, r.json()["error"]) == (422, "receipt_not_uploaded")
    # Uploaded by another device (the office's): still not this surveyor's to name.
    upload(w, w.p.coordinator)
    r2 = cost(w, w.p.s1, 100, assignment_id=survey["id"])
    assert (r2.status_code, r2.json()) == (422, r.json())
    # The office follows the same rule for its own receipts.
    r = post(w, "/api/v1/fund/entries", w.p.adjuster, {"on": "2026-02-01", "amount_fen": 100,
                                                       "category": "publicity", "receipt_sha256": never})
    assert (r.status_code, r.json()["error"]) == (422, "receipt_not_uploaded")
    assert spent(w) == 0


def test_caps_per_cost_and_per_survey(world):
    w = world
    fund(w, 400_000_000)  # 8,000,000 fen in the fund: the caps bite first
    survey = accepted_survey(w)
    upload(w, w.p.s1)
    settings = core_rules.rule_settings()
    r = cost(w, w.p.s1, settings.survey_cost_max_fen + 1, assignment_id=survey["id"])
    assert (r.status_code, r.json()["error"]) == (422, "amount_over_cap")
    assert cost(w, w.p.s1, settings.survey_cost_max_fen, assignment_id=survey["id"]).status_code == 201
    assert cost(w, w.p.s1, settings.survey_cost_max_fen, assignment_id=survey["id"]).status_code == 201
    left = settings.survey_total_max_fen - 2 * settings.survey_cost_max_fen
    r = cost(w, w.p.s1, left + 1, assignment_id=survey["id"])
    assert (r.status_code, r.json()["error"]) == (422, "amount_over_cap")
    assert cost(w, w.p.s1, left, assignment_id=survey["id"]).status_code == 201
    assert spent(w) == settings.survey_total_max_fen
    # 10^13 fen as a survey cost (the attack): refused by the route's schema and by push.
    r = cost(w, w.p.s1, 10**13, assignment_id=survey["id"])
    assert r.status_code == 422
    pushed = push_cost(w, w.p.s1, 1, {"on": "2026-03-05", "amount_fen": 10**13, "category": "survey",
                                      "receipt_sha256": RECEIPT, "assignment_id": survey["id"]})
    assert (pushed["status"], pushed["error"].split(":")[0], pushed["field"]) == ("rejected", "out_of_range",
                                                                                  "amount_fen")
    # Any one spending of the office, too.
    r = post(w, "/api/v1/fund/entries", w.p.adjuster, {"on": "2026-03-06", "amount_fen": entities.MAX_COST_FEN + 1,
                                                       "category": "publicity"})
    assert r.status_code == 422
    assert spent(w) == settings.survey_total_max_fen


def test_the_balance_never_goes_below_zero(world):
    w = world
    agree_budget(w)
    r = post(w, "/api/v1/fund/entries", w.p.adjuster, {"on": "2026-03-06", "amount_fen": 1,
                                                       "category": "communication"})
    assert (r.status_code, r.json()["error"]) == (409, "fund_insufficient")
    fund(w, 1_000_000)  # 20,000 fen
    r = post(w, "/api/v1/fund/entries", w.p.adjuster, {"on": "2026-03-06", "amount_fen": 15_000,
                                                       "category": "communication", "note": "场地"})
    assert r.status_code == 201, r.text
    first = r.json()
    r = post(w, "/api/v1/fund/entries", w.p.adjuster, {"on": "2026-03-07", "amount_fen": 5_001,
                                                       "category": "communication"})
    assert (r.status_code, r.json()["error"]) == (409, "fund_insufficient")
    # A correction upwards is spending too; one downwards (or taking it back) always goes.
    r = w.client.post(f"/api/v1/fund/entries/{first['id']}/corrections", headers=w.p.adjuster.headers,
                      json={"reason": "金额录错", "amount_fen": 20_001})
    assert (r.status_code, r.json()["error"]) == (409, "fund_insufficient")
    r = w.client.post(f"/api/v1/fund/entries/{first['id']}/corrections", headers=w.p.adjuster.headers,
                      json={"reason": "金额录错", "amount_fen": 20_000})
    assert r.status_code == 201, r.text
    assert spent(w) == 20_000
    with w.harness.db.read() as s:
        assert fund_service.fund_balance(s) == 0  # spent to the last fen, never below


def test_the_record_contract_caps_a_cost_on_the_phone_too():
    # 99,999,999,999 yuan as a vehicle cost: the phone's store checks the same contract.
    with pytest.raises(entities.ContractError) as refused:
        entities.check_fields("cost", {"on": "2026-03-05", "amount_fen": 99_999_999_999 * 100},
                              role="surveyor", creating=True)
    assert (refused.value.code, refused.value.field) == ("out_of_range", "amount_fen")
    ok = entities.check_fields("cost", {"on": "2026-03-05", "amount_fen": entities.MAX_COST_FEN},
                               role="surveyor", creating=True)
    assert ok["amount_fen"] == entities.MAX_COST_FEN


def test_the_phone_refuses_an_absurd_cost(tmp_path):
    """The phone's store: 99,999,999,999 yuan as a vehicle cost is refused and queues nothing."""
    from fieldapp.store import StoreValidationError
    from fieldapp.store.store import open_store

    store = open_store(tmp_path / "phone")
    try:
        aid, cid = str(uuid.uuid4()), str(uuid.uuid4())
        store.apply_remote_changes([{"entity": "assignment", "id": aid, "version": 1, "op": "upsert",
                                     "fields": {"claim_id": cid, "insurer_code": "co1", "status": "accepted"}}], "c1")
        before = store.outbox.count()
        with pytest.raises(StoreValidationError):
            store.assignments.log_cost(aid, on="2026-03-05", amount_fen=99_999_999_999 * 100, note="车辆",
                                       receipt_sha256="ab" * 32)
        assert store.outbox.count() == before
        store.assignments.log_cost(aid, on="2026-03-05", amount_fen=12_050, note="车辆", receipt_sha256="ab" * 32)
        assert store.outbox.count() == before + 1
    finally:
        store.close()
