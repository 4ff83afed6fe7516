"""A report (sync_server.reports.rules.build_report) as a PDF: fpdf2 on the page layer the phone's
forms share (pdflayer), Chinese (Noto Sans SC GBK subset), bar charts drawn with fpdf2's own
rectangles (no plotting library)."""
from __future__ import annotations

from typing import Iterable

from .rules import (
    CATEGORY_NAMES, DEMO_NOTICE, RECOVERY_FIGURES, fund_disclosures, spending_by_category, submission_lines,
)

def yuan(fen: int | None) -> str:
    if fen is None:
        return "-"
    sign = "-" if fen < 0 else ""
    fen = abs(fen)
    return f"{sign}{fen // 100:,}.{fen % 100:02d}"


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
    for label, value in submission_lines(nar):
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

    disclosures = fund_disclosures(report)
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
