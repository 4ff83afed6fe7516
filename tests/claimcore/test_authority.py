"""Claim-authority tiers at their exact boundaries, and the share-weighted vote."""
from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from claimcore.authority import (
    ABSTAIN,
    DEFAULT_THRESHOLDS,
    Thresholds,
    Tier,
    TieRule,
    VoteError,
    tier_for_amount,
    weighted_vote,
)


def yuan(text: str) -> int:
    """Fen from a yuan string, independent of claimcore.money so the two can't share a bug."""
    return int(Decimal(text) * 100)


@pytest.mark.parametrize("amount,tier", [
    ("0.00", Tier.LEAD_ALONE),
    ("99999.99", Tier.LEAD_ALONE),
    ("100000.00", Tier.INFORM_COINSURERS),
    ("150000.00", Tier.INFORM_COINSURERS),
    ("200000.00", Tier.INFORM_COINSURERS),
    ("200000.01", Tier.FULL_CONSULTATION),  # the seed's gap: safer reading
    ("250000.00", Tier.FULL_CONSULTATION),
    ("299999.99", Tier.FULL_CONSULTATION),
    ("300000.00", Tier.FULL_CONSULTATION),
    ("5000000.00", Tier.FULL_CONSULTATION),
])
def test_tier_boundaries(amount, tier):
    assert tier_for_amount(yuan(amount)) is tier


def test_gap_policy_is_a_setting():
    lenient = Thresholds(gap_policy=Tier.INFORM_COINSURERS)
    assert tier_for_amount(yuan("200000.00"), lenient) is Tier.INFORM_COINSURERS
    assert tier_for_amount(yuan("200000.01"), lenient) is Tier.INFORM_COINSURERS
    assert tier_for_amount(yuan("299999.99"), lenient) is Tier.INFORM_COINSURERS
    assert tier_for_amount(yuan("300000.00"), lenient) is Tier.FULL_CONSULTATION
    assert Thresholds(gap_policy="inform_coinsurers").gap_policy is Tier.INFORM_COINSURERS
    with pytest.raises(ValueError):
        Thresholds(gap_policy=Tier.LEAD_ALONE)
    with pytest.raises(ValueError):
        Thresholds(gap_policy="whatever")


def test_thresholds_are_settings_and_validated():
    t = Thresholds(inform_from=50_000_00, inform_to_inclusive=80_000_00, consult_from=80_000_01)
    assert tier_for_amount(49_999_99, t) is Tier.LEAD_ALONE
    assert tier_for_amount(50_000_00, t) is Tier.INFORM_COINSURERS
    assert tier_for_amount(80_000_00, t) is Tier.INFORM_COINSURERS
    assert tier_for_amount(80_000_01, t) is Tier.FULL_CONSULTATION
    for bad in (dict(inform_from=0), dict(inform_to_inclusive=99_999_99),
                dict(consult_from=200_000_00), dict(inform_from=100_000.0)):
        with pytest.raises((ValueError, TypeError)):
            Thresholds(**bad)
    assert DEFAULT_THRESHOLDS == Thresholds()


@pytest.mark.parametrize("bad,exc", [
    (100_000.0, TypeError), (True, TypeError), ("10000000", TypeError), (Decimal(1), TypeError),
    (None, TypeError), (-1, ValueError),
])
def test_amount_must_be_non_negative_int_fen(bad, exc):
    with pytest.raises(exc) as e:
        tier_for_amount(bad)
    assert "fen" in str(e.value)


@settings(max_examples=300)
@given(st.integers(min_value=0, max_value=10**12), st.integers(min_value=0, max_value=10**12))
def test_tiers_never_decrease_with_the_amount(a, b):
    order = [Tier.LEAD_ALONE, Tier.INFORM_COINSURERS, Tier.FULL_CONSULTATION]
    lo, hi = sorted((a, b))
    assert order.index(tier_for_amount(lo)) <= order.index(tier_for_amount(hi))


def test_tier_labels():
    assert "首席" in Tier.LEAD_ALONE.label()
    assert "vote" in Tier.FULL_CONSULTATION.label("en")
    assert Tier("inform_coinsurers") is Tier.INFORM_COINSURERS


# ---- the share-weighted vote -----------------------------------------------------------------

# Nine insurers; the lead holds the largest share (illustrative, shares are inputs, not data).
SHARES = {"picc": 3500, "cpic": 1500, "pingan": 1000, "chinalife": 800, "ccic": 800,
          "sunshine": 700, "taiping": 600, "yongan": 600, "anhua": 500}


def test_vote_outcome_flips_on_one_basis_point():
    shares = {"lead": 4999, "a": 5001}
    r = weighted_vote({"lead": "reject", "a": "approve"}, shares, lead_code="lead")
    assert (r.outcome, r.decided_by) == ("approve", "majority")
    assert r.totals_bp == {"approve": 5001, "reject": 4999}
    assert r.threshold_bp == 5001
    shares = {"lead": 5001, "a": 4999}
    r = weighted_vote({"lead": "reject", "a": "approve"}, shares, lead_code="lead")
    assert (r.outcome, r.decided_by) == ("reject", "majority")


def test_exact_tie_is_broken_by_the_lead_by_default_and_can_be_left_undecided():
    shares = {"lead": 2500, "a": 2500, "b": 2500, "c": 2500}
    votes = {"lead": "approve", "a": "reject", "b": "reject", "c": "approve"}
    r = weighted_vote(votes, shares, lead_code="lead")
    assert (r.outcome, r.decided_by, r.tied) == ("approve", "tie_break_lead",
                                                 ("approve", "reject"))
    r = weighted_vote(votes, shares, lead_code="lead", tie_rule=TieRule.NO_DECISION)
    assert r.outcome is None and r.decided_by == "undecided" and not r.decided
    assert r.totals_bp == {"approve": 5000, "reject": 5000}


def test_tie_the_lead_is_not_part_of_stays_undecided():
    shares = {"lead": 2000, "a": 4000, "b": 4000}
    r = weighted_vote({"lead": "hire_adjusters", "a": "approve", "b": "reject"}, shares,
                      lead_code="lead")
    assert r.outcome is None and r.tied == ("approve", "reject")


def test_abstentions_count_for_no_option_on_the_default_all_shares_basis():
    votes = {"picc": "approve", "cpic": "approve", "pingan": ABSTAIN, "chinalife": None,
             "ccic": "reject"}  # the other four are absent
    r = weighted_vote(votes, SHARES, lead_code="picc")
    assert r.totals_bp == {"approve": 5000, "reject": 800}
    assert r.cast_bp == 5800 and r.basis_bp == 10_000 and r.threshold_bp == 5001
    assert r.outcome is None and r.decided_by == "undecided"
    assert set(r.abstained) == {"pingan", "chinalife", "sunshine", "taiping", "yongan", "anhua"}
    assert r.ballots == {"picc": "approve", "cpic": "approve", "ccic": "reject"}
    # Counted against the votes cast instead, approve has a majority.
    r = weighted_vote(votes, SHARES, lead_code="picc", basis="cast")
    assert (r.outcome, r.basis_bp, r.threshold_bp) == ("approve", 5800, 2901)


def test_plurality_without_majority_is_undecided():
    shares = {"lead": 4000, "a": 3500, "b": 2500}
    r = weighted_vote({"lead": "approve:100000", "a": "approve:80000", "b": "reject"}, shares,
                      lead_code="lead")
    assert r.outcome is None and r.tied == ()
    assert list(r.totals_bp) == ["approve:100000", "approve:80000", "reject"]


def test_nobody_votes():
    r = weighted_vote({}, SHARES, lead_code="picc")
    assert r.outcome is None and r.cast_bp == 0 and len(r.abstained) == 9


@pytest.mark.parametrize("votes,shares,lead,msg", [
    ({}, {"a": 5000, "b": 4999}, "a", "sum to 10000"),
    ({}, {"a": 10_000, "b": 0}, "a", "positive"),
    ({}, {"a": 9_000.0, "b": 1000}, "a", "positive int"),
    ({}, {"a": True, "b": 9999}, "a", "positive int"),
    ({}, {"a": 10_000}, "z", "lead insurer"),
    ({"x": "approve"}, {"a": 10_000}, "a", "without a share"),
    ({"a": ""}, {"a": 10_000}, "a", "non-blank"),
    ({"a": 3}, {"a": 10_000}, "a", "non-blank"),
    ({}, {}, "a", "no shares"),
])
def test_bad_vote_inputs_are_clear_errors(votes, shares, lead, msg):
    with pytest.raises(VoteError) as e:
        weighted_vote(votes, shares, lead_code=lead)
    assert msg in str(e.value)


def test_bad_rule_and_basis():
    with pytest.raises(ValueError):
        weighted_vote({}, SHARES, lead_code="picc", tie_rule="coin_toss")
    with pytest.raises(VoteError):
        weighted_vote({}, SHARES, lead_code="picc", basis="present")


def test_explain_shows_the_arithmetic():
    r = weighted_vote({"lead": "reject", "a": "approve"}, {"lead": 4999, "a": 5001},
                      lead_code="lead")
    zh, en = r.explain(), r.explain("en")
    assert "50.01%" in zh and "49.99%" in zh and "超过半数" in zh
    assert "50.01%" in en and "majority" in en


share_maps = st.lists(st.integers(min_value=1, max_value=3000), min_size=1, max_size=9).filter(
    lambda xs: sum(xs) < 10_000).map(
    lambda xs: {f"i{n}": bp for n, bp in enumerate(xs)} | {"lead": 10_000 - sum(xs)})


@settings(max_examples=300)
@given(share_maps, st.data())
def test_vote_invariants(shares, data):
    options = ["approve", "reject", "hire_lawyer"]
    votes = {code: data.draw(st.sampled_from(options + [None, ABSTAIN]), label=code)
             for code in data.draw(st.sets(st.sampled_from(sorted(shares))), label="voters")}
    r = weighted_vote(votes, shares, lead_code="lead")
    # Nothing lost, nothing double-counted: every share is counted once, for an option or abstained.
    assert r.cast_bp + sum(shares[c] for c in r.abstained) == 10_000
    assert sum(r.totals_bp.values()) == r.cast_bp
    assert set(r.ballots) | set(r.abstained) == set(shares)
    assert not set(r.ballots) & set(r.abstained)
    if r.decided_by == "majority":
        assert r.totals_bp[r.outcome] * 2 > 10_000
    elif r.decided_by == "tie_break_lead":
        assert r.outcome == r.ballots["lead"] and r.outcome in r.tied
    else:
        assert r.outcome is None
    # The outcome does not depend on the order the votes arrived in.
    again = weighted_vote(dict(reversed(list(votes.items()))), shares, lead_code="lead")
    assert again == r
