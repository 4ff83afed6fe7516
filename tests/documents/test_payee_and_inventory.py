"""The payee the claim application prints (claimcore.amounts' payment rule: never the deceased of a
death claim) and the loss inventory printed from the claim's ``loss_items``, read back with pypdf.

Claim JSON written by hand (the office's printer) and claims stored on a phone are both covered.
"""
from __future__ import annotations

import copy
import logging
import re

import pytest

from claimcore.entities import item_amount_fen
from claimcore.money import format_fen, format_fen_capital
from fieldapp.documents import ClaimJsonError, render, validate_claim_json
from fieldapp.documents.claim_json import payee_person
from fieldapp.documents.from_store import claim_json_from_store, render_claim_pdf
from fieldapp.documents.texts import Texts
from fieldapp.store import open_store
from tests.documents.conftest import load_worked_claim, page_texts, squash

DECEASED, DECEASED_ID, DECEASED_CARD = "王堃", "500111195803120029", "6222023100001234561"
HEIR, HEIR_ID, HEIR_CARD = "李犇", "500111196001010527", "6228480402564890018"
AGENT, AGENT_ID, AGENT_CARD = "张晓梅", "500111198507060424", "6217003760000012344"
HEIR_BANK = "中国农业银行大足龙水支行"
IDS = {"victim": "0b8f5e2a-7c1d-4e3f-9a6b-1d2c3e4f5a60", "heir": "1c9a6f3b-8d2e-4f40-8b7c-2e3d4f5a6b71",
       "agent": "2dab7a4c-9e3f-4051-9c8d-3f4e5a6b7c82"}
SECTION_PAYEE, SECTION_AFTER = "五、赔款收款账户", "六、申请人声明"


def all_text(pdf: bytes) -> str:
    return "".join(page_texts(pdf))


def payee_section(pdf: bytes) -> str:
    """What the application prints in section 五 (payee account), page furniture included."""
    text = all_text(pdf)
    start = text.index(SECTION_PAYEE)
    return text[start:text.index(SECTION_AFTER, start)]


def death_claim(*, heir_card: bool = True, victim_card: bool = True) -> dict:
    """A death claim as the office writes it: the deceased (with the account he had), his heir
    applying (heirs are the claim JSON's claimants), the liaison as agent."""
    claim = load_worked_claim()
    claim["loss_types"] = ["death"]
    claim["losses"] = [{"loss_type": "death", "item": "身故救助金", "amount_fen": 10000000}]
    claim["document_statuses"] = {}
    victim = {"id": IDS["victim"], "role": "victim", "name": DECEASED, "id_number": DECEASED_ID}
    if victim_card:
        victim.update(bank_name="中国建设银行大足支行", bank_account=DECEASED_CARD)
    heir = {"id": IDS["heir"], "role": "claimant", "name": HEIR, "id_number": HEIR_ID, "relation": "配偶"}
    if heir_card:
        heir.update(bank_name=HEIR_BANK, bank_account=HEIR_CARD)
    agent = {"id": IDS["agent"], "role": "agent", "name": AGENT, "id_number": AGENT_ID,
             "relation": "龙水镇联络员", "bank_name": "中国工商银行大足支行", "bank_account": AGENT_CARD}
    claim["persons"] = [victim, heir, agent]
    del claim["household"]
    return claim


def item(category: str, description: str, amount_fen: int | None = None, **extra) -> dict:
    out = {"category": category, "description": description, **extra}
    if amount_fen is None:
        amount_fen = item_amount_fen(extra["quantity"], extra["unit_price_fen"])
    out["amount_fen"] = amount_fen
    return out


ITEMS = [
    item("house", "冰箱（海尔BCD-216）", quantity=1, unit_price_fen=189999, purchase_date="2019-05-01",
         damage_extent="全损"),
    item("house", "堂屋墙体及地面修复", quantity=18.5, unit_price_fen=32050, damage_extent="部分损坏"),
    item("house", "稻谷", quantity=600, unit_price_fen=135, purchase_date="2025-10-08", damage_extent="浸泡霉变"),
    item("medical", "门诊复查及药费", 45630),
]
ITEMS_TOTAL = sum(i["amount_fen"] for i in ITEMS)


# ---- the payee ----------------------------------------------------------------------------------

def test_death_claim_pays_the_heir_never_the_deceased():
    claim = death_claim()
    assert payee_person(validate_claim_json(claim))["name"] == HEIR
    section = payee_section(render("claim_application", claim))
    for expected in (HEIR, HEIR_ID, HEIR_BANK, squash(" ".join(re.findall(".{1,4}", HEIR_CARD)))):
        assert expected in section, expected
    for leaked in (DECEASED, DECEASED_ID, DECEASED_CARD[:4] + DECEASED_CARD[4:8]):
        assert leaked not in section, leaked


def test_death_claim_with_nobody_payable_leaves_the_payee_boxes_blank():
    """The heir has no account on file and the deceased's account is no payee's: the boxes stay
    empty for hand-filling; the agent is not picked either when he has no account."""
    claim = death_claim(heir_card=False)
    claim["persons"][2] = {k: v for k, v in claim["persons"][2].items() if k not in ("bank_name", "bank_account")}
    assert payee_person(validate_claim_json(claim)) is None
    section = payee_section(render("claim_application", claim))
    for leaked in (DECEASED, DECEASED_ID, DECEASED_CARD[:8], HEIR, AGENT):
        assert leaked not in section, leaked
    assert "收款人" in section and "开户银行" in section  # the boxes are there, empty


def test_death_claim_without_a_payable_heir_pays_the_agent():
    section = payee_section(render("claim_application", death_claim(heir_card=False)))
    assert AGENT in section and AGENT_ID in section and DECEASED not in section


def test_a_named_payee_is_printed():
    claim = death_claim()
    claim["payee_person_id"] = IDS["agent"].upper()  # normalised like the record contract's UUIDs
    checked = validate_claim_json(claim)
    assert checked["payee_person_id"] == IDS["agent"]
    section = payee_section(render("claim_application", claim))
    assert AGENT in section and AGENT_ID in section
    assert HEIR not in section and DECEASED not in section


def test_a_null_payee_leaves_the_boxes_blank():
    claim = death_claim()
    claim["payee_person_id"] = None
    section = payee_section(render("claim_application", claim))
    assert HEIR not in section and DECEASED not in section and AGENT not in section


def test_the_worked_claim_still_pays_its_payee():
    section = payee_section(render("claim_application", load_worked_claim()))
    assert "李犇" in section and "6222023100001234561"[:4] in section


def test_a_named_payee_the_rule_refuses_is_listed_with_the_other_problems():
    claim = death_claim()
    claim["payee_person_id"] = IDS["victim"]
    with pytest.raises(ClaimJsonError) as caught:
        validate_claim_json(claim)
    assert any(p.startswith("payee_person_id:") and "never the deceased" in p for p in caught.value.problems)
    for wrong, expected in (("7f000000-0000-4000-8000-000000000000", "names no person"), ("Li Ben", "not a UUID")):
        claim["payee_person_id"] = wrong
        with pytest.raises(ClaimJsonError, match=expected):
            validate_claim_json(claim)
    claim["payee_person_id"] = IDS["heir"]
    claim["persons"][2]["id"] = IDS["heir"]
    with pytest.raises(ClaimJsonError, match=r"persons\[2\]\.id: the same id"):
        validate_claim_json(claim)


def test_the_deceased_is_not_printed_as_applicant_either():
    claim = death_claim()
    claim["persons"] = [claim["persons"][0], claim["persons"][2]]  # no heir entered yet
    text = all_text(render("loss_inventory", claim))
    assert "申请人" + DECEASED not in text
    section = payee_section(render("claim_application", claim))
    assert AGENT in section and DECEASED not in section


# ---- the loss inventory -------------------------------------------------------------------------

def test_loss_items_are_listed_with_their_total():
    claim = {**load_worked_claim(), "loss_items": copy.deepcopy(ITEMS)}
    text = all_text(render("loss_inventory", claim))
    for expected in ("购置日期", "损失程度", "房屋及室内财产", "医疗费用", "18.5", "2019-05-01", "2025-10-08",
                     "全损", "部分损坏", "浸泡霉变", "申请人：李犇（配偶）签字并按手印"):
        assert expected in text, expected
    for i in ITEMS:
        assert squash(i["description"]) in text
        assert format_fen(i["amount_fen"]) in text
        if "unit_price_fen" in i:
            assert format_fen(i["unit_price_fen"]) in text
    assert ITEMS_TOTAL == 189999 + 592925 + 81000 + 45630
    assert f"合计{format_fen(ITEMS_TOTAL)}" in text
    assert format_fen_capital(ITEMS_TOTAL) in text
    # The items replace the hand-written claim's house lines (they would be counted twice).
    assert "厨房后墙及屋顶修复" not in text


def test_a_long_inventory_runs_over_pages_with_headings_and_one_total_at_the_end():
    items = [item("house", f"受损物品第{n}项（含规格型号说明）", quantity=n, unit_price_fen=1999,
                  purchase_date="2020-01-01", damage_extent="部分损坏，可修复") for n in range(1, 61)]
    pdf = render("loss_inventory", {**load_worked_claim(), "loss_items": items})
    pages = page_texts(pdf)
    assert len(pages) >= 3
    item_pages = [p for p in pages if "受损物品第" in p]
    assert len(item_pages) >= 2
    for page in item_pages:
        assert "购置日期" in page and "损失程度" in page  # the heading row repeats
    joined = "".join(pages)
    for n in range(1, 61):
        assert f"受损物品第{n}项" in joined
    total = sum(i["amount_fen"] for i in items)
    assert joined.count("合计") == 2  # the total row and the total in words
    assert f"合计{format_fen(total)}" in pages[-1] or f"合计{format_fen(total)}" in pages[-2]
    signed = [p for p in pages if "签字并按手印" in p]
    assert len(signed) == 1 and "保险公司查勘人员" in signed[0]  # the signatures stay together


@pytest.mark.parametrize("claim", [{**load_worked_claim(), "losses": []}, None], ids=["no items", "blank"])
def test_an_empty_inventory_has_every_column_to_fill_by_hand(claim):
    text = all_text(render("loss_inventory", claim))
    for expected in ("类别", "损失项目", "数量", "单价（元）", "购置日期", "损失程度", "金额（元）", "合计",
                     "签字并按手印"):
        assert expected in text, expected
    assert "0.00" not in text and "零元整" not in text


def test_the_inventory_in_english_has_the_new_columns():
    text = all_text(render("loss_inventory", {**load_worked_claim(), "loss_items": ITEMS}, lang="en"))
    for expected in ("Purchasedate", "Extentofdamage", "Signatureandfingerprint", "Houseandcontents"):
        assert expected in text, expected


def test_loss_items_are_checked_by_the_record_contract_and_every_problem_listed():
    bad = [
        item("house", "冰箱", quantity=2, unit_price_fen=100, amount_fen=150),  # not quantity x unit price
        {"category": "flood", "description": "洗衣机", "amount_fen": 100},
        {"category": "house", "description": "电视", "amount_fen": 12.5},
        {"category": "house", "description": "家具", "amount_fen": 100, "purchase_date": "2019-13-01"},
        {"category": "house", "amount_fen": 100},
        {"category": "house", "description": "衣物", "amount_fen": 100, "colour": "red"},
        "冰箱",
        item("house", "稻谷", quantity=600, unit_price_fen=135),  # fine
    ]
    claim = {**load_worked_claim(), "loss_items": bad}
    with pytest.raises(ClaimJsonError) as caught:
        validate_claim_json(claim)
    problems = caught.value.problems
    by_item = {int(m.group(1)): p for p in problems if (m := re.match(r"loss_items\[(\d+)\]", p))}
    assert sorted(by_item) == [0, 1, 2, 3, 4, 5, 6], problems
    assert "quantity × unit price" in by_item[0]
    assert "integer fen" in by_item[2]
    assert "loss_items[5].colour: unknown field" in problems
    assert "item 1" not in "".join(problems)  # the contract's numbering is not leaked
    claim["loss_items"] = "冰箱"
    with pytest.raises(ClaimJsonError, match="loss_items: must be a list"):
        validate_claim_json(claim)


def test_the_new_words_have_both_languages():
    for lang in ("zh", "en"):
        t = Texts("loss_inventory", lang)
        for key in ("col.purchase_date", "col.damage_extent", "sign.applicant_fingerprint"):
            assert t[key].strip()
    assert Texts("loss_inventory", "zh")["sign.applicant_fingerprint"] == "申请人（签字并按手印）："


# ---- from a phone's store -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def store(tmp_path_factory):
    s = open_store(tmp_path_factory.mktemp("phone") / "data")
    yield s
    s.close()


def stored_death_claim(store) -> tuple[str, dict[str, str]]:
    claim_id = store.claims.create(coverage="natural_disaster", role="liaison", township_code="500111100",
                                   incident_at="2026-07-14T03:10:00+08:00", loss_types=["death"],
                                   description="山洪冲毁房屋，受害人不幸遇难。")
    ids = {
        # The deceased's own account is on file (entered before the death was known).
        "victim": store.persons.add(claim_id, role_in_claim="victim", name=DECEASED, id_number=DECEASED_ID,
                                    relation="self", bank_name="中国建设银行大足支行", bank_card=DECEASED_CARD),
        "heir": store.persons.add(claim_id, role_in_claim="heir", name=HEIR, id_number=HEIR_ID, relation="spouse",
                                  bank_name=HEIR_BANK, bank_card=HEIR_CARD),
        "agent": store.persons.add(claim_id, role_in_claim="agent", name=AGENT, id_number=AGENT_ID,
                                   relation="龙水镇联络员", bank_card=AGENT_CARD),
    }
    return claim_id, ids


def stored_payee_section(path) -> str:
    return payee_section(path.read_bytes())


def test_stored_death_claim_prints_the_heir_as_payee(store, tmp_path):
    claim_id, ids = stored_death_claim(store)
    claim = claim_json_from_store(store, claim_id)
    assert claim["payee_person_id"] == ids["heir"]
    assert {p["id"] for p in claim["persons"]} == set(ids.values())
    section = stored_payee_section(render_claim_pdf(store, claim_id, "claim_application", out_dir=tmp_path))
    assert HEIR in section and HEIR_ID in section and HEIR_CARD[:4] in section
    assert DECEASED not in section and DECEASED_ID not in section and DECEASED_CARD[:8] not in section


def test_stored_payee_is_printed(store, tmp_path):
    claim_id, ids = stored_death_claim(store)
    store.claims.update(claim_id, payee_person_id=ids["agent"])
    assert claim_json_from_store(store, claim_id)["payee_person_id"] == ids["agent"]
    section = stored_payee_section(render_claim_pdf(store, claim_id, "claim_application", out_dir=tmp_path))
    assert AGENT in section and AGENT_ID in section and HEIR not in section


def test_a_stored_payee_the_rule_refuses_is_not_printed(store, tmp_path, caplog):
    claim_id, ids = stored_death_claim(store)
    store.claims.update(claim_id, payee_person_id=ids["victim"])
    with caplog.at_level(logging.WARNING, logger="fieldapp.documents.from_store"):
        claim = claim_json_from_store(store, claim_id)
    assert claim["payee_person_id"] == ids["heir"]
    assert any("recorded payee" in r.getMessage() for r in caplog.records)
    section = stored_payee_section(render_claim_pdf(store, claim_id, "claim_application", out_dir=tmp_path))
    assert HEIR in section and DECEASED not in section


def test_stored_death_claim_without_a_payable_person_leaves_the_boxes_blank(store, tmp_path):
    claim_id = store.claims.create(coverage="natural_disaster", role="liaison", township_code="500111100",
                                   incident_at="2026-07-14T03:10:00+08:00", loss_types=["death"], description="山洪")
    store.persons.add(claim_id, role_in_claim="victim", name=DECEASED, id_number=DECEASED_ID, relation="self",
                      bank_card=DECEASED_CARD)
    # Reported, no heir entered yet: the deceased (the only person, with an account) is not the payee.
    assert claim_json_from_store(store, claim_id)["payee_person_id"] is None
    section = stored_payee_section(render_claim_pdf(store, claim_id, "claim_application", out_dir=tmp_path))
    assert DECEASED not in section and DECEASED_ID not in section and DECEASED_CARD[:8] not in section
    # The heir is entered without an account yet: the boxes stay for hand-filling.
    store.persons.add(claim_id, role_in_claim="heir", name=HEIR, id_number=HEIR_ID, relation="spouse")
    claim = claim_json_from_store(store, claim_id)
    assert claim["payee_person_id"] is None
    section = stored_payee_section(render_claim_pdf(store, claim_id, "claim_application", out_dir=tmp_path))
    assert DECEASED not in section and DECEASED_ID not in section and HEIR not in section


def test_stored_loss_items_are_printed_on_the_inventory(store, tmp_path):
    claim_id = store.claims.create(coverage="natural_disaster", role="liaison", township_code="500111100",
                                   incident_at="2026-07-14T03:10:00+08:00", loss_types=["house", "medical"],
                                   description="滑坡", claimed_amount_fen=ITEMS_TOTAL)
    store.persons.add(claim_id, role_in_claim="victim", name=DECEASED, id_number=DECEASED_ID, relation="self")
    store.claims.update(claim_id, loss_items=copy.deepcopy(ITEMS))
    claim = claim_json_from_store(store, claim_id)
    assert [i["description"] for i in claim["loss_items"]] == [i["description"] for i in ITEMS]
    text = "".join(page_texts(render_claim_pdf(store, claim_id, "loss_inventory", out_dir=tmp_path).read_bytes()))
    for i in ITEMS:
        assert squash(i["description"]) in text and format_fen(i["amount_fen"]) in text
    assert f"合计{format_fen(ITEMS_TOTAL)}" in text and format_fen_capital(ITEMS_TOTAL) in text
    assert "2019-05-01" in text and "浸泡霉变" in text
