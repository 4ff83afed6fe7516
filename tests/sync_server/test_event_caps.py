"""The per-event cap on the server (SQLite and PostgreSQL, through the app): when an event's adjusted
amounts exceed the cap, each claim's payable amount is its pro-rata share; GET .../payable says so
with the ratio and the caps' source, and a pushed payment above the share is refused (readably,
naming the field) while one within it is applied. The rule is claimcore.amounts.payable_for."""
from __future__ import annotations

from sync_server.core.models import Claim

from .conftest import BAODING, claim_fields, new_id

YUAN = 100
ADJUSTED = 20_000_000 * YUAN  # two of these: 40 million against the 30 million per-event cap
SHARE = 15_000_000 * YUAN  # 75 %


def _declare(actors) -> str:
    r = actors.coordinator.client.post("/api/v1/events", headers=actors.coordinator.headers, json={
        "name": "2026-07 龙水镇暴雨", "coverage": "natural_disaster", "township_codes": ["500111100"],
        "started_at": "2026-07-05T20:00:00+08:00"})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _stamped_claim(actors, harness, township="500111100") -> tuple[str, str]:
    """A house claim, adjusted at 20 million and stamped, with a payee who has a bank card."""
    adjuster = actors.adjuster
    claim_id, payee = new_id(), new_id()
    assert adjuster.push_one("claim", claim_id, claim_fields(township))["status"] == "applied"
    assert adjuster.push_one("person", payee, {"claim_id": claim_id, "role_in_claim": "claimant", "name": "周德明",
                                               "bank_card": "6222020200000000006"})["status"] == "applied"
    with harness.db.write() as session:
        claim = session.get(Claim, claim_id)
        claim.status, claim.adjusted_amount_fen = "stamped", ADJUSTED
    return claim_id, payee


def _payable(actors, claim_id, who=None):
    who = who or actors.adjuster
    return who.client.get(f"/api/v1/claims/{claim_id}/payable", headers=who.headers)


def _pay(actors, claim_id, payee, amount) -> dict:
    return actors.adjuster.push_one("claim", claim_id, {
        "paid_amount_fen": amount, "paid_on": "2026-08-01", "payee_person_id": payee, "transfer_ref": "NYDZ001",
        "status": "paid"})


def test_a_payment_above_the_events_pro_rata_share_is_refused_one_within_it_applied(actors, harness):
    event_id = _declare(actors)
    (first, payee), (second, _) = _stamped_claim(actors, harness), _stamped_claim(actors, harness)
    with harness.db.read() as session:
        assert {session.get(Claim, c).event_id for c in (first, second)} == {event_id}

    r = _payable(actors, first)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["adjusted_fen"] == ADJUSTED and body["payable_fen"] == SHARE and body["reduced"] is True
    assert body["event"]["over"] is True and body["event"]["ratio"] == "75.00%"
    assert body["event"]["total_fen"] == 2 * ADJUSTED and body["event"]["cap_fen"] == 30_000_000 * YUAN
    assert body["policy_year"] == 2026 and "暂按渝府办发〔2017〕121号" in body["source_zh"]
    assert "75.00%" in body["explain_zh"] and body["provisional"] is True

    refused = _pay(actors, first, payee, SHARE + 1)
    assert refused["status"] == "rejected", refused
    assert refused["error"].startswith("paid_over_payable:") and refused["field"] == "paid_amount_fen"
    assert "15,000,000.00" in refused["error"] and "75.00%" in refused["error"]
    with harness.db.read() as session:
        assert session.get(Claim, first).status == "stamped"  # nothing of a refused payment stays

    applied = _pay(actors, first, payee, SHARE)
    assert applied["status"] == "applied", applied
    with harness.db.read() as session:
        claim = session.get(Claim, first)
        assert (claim.status, claim.paid_amount_fen) == ("paid", SHARE)
    # The paid share leaves exactly the other claim's share of the cap.
    assert _payable(actors, second).json()["payable_fen"] == SHARE


def test_a_claim_outside_the_event_is_paid_in_full_and_the_answer_is_scoped(actors, harness):
    _declare(actors)
    _stamped_claim(actors, harness)
    _stamped_claim(actors, harness)
    alone, payee = _stamped_claim(actors, harness, township=BAODING)  # not in the event's township
    body = _payable(actors, alone).json()
    assert body["event"] is None and body["payable_fen"] == ADJUSTED and body["reduced"] is False
    assert _pay(actors, alone, payee, ADJUSTED)["status"] == "applied"
    assert _payable(actors, alone, actors.liaison_a).status_code == 404  # another township's claim
    assert _payable(actors, new_id()).status_code == 404
