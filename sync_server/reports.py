"""The quarterly review and the annual report of annex 2 (四、工作总结及分析回顾) as data, XLSX and PDF.

    build_report(kind, year, quarter, claims, rotation_history, fund, insurers, ...,
                 recoveries=None) -> dict
    to_xlsx(report) -> bytes      openpyxl workbook, one sheet per section, totals rows
    to_pdf(report) -> bytes       fpdf2, Chinese (Noto Sans SC GBK subset), bar charts drawn
                                  with fpdf2's own rectangles (no plotting library)

``claims`` are plain dicts (the server's adapter in api_coinsurance builds them): ``id``,
``coverage``, ``township_code``, ``status``, ``claimed_amount_fen``, ``paid_amount_fen`` and the
moments ``reported_at``, ``surveyed_at``, ``documents_complete_at``, ``paid_at`` (aware datetimes
or None). A claim belongs to the period its ``reported_at`` falls in (China time). Durations are
whole days between those moments; a claim without the later moment is left out of that measure
and the count says how many were measured.

``recoveries`` (optional): per co-insurer ``owed_fen``, ``demanded_fen``, ``received_fen``,
``outstanding_fen`` as they stood at the end of the period (fund.recovery_positions); the report
lists them with the insurers' names and a totals row.
"""
from __future__ import annotations

import datetime as dt
import io
from statistics import median
from typing import Any, Iterable, Mapping

from claimcore.localtime import CHINA_TIME

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
CATEGORY_NAMES = {"publicity": "宣传费", "survey": "查勘费", "communication": "通讯费",
                  "project_work": "项目工作经费"}
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


def build_report(kind: str, year: int, quarter: int | None, claims: Iterable[dict],
                 rotation_history: Iterable[dict], fund: dict | None,
                 insurers: Mapping[str, str], township_names: Mapping[str, str] | None = None,
                 demo: bool = False, recoveries: Mapping[str, Mapping[str, int]] | None = None) -> dict[str, Any]:
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
    return {
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

SHEETS = ("概要", "按险种", "按镇街", "按状态", "时效", "查勘轮值", "工作经费", "代付摊回")


def to_xlsx(report: dict) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    bold = Font(bold=True)

    def sheet(title: str, header: list[str], rows: list[list], total: list | None = None):
        ws = wb.create_sheet(title)
        ws.append(header)
        for cell in ws[1]:
            cell.font = bold
        for r in rows:
            ws.append(r)
        if total is not None:
            ws.append(total)
            for cell in ws[ws.max_row]:
                cell.font = bold
        for col in ws.columns:
            ws.column_dimensions[col[0].column_letter].width = 16
        return ws

    wb.remove(wb.active)
    c = report["claims"]
    summary = [
        ["报告", report["title"]], ["期间", f"{report['period']['from']} 至 {report['period']['to']}"],
        ["案件数", c["total"]], ["索赔金额（元）", report["amounts"]["claimed_fen"] / 100],
        ["赔付金额（元）", report["amounts"]["paid_fen"] / 100],
    ]
    if report.get("demo"):
        summary.append(["说明", "演示数据"])
    sheet("概要", ["项目", "值"], summary)
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
    fund_rows = []
    for d in _fund_disclosures(report):
        label = f"{d['year']}Q{d['quarter']}"
        fund_rows.append([label, d["opening_fen"], d["income_fen"],
                          *[d["spending_by_category"].get(k, 0) for k in CATEGORY_NAMES],
                          d.get("settlement_fen", 0), d["closing_fen"]])
    sheet("工作经费", ["季度", "期初（分）", "收入（分）", *[f"{v}（分）" for v in CATEGORY_NAMES.values()],
                    "年终退补（分）", "期末（分）"], fund_rows)
    rec = report.get("recoveries")
    rec_rows = [[r["insurer_code"], r["name"], *[r[k] for k, _ in RECOVERY_FIGURES]]
                for r in (rec["insurers"] if rec else [])]
    sheet("代付摊回", ["保险公司代码", "名称", *[f"{v}（分）" for _, v in RECOVERY_FIGURES]], rec_rows,
          ["合计", f"截至{rec['as_of']}", *[rec["total"][k] for k, _ in RECOVERY_FIGURES]] if rec else None)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _fund_disclosures(report: dict) -> list[dict]:
    fund = report.get("fund")
    if not fund:
        return []
    return fund.get("quarters") or [fund]


# -------------------------------------------------------------------------------------- PDF

def to_pdf(report: dict) -> bytes:
    # The documents package's page layer: the project's CJK font with text that extracts back
    # (Identity-H codes), running header and "第 X 页 共 Y 页" footer. Pure fpdf2, no Flet.
    from pdflayer.page import FONT_FAMILY, FormPDF, PageFurniture

    pdf = FormPDF(PageFurniture(programme="大足区巨灾保险 · 共保体", page_format="第 {page} 页 共 {pages} 页",
                                reference=report["title"]))
    font = FONT_FAMILY
    pdf.set_font(font, size=10)
    pdf.set_title(report["title"])
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin

    def keep(height: float):
        """Start a new page unless the next ``height`` mm fit: a heading stays with what it heads."""
        if pdf.will_page_break(height):
            pdf.add_page()

    def heading(text: str, size: int = 13):
        pdf.set_font(font, size=size)
        pdf.cell(width, 9, text, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(font, size=10)

    def line(text: str):
        pdf.cell(width, 6, text, new_x="LMARGIN", new_y="NEXT")

    def table(header: list[str], rows: list[list[str]], widths: list[float]):
        pdf.set_fill_color(230, 236, 245)
        for h, w in zip(header, widths):
            pdf.cell(w, 7, h, border=1, fill=True)
        pdf.ln()
        for r in rows:
            for v, w in zip(r, widths):
                pdf.cell(w, 6, str(v), border=1)
            pdf.ln()
        pdf.ln(2)

    def bars(title: str, items: list[tuple[str, int]], unit: str = "件"):
        """A horizontal bar chart drawn with rectangles (value labels written beside each bar)."""
        keep(9 + 6)
        heading(title, 11)
        if not items:
            line("（本期无数据）")
            return
        top = max(max(v for _, v in items), 0) or 1
        label_w, bar_w = 40, width - 60
        for label, value in items:
            # The label's cell would break the page while its bar and figure went at the old
            # height: start the row on the new page so the three stay together.
            keep(6)
            y = pdf.get_y()
            pdf.cell(label_w, 6, label)
            pdf.set_fill_color(52, 101, 164)
            # A quarter's spending in a category is negative when a correction gave back more than
            # was spent there: no bar, but its figure stays where the others are.
            w = max(bar_w * value / top, 0)
            if w > 0:
                pdf.rect(pdf.l_margin + label_w, y + 1, w, 4, style="F")
            pdf.set_xy(pdf.l_margin + label_w + w + 2, y)
            pdf.cell(18, 6, f"{value}{unit}", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2)

    heading(report["title"], 16)
    if report.get("demo"):
        line("（演示数据，非真实案件）")
    line(f"期间：{report['period']['from']} 至 {report['period']['to']}")
    c = report["claims"]
    line(f"案件 {c['total']} 件；索赔金额 {yuan(report['amounts']['claimed_fen'])} 元；"
         f"赔付金额 {yuan(report['amounts']['paid_fen'])} 元")
    pdf.ln(2)
    bars("按险种统计", [(r["name"], r["count"]) for r in c["by_coverage"]])
    table(["险种", "件数", "索赔金额（元）", "赔付金额（元）"],
          [[r["name"], r["count"], yuan(r["claimed_fen"]), yuan(r["paid_fen"])] for r in c["by_coverage"]],
          [50, 25, 50, 50])
    bars("按镇街统计", [(r["name"], r["count"]) for r in c["by_township"]])
    bars("按状态统计", [(r["name"], r["count"]) for r in c["by_status"]])
    keep(9 + 7 + 6)
    heading("理赔时效（天）", 11)
    table(["环节", "统计件数", "平均", "中位", "最长"],
          [[d["label"], d["measured"], d["mean"] if d["mean"] is not None else "-",
            d["median"] if d["median"] is not None else "-", d["max"] if d["max"] is not None else "-"]
           for d in report["durations_days"].values()],
          [50, 30, 30, 30, 30])
    bars("共保公司参与查勘（接受次数）",
         [(r["name"][:8], r["total"]) for r in report["rotation"]["insurers"]], "次")
    disclosures = _fund_disclosures(report)
    if disclosures:
        keep(9 + 7 + 6)
        heading("工作经费收支", 11)
        table(["季度", "期初", "收入", "支出", "年终退补", "期末"],
              [[f"{d['year']}Q{d['quarter']}", yuan(d["opening_fen"]), yuan(d["income_fen"]),
                yuan(d["spending_fen"]), yuan(d.get("settlement_fen", 0)), yuan(d["closing_fen"])]
               for d in disclosures],
              [25, 30, 30, 30, 30, 30])
        last = disclosures[-1]
        bars("本期支出按类别（元）",
             [(CATEGORY_NAMES[k], v // 100) for k, v in last["spending_by_category"].items()], "元")
    rec = report.get("recoveries")
    if rec:
        keep(9 + 7 + 2 * 6)
        heading(f"代付赔款摊回（截至 {rec['as_of']}，元）", 11)
        table(["共保公司", *[label for _, label in RECOVERY_FIGURES]],
              [[r["name"][:12], *[yuan(r[k]) for k, _ in RECOVERY_FIGURES]] for r in rec["insurers"]]
              + [["合计", *[yuan(rec["total"][k]) for k, _ in RECOVERY_FIGURES]]],
              [50, 32, 32, 32, 32])
    return pdf.output_bytes()
