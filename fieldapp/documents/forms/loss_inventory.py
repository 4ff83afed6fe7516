"""财产损失清单: itemised house and contents losses, with spare rows for the survey."""
from __future__ import annotations

from claimcore.money import format_fen as yuan, format_fen_capital as amount_in_words
from fieldapp.documents.forms.base import ClaimView, quantity_text

# Only property belongs on the inventory; medical bills and benefits go on the application.
INVENTORY_LOSS_TYPES = ("house",)
MIN_ROWS = 11  # a page of lines for the blank form
SPARE_ROWS = 4  # always room for items found during the survey


def render(view: ClaimView) -> bytes:
    t = view.t
    pdf = view.new_pdf()
    pdf.title_block(t["title"])
    applicant = view.applicant or {}
    household = {} if view.blank else (view.claim.get("household") or {})
    head = household.get("head_name") or (view.victim or {}).get("name", "")
    pdf.field_grid(
        [
            [(t["household_head"], head, 1), (t["applicant"], applicant.get("name", ""), 1)],
            [(t["report_no"], view.get("report_no"), 1), (t["incident_at"], view.moment(view.get("incident_at")), 1)],
            [(t["coverage"], view.coverage_name(), 3)],
            [(t["address"], view.full_address(household.get("address")), 3)],
        ],
        col_widths=(1.1, 2.2, 1.1, 2.2),
    )
    pdf.ln(1)
    pdf.paragraph(t["hint"], size=8.5, grey=True)
    pdf.ln(1)

    losses = view.losses(INVENTORY_LOSS_TYPES)
    rows = [
        (str(index + 1), loss["item"], quantity_text(loss), view.fen(loss.get("unit_price_fen")),
         yuan(loss["amount_fen"]), loss.get("note", ""))
        for index, loss in enumerate(losses)
    ]
    blank_rows = max(SPARE_ROWS, MIN_ROWS - len(rows))
    rows += [(str(len(rows) + i + 1) if not view.blank else "", "", "", "", "", "") for i in range(blank_rows)]
    total = sum(loss["amount_fen"] for loss in losses)
    # Without itemised rows the total is left to be written in, never printed as 0.00.
    unpriced = view.blank or not losses
    rows.append(("", t["total"], "", "", "" if unpriced else yuan(total), ""))
    pdf.data_table(
        [t["col.no"], t["col.item"], t["col.quantity"], t["col.unit_price"], t["col.amount"], t["col.note"]],
        rows, col_widths=(0.6, 3.4, 0.8, 1.3, 1.4, 1.8), align="CLRRRL",
        emphasised_rows=(len(rows) - 1,), min_row_height=7,
    )
    pdf.field_grid([[(t["in_words"], "" if unpriced else amount_in_words(total), 1)]],
                   columns=2, col_widths=(2.2, 7.1))
    pdf.ln(2)
    pdf.signature_line([(t["sign.applicant"], 40), (t["sign.verifier"], 40)], height=12)
    pdf.signature_line([(t["sign.surveyor"], 40), (t["date_label"], 0), (t["date_blank"], 0)], height=12)
    pdf.ln(3)
    pdf.opinion_boxes(
        [(t["opinion.village"], "" if view.blank else t["opinion.village.text"])],
        seal_label=t["seal"], signature_label=t["signature_of_head"], date_blank=t["date_blank"],
        columns=1, height=36,
    )
    return pdf.output_bytes()
