"""The cooperation agreement's limits per policy year (claimcore.agreement) and the programme's caps
shared pro rata (claimcore.amounts.pro_rata / payable_for)."""
from __future__ import annotations

import datetime as dt
import json
import shutil

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from claimcore import agreement, amounts
from claimcore import catalogue as catmod
from claimcore.assets import assets_dir

YUAN = 100
EVENT_CAP = 30_000_000 * YUAN
YEAR_CAP = 60_000_000 * YUAN


@pytest.fixture
def tmp_assets(tmp_path, monkeypatch):
    """A private assets folder: the real catalogue and agreement files, to add to or break."""
    root = tmp_path / "assets"
    shutil.copytree(assets_dir() / "catalogue", root / "catalogue", ignore=shutil.ignore_patterns("templates"))
    shutil.copytree(assets_dir() / "agreement", root / "agreement")
    monkeypatch.setenv("DAZU_ASSETS", str(root))
    catmod.clear_cache()
    agreement.clear_cache()
    yield root
    catmod.clear_cache()
    agreement.clear_cache()


def _raw(root, year=2026) -> dict:
    return json.loads((root / "agreement" / f"agreement-{year}.json").read_text(encoding="utf-8"))


def _write(root, year, data) -> None:
    (root / "agreement" / f"agreement-{year}.json").write_text(json.dumps(data, ensure_ascii=False),
                                                                encoding="utf-8")


# ------------------------------------------------------------------------------------ loading

def test_every_year_loads_with_its_source_and_the_municipal_standard():
    loaded = agreement.load_agreements()
    assert [a.policy_year for a in loaded.years] == [2024, 2025, 2026]
    for year in loaded.years:
        assert year.provisional is True
        assert "重庆市大足区巨灾保险合作协议" in year.source.zh and "第77次常务会" in year.source.zh
        assert "渝府办发〔2017〕121号" in year.source.zh and "cooperation agreement" in year.source.en
        lim = year.limits("natural_disaster")
        assert lim.death_per_person_fen == 100_000 * YUAN and lim.medical_per_person_fen == 10_000 * YUAN
        assert lim.disability_limit_fen(10) == 10_000 * YUAN
        assert (year.caps.per_event_fen, year.caps.per_year_fen) == (EVENT_CAP, YEAR_CAP)


def test_the_policy_year_is_the_accidents_year_in_china_time():
    assert agreement.policy_year_of("2025-12-31T23:30:00+08:00") == 2025
    assert agreement.policy_year_of("2025-12-31T16:30:00+00:00") == 2026  # 00:30 on 1 January in Dazu
    assert agreement.policy_year_of(dt.date(2024, 6, 1)) == 2024
    assert agreement.policy_year_of("not a time") is None and agreement.policy_year_of(None) is None


def test_a_year_without_a_file_uses_the_nearest_earlier_year_and_says_so(tmp_assets):
    raw = _raw(tmp_assets)
    raw["policy_year"] = 2025
    raw["defaults"]["death_per_person_fen"] = 150_000 * YUAN
    raw["source"] = {"zh": "2025年度合作协议（已公布）", "en": "the 2025 agreement (published)"}
    raw["provisional"] = False
    _write(tmp_assets, 2025, raw)
    (tmp_assets / "agreement" / "agreement-2026.json").unlink()
    loaded = agreement.load_agreements()
    own = loaded.on("2025-08-01T10:00:00+08:00")
    assert (own.year, own.agreement.policy_year, own.fallback) == (2025, 2025, False)
    assert own.source_text("zh") == "2025年度：2025年度合作协议（已公布）"
    later = loaded.on("2027-03-01T10:00:00+08:00")
    assert (later.year, later.agreement.policy_year, later.fallback) == (2027, 2025, True)
    assert later.limits("terrorism").death_per_person_fen == 150_000 * YUAN
    assert "2027年度无协议配置，沿用2025年度" in later.source_text("zh")
    assert "2027 has no agreement file; 2025's figures apply" in later.source_text("en")
    earlier = loaded.on("2023-05-01T10:00:00+08:00")  # before the first file: the first, said so
    assert (earlier.agreement.policy_year, earlier.fallback) == (2024, True)


def test_a_claims_limits_follow_its_accident_year(tmp_assets):
    raw = _raw(tmp_assets)
    raw["defaults"]["death_per_person_fen"] = 200_000 * YUAN
    raw["programme_caps"]["per_event_fen"] = 40_000_000 * YUAN
    _write(tmp_assets, 2026, raw)
    in_2025 = amounts.limits_for("natural_disaster", ["death"], 1, incident_at="2025-07-01T08:00:00+08:00")
    in_2026 = amounts.limits_for("natural_disaster", ["death"], 1, incident_at="2026-07-01T08:00:00+08:00")
    assert (in_2025.person, in_2026.person) == (100_000 * YUAN, 200_000 * YUAN)
    assert (in_2025.absurd, in_2026.absurd) == (EVENT_CAP, 40_000_000 * YUAN)
    with pytest.raises(amounts.AmountError) as over:
        amounts.check_amount(150_000 * YUAN, in_2025, field="adjusted_amount_fen", label=("理算金额", "adjusted"))
    assert "2025年度" in over.value.message("zh") and "policy year 2025" in over.value.message("en")
    amounts.check_amount(150_000 * YUAN, in_2026, field="adjusted_amount_fen", label=("理算金额", "adjusted"))


def test_a_per_coverage_entry_overrides_the_defaults(tmp_assets):
    raw = _raw(tmp_assets)
    raw["per_coverage"] = {"good_samaritan": {"death_per_person_fen": 300_000 * YUAN}}
    _write(tmp_assets, 2026, raw)
    year = agreement.load_agreements().for_year(2026)
    assert year.limits("good_samaritan").death_per_person_fen == 300_000 * YUAN
    assert year.limits("good_samaritan").medical_per_person_fen == 10_000 * YUAN  # the rest from defaults
    assert year.limits("terrorism").death_per_person_fen == 100_000 * YUAN


@pytest.mark.parametrize("breakage, message", [
    (lambda r: r["defaults"].update(death_per_person_fen=100000.5), "defaults.death_per_person_fen"),
    (lambda r: r["defaults"].pop("medical_per_person_fen"), "missing 'medical_per_person_fen'"),
    (lambda r: r.pop("source"), "missing 'source'"),
    (lambda r: r.update(source={"zh": "协议"}), "source: missing en text"),
    (lambda r: r.update(provisional="yes"), "provisional: must be true or false"),
    (lambda r: r.update(policy_year=2025), "the file name says 2026"),
    (lambda r: r["per_coverage"].update(earthquake={}), "per_coverage 'earthquake': unknown coverage"),
    (lambda r: r["programme_caps"].update(scale_down="first_come"), "only pro_rata"),
    (lambda r: r["programme_caps"].update(per_event_fen=YEAR_CAP + 1), "cannot exceed the per-year cap"),
    (lambda r: r["defaults"]["disability_grade_percent"].pop("10"), "needs grades 1 to 10"),
])
def test_a_broken_file_fails_loudly_naming_the_file_and_entry(tmp_assets, breakage, message):
    raw = _raw(tmp_assets)
    breakage(raw)
    _write(tmp_assets, 2026, raw)
    with pytest.raises(agreement.AgreementError) as broken:
        agreement.load_agreements()
    assert "agreement-2026.json" in str(broken.value) and message in str(broken.value)


def test_bad_json_a_stray_name_or_no_file_at_all_fail_loudly(tmp_assets):
    (tmp_assets / "agreement" / "agreement-2026.json").write_text("{", encoding="utf-8")
    with pytest.raises(agreement.AgreementError, match="agreement-2026.json is not valid JSON"):
        agreement.load_agreements()
    (tmp_assets / "agreement" / "agreement-2026.json").unlink()
    (tmp_assets / "agreement" / "agreement-next.json").write_text("{}", encoding="utf-8")
    with pytest.raises(agreement.AgreementError, match="name it agreement-<year>.json"):
        agreement.load_agreements()
    for path in (tmp_assets / "agreement").iterdir():
        path.unlink()
    with pytest.raises(agreement.AgreementError, match="the benefit limits have no source"):
        agreement.load_agreements()


# ---------------------------------------------------------------------------------- pro rata

amounts_st = st.dictionaries(st.uuids().map(str), st.integers(min_value=0, max_value=10**11), min_size=1, max_size=40)


@settings(max_examples=300, deadline=None)
@given(pool=amounts_st, cap=st.integers(min_value=1, max_value=10**12))
def test_pro_rata_shares_never_exceed_the_adjusted_nor_together_the_cap(pool, cap):
    shares = amounts.pro_rata(pool, cap)
    assert set(shares) == set(pool)
    assert all(0 <= shares[k] <= pool[k] for k in pool)
    total = sum(pool.values())
    if total <= cap:
        assert shares == pool  # within the cap nothing is reduced
    else:
        assert sum(shares.values()) <= cap
        assert cap - sum(shares.values()) < len(pool)  # rounding down loses less than 1 fen a claim


@settings(max_examples=200, deadline=None)
@given(amount=st.integers(min_value=1, max_value=10**10), n=st.integers(min_value=2, max_value=30),
       others=st.lists(st.integers(min_value=0, max_value=10**10), max_size=10),
       cap=st.integers(min_value=1, max_value=10**11))
def test_equal_claims_get_equal_shares(amount, n, others, cap):
    pool = {f"same-{i}": amount for i in range(n)} | {f"other-{i}": a for i, a in enumerate(others)}
    shares = amounts.pro_rata(pool, cap)
    same = {shares[f"same-{i}"] for i in range(n)}
    assert max(same) - min(same) <= 1


def _claim(cid, adjusted_yuan, event="flood", year=2026, paid_yuan=0):
    return amounts.PoolClaim(cid, adjusted_yuan * YUAN, year, event, paid_yuan * YUAN)


def test_an_event_over_its_cap_pays_every_claim_the_same_ratio():
    # 40 million adjusted against a 30 million cap: every claim at 75 %.
    pool = [_claim(f"c{i}", 1_000_000) for i in range(40)]
    got = amounts.payable_for(pool[0], pool)
    assert got.payable_fen == 750_000 * YUAN and got.reduced
    assert got.event.over and got.event.ratio() == "75.00%" and got.event.total_fen == 40_000_000 * YUAN
    assert not got.year.over  # the year's pool is counted on the reduced amounts: 30 million
    assert "按 75.00% 比例赔付" in got.explain("zh") and "paid at 75.00%" in got.explain("en")
    alone = _claim("x", 1_000_000, event=None)
    assert amounts.payable_for(alone, pool).payable_fen == 1_000_000 * YUAN  # not in the event


def test_the_year_cap_applies_after_the_events_and_payments_made_count():
    # Three events of 30 million each in one year (90 million) against a 60 million year cap.
    pool = [_claim(f"{ev}-{i}", 3_000_000, event=ev) for ev in ("a", "b", "c") for i in range(10)]
    got = amounts.payable_for(pool[0], pool)
    assert not got.event.over and got.year.over and got.year.ratio() == "66.66%"
    assert got.payable_fen == 3_000_000 * YUAN * 2 // 3
    other_year = [_claim(f"old-{i}", 3_000_000, event="old", year=2025) for i in range(10)]
    assert amounts.payable_for(pool[0], pool + other_year).payable_fen == got.payable_fen
    # A claim paid in full before the event grew keeps its money; the cap's remainder is shared.
    paid_early = [_claim("early", 20_000_000, paid_yuan=20_000_000)]
    late = _claim("late", 20_000_000)
    share = amounts.payable_for(late, paid_early + [late])
    assert share.event.share_fen == 15_000_000 * YUAN and share.event.left_fen == 10_000_000 * YUAN
    assert share.payable_fen == 10_000_000 * YUAN
    assert "已付其他案件后限额余 10,000,000.00 元" in share.explain("zh")


def test_a_payment_above_the_share_is_refused_with_the_ratio():
    pool = [_claim(f"c{i}", 1_000_000) for i in range(40)]
    got = amounts.payable_for(pool[0], pool)
    amounts.check_payable(750_000 * YUAN, got)
    with pytest.raises(amounts.AmountError) as refused:
        amounts.check_payable(750_000 * YUAN + 1, got)
    assert refused.value.code == "paid_over_payable" and refused.value.field == "paid_amount_fen"
    assert "750,000.00" in refused.value.message("zh") and "75.00%" in refused.value.message("zh")
    with pytest.raises(amounts.AmountError):  # the published answer, as the phone holds it
        amounts.check_payable(750_000 * YUAN + 1, got.as_dict())
    pay = dict(paid=750_000 * YUAN + 1, paid_on="2026-08-01", payee_id="p", transfer_ref="NY1",
               adjusted=1_000_000 * YUAN, persons=[{"id": "p", "role_in_claim": "payee", "has_bank_account": True}],
               loss_types=["house"])
    amounts.check_payment(**pay)  # without the server's answer only the adjusted amount bounds it
    with pytest.raises(amounts.AmountError):
        amounts.check_payment(**pay, payable=got)


@settings(max_examples=150, deadline=None)
@given(events=st.lists(st.lists(st.integers(min_value=1, max_value=5 * 10**9), min_size=1, max_size=12),
                       min_size=1, max_size=6))
def test_payables_of_a_year_never_exceed_an_event_or_the_year_cap(events):
    pool = [amounts.PoolClaim(f"{e}-{i}", a, 2026, f"ev{e}") for e, claims in enumerate(events)
            for i, a in enumerate(claims)]
    payable = {c.id: amounts.payable_for(c, pool).payable_fen for c in pool}
    assert all(0 <= payable[c.id] <= c.adjusted_fen for c in pool)
    for e in range(len(events)):
        assert sum(v for k, v in payable.items() if k.startswith(f"{e}-")) <= EVENT_CAP
    assert sum(payable.values()) <= YEAR_CAP
