"""索赔申请书: the claim application the Center stamps before payment."""
from __future__ import annotations

from claimcore.money import format_fen as yuan, format_fen_capital as amount_in_words
from fieldapp.documents.forms.base import BLANK_SIGNERS, SIGNATURE_ROW_MM, ClaimView, group_digits, quantity_text, signature_rows

BLANK_LOSS_ROWS = 6
SEALS = ("village", "township", "center", "insurer")
GUARDIAN_LINE_MM = 13


def render(view: ClaimView) -> bytes:
    t = view.t
    pdf = view.new_pdf()
    pdf.title_block(t["title"])
    pdf.paragraph(t["policy_holder_line"], size=8.5, grey=True)
    pdf.ln(1)

    # 一、案件信息
    pdf.section(t["section.claim"])
    pdf.field_grid(
        [
            [(t["report_no"], view.get("report_no"), 1), (t["policy_no"], view.get("policy_no"), 1)],
            [(t["coverage"], view.coverage_name(), 3)],
            [(t["incident_at"], view.moment(view.get("incident_at")), 1), (t["loss_types"], view.loss_type_names(), 1)],
            [(t["township"], view.township_name(), 1), (t["village"], view.village_name(), 1)],
            [(t["address"], view.get("address"), 3)],
        ],
        col_widths=(1.15, 2, 1.15, 2),
    )

    # 二、受害人及申请人
    pdf.section(t["section.persons"])
    people = []
    listed = [person for role in ("victim", "claimant", "agent") for person in view.persons(role)]
    if view.blank:
        people = [(t["role.victim"], "", "", "", ""), (t["role.claimant"], "", "", "", ""),
                  (t["role.agent"], "", "", "", "")]
    else:
        for person in listed:
            role = person["role"]
            relation = person.get("relation", "")
            people.append((t[f"role.{role}"], person["name"], view.id_document(person),
                           person.get("phone", ""), "" if role == "victim" else relation))
    pdf.data_table(
        [t["person_role"], t["name"], view.id_number_label(listed), t["phone"], t["relation"]],
        people, col_widths=(1.1, 1.5, 2.6, 1.8, 1.5), align="CLCCC", min_row_height=8,
    )

    # 三、事故经过: may run over a page break
    pdf.section(t["section.events"])
    pdf.text_box(t["events_label"],
                 view.get("description"), min_lines=14 if view.blank else 3, hint=t["events_hint"])

    # 四、损失情况
    # Keep the loss table with its heading (and a short one whole) rather than strand the total.
    row_count = len(view.losses()) + len(view.claim["loss_types"]) + 1 if not view.blank else BLANK_LOSS_ROWS + 1
    pdf.section(t["section.losses"], keep_with_next_mm=min(row_count, 10) * 7 + 28)
    rows: list[tuple[str, ...]] = []
    emphasised: list[int] = []
    total = 0
    if view.blank:
        rows = [("",) * 5] * BLANK_LOSS_ROWS
    else:
        for code in view.claim["loss_types"]:
            lines = view.losses((code,))
            if not lines:
                continue
            subtotal = sum(loss["amount_fen"] for loss in lines)
            total += subtotal
            for loss in lines:
                rows.append((view.loss_type_name(code), loss["item"], quantity_text(loss),
                             view.fen(loss.get("unit_price_fen")), yuan(loss["amount_fen"])))
            if len(lines) > 1:
                emphasised.append(len(rows))
                rows.append((view.loss_type_name(code), t["subtotal"], "", "", yuan(subtotal)))
    # No itemised losses yet (a draft, or losses not yet assessed): the total stays blank for the
    # family or the adjuster to fill in; a printed 0.00 would be a false amount on a signed form.
    unpriced = view.blank or not rows
    emphasised.append(len(rows))
    rows.append((t["total"], "", "", "", "" if unpriced else yuan(total)))
    pdf.data_table(
        [t["col.loss_type"], t["col.item"], t["col.quantity"], t["col.unit_price"], t["col.amount"]],
        rows, col_widths=(1.6, 3.2, 0.9, 1.5, 1.6), align="LLRRR", emphasised_rows=emphasised,
        min_row_height=7,
    )
    other = None if view.blank else view.claim.get("other_compensation_fen", 0)
    other_text = ""
    if other is not None:
        other_text = f"{yuan(other)} {t['yuan']}" if other else t["none"]
        note = view.get("other_compensation_note")
        other_text += f"（{note}）" if note and view.lang == "zh" else (f" ({note})" if note else "")
    pdf.field_grid(
        [
            [(t["in_words"], "" if unpriced else amount_in_words(total), 1)],
            [(t["other_compensation"], other_text, 1)],
        ],
        columns=2, col_widths=(3.2, 5.6),
    )

    # 五、收款账户: full numbers on paper only
    pdf.section(t["section.payee"])
    payee = view.payee or {}
    pdf.field_grid(
        [
            [(t["payee_name"], payee.get("name", ""), 1),
             (view.id_number_label([payee]), view.id_document(payee), 1)],
            [(t["bank_name"], payee.get("bank_name", ""), 3)],
            [(t["bank_account"], group_digits(payee.get("bank_account", "")), 3)],
        ],
        col_widths=(1.15, 2, 1.15, 2),
    )
    pdf.paragraph(t["payee_note"], size=8.5, grey=True)

    # 六、声明与同意
    pdf.section(t["section.declaration"], keep_with_next_mm=60)
    pdf.paragraph(t["declaration"])
    pdf.ln(1)
    pdf.paragraph(t["consent"], size=9.5)
    # Every applicant signs and fingerprints a line of their own: each heir of a deceased victim.
    applicants = view.applicants
    if pdf.will_page_break((len(applicants) or BLANK_SIGNERS) * SIGNATURE_ROW_MM + GUARDIAN_LINE_MM):
        pdf.add_page()  # the applicants' lines and the guardian's stay together
    if not applicants:
        pdf.paragraph(t["sign.blank_hint"], size=8.5, grey=True)
    signature_rows(view, pdf, applicants, role_label=t["role.claimant"], blank_label=t["sign.applicant"],
                   blank_lines=BLANK_SIGNERS)
    pdf.signature_line([(t["sign.guardian"], 55), (t["date_label"], 0), (t["date_blank"], 0)], height=11)

    # 七、审核意见及盖章: left empty for each office to write its opinion and stamp it.
    pdf.section(t["section.seals"], keep_with_next_mm=100)
    pdf.opinion_boxes(
        [(t[f"opinion.{office}"], "") for office in SEALS],
        seal_label=t["seal"], signature_label=t["handled_by"], date_blank=t["date_blank"],
    )
    return pdf.output_bytes()
