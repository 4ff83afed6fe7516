"""The quarterly review and the annual report of annex 2 (四、工作总结及分析回顾) as data, XLSX and PDF.

    build_report(kind, year, quarter, claims, rotation_history, fund, insurers, ...,
                 recoveries=None) -> dict
    to_xlsx(report) -> bytes      openpyxl workbook, one sheet per section, totals rows
    to_pdf(report) -> bytes       fpdf2, Chinese (Noto Sans SC GBK subset), bar charts drawn
                                  with fpdf2's own rectangles (no plotting library)

``claims`` are plain dicts (the server's adapter, sync_server.reports.service, builds them): ``id``,
``coverage``, ``township_code``, ``status``, ``claimed_amount_fen``, ``paid_amount_fen`` and the
moments ``reported_at``, ``surveyed_at``, ``documents_complete_at``, ``paid_at`` (aware datetimes
or None). A claim belongs to the period its ``reported_at`` falls in (China time). Durations are
whole days between those moments; a claim without the later moment is left out of that measure
and the count says how many were measured.

``recoveries`` (optional): per co-insurer ``owed_fen``, ``demanded_fen``, ``received_fen``,
``outstanding_fen`` as they stood at the end of the period (fund.recovery_positions); the report
lists them with the insurers' names and a totals row.

``month_floor`` (optional): how many co-insurers must take part in surveys each month (annex 2
二(二) "每月至少确保1-2家共保公司参与"; the rotation's ``month_floor``). Each month of the period is then
reported as met or not: the co-insurers that accepted a survey in it, counted as the rotation
counts them. A month not over at ``as_of`` that has not met it yet is ``in_progress``, one not
begun ``not_started``.

``settlement`` (annual): the year-end 多退少补 per insurer (fund.year_end_settlement: positive = the
fund refunds, negative = the insurer tops up), or ``settlement_error`` saying why it cannot be
computed; ``names`` names every insurer of the pool, the lead included.

``narrative`` (annual) and ``review_meeting`` (quarterly): what people wrote (sync_server.reports.records).

``demo``: the data came from the demo seed; every page, sheet and the JSON say 演示数据.
"""
from __future__ import annotations

import datetime as dt
import io
import re
from statistics import median
from typing import Any, Iterable, Mapping

from claimcore.localtime import CHINA_TIME

from ..fund import rules as fund

CHINA = CHINA_TIME

COVERAGE_NAMES = {
    "natural_disaster": "自然灾害", "crowd_stampede": "拥挤踩踏", "terrorism": "恐怖活动",
    "falling_object": "高空坠物", "mental_patient": "精神病人伤人", "municipal_facility": "市政设施",
    "fire_explosion": "火灾爆炸", "infectious_disease": "法定传染病", "violent_crime": "重大恶性案件",
    "good_samaritan": "见义勇为", "resettlement": "附加安置费用", "drowning": "附加公共区域溺水",
}
STATUS_NAMES = {
    "reported": "已报案", "registered": "已立案", "survey_dispatched": "已派查勘", "surveyed": "已查勘",
    "collecting": "收集资料", "submitted": "已提交", "under_review": "审核中", "incomplete": "资料不全",
    "declined": "拒赔", "adjusted": "已理算", "approved": "已核准", "stamped": "已用印", "paid": "已赔付",
    "closed": "已结案", "withdrawn": "已撤案", "reopened": "重开",
}
CATEGORY_NAMES = {code: names["zh"] for code, names in fund.CATEGORY_NAMES.items()}  # the fund's own word list
DURATIONS = (
    ("report_to_survey", "surveyed_at", "报案→查勘"),
    ("report_to_documents", "documents_complete_at", "报案→资料齐全"),
    ("report_to_payment", "paid_at", "报案→赔付"),
)


class ReportError(ValueError):
    pass


def period_bounds(kind: str, year: int, quarter: int | None) -> tuple[dt.datetime, dt.datetime]:
    if kind == "annual":
        return dt.datetime(year, 1, 1, tzinfo=CHINA), dt.datetime(year + 1, 1, 1, tzinfo=CHINA)
    if kind != "quarterly" or quarter not in (1, 2, 3, 4):
        raise ReportError("a report is 'annual', or 'quarterly' with quarter 1-4")
    start = dt.datetime(year, 3 * quarter - 2, 1, tzinfo=CHINA)
    end = (dt.datetime(year + 1, 1, 1, tzinfo=CHINA) if quarter == 4
           else dt.datetime(year, 3 * quarter + 1, 1, tzinfo=CHINA))
    return start, end


def _group(claims: list[dict], key: str, names: Mapping[str, str] | None = None) -> list[dict]:
    out: dict[str, dict] = {}
    for c in claims:
        code = c.get(key) or "-"
        row = out.setdefault(code, {"code": code, "name": (names or {}).get(code, code),
                                    "count": 0, "claimed_fen": 0, "paid_fen": 0})
        row["count"] += 1
        row["claimed_fen"] += c.get("claimed_amount_fen") or 0
        row["paid_fen"] += c.get("paid_amount_fen") or 0
    return sorted(out.values(), key=lambda r: (-r["count"], r["code"]))


def _days(a: dt.datetime | None, b: dt.datetime | None) -> int | None:
    if a is None or b is None:
        return None
    return (b - a).days


DEMO_NOTICE = "演示数据：非真实案件与合同数据"
FLOOR_STATES = {"met": "已达到", "not_met": "未达到", "in_progress": "本月进行中，尚未达到",
                "not_started": "未开始"}


def build_report(kind: str, year: int, quarter: int | None, claims: Iterable[dict],
                 rotation_history: Iterable[dict], fund: dict | None,
                 insurers: Mapping[str, str], township_names: Mapping[str, str] | None = None,
                 demo: bool = False, recoveries: Mapping[str, Mapping[str, int]] | None = None, *,
                 month_floor: int | None = None, as_of: dt.datetime | None = None,
                 settlement: Mapping[str, int] | None = None, settlement_error: str | None = None,
                 names: Mapping[str, str] | None = None, narrative: dict | None = None,
                 review_meeting: dict | None = None) -> dict[str, Any]:
    start, end = period_bounds(kind, year, quarter)
    in_period = [c for c in claims if c.get("reported_at") and start <= c["reported_at"] < end]
    durations = {}
    for name, field, label in DURATIONS:
        values = [d for c in in_period if (d := _days(c["reported_at"], c.get(field))) is not None]
        durations[name] = {
            "label": label, "measured": len(values),
            "mean": round(sum(values) / len(values), 1) if values else None,
            "median": median(values) if values else None,
            "max": max(values) if values else None,
        }
    months = []
    cursor = start
    while cursor < end:
        months.append(f"{cursor.year:04d}-{cursor.month:02d}")
        cursor = (cursor.replace(year=cursor.year + 1, month=1) if cursor.month == 12
                  else cursor.replace(month=cursor.month + 1))
    participation = {code: {m: 0 for m in months} for code in insurers}
    for h in rotation_history:
        if h["kind"] != "accepted":
            continue
        at = h["at"] if isinstance(h["at"], dt.datetime) else dt.datetime.fromisoformat(h["at"])
        if not start <= at < end:
            continue
        month = f"{at.astimezone(CHINA).year:04d}-{at.astimezone(CHINA).month:02d}"
        participation.setdefault(h["insurer_code"], {m: 0 for m in months})[month] += 1
    all_names = {**insurers, **(names or {})}
    out = {
        "kind": kind, "year": year, "quarter": quarter, "demo": demo,
        "title": (f"{year}年第{quarter}季度巨灾保险理赔工作回顾" if kind == "quarterly"
                  else f"{year}年度巨灾保险工作报告"),
        "period": {"from": start.date().isoformat(), "to": (end - dt.timedelta(days=1)).date().isoformat()},
        "claims": {
            "total": len(in_period),
            "by_coverage": _group(in_period, "coverage", COVERAGE_NAMES),
            "by_township": _group(in_period, "township_code", township_names or {}),
            "by_status": _group(in_period, "status", STATUS_NAMES),
        },
        "amounts": {
            "claimed_fen": sum(c.get("claimed_amount_fen") or 0 for c in in_period),
            "paid_fen": sum(c.get("paid_amount_fen") or 0 for c in in_period),
        },
        "durations_days": durations,
        "rotation": {
            "months": months,
            "insurers": [
                {"insurer_code": code, "name": insurers.get(code, code), "by_month": participation[code],
                 "total": sum(participation[code].values())}
                for code in participation
            ],
        },
        "fund": fund,
        "recoveries": _recovery_table(recoveries, insurers, end) if recoveries is not None else None,
    }
    if demo:
        out["demo_notice"] = DEMO_NOTICE
    if month_floor is not None:
        out["rotation"]["floor"] = _month_floor(months, participation, month_floor, all_names, as_of)
    if kind == "annual" and (settlement is not None or settlement_error is not None):
        out["settlement"] = _settlement_table(settlement, settlement_error, all_names, year)
    if narrative is not None:
        out["narrative"] = narrative
    if review_meeting is not None:
        out["review_meeting"] = review_meeting
    return out


def _month_start(month: str) -> dt.datetime:
    return dt.datetime(int(month[:4]), int(month[5:]), 1, tzinfo=CHINA)


def _month_floor(months: list[str], participation: Mapping[str, Mapping[str, int]], required: int,
                 names: Mapping[str, str], as_of: dt.datetime | None) -> dict:
    """Per month: the co-insurers that took part (accepted a survey) and whether the floor was met."""
    rows = []
    for m in months:
        start = _month_start(m)
        end = (start.replace(year=start.year + 1, month=1) if start.month == 12
               else start.replace(month=start.month + 1))
        codes = sorted(c for c, by_month in participation.items() if by_month.get(m, 0) > 0)
        if len(codes) >= required:
            status = "met"
        elif as_of is not None and as_of < start:
            status = "not_started"
        elif as_of is not None and as_of < end:
            status = "in_progress"
        else:
            status = "not_met"
        rows.append({"month": m, "participants": codes, "participant_names": [names.get(c, c) for c in codes],
                     "count": len(codes), "required": required, "met": status == "met", "status": status,
                     "status_name": FLOOR_STATES[status]})
    judged = [r for r in rows if r["status"] in ("met", "not_met")]
    return {"required": required, "months": rows, "months_met": sum(r["met"] for r in judged),
            "months_judged": len(judged)}


def _settlement_table(settlement: Mapping[str, int] | None, error: str | None, names: Mapping[str, str],
                      year: int) -> dict:
    if settlement is None:
        return {"year": year, "insurers": [], "error": error}
    rows = [{"insurer_code": c, "name": names.get(c, c), "amount_fen": v,
             "refund_fen": max(v, 0), "top_up_fen": max(-v, 0)} for c, v in settlement.items()]
    return {"year": year, "insurers": rows, "error": None,
            "total": {"refund_fen": sum(r["refund_fen"] for r in rows),
                      "top_up_fen": sum(r["top_up_fen"] for r in rows)}}


RECOVERY_FIGURES = (("owed_fen", "应摊回"), ("demanded_fen", "已发函追偿"), ("received_fen", "已收回"),
                    ("outstanding_fen", "未收回"))


def _recovery_table(positions: Mapping[str, Mapping[str, int]], insurers: Mapping[str, str],
                    end: dt.datetime) -> dict:
    rows = [{"insurer_code": code, "name": insurers.get(code, code),
             **{k: p.get(k, 0) for k, _ in RECOVERY_FIGURES}} for code, p in positions.items()]
    return {"as_of": (end - dt.timedelta(days=1)).date().isoformat(), "insurers": rows,
            "total": {k: sum(r[k] for r in rows) for k, _ in RECOVERY_FIGURES}}


def yuan(fen: int | None) -> str:
    if fen is None:
        return "-"
    sign = "-" if fen < 0 else ""
    fen = abs(fen)
    return f"{sign}{fen // 100:,}.{fen % 100:02d}"


# ------------------------------------------------------------------------------------- XLSX

# Sheets every report has; the annual report adds 年终退补 and 工作报告, the quarterly review 回顾会议
# (sheet_names says which a report has).
SHEETS = ("概要", "按险种", "按镇街", "按状态", "时效", "查勘轮值", "每月参与", "工作经费", "代付摊回")
YUAN_FORMAT = "#,##0.00"


def sheet_names(report: dict) -> list[str]:
    extra = (["年终退补", "工作报告"] if report["kind"] == "annual" else ["回顾会议"])
    return [*SHEETS, *extra]


# A text cell starting with one of these is taken for a formula (or DDE) by Excel, LibreOffice or
# whatever a co-insurer opens the report with: an insurer named ``=HYPERLINK(...)`` must stay text.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
# Characters XML 1.0 cannot hold (openpyxl refuses them with IllegalCharacterError).
_ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xlsx_text(value: str) -> str:
    """Text as a cell can hold it: characters XML forbids removed."""
    return _ILLEGAL_XML.sub("", value)


def _append_safe(ws, values: list) -> None:
    """A row whose text cells are text, never formulas: stored as strings, and those that start
    like a formula also marked quote-prefixed, so that editing them in Excel keeps them text."""
    ws.append([xlsx_text(v) if isinstance(v, str) else v for v in values])
    for cell in ws[ws.max_row]:
        if isinstance(cell.value, str):
            cell.data_type = "s"
            if cell.value.startswith(FORMULA_TRIGGERS):
                cell.quotePrefix = True


class Yuan(float):
    """An amount in yuan for a sheet: a number (two decimals) shown as #,##0.00."""

    def __new__(cls, fen: int | None):
        return super().__new__(cls, round((fen or 0) / 100, 2))


def add_sheet(wb, title: str, header: list[str], rows: list[list], *, total: list | None = None,
              width: int = 16, demo: bool = False):
    """A sheet of a report's workbook: a bold header, the rows and a bold total, every cell
    written as text or a number (never a formula: _append_safe), yuan as numbers in yuan format;
    demo data marked on every printed page and by the tab's colour."""
    from openpyxl.styles import Font

    bold = Font(bold=True)
    ws = wb.create_sheet(title)
    _append_safe(ws, header)
    for cell in ws[1]:
        cell.font = bold
    for r in rows:
        _append_safe(ws, r)
    if total is not None:
        _append_safe(ws, total)
        for cell in ws[ws.max_row]:
            cell.font = bold
    for row in ws.iter_rows():
        for cell in row:
            if isinstance(cell.value, Yuan):
                cell.value = float(cell.value)
                cell.number_format = YUAN_FORMAT
    for col in ws.columns:
        ws.column_dimensions[col[0].column_letter].width = width
    if demo:
        # Printed on every page of every sheet, and the tab coloured, so no page of demo
        # figures passes for the real ones.
        ws.oddHeader.center.text = DEMO_NOTICE
        ws.sheet_properties.tabColor = "FFC000"
    return ws


def to_xlsx(report: dict) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    wb = Workbook()
    demo = bool(report.get("demo"))

    def sheet(title: str, header: list[str], rows: list[list], total: list | None = None, width: int = 16):
        return add_sheet(wb, title, header, rows, total=total, width=width, demo=demo)

    wb.remove(wb.active)
    c = report["claims"]
    summary = []
    if demo:
        summary.append(["说明", DEMO_NOTICE])
    summary += [
        ["报告", report["title"]], ["期间", f"{report['period']['from']} 至 {report['period']['to']}"],
        ["案件数", c["total"]], ["索赔金额（元）", report["amounts"]["claimed_fen"] / 100],
        ["赔付金额（元）", report["amounts"]["paid_fen"] / 100],
    ]
    nar = report.get("narrative")
    if nar:
        summary.append(["报告状态", nar["state_name"]])
    ws = sheet("概要", ["项目", "值"], summary)
    ws.column_dimensions["B"].width = 40
    if demo:
        ws["B2"].font = Font(bold=True, color="C00000")
    for title, key in (("按险种", "by_coverage"), ("按镇街", "by_township"), ("按状态", "by_status")):
        rows = [[r["code"], r["name"], r["count"], r["claimed_fen"], r["paid_fen"]] for r in c[key]]
        total = ["合计", "", sum(r["count"] for r in c[key]), sum(r["claimed_fen"] for r in c[key]),
                 sum(r["paid_fen"] for r in c[key])]
        sheet(title, ["代码", "名称", "件数", "索赔金额（分）", "赔付金额（分）"], rows, total)
    sheet("时效", ["环节", "统计件数", "平均天数", "中位天数", "最长天数"],
          [[d["label"], d["measured"], d["mean"], d["median"], d["max"]]
           for d in report["durations_days"].values()])
    months = report["rotation"]["months"]
    rot = report["rotation"]["insurers"]
    sheet("查勘轮值", ["保险公司代码", "名称", *months, "合计"],
          [[r["insurer_code"], r["name"], *[r["by_month"][m] for m in months], r["total"]] for r in rot],
          ["合计", "", *[sum(r["by_month"][m] for r in rot) for m in months], sum(r["total"] for r in rot)])
    floor = report["rotation"].get("floor")
    sheet("每月参与", ["月份", "参与公司数", "要求至少", "是否达到", "参与公司"],
          [[m["month"], m["count"], m["required"], m["status_name"], "、".join(m["participant_names"])]
           for m in (floor["months"] if floor else [])], width=18)
    fund_rows = []
    for d in _fund_disclosures(report):
        label = f"{d['year']}Q{d['quarter']}"
        fund_rows.append([label, Yuan(d["opening_fen"]), Yuan(d["income_fen"]),
                          *[Yuan(d["spending_by_category"].get(k, 0)) for k in CATEGORY_NAMES],
                          Yuan(d.get("settlement_fen", 0)), Yuan(d["closing_fen"])])
    sheet("工作经费", ["季度", "期初（元）", "收入（元）", *[f"{v}（元）" for v in CATEGORY_NAMES.values()],
                    "年终退补（元）", "期末（元）"], fund_rows)
    rec = report.get("recoveries")
    rec_rows = [[r["insurer_code"], r["name"], *[r[k] for k, _ in RECOVERY_FIGURES]]
                for r in (rec["insurers"] if rec else [])]
    sheet("代付摊回", ["保险公司代码", "名称", *[f"{v}（分）" for _, v in RECOVERY_FIGURES]], rec_rows,
          ["合计", f"截至{rec['as_of']}", *[rec["total"][k] for k, _ in RECOVERY_FIGURES]] if rec else None)
    wrap = Alignment(wrap_text=True, vertical="top")
    if report["kind"] == "annual":
        st = report.get("settlement") or {"insurers": [], "error": None}
        ws = sheet("年终退补", ["保险公司代码", "名称", "退还（元）", "补缴（元）"],
                   [[r["insurer_code"], r["name"], Yuan(r["refund_fen"]), Yuan(r["top_up_fen"])]
                    for r in st["insurers"]],
                   ["合计", "", Yuan(st["total"]["refund_fen"]), Yuan(st["total"]["top_up_fen"])]
                   if st.get("total") else None)
        if st.get("error"):
            _append_safe(ws, ["未能计算", st["error"]])
        ws = sheet("工作报告", ["部分", "内容"], [[s["title"], s["text"]] for s in (nar or {}).get("sections", [])])
        for row in _submission_lines(nar):
            _append_safe(ws, row)
        ws.column_dimensions["B"].width = 100
        for cell in ws["B"]:
            cell.alignment = wrap
    else:
        meeting = report.get("review_meeting") or {}
        rows = [["会议日期", meeting.get("held_on") or ""], ["参会人员", meeting.get("attendees") or ""],
                ["会议纪要", meeting.get("minutes") or ""]]
        rows += [[f"措施{i}", m] for i, m in enumerate(meeting.get("measures") or [], 1)]
        ws = sheet("回顾会议", ["项目", "内容"], rows)
        ws.column_dimensions["B"].width = 100
        for cell in ws["B"]:
            cell.alignment = wrap
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _submission_lines(nar: dict | None) -> list[list[str]]:
    """The report's state and its last submission, as label/value pairs."""
    if not nar:
        return []
    out = [["报告状态", nar["state_name"]]]
    sub = nar.get("submission")
    if sub:
        out.append(["提交", f"{(sub['submitted_by'] or {}).get('name', '')} · {_moment(sub['submitted_at'])}"])
        if sub.get("withdrawn_at"):
            out.append(["撤回", f"{(sub['withdrawn_by'] or {}).get('name', '')} · {_moment(sub['withdrawn_at'])}"])
        if sub.get("reviewed_at"):
            out.append(["区金融中心审查", f"{(sub['reviewed_by'] or {}).get('name', '')} · "
                                   f"{_moment(sub['reviewed_at'])} · {STATE_NAMES_REVIEW.get(sub['outcome'], '')}"])
            if sub.get("review_comment"):
                out.append(["审查意见", sub["review_comment"]])
    return out


STATE_NAMES_REVIEW = {"accepted": "通过", "returned": "退回修改"}


def _moment(iso: str | None) -> str:
    """A stored moment as Dazu's wall clock, to the minute."""
    if not iso:
        return ""
    return dt.datetime.fromisoformat(iso).astimezone(CHINA).strftime("%Y-%m-%d %H:%M")


def _fund_disclosures(report: dict) -> list[dict]:
    fund = report.get("fund")
    if not fund:
        return []
    return fund.get("quarters") or [fund]


def spending_by_category(report: dict) -> dict[str, int]:
    """The period's spending per category: every quarter of it (the whole year in the annual report)."""
    total = {k: 0 for k in CATEGORY_NAMES}
    for d in _fund_disclosures(report):
        for k, v in d["spending_by_category"].items():
            total[k] = total.get(k, 0) + v
    return total


# -------------------------------------------------------------------------------------- PDF

ROW_MM = 6.0
HEADER_MM = 7.0
CHINESE_NUMBERS = "一二三四五六七八九十"


def to_pdf(report: dict) -> bytes:
    # The documents package's page layer: the project's CJK font with text that extracts back
    # (Identity-H codes), running header and "第 X 页 共 Y 页" footer. Pure fpdf2, no Flet.
    from pdflayer.page import FONT_FAMILY, FormPDF, PageFurniture

    demo = bool(report.get("demo"))

    class ReportPDF(FormPDF):
        def header(self) -> None:
            super().header()
            if demo:
                # On every page, above the content: demo figures never pass for real ones.
                with self.local_context():
                    self.set_fill_color(255, 236, 179)
                    self.set_text_color(150, 60, 0)
                    self.set_font(FONT_FAMILY, size=10)
                    self.set_xy(self.l_margin, 19.5)
                    self.cell(self.epw, 6, DEMO_NOTICE, align="C", fill=True)
                self.set_xy(self.l_margin, self.t_margin)

    pdf = ReportPDF(PageFurniture(programme="大足区巨灾保险 · 共保体", page_format="第 {page} 页 共 {pages} 页",
                                  reference=report["title"]))
    font = FONT_FAMILY
    pdf.set_font(font, size=10)
    pdf.set_title(report["title"])
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin
    numbers = iter(CHINESE_NUMBERS)

    def keep(height: float):
        """Start a new page unless the next ``height`` mm fit: a heading stays with what it heads."""
        if pdf.will_page_break(height):
            pdf.add_page()

    def heading(text: str, size: int = 13, then: float = ROW_MM):
        """A heading kept on one page with the first ``then`` mm of what it heads."""
        keep(9 + then)
        pdf.set_font(font, size=size)
        pdf.cell(width, 9, text, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(font, size=10)

    def part(text: str, then: float = ROW_MM):
        heading(f"{next(numbers)}、{text}", 12, then)

    def line(text: str):
        pdf.multi_cell(width, ROW_MM, text, new_x="LMARGIN", new_y="NEXT")

    def lines_of(text: str, w: float) -> list[str]:
        return pdf.multi_cell(w, ROW_MM, text, dry_run=True, output="LINES") or [""]

    def row_height(cells: list[str], widths: list[float], line_mm: float) -> float:
        return max(len(lines_of(v, w)) for v, w in zip(cells, widths)) * line_mm

    def draw_row(cells: list[str], widths: list[float], line_mm: float, fill: bool, right: set[int]):
        height = row_height(cells, widths, line_mm)
        x, y = pdf.l_margin, pdf.get_y()
        for i, (v, w) in enumerate(zip(cells, widths)):
            pdf.rect(x, y, w, height, style="DF" if fill else "D")
            pdf.set_xy(x, y)
            pdf.multi_cell(w, line_mm, v, align="R" if i in right else "L")
            x += w
        pdf.set_xy(pdf.l_margin, y + height)

    def table(header: list[str], rows: list[list], widths: list[float], right: Iterable[int] = (),
              title: str | None = None):
        """A ruled table whose cells wrap (nothing is cut). Its header (and ``title``) never end a
        page alone: they go with the first row; a table broken across pages repeats its header."""
        right = set(right)
        texts = [[str(v) for v in r] for r in rows]
        head_h = row_height(header, widths, HEADER_MM)
        first_h = row_height(texts[0], widths, ROW_MM) if texts else 0
        if title is not None:
            part(title, head_h + first_h)
        else:
            keep(head_h + first_h)

        def head():
            pdf.set_fill_color(230, 236, 245)
            draw_row(header, widths, HEADER_MM, True, set())
        head()
        for r in texts:
            if pdf.will_page_break(row_height(r, widths, ROW_MM)):
                pdf.add_page()
                head()
            pdf.set_fill_color(255, 255, 255)
            draw_row(r, widths, ROW_MM, False, right)
        pdf.ln(2)

    def bars(title: str, items: list[tuple[str, int]], unit: str = "件"):
        """A horizontal bar chart drawn with rectangles (value labels written beside each bar);
        a long label wraps under itself, never cut."""
        label_w, bar_w = 44, width - 66
        first = (len(lines_of(items[0][0], label_w)) * 5 + 1) if items else ROW_MM
        heading(title, 11, max(first, ROW_MM))
        if not items:
            line("（本期无数据）")
            return
        top = max(max(v for _, v in items), 0) or 1
        for label, value in items:
            # The label, its bar and its figure stay together on one page.
            height = max(len(lines_of(label, label_w)) * 5 + 1, ROW_MM)
            keep(height)
            y = pdf.get_y()
            pdf.multi_cell(label_w, 5, label)
            pdf.set_fill_color(52, 101, 164)
            # A quarter's spending in a category is negative when a correction gave back more than
            # was spent there: no bar, but its figure stays where the others are.
            w = max(bar_w * value / top, 0)
            if w > 0:
                pdf.rect(pdf.l_margin + label_w, y + 1, w, 4, style="F")
            # The figure on the label's first line (same height, same baseline).
            pdf.set_xy(pdf.l_margin + label_w + w + 2, y)
            pdf.cell(20, 5, f"{value:,}{unit}")
            pdf.set_xy(pdf.l_margin, y + height)
        pdf.ln(2)

    def paragraphs(text: str):
        for para in (text or "").splitlines() or [""]:
            if para.strip():
                keep(ROW_MM)
                pdf.multi_cell(width, ROW_MM, "　　" + para.strip(), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2)

    pdf.set_font(font, size=16)
    pdf.multi_cell(width, 9, report["title"], new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(font, size=10)
    if demo:
        line(f"（{DEMO_NOTICE}）")
    line(f"期间：{report['period']['from']} 至 {report['period']['to']}")
    nar = report.get("narrative")
    for label, value in _submission_lines(nar):
        line(f"{label}：{value}")
    pdf.ln(2)

    # 赔付数据: what the figures say
    c = report["claims"]
    part("赔付数据", 2 * ROW_MM)
    line(f"案件 {c['total']} 件；索赔金额 {yuan(report['amounts']['claimed_fen'])} 元；"
         f"赔付金额 {yuan(report['amounts']['paid_fen'])} 元")
    pdf.ln(2)
    bars("按险种统计", [(r["name"], r["count"]) for r in c["by_coverage"]])
    table(["险种", "件数", "索赔金额（元）", "赔付金额（元）"],
          [[r["name"], r["count"], yuan(r["claimed_fen"]), yuan(r["paid_fen"])] for r in c["by_coverage"]],
          [50, 25, 50, 50], right=(1, 2, 3))
    bars("按镇街统计", [(r["name"], r["count"]) for r in c["by_township"]])
    bars("按状态统计", [(r["name"], r["count"]) for r in c["by_status"]])
    heading("理赔时效（天）", 11, HEADER_MM + ROW_MM)
    table(["环节", "统计件数", "平均", "中位", "最长"],
          [[d["label"], d["measured"], d["mean"] if d["mean"] is not None else "-",
            d["median"] if d["median"] is not None else "-", d["max"] if d["max"] is not None else "-"]
           for d in report["durations_days"].values()],
          [50, 30, 30, 30, 30], right=(1, 2, 3, 4))

    if nar:
        for s in nar["sections"]:
            part(s["title"], 2 * ROW_MM)
            paragraphs(s["text"] or "（未填写）")

    # The co-insurers' part in the surveys, and each month's floor
    part("共保公司参与查勘", 9 + ROW_MM)
    bars("接受查勘次数", [(r["name"], r["total"]) for r in report["rotation"]["insurers"]], "次")
    floor = report["rotation"].get("floor")
    if floor:
        heading(f"每月参与情况（每月至少 {floor['required']} 家共保公司参与）", 11, HEADER_MM + ROW_MM)
        table(["月份", "参与家数", "是否达到", "参与公司"],
              [[m["month"], m["count"], m["status_name"], "、".join(m["participant_names"]) or "—"]
               for m in floor["months"]],
              [24, 22, 40, width - 86], right=(1,))
        line(f"已结束的 {floor['months_judged']} 个月中 {floor['months_met']} 个月达到要求。")
        pdf.ln(2)

    disclosures = _fund_disclosures(report)
    if disclosures:
        table(["季度", "期初", "收入", "支出", "年终退补", "期末"],
              [[f"{d['year']}Q{d['quarter']}", yuan(d["opening_fen"]), yuan(d["income_fen"]),
                yuan(d["spending_fen"]), yuan(d.get("settlement_fen", 0)), yuan(d["closing_fen"])]
               for d in disclosures],
              [25, 31, 31, 31, 31, 31], right=(1, 2, 3, 4, 5), title="工作经费收支（元）")
        bars("本年支出按类别（元）" if report["kind"] == "annual" else "本季度支出按类别（元）",
             [(CATEGORY_NAMES[k], v // 100) for k, v in spending_by_category(report).items()], "元")
    st = report.get("settlement")
    if st:
        if st["insurers"]:
            table(["保险公司", "退还", "补缴"],
                  [[r["name"], yuan(r["refund_fen"]), yuan(r["top_up_fen"])] for r in st["insurers"]]
                  + [["合计", yuan(st["total"]["refund_fen"]), yuan(st["total"]["top_up_fen"])]],
                  [80, 50, 50], right=(1, 2), title=f"{st['year']}年度工作经费年终多退少补（元）")
        else:
            part(f"{st['year']}年度工作经费年终多退少补", ROW_MM)
            line(f"未能计算：{st['error']}")
    rec = report.get("recoveries")
    if rec:
        table(["共保公司", *[label for _, label in RECOVERY_FIGURES]],
              [[r["name"], *[yuan(r[k]) for k, _ in RECOVERY_FIGURES]] for r in rec["insurers"]]
              + [["合计", *[yuan(rec["total"][k]) for k, _ in RECOVERY_FIGURES]]],
              [52, 32, 32, 32, 32], right=(1, 2, 3, 4), title=f"代付赔款摊回（截至 {rec['as_of']}，元）")
    meeting = report.get("review_meeting")
    if meeting is not None:
        part("季度回顾会议纪要", 2 * ROW_MM)
        line(f"会议日期：{meeting.get('held_on') or '（未填写）'}")
        line(f"参会人员：{meeting.get('attendees') or '（未填写）'}")
        paragraphs(meeting.get("minutes") or "（未填写）")
        measures = meeting.get("measures") or []
        heading("议定措施", 11, ROW_MM)
        if not measures:
            line("（未填写）")
        for i, m in enumerate(measures, 1):
            keep(ROW_MM)
            line(f"{i}. {m}")
    return pdf.output_bytes()
