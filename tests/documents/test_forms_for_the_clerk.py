"""Printed forms a clerk would not question: empty opinion boxes, a signature-and-fingerprint line
for every heir, addresses without the committee's name, the household head's ID, the inventory's
purchase-date and extent-of-damage columns, the resettlement rider on the blank checklist, and the
lead insurer by its registered name. Every point is read back from the PDF text (pypdf).
"""
from __future__ import annotations

import copy
import re

import pytest

from fieldapp.documents import TEMPLATES, ClaimJsonError, places, render, validate_claim_json
from fieldapp.documents.from_store import claim_json_from_store, render_claim_pdf
from fieldapp.documents.texts import LEAD_INSURER, Texts, load_texts, templates_dir
from fieldapp.store import open_store
from tests.documents.conftest import load_worked_claim, page_texts, squash

LEAD_INSURER_ZH = "中国人民财产保险股份有限公司大足支公司"
SHORT_INSURER = "人保财险大足支公司"
DECEASED, DECEASED_ID = "王堃", "500111195803120029"
# Three heirs, the last with a long name that must wrap inside its column, never be clipped.
HEIRS = [
    ("李犇", "500111196001010527", "配偶"),
    ("王小明", "500111198503120012", "子女"),
    ("欧阳娜仁托雅·阿不都热合曼", "500111198806150024", "子女"),
]
AGENT, AGENT_ID = "张晓梅", "500111198507060424"
OPINION_CAPTIONS = {
    "claim_application": ("村（居）民委员会意见：", "镇人民政府（街道办事处）意见：", "区金融发展事务中心意见：",
                          f"{LEAD_INSURER_ZH}意见："),
    "disaster_certificate": ("村（居）民委员会意见：", "镇人民政府（街道办事处）意见："),
    "loss_inventory": ("村（居）民委员会意见：",),
}
TEMPLATE_TEXT_FILES = sorted(p.stem for p in templates_dir().glob("*.json"))


def all_text(pdf: bytes) -> str:
    return "".join(page_texts(pdf))


def death_claim_with_three_heirs() -> dict:
    claim = load_worked_claim()
    claim["loss_types"] = ["death", "house"]
    claim["losses"] = [
        {"loss_type": "death", "item": "身故救助金", "amount_fen": 10000000},
        {"loss_type": "house", "item": "冰箱（海尔BCD-216）", "quantity": 1, "unit_price_fen": 189999,
         "amount_fen": 189999},
    ]
    claim["document_statuses"] = {}
    claim["persons"] = [{"role": "victim", "name": DECEASED, "id_number": DECEASED_ID}]
    claim["persons"] += [{"role": "claimant", "name": name, "id_number": number, "relation": relation}
                         for name, number, relation in HEIRS]
    claim["persons"].append({"role": "agent", "name": AGENT, "id_number": AGENT_ID, "relation": "龙水镇联络员"})
    del claim["household"]
    return claim


def signature_lines(text: str, role: str) -> list[str]:
    """Each printed "〈role〉：name（relation）签字并按手印" line, in print order."""
    return re.findall(re.escape(role) + r"：([^：]+?)签字并按手印：", text)


# ---- opinion boxes stay empty -------------------------------------------------------------------

CLAIMS = {"worked": load_worked_claim, "three heirs": death_claim_with_three_heirs, "blank": lambda: None}


@pytest.mark.parametrize("which", CLAIMS)
@pytest.mark.parametrize("template", TEMPLATES)
def test_nothing_is_pre_printed_as_confirmed(template, which):
    claim = CLAIMS[which]()
    text = all_text(render(template, claim))
    # The worked claim's own account of events says 以上情况属实 in the family's words; that is theirs
    # to write. No form adds the words on the officials' behalf.
    if claim is not None:
        text = text.replace(squash(claim["description"]), "")
        text = re.sub(r"以上情况属实。(?=其他说明)", "", text)  # the same sentence split over a page
    assert "情况属实" not in text and "核实属实" not in text


@pytest.mark.parametrize("template", sorted(OPINION_CAPTIONS))
@pytest.mark.parametrize("which", ["worked", "three heirs"])
def test_each_opinion_box_holds_only_its_caption_seal_and_signature_line(template, which):
    text = all_text(render(template, CLAIMS[which]()))
    for caption in OPINION_CAPTIONS[template]:
        assert caption + "盖章" in text, caption  # nothing between the caption and the seal mark


def test_the_template_texts_carry_no_pre_printed_opinion():
    for name in TEMPLATE_TEXT_FILES:
        for key, entry in load_texts(name).items():
            assert not key.endswith(".text") or not key.startswith("opinion."), (name, key)
            assert "属实" not in entry["zh"], (name, key)


# ---- every heir signs and fingerprints ----------------------------------------------------------

def test_the_application_has_a_signature_and_fingerprint_line_per_heir():
    text = all_text(render("claim_application", death_claim_with_three_heirs()))
    section = text[text.index("六、申请人声明"):text.index("七、审核意见及盖章")]
    assert signature_lines(section, "申请人") == [f"{name}（{relation}）" for name, _, relation in HEIRS]
    assert section.count("按手印") == len(HEIRS)
    assert DECEASED not in section  # the deceased signs nothing


def test_the_power_of_attorney_lists_and_has_signed_every_principal():
    claim = death_claim_with_three_heirs()
    text = all_text(render("power_of_attorney", claim))
    principals = text[text.index("委托人"):text.index("受托人")]
    for number, (name, id_number, relation) in enumerate(HEIRS, start=1):
        assert f"{number}{name}{id_number}" in principals, name
        assert relation in principals
    assert signature_lines(text, "委托人") == [f"{name}（{relation}）" for name, _, relation in HEIRS]
    assert AGENT in text and AGENT_ID in text and "受托人（签字）" in text


def test_the_loss_inventory_has_a_line_per_heir_and_names_them_all():
    text = all_text(render("loss_inventory", death_claim_with_three_heirs()))
    assert signature_lines(text, "申请人") == [f"{name}（{relation}）" for name, _, relation in HEIRS]
    assert "申请人" + "、".join(name for name, _, _ in HEIRS) in text
    assert len(page_texts(render("loss_inventory", death_claim_with_three_heirs()))) == 1  # still one page


def test_a_living_victim_filing_alone_signs_one_line_as_self():
    claim = load_worked_claim()
    claim["persons"] = [p for p in claim["persons"] if p["role"] in ("victim", "agent")]
    text = all_text(render("claim_application", claim))
    assert signature_lines(text, "申请人") == [f"{DECEASED}（本人）"]
    attorney = all_text(render("power_of_attorney", claim))
    assert signature_lines(attorney, "委托人") == [f"{DECEASED}（本人）"]


def test_a_death_claim_without_heirs_yet_leaves_lines_for_them_and_says_so():
    claim = death_claim_with_three_heirs()
    claim["persons"] = [p for p in claim["persons"] if p["role"] != "claimant"]
    text = all_text(render("claim_application", claim))
    assert text.count("申请人（签字并按手印）") == 3 and "身故案件由每位继承人各签一行并按手印" in text
    assert signature_lines(text, "申请人") == []
    attorney = all_text(render("power_of_attorney", claim))
    assert attorney.count("委托人（签字并按手印）") == 3 and DECEASED + "（本人）" not in attorney


def test_the_blank_forms_have_lines_for_several_heirs():
    assert all_text(render("claim_application", None)).count("申请人（签字并按手印）") == 3
    assert all_text(render("power_of_attorney", None)).count("委托人（签字并按手印）") == 3


def test_a_family_too_large_for_a_page_keeps_each_line_whole():
    claim = death_claim_with_three_heirs()
    names = ["赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨"[i] + "某" * (1 + i % 3) for i in range(16)]
    numbers = ["500111199001010037"] * 16
    claim["persons"] = claim["persons"][:1] + [
        {"role": "claimant", "name": n, "id_number": x, "relation": "子女"} for n, x in zip(names, numbers)]
    pages = page_texts(render("claim_application", claim))
    found = [name for page in pages for name in signature_lines(page, "申请人")]
    assert found == [f"{n}（子女）" for n in names]  # every line on one page, none lost


# ---- addresses name the place, not the committee ------------------------------------------------

def test_village_place_names_drop_the_committee():
    assert places.village_name("500111102200") == "车家村村民委员会"
    assert places.village_place_name("500111102200") == "车家村"
    assert places.village_place_name("500111100002") == "五金社区"
    assert places.village_place_name("999") is None


@pytest.mark.parametrize("template", ["disaster_certificate", "loss_inventory", "checklist"])
def test_the_address_reads_as_a_postal_address(template):
    claim = load_worked_claim()
    claim.update(township_code="500111102", village_code="500111102200", address="4组18号")
    del claim["household"]
    text = all_text(render(template, claim))
    assert "大足区宝顶镇车家村4组18号" in text
    assert "委员会车家村" not in text and "车家村村民委员会" not in text


def test_the_application_names_the_village_as_a_place():
    claim = load_worked_claim()
    claim.update(township_code="500111102", village_code="500111102200", address="4组18号")
    text = all_text(render("claim_application", claim))
    assert "村（社区）车家村" in text and "村民委员会" not in text


# ---- the household head's ID --------------------------------------------------------------------

def test_a_head_named_without_a_number_gets_the_number_of_that_person():
    claim = load_worked_claim()
    claim["household"] = {"head_name": "李犇", "size": 4}
    text = all_text(render("disaster_certificate", claim))
    # Full, as every form prints ID numbers (the printout is where full numbers belong).
    assert "户主姓名李犇身份证号码500111196001010527" in text


def test_a_head_with_a_number_prints_it_and_without_a_head_the_victim_is_printed():
    claim = load_worked_claim()
    claim["household"] = {"head_name": "王大山", "head_id_number": "500111199001010037"}
    assert "户主姓名王大山身份证号码500111199001010037" in all_text(render("disaster_certificate", claim))
    del claim["household"]
    assert f"户主姓名{DECEASED}身份证号码{DECEASED_ID}" in all_text(render("disaster_certificate", claim))


def test_a_head_nobody_on_the_claim_is_named_after_leaves_the_number_to_write_in():
    claim = load_worked_claim()
    claim["household"] = {"head_name": "王大山"}
    text = all_text(render("disaster_certificate", claim))
    assert "户主姓名王大山身份证号码详细地址" in text  # blank, never another person's number


# ---- the loss inventory -------------------------------------------------------------------------

def test_hand_written_loss_lines_carry_purchase_date_and_extent_of_damage():
    claim = load_worked_claim()
    claim["losses"][4].update(purchase_date="2019-05-01", damage_extent="全损")
    claim["losses"][6].update(damage_extent="浸泡霉变")
    text = all_text(render("loss_inventory", claim))
    assert "购置日期" in text and "损失程度" in text
    assert "冰箱（海尔BCD-216）11,899.992019-05-01全损1,899.99" in text
    assert "稻谷（斤）6001.35浸泡霉变810.00" in text


def test_old_loss_lines_without_the_new_keys_still_render():
    text = all_text(render("loss_inventory", load_worked_claim()))
    assert "洗衣机11,299.001,299.00" in text  # both columns left empty to fill in by hand


def test_the_new_loss_line_keys_are_checked():
    claim = load_worked_claim()
    claim["losses"][4].update(purchase_date="2019-13-01", damage_extent="全" * 51)
    with pytest.raises(ClaimJsonError) as caught:
        validate_claim_json(claim)
    problems = caught.value.problems
    assert any(p.startswith("losses[4].purchase_date: not an ISO 8601 date") for p in problems)
    assert any(p.startswith("losses[4].damage_extent: longer than 50") for p in problems)


# ---- the checklist ------------------------------------------------------------------------------

def test_the_blank_checklist_has_a_row_for_the_resettlement_rider():
    text = all_text(render("checklist", None))
    causes = text[text.index("事故原因证明（按险种"):]
    assert "附加安置费用救助保险与所附主险（火灾、爆炸救助保险或自然灾害救助保险）相同的事故原因证明同主险" in causes
    english = all_text(render("checklist", None, lang="en"))
    assert "Asforthemaincoverage" in english


# ---- the lead insurer's registered name ---------------------------------------------------------

def test_the_application_names_the_lead_insurer_in_full():
    text = all_text(render("claim_application", load_worked_claim()))
    assert f"首席承保人：{LEAD_INSURER_ZH}" in text  # the policy line
    assert f"首席承保人{LEAD_INSURER_ZH}及各共保公司" in text  # the consent
    assert f"{LEAD_INSURER_ZH}意见：" in text  # the insurer's opinion box
    blank = all_text(render("claim_application", None))
    assert blank.count(LEAD_INSURER_ZH) == 3 and SHORT_INSURER not in blank.replace(LEAD_INSURER_ZH, "")


def test_the_name_is_one_constant_used_by_every_template_text():
    assert LEAD_INSURER["zh"] == LEAD_INSURER_ZH and LEAD_INSURER["en"]
    for name in TEMPLATE_TEXT_FILES:
        for key, entry in load_texts(name).items():
            assert SHORT_INSURER not in entry["zh"] and LEAD_INSURER_ZH not in entry["zh"], (name, key)
            assert "PICC" not in entry["en"], (name, key)
    assert Texts("claim_application", "zh")["opinion.insurer"] == f"{LEAD_INSURER_ZH}意见："
    assert LEAD_INSURER["en"] in Texts("claim_application", "en")["policy_holder_line"]


# ---- from the phone's store ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def store(tmp_path_factory):
    s = open_store(tmp_path_factory.mktemp("phone") / "data")
    yield s
    s.close()


def test_a_stored_household_head_and_heirs_reach_the_forms(store, tmp_path):
    claim_id = store.claims.create(coverage="natural_disaster", role="liaison", township_code="500111102",
                                   village_code="500111102200", address="4组18号",
                                   incident_at="2026-07-14T03:10:00+08:00", loss_types=["death", "house"],
                                   description="山洪冲毁房屋，户主之父遇难。")
    store.persons.add(claim_id, role_in_claim="victim", name=DECEASED, id_number=DECEASED_ID, relation="self")
    for name, number, _ in HEIRS:
        store.persons.add(claim_id, role_in_claim="heir", name=name, id_number=number, relation="child")
    store.persons.add(claim_id, role_in_claim="household_head", name="王大山", id_number="500111199001010037")
    claim = claim_json_from_store(store, claim_id)
    assert claim["household"] == {"head_name": "王大山", "head_id_number": "500111199001010037"}
    certificate = "".join(squash(t) for t in page_texts(
        render_claim_pdf(store, claim_id, "disaster_certificate", out_dir=tmp_path).read_bytes()))
    assert "户主姓名王大山身份证号码500111199001010037" in certificate
    assert "大足区宝顶镇车家村4组18号" in certificate
    application = all_text(render_claim_pdf(store, claim_id, "claim_application", out_dir=tmp_path).read_bytes())
    assert signature_lines(application, "申请人") == [f"{name}（子女）" for name, _, _ in HEIRS]


def test_a_claim_json_without_the_new_keys_is_unchanged_by_validation():
    claim = load_worked_claim()
    assert validate_claim_json(copy.deepcopy(claim))["losses"] == claim["losses"]
