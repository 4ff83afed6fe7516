"""Every template rendered for the worked claim, read back with pypdf.

The worked claim's victim is 王堃 and the applicant 李犇 (rare characters that the smaller GB2312
font subset lacks), its amounts carry fen, and its account of events is long enough to run over a
page break. Reading the text back proves the glyphs map to the right Unicode, not just that
something was drawn.
"""
from __future__ import annotations

import io
import logging
import re
import statistics
import time

import pytest
from fontTools.ttLib import TTFont
from PIL import Image
from pypdf import PdfReader

from claimcore.money import format_fen, format_fen_capital
from fieldapp.documents import TEMPLATES, UnknownTemplate, render
from fieldapp.documents.forms.base import qr_content
from pdflayer.page import font_path
from tests.documents.conftest import load_worked_claim, page_texts, squash

CLAIM = load_worked_claim()
VICTIM, APPLICANT, AGENT = "王堃", "李犇", "张晓梅"
REPORT_NO = CLAIM["report_no"]


@pytest.fixture(scope="module")
def rendered() -> dict[str, bytes]:
    return {template: render(template, CLAIM) for template in TEMPLATES}


@pytest.fixture(scope="module")
def blanks() -> dict[str, bytes]:
    return {template: render(template, None) for template in TEMPLATES}


def all_text(pdf: bytes) -> str:
    return "".join(page_texts(pdf))


def test_rare_name_characters_are_in_the_embedded_font():
    cmap = TTFont(font_path(), lazy=True).getBestCmap()
    for char in VICTIM + APPLICANT + "垚喆镕":
        assert ord(char) in cmap, char


@pytest.mark.parametrize("template", TEMPLATES)
def test_every_template_carries_report_number_and_names(rendered, template):
    text = all_text(rendered[template])
    assert REPORT_NO in text
    assert VICTIM in text
    if template != "disaster_certificate":  # the certificate names the household head only
        assert APPLICANT in text


@pytest.mark.parametrize("template", TEMPLATES)
def test_pages_are_numbered_and_linked_to_the_claim(rendered, template):
    pages = page_texts(rendered[template])
    link = qr_content(CLAIM)
    for number, text in enumerate(pages, start=1):
        assert f"第{number}页共{len(pages)}页" in text
        assert f"{REPORT_NO}" in text
        assert link in text  # the QR content printed small in the footer, readable by a person


@pytest.mark.parametrize("template", TEMPLATES)
def test_qr_code_on_every_page_decodes_to_the_claim_link(rendered, template):
    zxingcpp = pytest.importorskip("zxingcpp")
    reader = PdfReader(io.BytesIO(rendered[template]))
    for page in reader.pages:
        images = page.images
        assert len(images) == 1
        image = Image.open(io.BytesIO(images[0].data)).convert("L")
        image = image.resize((image.width * 4, image.height * 4), Image.NEAREST)
        decoded = [result.text for result in zxingcpp.read_barcodes(image)]
        assert decoded == [f"dazu-claim:{CLAIM['claim_id']}?report={REPORT_NO}"]


def test_claim_application_is_filled_in(rendered):
    text = all_text(rendered["claim_application"])
    victim, claimant, payee, agent = CLAIM["persons"]
    for expected in (
        "自然灾害救助保险", "龙水镇", "五金社区", CLAIM["address"], CLAIM["policy_no"],
        "2026年7月14日03时10分", "医疗费用、房屋及室内财产",
        victim["id_number"], claimant["id_number"], agent["id_number"], victim["phone"],
        "配偶", "龙水镇联络员", AGENT,
        payee["bank_name"],
        payee["bank_account"],  # the full number: only this printout carries it
    ):
        assert squash(expected) in text, expected
    for loss in CLAIM["losses"]:
        assert squash(loss["item"]) in text
        assert format_fen(loss["amount_fen"]) in text
    medical = sum(x["amount_fen"] for x in CLAIM["losses"] if x["loss_type"] == "medical")
    house = sum(x["amount_fen"] for x in CLAIM["losses"] if x["loss_type"] == "house")
    assert format_fen(medical) in text and format_fen(house) in text
    assert format_fen(medical + house) in text  # 44,829.11
    assert format_fen_capital(medical + house) in text
    assert format_fen(CLAIM["other_compensation_fen"]) in text
    assert "城乡居民基本医疗保险报销" in text
    assert "个人信息处理同意" in text and "敏感个人信息" in text  # PIPL consent
    assert "申请人：李犇（配偶）签字并按手印" in text
    for office in ("村（居）民委员会意见", "镇人民政府（街道办事处）意见", "区金融发展事务中心意见",
                   "中国人民财产保险股份有限公司大足支公司意见"):
        assert office in text
    assert text.count("盖章") >= 4


def test_account_of_events_runs_over_a_page_break_without_losing_a_character(rendered):
    pages = page_texts(rendered["claim_application"])
    description = squash(CLAIM["description"])
    first_page = next(i for i, page in enumerate(pages) if description[:30] in page)
    last_page = next(i for i, page in enumerate(pages) if description[-30:] in page)
    assert last_page > first_page
    # Drop what the page break puts between the two parts (footer, header, QR caption), then the
    # account must read through exactly as written.
    furniture = re.compile(
        r"第\d+页共\d+页"
        + re.escape(qr_content(CLAIM))
        + r"扫码关联案件重庆市大足区巨灾保险报案号："
        + re.escape(REPORT_NO)
    )
    joined = furniture.sub("", "".join(pages[first_page : last_page + 1]))
    assert description in joined


def test_disaster_certificate_is_filled_with_the_household(rendered):
    text = all_text(rendered["disaster_certificate"])
    household = CLAIM["household"]
    for expected in (
        household["head_id_number"], "大足区龙水镇五金社区五金街后巷17号", "4人", household["disaster_type"],
        "死亡0人受伤1人失踪0人", "一楼厨房", "倒塌", "严重损坏", "一般损坏", "墙体多条裂缝，门窗变形",
        format_fen(household["contents_loss_fen"]), "■是□否", squash(household["relocated_to"]),
        squash(household["verifier"]), "2026年7月14日", "村（居）民委员会意见", "镇人民政府（街道办事处）意见",
    ):
        assert squash(expected) in text, expected


def test_power_of_attorney_names_principal_agent_and_scope(rendered):
    text = all_text(rendered["power_of_attorney"])
    assert f"代为办理受害人{VICTIM}在重庆市大足区巨灾保险自然灾害救助保险项下（报案号：{REPORT_NO}）" in text
    for expected in (APPLICANT, "500111196001010527", AGENT, "500111198507060424", "龙水镇联络员",
                     "报案及提交索赔申请", "代为领取赔款", "自2026年7月15日起至本案理赔结案止"):
        assert expected in text, expected
    # Four powers are ticked; receiving the payment was not granted.
    assert text.count("√") == 4 + 1  # plus the √ in the instruction (打“√”者为委托事项)


def test_loss_inventory_lists_property_only_with_total(rendered):
    text = all_text(rendered["loss_inventory"])
    house = [loss for loss in CLAIM["losses"] if loss["loss_type"] == "house"]
    for loss in house:
        assert squash(loss["item"]) in text
        assert format_fen(loss["amount_fen"]) in text
        assert format_fen(loss["unit_price_fen"]) in text
    assert "18.5" in text
    total = sum(loss["amount_fen"] for loss in house)
    assert format_fen(total) in text and format_fen_capital(total) in text
    assert "住院医疗费用" not in text  # medical bills are not property


def test_checklist_shows_collected_and_missing_with_issuers(rendered):
    text = all_text(rendered["checklist"])
    for expected in ("索赔资料清单", "气象证明", "区气象局", "受灾证明", "镇街或村（社区）", "医疗费用原始发票",
                     "√已核验", "√已收", "尚缺", "★授权委托书", "（由他人代为申请时）"):
        assert expected in text, expected
    assert "目前还缺6项资料" in text
    assert "1.授权委托书—委托人签署" in text


def test_checklist_explains_two_of_three_groups(claim):
    claim["loss_types"] = ["death"]
    claim["losses"] = [{"loss_type": "death", "item": "身故救助金", "amount_fen": 10000000}]
    claim["document_statuses"] = {"death_medical_certificate": "collected", "cremation_certificate": "not_applicable"}
    text = all_text(render("checklist", claim))
    assert "3选2" in text
    assert "居民死亡医学证明（推断）书、户籍注销证明、火化证，3项中提供任意2项即可" in text
    assert "死亡证明（三项中提供两项）：还需提供户籍注销证明" in text


@pytest.mark.parametrize("template", TEMPLATES)
def test_blank_forms_render_without_any_claim_data(blanks, template):
    pdf = blanks[template]
    text = all_text(pdf)
    assert text  # the form's own words are there
    for value in (REPORT_NO, VICTIM, APPLICANT, AGENT, "500111195803120029", "6222023100001234561",
                  "五金社区", "dazu-claim:", "18,634.57", "自然灾害救助保险" if template != "checklist" else REPORT_NO):
        assert value not in text, value
    reader = PdfReader(io.BytesIO(pdf))
    assert all(not page.images for page in reader.pages)  # no QR: nothing to link to
    pages = page_texts(pdf)
    for number, page in enumerate(pages, start=1):
        assert f"第{number}页共{len(pages)}页" in page


def test_blank_checklist_covers_every_loss_type_and_coverage(blanks):
    text = all_text(blanks["checklist"])
    for expected in ("身故", "伤残", "医疗费用", "房屋及室内财产", "安置费用", "见义勇为确认书", "气象证明",
                     "公共区域溺水事故认定文件", "3选2"):
        assert expected in text, expected


@pytest.mark.parametrize("template", TEMPLATES)
def test_english_versions_render(template):
    text = all_text(render(template, CLAIM, lang="en"))
    assert REPORT_NO in text and VICTIM in text
    assert "Page1of" in text


def test_no_glyph_is_missing_from_the_font(caplog):
    with caplog.at_level(logging.WARNING, logger="fpdf"):
        for template in TEMPLATES:
            render(template, CLAIM)
            render(template, None)
    assert not [r for r in caplog.records if "missing" in r.getMessage()]


def test_unknown_template_and_language_are_refused():
    with pytest.raises(UnknownTemplate, match="claim_application"):
        render("claim_form", CLAIM)
    with pytest.raises(ValueError, match="zh or en"):
        render("checklist", CLAIM, lang="fr")


def test_render_does_not_change_the_callers_claim(claim):
    before = repr(claim)
    claim["persons"][0]["id_number"] = claim["persons"][0]["id_number"].replace("9", "9")
    render("claim_application", claim)
    assert repr(claim) == before


def test_rendering_time_of_one_application(capsys):
    """Measured, not asserted (the machine is shared): wall clock and this process's CPU time."""
    render("claim_application", CLAIM)  # warm: imports, catalogue, font file in the page cache
    wall, cpu = [], []
    for _ in range(5):
        started, started_cpu = time.perf_counter(), time.process_time()
        render("claim_application", CLAIM)
        wall.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    with capsys.disabled():
        print(f"\nclaim_application render over {len(wall)} runs: wall median {statistics.median(wall) * 1000:.0f} ms "
              f"(min {min(wall) * 1000:.0f}), CPU median {statistics.median(cpu) * 1000:.0f} ms "
              f"(min {min(cpu) * 1000:.0f})")


def test_a_character_outside_the_font_prints_as_a_visible_box(claim, caplog):
    """王䶮 must never print as 王: 䶮 (CJK Extension A) is not in the GBK subset, so the form shows
    王□ for the character to be written in by hand, and the gap is logged."""
    claim["persons"][0]["name"] = "王䶮"
    with caplog.at_level(logging.WARNING, logger="pdflayer.page"):
        text = all_text(render("claim_application", claim))
    assert "受害人王□" in text
    assert any("U+4DAE" in record.getMessage() for record in caplog.records)


@pytest.mark.parametrize("template", ["claim_application", "loss_inventory"])
def test_without_itemised_losses_no_total_is_printed(template):
    """A claim whose losses are not itemised yet must not carry a printed 0.00 / 零元整: the
    family would sign a false amount."""
    claim = {**CLAIM, "losses": []}
    text = all_text(render(template, claim))
    assert "0.00" not in text and "零元整" not in text
    assert REPORT_NO in text and VICTIM in text
