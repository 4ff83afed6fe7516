"""A report (sync_server.reports.rules.build_report) as an XLSX workbook: one sheet per section,
totals rows; every text cell stays text (never a formula), demo data marked on every page."""
from __future__ import annotations

import io
import re

from .rules import CATEGORY_NAMES, DEMO_NOTICE, RECOVERY_FIGURES, fund_disclosures, submission_lines

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
    for d in fund_disclosures(report):
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
        for row in submission_lines(nar):
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
