"""The annual report as the notice wants it: the whole year's spending, tables whose header never
ends a page alone, co-insurers' full names, the demo mark on every page and sheet, each month's
floor, the year-end settlement, the written parts and their submission state."""
from __future__ import annotations

import datetime as dt
import io
import re
from datetime import date

from sync_server.fund import rules as f
from sync_server.reports import rules as reports
from sync_server.reports.render_pdf import to_pdf
from sync_server.reports.render_xlsx import to_xlsx

from .test_reports import CLAIMS, HISTORY

CN = dt.timezone(dt.timedelta(hours=8))
LONG_NAMES = {code: f"{n}财产保险股份有限公司重庆市大足支公司" for code, n in zip(
    ["cpic", "pingan", "chinalife", "ccic", "sunshine", "taiping", "ancheng", "huaan"],
    ["太平洋", "平安", "中国人寿", "大地", "阳光", "太平", "安诚", "华安"])}
SHARES = {"picc": 3000, **{c: 875 for c in LONG_NAMES}}
ALL_NAMES = {"picc": "人保财险大足支公司", **LONG_NAMES}


def _entries() -> list[f.FundEntry]:
    out = [f.FundEntry(f.CONTRIBUTION, date(2026, 1, 20), 100_000_00 * bp // 10_000, c) for c, bp in SHARES.items()]
    return out + [f.FundEntry(f.SPENDING, date(2026, 2, 1), 5_000_00, None, f.PUBLICITY),
                  f.FundEntry(f.SPENDING, date(2026, 5, 1), 3_000_00, None, f.COMMUNICATION),
                  f.FundEntry(f.SPENDING, date(2026, 11, 1), 2_000_00, None, f.SURVEY)]


NARRATIVE = {
    "year": 2026, "state": "submitted", "state_name": "已提交，待区金融中心审查", "frozen": True, "revision": 2,
    "sections": [{"key": "case_analysis", "title": "案件分析", "text": "全年暴雨案件占七成。"},
                 {"key": "publicity", "title": "宣传效果", "text": "进村入户宣传二十场。"},
                 {"key": "shortcomings", "title": "存在的不足", "text": "资料收集偏慢。"},
                 {"key": "next_steps", "title": "下一步工作打算", "text": "推行线上报案。"}],
    "updated_by": None, "updated_at": None,
    "submission": {"id": "s1", "revision": 2, "submitted_by": {"id": "u1", "name": "王理赔"},
                   "submitted_at": "2027-01-08T01:30:00+00:00", "withdrawn_by": None, "withdrawn_at": None,
                   "reviewed_by": None, "reviewed_at": None, "outcome": None, "review_comment": ""},
    "submissions": [],
}


def annual(claims=CLAIMS, towns=None, demo=True, **kw) -> dict:
    entries = _entries()
    fund = {"quarters": [f.quarterly_disclosure(entries, SHARES, 2026, q).as_dict() for q in (1, 2, 3, 4)]}
    positions = {c: {"owed_fen": 150_000_00, "demanded_fen": 100_000_00, "received_fen": 50_000_00,
                     "outstanding_fen": 100_000_00} for c in LONG_NAMES}
    return reports.build_report(
        "annual", 2026, None, claims, HISTORY, fund, LONG_NAMES, towns or {"500111100": "龙水镇"}, demo=demo,
        recoveries=positions, month_floor=2, as_of=dt.datetime(2027, 1, 10, tzinfo=CN),
        settlement=f.year_end_settlement(entries, SHARES, 2026), names=ALL_NAMES, narrative=NARRATIVE, **kw)


def pages_text(pdf: bytes) -> list[str]:
    from pypdf import PdfReader

    # pypdf puts spaces between CJK runs: compare without whitespace
    return [re.sub(r"\s+", "", p.extract_text()) for p in PdfReader(io.BytesIO(pdf)).pages]


def placed_text(pdf: bytes) -> list[tuple[int, int, str]]:
    """(page, baseline, text) of every text run."""
    from pypdf import PdfReader

    placed: list[tuple[int, int, str]] = []
    for n, page in enumerate(PdfReader(io.BytesIO(pdf)).pages):
        page.extract_text(visitor_text=lambda text, cm, tm, *_, n=n: placed.append((n, round(tm[5]), text.strip()))
                          if text.strip() else None)
    return placed


def test_the_spending_chart_is_the_whole_year():
    report = annual()
    assert reports.spending_by_category(report) == {"publicity": 5_000_00, "survey": 2_000_00,
                                                    "communication": 3_000_00, "project_work": 0}
    placed = placed_text(to_pdf(report))
    # each category's bar figure sits on its label's line: Q1's publicity and Q2's communication
    # are there, not only the fourth quarter's survey
    for label, figure in (("宣传费", "5,000元"), ("通讯费", "3,000元"), ("查勘费", "2,000元")):
        (page, y), = {(p, y) for p, y, t in placed if t == label}
        assert (page, y, figure) in placed, label
    assert "本年支出按类别（元）" in "".join(pages_text(to_pdf(report)))


TABLES = (("工作经费收支（元）", "期初", "2026Q1"), ("代付赔款摊回", "应摊回", "太平洋财产保险"),
          ("年度工作经费年终多退少补", "退还", "人保财险大足支公司"))


def test_a_table_header_never_ends_a_page_alone():
    # More townships push everything below them down the pages, a bar row (6 mm) at a time: every
    # position of the tables relative to the page foot comes round once.
    for extra in range(44):
        towns = {str(500111200 + i): f"测试镇{i}" for i in range(extra)}
        claims = list(CLAIMS) + [dict(CLAIMS[0], id=f"t{i}", township_code=str(500111200 + i)) for i in range(extra)]
        pages = pages_text(to_pdf(annual(claims, towns)))
        for heading, header, first_row in TABLES:
            where = [n for n, text in enumerate(pages) if heading in text]
            assert len(where) == 1, (extra, heading)
            # the heading, the header and the first row are on the same page, in that order
            after = pages[where[0]][pages[where[0]].index(heading):]
            assert header in after and first_row in after[after.index(header):], (extra, heading)


def test_a_table_across_pages_repeats_its_header():
    many = {f"co{i:02d}": f"第{i:02d}号共保公司" for i in range(60)}
    positions = {c: {"owed_fen": 100, "demanded_fen": 0, "received_fen": 0, "outstanding_fen": 100} for c in many}
    r = reports.build_report("quarterly", 2026, 3, CLAIMS, HISTORY, None, many, recoveries=positions)
    pages = pages_text(to_pdf(r))
    with_rows = [p for p in pages if "号共保公司1.00" in p]
    assert len(with_rows) >= 2
    assert all("共保公司应摊回已发函追偿已收回未收回" in p for p in with_rows)


def test_co_insurers_names_are_printed_whole():
    text = "".join(pages_text(to_pdf(annual())))
    for name in LONG_NAMES.values():
        # the participation chart, the monthly floor (those that took part), the settlement and the
        # recoveries table print it whole, wrapped where it does not fit
        assert text.count(name) >= 3, name


def test_demo_data_is_marked_on_every_page_and_sheet():
    from openpyxl import load_workbook

    report = annual()
    assert report["demo_notice"] == reports.DEMO_NOTICE
    pages = pages_text(to_pdf(report))
    assert len(pages) > 1 and all("演示数据" in p for p in pages)
    wb = load_workbook(io.BytesIO(to_xlsx(report)))
    assert wb["概要"]["B2"].value == reports.DEMO_NOTICE
    assert all(ws.oddHeader.center.text == reports.DEMO_NOTICE for ws in wb.worksheets)
    real = annual(demo=False)
    assert "demo_notice" not in real
    assert not any("演示数据" in p for p in pages_text(to_pdf(real)))
    assert load_workbook(io.BytesIO(to_xlsx(real)))["概要"]["B2"].value == real["title"]


def test_xlsx_fund_sheet_is_in_yuan():
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(to_xlsx(annual())))
    ws = wb["工作经费"]
    assert [c.value for c in ws[1]][:3] == ["季度", "期初（元）", "收入（元）"]
    q1 = [c.value for c in ws[2]]
    assert q1[0] == "2026Q1" and q1[2] == 100_000.00 and q1[3] == 5_000.00 and q1[-1] == 95_000.00
    q3 = [c for c in ws[4]]
    assert q3[1].value == 92_000.00 and q3[1].number_format == "#,##0.00"
    assert all(c.number_format == "#,##0.00" for c in q3[1:])
    st = wb["年终退补"]
    assert [c.value for c in st[st.max_row]][:3] == ["合计", None, 90_000.00]
    assert st["C2"].number_format == "#,##0.00"


def test_each_month_floor_met_or_not():
    # HISTORY: cpic accepts in July and August, pingan in September (2026, China time)
    def floor(required, as_of):
        r = reports.build_report("annual", 2026, None, CLAIMS, HISTORY, None, LONG_NAMES, month_floor=required,
                                 as_of=as_of)
        return {m["month"]: (m["status"], m["participants"]) for m in r["rotation"]["floor"]["months"]}, r
    one, r = floor(1, dt.datetime(2026, 9, 15, tzinfo=CN))
    assert one["2026-06"] == ("not_met", [])
    assert one["2026-07"] == ("met", ["cpic"]) and one["2026-09"] == ("met", ["pingan"])
    assert one["2026-10"] == ("not_started", [])
    # judged: January to August, and September, met already though not over
    assert (r["rotation"]["floor"]["months_met"], r["rotation"]["floor"]["months_judged"]) == (3, 9)
    two, _ = floor(2, dt.datetime(2026, 9, 15, tzinfo=CN))
    assert two["2026-08"] == ("not_met", ["cpic"]) and two["2026-09"] == ("in_progress", ["pingan"])
    after, _ = floor(2, None)  # no clock: every month judged as over
    assert after["2026-09"][0] == "not_met" and after["2026-12"][0] == "not_met"
    # in the XLSX and the PDF as well
    from openpyxl import load_workbook

    report = annual()
    ws = load_workbook(io.BytesIO(to_xlsx(report)))["每月参与"]
    rows = {r[0].value: [c.value for c in r] for r in ws.iter_rows(min_row=2)}
    assert rows["2026-07"][1:4] == [1, 2, "未达到"] and rows["2026-07"][4] == LONG_NAMES["cpic"]
    text = "".join(pages_text(to_pdf(report)))
    assert "每月参与情况（每月至少2家共保公司参与）" in text and "2026-071未达到" in text


def test_the_annual_report_carries_settlement_and_written_parts():
    report = annual()
    st = report["settlement"]
    assert st["error"] is None and {r["insurer_code"] for r in st["insurers"]} == set(SHARES)
    assert st["total"]["refund_fen"] - st["total"]["top_up_fen"] == 100_000_00 - 10_000_00
    text = "".join(pages_text(to_pdf(report)))
    for phrase in ("一、赔付数据", "二、案件分析", "全年暴雨案件占七成。", "五、下一步工作打算", "推行线上报案。",
                   "报告状态：已提交，待区金融中心审查", "提交：王理赔·2027-01-0809:30", "年度工作经费年终多退少补",
                   "代付赔款摊回"):
        assert phrase in text, phrase
    unsettled = reports.build_report("annual", 2026, None, [], [], None, LONG_NAMES, settlement_error="上年度尚未结算")
    assert unsettled["settlement"] == {"year": 2026, "insurers": [], "error": "上年度尚未结算"}
    assert "未能计算：上年度尚未结算" in "".join(pages_text(to_pdf(unsettled)))


def test_the_quarterly_review_prints_its_minutes_and_measures():
    meeting = {"year": 2026, "quarter": 3, "held_on": "2026-10-12", "attendees": "人保、太保、区金融中心",
               "minutes": "回顾第三季度暴雨理赔。", "measures": ["汛期前完成查勘人员培训", "镇街联络员每周报送"],
               "revision": 1, "updated_by": None, "updated_at": None}
    r = reports.build_report("quarterly", 2026, 3, CLAIMS, HISTORY, None, LONG_NAMES, review_meeting=meeting)
    assert r["review_meeting"] == meeting and "narrative" not in r and "settlement" not in r
    text = "".join(pages_text(to_pdf(r)))
    for phrase in ("季度回顾会议纪要", "会议日期：2026-10-12", "回顾第三季度暴雨理赔。", "议定措施",
                   "1.汛期前完成查勘人员培训", "2.镇街联络员每周报送"):
        assert phrase in text, phrase
    from openpyxl import load_workbook

    ws = load_workbook(io.BytesIO(to_xlsx(r)))["回顾会议"]
    assert [[c.value for c in row] for row in ws.iter_rows(min_row=2)][-2:] == [
        ["措施1", "汛期前完成查勘人员培训"], ["措施2", "镇街联络员每周报送"]]
