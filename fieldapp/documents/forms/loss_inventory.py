"""损失清单: the loss inventory, item by item, with spare rows for the survey.

The rows are the claim's ``loss_items`` (the inventory as the adjuster itemised it: category,
item, quantity, unit price, purchase date, extent of damage, amount). A claim JSON without them
(written by hand for the office) lists its ``house`` loss lines instead: property; medical bills
and benefits go on the application. A long inventory runs on over as many pages as it needs, the
heading row repeated on each, and ends with the total: the clerk files one complete list, not a
first page and a separate attachment.
"""
from __future__ import annotations

from decimal import Decimal

from claimcore.money import format_fen as yuan, format_fen_capital as amount_in_words
from fieldapp.documents.forms.base import SIGNATURE_ROW_MM, ClaimView, quantity_text, signature_rows

# Hand-written claim JSON without loss_items: only property belongs on the inventory.
INVENTORY_LOSS_TYPES = ("house",)
MIN_ROWS = 11  # a page of lines for the blank form
SPARE_ROWS = 4  # always room for items found during the survey
TABLE_PT = 9  # eight columns across A4: one size below the body text keeps amounts on one line
# 序号 | 类别 | 损失项目 | 数量 | 单价 | 购置日期 | 损失程度 | 金额, in mm of the 180 mm text width.
COL_WIDTHS = (10, 26, 43, 12, 22, 20, 22, 25)
ALIGN = "CLLRRCLR"
VERIFIER_LINE_MM = 14
ROWS_PER_SIGNER = 2


def number_text(value: int | float | None) -> str:
    """18.5 -> "18.5", 2.0 -> "2", 0.00001 -> "0.00001" (never 1e-05 on a form)."""
    if value is None:
        return ""
    return format(Decimal(str(value)).normalize(), "f")


def inventory_rows(view: ClaimView) -> tuple[list[tuple[str, ...]], list[int]]:
    """The printed rows (without number) and the amounts in fen they add up to."""
    if view.blank:
        return [], []
    items = view.claim.get("loss_items") or []
    if items:
        rows = [
            (view.loss_type_name(item["category"]), item["description"], number_text(item.get("quantity")),
             view.fen(item.get("unit_price_fen")), item.get("purchase_date", ""), item.get("damage_extent", ""),
             yuan(item["amount_fen"]))
            for item in items
        ]
        return rows, [item["amount_fen"] for item in items]
    losses = view.losses(INVENTORY_LOSS_TYPES)
    rows = []
    for loss in losses:
        note = loss.get("note", "")
        item = loss["item"] + ((f"（{note}）" if view.lang == "zh" else f" ({note})") if note else "")
        rows.append((view.loss_type_name(loss["loss_type"]), item, quantity_text(loss),
                     view.fen(loss.get("unit_price_fen")), loss.get("purchase_date", ""),
                     loss.get("damage_extent", ""), yuan(loss["amount_fen"])))
    return rows, [loss["amount_fen"] for loss in losses]


def render(view: ClaimView) -> bytes:
    t = view.t
    pdf = view.new_pdf()
    pdf.title_block(t["title"])
    household = {} if view.blank else (view.claim.get("household") or {})
    head, _ = view.household_head()
    pdf.field_grid(
        [
            [(t["household_head"], head, 1), (t["applicant"], view.applicant_names(), 1)],
            [(t["report_no"], view.get("report_no"), 1), (t["incident_at"], view.moment(view.get("incident_at")), 1)],
            [(t["coverage"], view.coverage_name(), 3)],
            [(t["address"], view.full_address(household.get("address")), 3)],
        ],
        col_widths=(1.1, 2.2, 1.1, 2.2),
    )
    pdf.ln(1)
    pdf.paragraph(t["hint"], size=8.5, grey=True)
    pdf.ln(1)

    lines, amounts = inventory_rows(view)
    rows = [(str(index + 1), *line) for index, line in enumerate(lines)]
    applicants = view.applicants
    # A signature line takes about two table rows: each heir's line beyond the first costs two
    # empty rows, so that a family's inventory still fits its page.
    blank_rows = max(SPARE_ROWS, MIN_ROWS - ROWS_PER_SIGNER * max(0, len(applicants) - 1) - len(rows))
    rows += [(str(len(rows) + i + 1) if not view.blank else "", *("",) * 7) for i in range(blank_rows)]
    total = sum(amounts)
    # Without itemised rows the total is left to be written in, never printed as 0.00.
    unpriced = not amounts
    rows.append(("", "", t["total"], "", "", "", "", "" if unpriced else yuan(total)))
    headings = [t["col.no"], t["col.loss_type"], t["col.item"], t["col.quantity"], t["col.unit_price"],
                t["col.purchase_date"], t["col.damage_extent"], t["col.amount"]]
    with pdf.local_context():
        pdf.set_font(size=TABLE_PT)
        pdf.data_table(headings, rows, col_widths=COL_WIDTHS, align=ALIGN,
                       emphasised_rows=(len(rows) - 1,), line_height=5.5, min_row_height=7)
    pdf.field_grid([[(t["in_words"], "" if unpriced else amount_in_words(total), 1)]],
                   columns=2, col_widths=(2.2, 7.1))
    pdf.ln(2)
    if pdf.will_page_break(max(1, len(applicants)) * SIGNATURE_ROW_MM + VERIFIER_LINE_MM):
        pdf.add_page()  # the applicants', the verifier's and the surveyor's signatures stay together
    # Each applicant (each heir of a deceased victim) signs and fingerprints a line of their own.
    signature_rows(view, pdf, applicants, role_label=t["applicant"], blank_label=t["sign.applicant_fingerprint"])
    pdf.signature_line([(t["sign.verifier"], 30), (t["sign.surveyor"], 30)], height=12)
    pdf.ln(3)
    # The committee writes its own opinion and stamps it.
    pdf.opinion_boxes(
        [(t["opinion.village"], "")],
        seal_label=t["seal"], signature_label=t["signature_of_head"], date_blank=t["date_blank"],
        columns=1, height=36,
    )
    return pdf.output_bytes()
