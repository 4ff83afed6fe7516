"""The work fund: a worked example written out by hand, matched to the fen, and properties of the
largest-remainder split."""
from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sync_server.fund import rules as f

# Four insurers keep the hand arithmetic readable (the demo has nine; the rules do not care).
SHARES = {"LEAD": 4000, "A": 2500, "B": 2000, "C": 1500}
RECEIPT = "ab" * 32


def test_worked_example_quarterly_disclosure_and_year_end():
    # Premiums excluding tax for policy year 2026 (fen) and 2% of each, rounded half-up on its own:
    #   LEAD 40,000,033 × 2% =   800,000.66 →   800,001
    #   A    25,000,010 × 2% =   500,000.20 →   500,000
    #   B    20,000,025 × 2% =   400,000.50 →   400,001   (half goes up)
    #   C    15,000,000 × 2% =   300,000.00 →   300,000
    #                                  income  2,000,002
    premiums = {"LEAD": 40_000_033, "A": 25_000_010, "B": 20_000_025, "C": 15_000_000}
    contrib = f.contributions(premiums)
    assert contrib == {"LEAD": 800_001, "A": 500_000, "B": 400_001, "C": 300_000}
    entries = [f.FundEntry(f.CONTRIBUTION, date(2026, 1, 15), v, c) for c, v in contrib.items()]
    # Q1 spending:
    #   publicity      2026-02-03  1,234,567  (leaflets)
    #   survey         2026-03-10     18,050  (C's surveyor, vehicle)
    #   survey         2026-03-10      4,500  (C's surveyor, meal)
    #   communication  2026-03-31     30,000
    #                      total   1,287,117
    entries += [
        f.FundEntry(f.SPENDING, date(2026, 2, 3), 1_234_567, None, f.PUBLICITY, "宣传单印制", RECEIPT),
        f.FundEntry(f.SPENDING, date(2026, 3, 10), 18_050, "C", f.SURVEY, "车辆使用费", RECEIPT),
        f.FundEntry(f.SPENDING, date(2026, 3, 10), 4_500, "C", f.SURVEY, "误餐费", RECEIPT),
        f.FundEntry(f.SPENDING, date(2026, 3, 31), 30_000, None, f.COMMUNICATION, "通讯补贴"),
    ]
    q1 = f.quarterly_disclosure(entries, SHARES, 2026, 1)
    assert (q1.opening_fen, q1.income_fen, q1.spending_fen) == (0, 2_000_002, 1_287_117)
    assert q1.spending_by_category == {
        "publicity": 1_234_567, "survey": 22_550, "communication": 30_000, "project_work": 0}
    # closing = 0 + 2,000,002 − 1,287,117 = 712,885
    assert q1.closing_fen == 712_885
    # Parts of 1,287,117 by share (largest remainder):
    #   LEAD 40% = 514,846.80 → 514,846 (+1, remainder .80 is the largest) = 514,847
    #   A    25% = 321,779.25 → 321,779
    #   B    20% = 257,423.40 → 257,423
    #   C    15% = 193,067.55 → 193,067 (+1, .55 second largest)        = 193,068
    #   floors add to 1,287,115: 2 fen left, to LEAD and C.  Sum 1,287,117.
    parts = {c: p["spending_part_fen"] for c, p in q1.insurer_parts.items()}
    assert parts == {"LEAD": 514_847, "A": 321_779, "B": 257_423, "C": 193_068}
    # Positions: contributed − part: LEAD 285,154; A 178,221; B 142,578; C 106,932 (sum 712,885)
    pos = {c: p["year_position_fen"] for c, p in q1.insurer_parts.items()}
    assert pos == {"LEAD": 285_154, "A": 178_221, "B": 142_578, "C": 106_932}
    assert sum(pos.values()) == q1.closing_fen

    # Q2: survey 2026-04-02 10,001; project work 2026-05-20 600,000. Total 610,001.
    entries += [
        f.FundEntry(f.SPENDING, date(2026, 4, 2), 10_001, "A", f.SURVEY, "车辆使用费", RECEIPT),
        f.FundEntry(f.SPENDING, date(2026, 5, 20), 600_000, None, f.PROJECT_WORK, "项目团队专项经费"),
    ]
    q2 = f.quarterly_disclosure(entries, SHARES, 2026, 2)
    # opening 712,885; closing = 712,885 − 610,001 = 102,884
    assert (q2.opening_fen, q2.income_fen, q2.spending_fen, q2.closing_fen) == (712_885, 0, 610_001, 102_884)
    # Parts of 610,001: LEAD 244,000.40 → 244,001 (the 1 fen left); A 152,500.25 → 152,500;
    # B 122,000.20 → 122,000; C 91,500.15 → 91,500.
    assert {c: p["spending_part_fen"] for c, p in q2.insurer_parts.items()} == {
        "LEAD": 244_001, "A": 152_500, "B": 122_000, "C": 91_500}
    # Year-end 多退少补: LEAD 285,154 − 244,001 = 41,153; A 178,221 − 152,500 = 25,721;
    # B 142,578 − 122,000 = 20,578; C 106,932 − 91,500 = 15,432. All refunds; sum 102,884.
    settle = f.year_end_settlement(entries, SHARES, 2026)
    assert settle == {"LEAD": 41_153, "A": 25_721, "B": 20_578, "C": 15_432}
    entries += f.settlement_entries(settle, date(2026, 12, 31))
    q4 = f.quarterly_disclosure(entries, SHARES, 2026, 4)
    assert (q4.opening_fen, q4.settlement_fen, q4.closing_fen) == (102_884, -102_884, 0)
    assert all(p["year_position_fen"] == 0 for p in q4.insurer_parts.values())
    # The next year starts clean and can be settled in turn.
    assert f.year_end_settlement(entries, SHARES, 2027) == {c: 0 for c in SHARES}


def test_top_up_when_spending_exceeds_contributions():
    entries = [f.FundEntry(f.CONTRIBUTION, date(2026, 1, 2), 1000, c) for c in SHARES]
    entries.append(f.FundEntry(f.SPENDING, date(2026, 8, 1), 10_000, None, f.PUBLICITY))
    settle = f.year_end_settlement(entries, SHARES, 2026)
    # parts of 10,000: LEAD 4,000, A 2,500, B 2,000, C 1,500; each contributed 1,000.
    assert settle == {"LEAD": -3000, "A": -1500, "B": -1000, "C": -500}
    entries += f.settlement_entries(settle, date(2026, 12, 31))
    assert f.quarterly_disclosure(entries, SHARES, 2026, 4).closing_fen == 0


def test_claim_paid_on_behalf_of_all_is_recovered_by_share():
    # 12,345,678 fen: LEAD 4,938,271.2; A 3,086,419.5; B 2,469,135.6; C 1,851,851.7
    # floors add to 12,345,676; the 2 fen go to C (.7) and B (.6).
    rec = f.recovery_for("claim-1", 12_345_678, SHARES, "LEAD")
    assert rec.parts == {"LEAD": 4_938_271, "A": 3_086_419, "B": 2_469_136, "C": 1_851_852}
    assert rec.to_recover == {"A": 3_086_419, "B": 2_469_136, "C": 1_851_852}
    assert sum(rec.parts.values()) == 12_345_678
    assert f.recoveries_by_insurer([rec, f.recovery_for("claim-2", 100, SHARES, "LEAD")]) == {
        "A": 3_086_419 + 25, "B": 2_469_136 + 20, "C": 1_851_852 + 15}


@pytest.mark.parametrize("shares,message", [
    ({"A": 5000, "B": 4999}, "9999 basis points"),
    ({"A": 10_001, "B": -1}, "non-negative"),
    ({}, "no insurer"),
])
def test_bad_shares_are_refused_with_a_clear_message(shares, message):
    with pytest.raises(f.FundError, match=message):
        f.split_by_shares(100, shares)


@pytest.mark.parametrize("kwargs,message", [
    (dict(kind=f.SPENDING, amount_fen=100, category="sales"), "category"),
    (dict(kind=f.SPENDING, amount_fen=0, category=f.SURVEY), "positive"),
    (dict(kind=f.SPENDING, amount_fen=1.5, category=f.SURVEY), "whole fen"),
    (dict(kind=f.SPENDING, amount_fen=100, category=f.SURVEY, receipt_sha256="xyz"), "64"),
    (dict(kind=f.CONTRIBUTION, amount_fen=100), "insurer"),
])
def test_bad_entries_are_refused(kwargs, message):
    with pytest.raises(f.FundError, match=message):
        f.FundEntry(on=date(2026, 1, 1), **kwargs)


def test_settling_needs_the_previous_year_settled():
    entries = [f.FundEntry(f.CONTRIBUTION, date(2025, 3, 1), 500, "A")]
    with pytest.raises(f.FundError, match="settle the previous year"):
        f.year_end_settlement(entries, SHARES, 2026)


shares_strategy = st.lists(st.integers(0, 10_000), min_size=1, max_size=9).map(
    lambda xs: xs if sum(xs) else [1] * len(xs)
).map(lambda xs: _normalise(xs))


def _normalise(xs):
    total = sum(xs)
    bps = [x * 10_000 // total for x in xs]
    bps[0] += 10_000 - sum(bps)
    return {f"I{i}": bp for i, bp in enumerate(bps)}


@given(amount=st.integers(-10**12, 10**12), shares=shares_strategy)
def test_split_sums_exactly_and_each_part_is_within_a_fen(amount, shares):
    parts = f.split_by_shares(amount, shares)
    assert sum(parts.values()) == amount
    for c, bp in shares.items():
        exact = amount * bp / 10_000
        assert abs(parts[c] - exact) < 1 + 1e-6 * abs(exact)
