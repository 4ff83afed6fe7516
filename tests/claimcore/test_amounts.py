"""Money on a claim: limits from the cooperation agreement's year, the adjustment, the payee rule
and the payment, the deadlines."""
from __future__ import annotations

import datetime as dt

import pytest

from claimcore import amounts, entities

YUAN = 100
HEIR, VICTIM, AGENT = "11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222", \
    "33333333-3333-4333-8333-333333333333"


def _limits(loss_types=("death", "house"), victims=1):
    return amounts.limits_for("natural_disaster", loss_types, victims)


def test_limits_are_the_agreements_per_victim():
    one, two = _limits(), _limits(victims=2)
    assert one.person == 100_000 * YUAN and two.person == 200_000 * YUAN  # medical inside the death limit
    assert one.medical == 10_000 * YUAN
    assert one.house is None and one.total is None  # no figure in the sources: only the absurd bound
    assert one.absurd == 30_000_000 * YUAN  # the per-event cap
    assert _limits(("death",)).total == 100_000 * YUAN
    zh, en = one.source()
    assert "合作协议" in zh and "暂按渝府办发〔2017〕121号" in zh and "cooperation agreement" in en


def test_items_are_checked_per_category():
    lim = _limits()
    amounts.check_items([{"category": "death", "amount_fen": 100_000 * YUAN},
                         {"category": "house", "amount_fen": 250_000 * YUAN}], lim)
    with pytest.raises(amounts.AmountError) as over:
        amounts.check_items([{"category": "death", "amount_fen": 100_000 * YUAN},
                             {"category": "death", "amount_fen": 1}], lim)
    assert over.value.code == "over_limit" and over.value.field == "loss_items"
    assert "暂按渝府办发〔2017〕121号" in over.value.message("zh") and "100,000.00" in over.value.message("zh")
    with pytest.raises(amounts.AmountError) as medical:
        amounts.check_items([{"category": "medical", "amount_fen": 10_000 * YUAN + 1}], _limits(("medical",)))
    assert medical.value.code == "over_limit"
    with pytest.raises(amounts.AmountError) as absurd:
        amounts.check_items([{"category": "house", "amount_fen": 30_000_000 * YUAN + 1}], lim)
    assert absurd.value.code == "absurd"


def test_the_adjustment_is_the_items_sum_or_a_stated_amount_with_a_reason():
    lim = _limits()
    items = [{"category": "death", "amount_fen": 100_000 * YUAN}, {"category": "house", "amount_fen": 250_000 * YUAN}]
    amounts.check_adjustment(items, 350_000 * YUAN, None, lim)
    with pytest.raises(amounts.AmountError) as missing:
        amounts.check_adjustment(items, None, None, lim)
    assert missing.value.code == "adjusted_missing"
    with pytest.raises(amounts.AmountError) as differs:
        amounts.check_adjustment(items, 300_000 * YUAN, "  ", lim)
    assert differs.value.code == "reason_required" and differs.value.field == "adjusted_reason"
    amounts.check_adjustment(items, 300_000 * YUAN, "公估公司复核后核减房屋损失", lim)
    with pytest.raises(amounts.AmountError):
        amounts.check_adjustment([], 80_000 * YUAN, None, lim)  # no items: a reason is needed
    with pytest.raises(amounts.AmountError) as over:
        amounts.check_adjustment([], 150_000 * YUAN, "x", _limits(("death",)))
    assert over.value.code == "over_limit"


def _people(victim_card=True):
    return [{"id": VICTIM, "role_in_claim": "victim", "has_bank_account": victim_card},
            {"id": HEIR, "role_in_claim": "heir", "has_bank_account": True},
            {"id": AGENT, "role_in_claim": "agent", "has_bank_account": False}]


def test_the_deceased_is_never_the_payee():
    assert amounts.payee_candidates(_people(), ["death", "house"]) == [HEIR]
    assert amounts.payee_candidates(_people(), ["medical"]) == [VICTIM, HEIR]  # the victim lives
    pay = dict(paid=350_000 * YUAN, paid_on="2026-07-15", transfer_ref="NY123", adjusted=350_000 * YUAN,
               persons=_people(), loss_types=["death"])
    amounts.check_payment(payee_id=HEIR, **pay)
    for payee in (VICTIM, AGENT, None):  # deceased; no bank account; nobody
        with pytest.raises(amounts.AmountError) as refused:
            amounts.check_payment(payee_id=payee, **pay)
        assert refused.value.code in ("payee_invalid", "payment_incomplete")


def test_a_payment_is_complete_and_not_above_the_adjustment():
    base = dict(paid=80_000 * YUAN, paid_on="2026-07-15", payee_id=VICTIM, transfer_ref="NY1",
                adjusted=80_000 * YUAN, persons=_people(), loss_types=["house"])
    amounts.check_payment(**base)
    for name in ("paid", "paid_on", "payee_id", "transfer_ref"):
        with pytest.raises(amounts.AmountError) as missing:
            amounts.check_payment(**{**base, name: None})
        assert missing.value.code == "payment_incomplete"
    with pytest.raises(amounts.AmountError) as over:
        amounts.check_payment(**{**base, "paid": 80_000 * YUAN + 1})
    assert over.value.code == "paid_over_adjusted"


def test_loss_items_in_the_contract():
    ok = entities.check_fields("claim", {"loss_items": [
        {"category": "house", "description": "砖木结构住房", "quantity": 2.5, "unit_price_fen": 1001,
         "amount_fen": 2503, "purchase_date": "2008-10-01", "damage_extent": "全损"}]}, role="adjuster")
    assert ok["loss_items"][0]["amount_fen"] == 2503  # 2.5 × 10.01 yuan, rounded half up
    for bad in ([{"category": "house", "description": "x", "quantity": 2, "unit_price_fen": 100, "amount_fen": 201}],
                [{"category": "flood", "description": "x", "amount_fen": 1}],
                [{"category": "house", "amount_fen": 1}],
                [{"category": "house", "description": "x", "amount_fen": -1}],
                [{"category": "house", "description": "x", "amount_fen": 1, "colour": "red"}]):
        with pytest.raises(entities.ContractError):
            entities.check_fields("claim", {"loss_items": bad}, role="adjuster")
    with pytest.raises(entities.ContractError) as role:
        entities.check_fields("claim", {"loss_items": []}, role="liaison")
    assert role.value.code == "not_allowed_for_role"


def test_deadlines_follow_the_insurance_law():
    steps = [("reported", "2026-07-01T02:00:00+00:00"), ("submitted", "2026-07-05T02:00:00+00:00")]
    d = amounts.deadlines(steps, "2026-07-01T02:00:00+00:00", dt.date(2026, 7, 20))
    assert (d.since_report, d.since_complete) == (19, 15)
    assert d.decision_due == dt.date(2026, 8, 4) and d.days_left(dt.date(2026, 7, 20)) == 15
    d = amounts.deadlines(steps + [("approved", "2026-07-10T02:00:00+00:00")], None, dt.date(2026, 7, 25))
    assert d.decided and d.payment_due == dt.date(2026, 7, 20) and d.days_left(dt.date(2026, 7, 25)) == -5
    d = amounts.deadlines(steps + [("approved", "2026-07-10T02:00:00+00:00"), ("paid", "2026-07-12T02:00:00+00:00")],
                          None, dt.date(2026, 7, 25))
    assert d.paid and d.days_left(dt.date(2026, 7, 25)) is None
