"""Claim authority over HTTP: the tier decides what must happen before approval; opinions and the
share-weighted vote come from the co-insurers' users; the result and its arithmetic are stored."""
from __future__ import annotations

import datetime as dt

import pytest

from sync_server.authority import service as authority_service
from sync_server.authority.models import AuthorityReview
from sync_server.core.models import Claim
from sync_server.insurers.models import InsurerTerms

from .test_rotation_api import add_claims, world  # noqa: F401  (fixture)

YUAN = 100


def claim_with_amount(w, amount_fen):
    (cid,) = add_claims(w.harness, 1, adjusted_amount_fen=amount_fen)
    return cid


def authority(w, cid, who=None):
    r = w.client.get(f"/api/v1/claims/{cid}/authority", headers=(who or w.p.adjuster).headers)
    assert r.status_code == 200, r.text
    return r.json()


def opine(w, cid, who, vote, text="意见"):
    r = w.client.post(f"/api/v1/claims/{cid}/opinions", headers=who.headers, json={"vote": vote, "opinion": text})
    assert r.status_code == 200, r.text
    return r.json()


@pytest.mark.parametrize("amount,tier", [
    (99_999 * YUAN + 99, "lead_alone"),
    (100_000 * YUAN, "inform_coinsurers"),
    (200_000 * YUAN, "inform_coinsurers"),
    (200_000 * YUAN + 1, "full_consultation"),  # the seed's gap: the safer tier by default
    (300_000 * YUAN, "full_consultation"),
])
def test_tier_at_each_boundary(world, amount, tier):
    got = authority(world, claim_with_amount(world, amount))
    assert got["tier"] == tier and got["amount_fen"] == amount
    assert got["cleared"] is (tier == "lead_alone")


def test_inform_tier_clears_when_all_opined_or_the_window_closes(world):
    a = claim_with_amount(world, 150_000 * YUAN)
    b = claim_with_amount(world, 150_000 * YUAN)
    got = authority(world, a, world.p.s1)  # every co-insurer sees reviewed amounts
    assert got["missing"] == ["co1", "co2", "co3", "co4"] and not got["cleared"]
    # the office reads the insurers by name and the window's end in China time; codes stay in English
    until = dt.datetime.fromisoformat(got["window_ends_at"]).astimezone(dt.timezone(dt.timedelta(hours=8)))
    assert got["reason_zh"] == f"等待共保方意见：co1 保险、co2 保险、co3 保险、co4 保险（截至 {until:%Y-%m-%d %H:%M}）"
    assert "co1, co2, co3, co4" in got["reason"]
    for who in (world.p.s1, world.p.s2, world.p.s3):
        opine(world, a, who, "approve")
    last = opine(world, a, world.p.s4, "reject", "金额偏高")
    assert last["cleared"] and "every co-insurer" in last["reason"]  # the lead's opinion stands
    authority(world, b)
    world.clock.advance(hours=72)
    assert authority(world, b)["cleared"]
    # the informing reached the co-insurers' phones through pull
    feed = world.client.get("/api/v1/sync/pull", headers=world.p.s2.headers).json()["changes"]
    assert {c["id"] for c in feed if c["entity"] == "authority_review"} >= {a, b}


def test_no_vote_before_the_consultation_is_recorded(world):
    cid = claim_with_amount(world, 300_000 * YUAN)
    got = authority(world, cid)
    assert got["reason_code"] == "consultation_required" and not got["cleared"] and got["consultation"] is None
    for who in (world.p.s1, world.p.adjuster):
        r = world.client.post(f"/api/v1/claims/{cid}/opinions", headers=who.headers, json={"vote": "approve"})
        assert r.status_code == 409 and r.json()["error"] == "consultation_required"
    # only the office records it, with co-insurers of the pool, held already
    assert consult(world, cid, who=world.p.s1).status_code == 403
    assert consult(world, cid, attendees=["nobody"]).status_code == 422
    assert consult(world, cid, attendees=[]).status_code == 422
    future = (world.clock.now + dt.timedelta(days=1)).isoformat()
    assert consult(world, cid, held_at=future).status_code == 422
    small = claim_with_amount(world, 150_000 * YUAN)
    r = consult(world, small)
    assert r.status_code == 409 and r.json()["error"] == "no_consultation_tier"
    r = consult(world, cid)
    assert r.status_code == 201, r.text
    meeting = r.json()["consultation"]
    assert meeting["attendees"] == ["co1", "co2", "co3", "co4"] and meeting["engage_assessor"] is True
    assert not r.json()["cleared"]
    # the meeting is published to every co-insurer with the review (no personal data in it)
    feed = world.client.get("/api/v1/sync/pull", headers=world.p.s3.headers).json()["changes"]
    review = next(c for c in feed if c["entity"] == "authority_review" and c["id"] == cid)
    assert review["fields"]["consultation"]["minutes"].startswith("会商")
    assert opine(world, cid, world.p.s1, "approve")["opinions"][0]["vote"] == "approve"


def test_consultation_agreement_or_weighted_vote(world):
    cid = claim_with_amount(world, 300_000 * YUAN)
    assert consult(world, cid).status_code == 201
    for who in (world.p.s1, world.p.s2):
        opine(world, cid, who, "reject")
    for who in (world.p.s3, world.p.s4, world.p.adjuster):
        got = opine(world, cid, who, "approve")
    # approve: lead 40% + co3 15% + co4 15% = 70% > 50%
    assert got["cleared"] and got["vote"]["outcome"] == "approve"
    assert got["vote"]["totals_bp"] == {"approve": 7000, "reject": 3000}
    with world.harness.db.read() as s:
        stored = s.get(AuthorityReview, cid).result
    assert stored["vote"]["totals_bp"] == {"approve": 7000, "reject": 3000}
    assert "表决" in stored["vote"]["explain"]
    # a new adjusted amount opens a new review: the old opinions no longer count
    with world.harness.db.write() as s:
        s.get(Claim, cid).adjusted_amount_fen = 310_000 * YUAN
    fresh = authority(world, cid)
    assert fresh["opinions"] == [] and not fresh["cleared"]
    assert fresh["reason_code"] == "consultation_required"  # the meeting was about the old amount


def consult(w, cid, attendees=("co1", "co2", "co3", "co4"), who=None, **extra):
    body = {"held_at": w.clock.now.isoformat(),
            "attendees": list(attendees), "engage_assessor": True, "engage_lawyer": False,
            "minutes": "会商：同意聘请公估公司核定房屋损失；不聘请律师。", **extra}
    return w.client.post(f"/api/v1/claims/{cid}/consultations", headers=(who or w.p.adjuster).headers, json=body)


def _set_shares(w, shares):
    with w.harness.db.write() as s:
        for code, bp in shares.items():
            s.get(InsurerTerms, code).share_bp = bp


@pytest.mark.parametrize("co1,co4,outcome,cleared", [(2500, 500, "reject", False), (2501, 499, "approve", True)])
def test_vote_flips_on_one_share_point(world, co1, co4, outcome, cleared):
    _set_shares(world, {"lead": 2000, "co1": co1, "co2": 2500, "co3": 2500, "co4": co4})
    cid = claim_with_amount(world, 500_000 * YUAN)
    assert consult(world, cid).status_code == 201
    opine(world, cid, world.p.s1, "approve")
    opine(world, cid, world.p.s2, "approve")
    opine(world, cid, world.p.s3, "reject")
    opine(world, cid, world.p.s4, "reject")
    got = opine(world, cid, world.p.adjuster, "reject")
    # 5000 : 5000 is a tie the lead breaks (reject); 5001 is more than half of all shares
    assert got["vote"]["outcome"] == outcome and got["cleared"] is cleared


def test_scope_and_bad_input(world):
    small = claim_with_amount(world, 1_000 * YUAN)
    big = claim_with_amount(world, 150_000 * YUAN)
    r = world.client.get(f"/api/v1/claims/{small}/authority", headers=world.p.s1.headers)
    assert r.status_code == 404  # not under review: out of a surveyor's scope
    r = world.client.get(f"/api/v1/claims/{big}/authority", headers=world.p.liaison.headers)
    assert r.status_code == 404
    r = world.client.post(f"/api/v1/claims/{big}/opinions", headers=world.p.s1.headers, json={"vote": "maybe"})
    assert r.status_code == 422
    r = world.client.post(f"/api/v1/claims/{small}/opinions", headers=world.p.adjuster.headers,
                          json={"vote": "approve"})
    assert r.status_code == 409 and r.json()["error"] == "no_review"
    assert authority(world, big)["opinions"] == []


def test_the_workflow_guard_is_this_module(world):
    rules = world.client.app.state.push_rules
    assert rules.authority_cleared is authority_service.authority_cleared

    def guard(session, claim):  # noqa: ANN001, ANN202
        return rules.authority_cleared(session, rules.settings, claim, rules.now())

    a = claim_with_amount(world, 150_000 * YUAN)
    b = claim_with_amount(world, 50_000 * YUAN)
    with world.harness.db.write() as s:
        assert guard(s, s.get(Claim, b)) is True
        assert guard(s, s.get(Claim, a)) is False
