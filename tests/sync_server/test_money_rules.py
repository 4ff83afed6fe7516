"""Money on a claim over the push API, on SQLite and PostgreSQL: the benefit limits and the
absurd bound on amounts and loss items, the adjustment's reason, and the payee rule at payment
(never the deceased of a death claim). The same claimcore.amounts checks the phone runs."""
from __future__ import annotations

from sync_server.core.models import Claim

from .conftest import claim_fields, new_id

YUAN = 100


def _death_claim(actors) -> tuple[str, str, str]:
    """A death-and-house claim with its victim and an heir who has a bank card."""
    adjuster = actors.adjuster
    claim_id, victim, heir = new_id(), new_id(), new_id()
    assert adjuster.push_one("claim", claim_id, claim_fields(loss_types=["death", "house"]))["status"] == "applied"
    assert adjuster.push_one("person", victim, {"claim_id": claim_id, "role_in_claim": "victim", "name": "周德明",
                                                "bank_card": "6222020200000000006"})["status"] == "applied"
    assert adjuster.push_one("person", heir, {"claim_id": claim_id, "role_in_claim": "heir", "name": "周小燕",
                                              "bank_card": "6222020200000000006"})["status"] == "applied"
    return claim_id, victim, heir


def _refused(result: dict) -> tuple[str, str | None]:
    assert result["status"] == "rejected", result
    return result["error"].split(":")[0], result["field"]


def test_amounts_within_the_limits_only(actors):
    adjuster = actors.adjuster
    claim_id, victim, _ = _death_claim(actors)
    death = {"category": "death", "description": "身故赔偿金", "amount_fen": 100_000 * YUAN, "person_id": victim}
    house = {"category": "house", "description": "砖木结构住房", "quantity": 125, "unit_price_fen": 2_000 * YUAN,
             "amount_fen": 250_000 * YUAN}
    assert adjuster.push_one("claim", claim_id, {"loss_items": [death, house]})["status"] == "applied"
    one_more = {"category": "death", "description": "丧葬费", "amount_fen": 1}
    assert _refused(adjuster.push_one("claim", claim_id, {"loss_items": [death, house, one_more]})) == \
        ("over_limit", "loss_items")
    assert _refused(adjuster.push_one("claim", claim_id, {"claimed_amount_fen": 30_000_000 * YUAN + 1})) == \
        ("absurd", "claimed_amount_fen")
    assert _refused(adjuster.push_one("claim", claim_id, {"adjusted_amount_fen": 30_000_000 * YUAN + 1})) == \
        ("absurd", "adjusted_amount_fen")
    assert actors.liaison_a.push_one("claim", claim_id, {"claimed_amount_fen": 350_000 * YUAN})["status"] == "applied"


def _at(harness, claim_id: str, status: str, **columns) -> None:
    with harness.db.write() as session:
        claim = session.get(Claim, claim_id)
        claim.status = status
        for k, v in columns.items():
            setattr(claim, k, v)


def test_adjusting_needs_an_amount_and_a_reason_when_it_differs(actors, harness):
    adjuster = actors.adjuster
    claim_id, victim, _ = _death_claim(actors)
    item = {"category": "death", "description": "身故赔偿金", "amount_fen": 100_000 * YUAN, "person_id": victim}
    _at(harness, claim_id, "under_review")
    assert _refused(adjuster.push_one("claim", claim_id, {"status": "adjusted"})) == \
        ("adjusted_missing", "adjusted_amount_fen")
    assert adjuster.push_one("claim", claim_id, {"loss_items": [item], "adjusted_amount_fen": 90_000 * YUAN})[
        "status"] == "applied"
    assert _refused(adjuster.push_one("claim", claim_id, {"status": "adjusted"})) == \
        ("reason_required", "adjusted_reason")
    assert adjuster.push_one("claim", claim_id, {"adjusted_reason": "扣除已获赔的其他补偿",
                                                 "status": "adjusted"})["status"] == "applied"


def test_the_payee_is_a_living_person_with_a_bank_account(actors, harness):
    adjuster = actors.adjuster
    claim_id, victim, heir = _death_claim(actors)
    _at(harness, claim_id, "stamped", adjusted_amount_fen=350_000 * YUAN)
    payment = {"paid_amount_fen": 350_000 * YUAN, "paid_on": "2026-07-15", "transfer_ref": "NYDZ123"}
    assert _refused(adjuster.push_one("claim", claim_id, {**payment, "status": "paid"})) == \
        ("payment_incomplete", "payee_person_id")
    assert _refused(adjuster.push_one("claim", claim_id, {**payment, "payee_person_id": victim, "status": "paid"})) \
        == ("payee_invalid", "payee_person_id")  # the deceased, though the card is on file
    assert _refused(adjuster.push_one("claim", claim_id, {**payment, "paid_amount_fen": 350_000 * YUAN + 1,
                                                          "payee_person_id": heir, "status": "paid"})) == \
        ("paid_over_adjusted", "paid_amount_fen")
    with harness.db.read() as session:
        assert session.get(Claim, claim_id).status == "stamped"  # nothing of a refused payment stays
    got = adjuster.push_one("claim", claim_id, {**payment, "payee_person_id": heir, "status": "paid"})
    assert got["status"] == "applied", got
    with harness.db.read() as session:
        claim = session.get(Claim, claim_id)
        assert claim.status == "paid" and claim.paid_amount_fen == 350_000 * YUAN
