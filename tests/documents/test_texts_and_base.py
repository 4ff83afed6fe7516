"""The forms' words as data, and the reusable page layer (pdflayer.page)."""
from __future__ import annotations

import io
import json

import pytest
from pypdf import PdfReader

from claimcore.catalogue import TEMPLATE_CODES, load_catalogue
from fieldapp.documents import TEMPLATES
from fieldapp.documents.texts import LANGS, TemplateTextError, Texts, load_texts, templates_dir
from pdflayer.page import NO_LINE_END, NO_LINE_START, FormPDF, PageFurniture
from tests.documents.conftest import load_worked_claim, squash


def test_every_template_has_a_text_file_with_both_languages():
    for name in (*TEMPLATES, "common"):
        data = json.loads((templates_dir() / f"{name}.json").read_text(encoding="utf-8"))
        assert data["template"] == name
        for key, entry in data["texts"].items():
            assert set(entry) == set(LANGS), (name, key)
            assert entry["zh"].strip() or key.endswith(".text"), (name, key)


def test_templates_agree_with_the_catalogue():
    catalogue = load_catalogue()
    assert set(TEMPLATES) == set(TEMPLATE_CODES) == set(catalogue.templates)
    for document in catalogue.documents.values():
        if document.template:
            assert document.template in TEMPLATES, document.code


def test_a_missing_text_fails_loudly_naming_the_key():
    with pytest.raises(TemplateTextError, match="no_such_key"):
        Texts("checklist", "zh")["no_such_key"]
    with pytest.raises(TemplateTextError, match="not found"):
        load_texts("no_such_template")
    with pytest.raises(ValueError):
        Texts("checklist", "fr")


def test_chinese_wrapping_keeps_every_character_and_obeys_line_breaking_rules():
    pdf = FormPDF(PageFurniture(programme="测试", page_format="{page}/{pages}"))
    pdf.add_page()
    text = (load_worked_claim()["description"] + "（括号不应留在行尾）报案号DZJZ2026071400038不拆开。"
            + "户籍所在地派出所或村（居）民委员会" * 3)
    for width in (51.28, 60, 97.3, 180):
        lines = pdf.wrap(text, width).split("\n")
        assert "".join(lines) == text.replace("\n", "")
        for line in lines:
            assert pdf.get_string_width(line) <= width - 2 * pdf.c_margin
            assert not line or line[0] not in NO_LINE_START, line
            assert not line or line[-1] not in NO_LINE_END, line
        assert any("DZJZ2026071400038" in line for line in lines)


def test_page_layer_is_usable_on_its_own_for_reports():
    """What the server's reports reuse: furniture, headings, ruled tables that repeat their
    heading over pages, Chinese text that extracts back."""
    furniture = PageFurniture(programme="大足区巨灾保险 季度报告", page_format="第 {page} 页 共 {pages} 页",
                              reference="2026年第3季度")
    pdf = FormPDF(furniture)
    pdf.add_page()
    pdf.title_block("理赔案件汇总", "（按险种）")
    rows = [(f"险种{i}", str(i), f"{i * 1000:,}.00") for i in range(80)]
    pdf.data_table(["险种", "件数", "赔款（元）"], rows, col_widths=(3, 1, 2), align="LRR")
    pdf.opinion_boxes([("区金融发展事务中心意见：", "")], seal_label="盖章", signature_label="经办人：",
                      date_blank="年　月　日", columns=1)
    reader = PdfReader(io.BytesIO(pdf.output_bytes()))
    assert len(reader.pages) >= 3
    texts = [squash(page.extract_text()) for page in reader.pages]
    table_pages = [text for text in texts if "险种7" in text]
    assert len(table_pages) >= 2
    for number, text in enumerate(texts, start=1):
        assert f"第{number}页共{len(texts)}页" in text
    for text in table_pages:
        assert "险种件数赔款（元）" in text  # heading repeated on every page of the table
    joined = "".join(texts)
    assert all(f"险种{i}" in joined for i in range(80))
    assert "79,000.00" in joined and "盖章" in joined


def test_documents_stay_phone_safe():
    """The phone build carries fieldapp.documents: it must not pull in Flet or the server."""
    import subprocess
    import sys

    code = ("import sys, fieldapp.documents, fieldapp.documents.cli, fieldapp.documents.forms.checklist;"
            "bad = [m for m in sys.modules if m.split('.')[0] in ('flet', 'sync_server', 'fastapi', 'sqlalchemy')];"
            "print(bad); sys.exit(1 if bad else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
