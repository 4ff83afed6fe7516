"""Quarterly review / annual report: data totals, XLSX sheets and totals, PDF with Chinese text."""
from __future__ import annotations

import datetime as dt
import io
import re
import shutil
import subprocess
from datetime import date

import pytest

from sync_server.fund import rules as f
from sync_server.reports import rules as reports
from sync_server.reports.render_pdf import to_pdf
from sync_server.reports.render_xlsx import SHEETS, to_xlsx

CN = dt.timezone(dt.timedelta(hours=8))
INSURERS = {"picc": "人保财险大足支公司", "cpic": "太平洋财险大足支公司", "pingan": "平安财险大足支公司"}


def at(m, d, h=9):
    return dt.datetime(2026, m, d, h, tzinfo=CN)


CLAIMS = [
    {"id": "1", "coverage": "natural_disaster", "township_code": "500111100", "status": "paid",
     "claimed_amount_fen": 500_000, "paid_amount_fen": 450_000, "reported_at": at(7, 1),
     "surveyed_at": at(7, 2), "documents_complete_at": at(7, 10), "paid_at": at(7, 20)},
    {"id": "2", "coverage": "natural_disaster", "township_code": "500111102", "status": "collecting",
     "claimed_amount_fen": 120_000, "paid_amount_fen": None, "reported_at": at(8, 3),
     "surveyed_at": at(8, 6), "documents_complete_at": None, "paid_at": None},
    {"id": "3", "coverage": "falling_object", "township_code": "500111100", "status": "paid",
     "claimed_amount_fen": 2_000_000, "paid_amount_fen": 1_500_000, "reported_at": at(9, 30, 23),
     "surveyed_at": at(10, 1), "documents_complete_at": at(10, 8), "paid_at": at(10, 30)},
    # outside Q3: reported on 1 October China time
    {"id": "4", "coverage": "drowning", "township_code": "500111100", "status": "reported",
     "claimed_amount_fen": 99, "paid_amount_fen": None, "reported_at": at(10, 1, 0)},
]
HISTORY = [
    {"at": at(7, 1, 10).isoformat(), "insurer_code": "cpic", "claim_id": "1", "kind": "assigned"},
    {"at": at(7, 1, 11).isoformat(), "insurer_code": "cpic", "claim_id": "1", "kind": "accepted"},
    {"at": at(8, 3, 11).isoformat(), "insurer_code": "pingan", "claim_id": "2", "kind": "declined"},
    {"at": at(8, 3, 12).isoformat(), "insurer_code": "cpic", "claim_id": "2", "kind": "accepted"},
    {"at": at(9, 30, 12).isoformat(), "insurer_code": "pingan", "claim_id": "3", "kind": "accepted"},
]


def make_report():
    entries = [f.FundEntry(f.CONTRIBUTION, date(2026, 7, 2), 300_000, c) for c in INSURERS]
    entries.append(f.FundEntry(f.SPENDING, date(2026, 8, 1), 12_345, "cpic", f.SURVEY))
    shares = {"picc": 5000, "cpic": 2500, "pingan": 2500}
    fund = f.quarterly_disclosure(entries, shares, 2026, 3).as_dict()
    return reports.build_report("quarterly", 2026, 3, CLAIMS, HISTORY, fund, INSURERS,
                                {"500111100": "龙水镇", "500111102": "宝顶镇"}, demo=True)


def test_report_data_counts_and_durations():
    r = make_report()
    assert r["claims"]["total"] == 3  # claim 4 was reported in Q4 (China time)
    assert {x["code"]: x["count"] for x in r["claims"]["by_coverage"]} == {
        "natural_disaster": 2, "falling_object": 1}
    assert r["amounts"] == {"claimed_fen": 2_620_000, "paid_fen": 1_950_000}
    d = r["durations_days"]
    # report→survey: 1, 3, 0 (23:00 → 09:00 next day is 10 h: 0 whole days)
    assert (d["report_to_survey"]["measured"], d["report_to_survey"]["max"]) == (3, 3)
    assert d["report_to_payment"]["measured"] == 2  # claim 2 unpaid
    rot = {x["insurer_code"]: x for x in r["rotation"]["insurers"]}
    assert rot["cpic"]["by_month"] == {"2026-07": 1, "2026-08": 1, "2026-09": 0}
    assert rot["pingan"]["total"] == 1  # its decline is not participation
    assert r["fund"]["closing_fen"] == 900_000 - 12_345


def test_xlsx_has_the_sheets_and_totals():
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(to_xlsx(make_report())))
    assert wb.sheetnames == [*SHEETS, "回顾会议"]
    ws = wb["按险种"]
    last = [c.value for c in ws[ws.max_row]]
    assert last[0] == "合计" and last[2:] == [3, 2_620_000, 1_950_000]
    rot = wb["查勘轮值"]
    assert [c.value for c in rot[rot.max_row]][-1] == 3
    fund = wb["工作经费"]
    row = [c.value for c in fund[2]]  # in yuan, as the headers say
    assert row[0] == "2026Q3" and row[2] == 9_000.00 and row[-1] == 8_876.55


def test_pdf_has_chinese_text_and_renders(tmp_path):
    from pypdf import PdfReader

    data = to_pdf(make_report())
    assert data.startswith(b"%PDF")
    # pypdf puts spaces between CJK runs: compare without whitespace
    text = re.sub(r"\s+", "", "".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages))
    for phrase in ("2026年第3季度巨灾保险理赔工作回顾", "自然灾害", "龙水镇", "工作经费收支", "演示数据"):
        assert phrase in text
    path = tmp_path / "report.pdf"
    path.write_bytes(data)
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (poppler-utils) not installed: PNG rendering not checked")
    subprocess.run(["pdftoppm", "-png", "-r", "50", "-f", "1", "-l", "1", str(path), str(tmp_path / "page")],
                   check=True)
    pngs = list(tmp_path.glob("page*.png"))
    assert pngs and pngs[0].stat().st_size > 5000
    out = tmp_path.parent / "report-page1.png"
    shutil.copyfile(pngs[0], out)


def test_bad_period_is_refused():
    with pytest.raises(reports.ReportError, match="quarter"):
        reports.build_report("quarterly", 2026, 5, [], [], None, INSURERS)
