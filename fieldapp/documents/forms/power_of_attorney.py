"""授权委托书: a township liaison or a relative files the claim on the principal's behalf."""
from __future__ import annotations

from fieldapp.documents.claim_json import ATTORNEY_SCOPES, DEFAULT_ATTORNEY_SCOPE
from fieldapp.documents.forms.base import BLANK_SIGNERS, ClaimView, signature_rows
from pdflayer.page import LINE_MM


def _person_grid(view: ClaimView, person: dict | None, role_label: str, relation_label: str):
    t = view.t
    person = person or {}
    return [
        [(role_label, person.get("name", ""), 1), (view.id_number_label([person]), view.id_document(person), 1)],
        [(t["phone"], person.get("phone", ""), 1), (relation_label, person.get("relation", ""), 1)],
    ]


def _principals(view: ClaimView) -> list[dict]:
    """Every applicant grants the power: each heir of a deceased victim, or the victim."""
    self_relation = "本人" if view.lang == "zh" else "self"
    return [{**p, "relation": self_relation} if p["role"] == "victim" else p for p in view.applicants]


def render(view: ClaimView) -> bytes:
    t = view.t
    pdf = view.new_pdf()
    pdf.title_block(t["title"])

    principals = _principals(view)
    agent = view.person("agent")
    widths = (1.2, 2, 1.3, 2.3)
    pdf.section(t["principal"], keep_with_next_mm=15)
    rows = [(str(number), p["name"], view.id_document(p), p.get("phone", ""), p.get("relation", ""))
            for number, p in enumerate(principals, start=1)]
    if not rows:  # blank, or no heir entered yet: lines for a family of heirs to fill in
        rows = [("",) * 5] * BLANK_SIGNERS
    pdf.data_table([t["col.no"], t["name"], view.id_number_label(principals), t["phone"], t["principal_relation"]], rows,
                   col_widths=(0.45, 1.6, 2.35, 1.6, 1.6), align="CLCCC", min_row_height=8)
    pdf.section(t["agent"], keep_with_next_mm=15)
    pdf.field_grid(_person_grid(view, agent, t["name"], t["agent_relation"]), col_widths=widths)
    pdf.ln(4)

    blank = t["blank_fill"]
    victim = view.victim
    pdf.paragraph(
        t("body", victim=victim["name"] if victim else blank,
          coverage=view.coverage_name() or blank, report_no=view.get("report_no") or blank)
    )
    pdf.ln(1)
    attorney = {} if view.blank else (view.claim.get("power_of_attorney") or {})
    scope = () if view.blank else tuple(attorney.get("scope") or DEFAULT_ATTORNEY_SCOPE)
    for number, code in enumerate(ATTORNEY_SCOPES, start=1):
        pdf.set_x(pdf.l_margin + 8)
        pdf.checkbox(code in scope)
        pdf.multi_cell(pdf.epw - 14, LINE_MM, f"{number}. {t['scope.' + code]}", wrapmode=pdf.wrapmode,
                       new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.paragraph(t["ratify"])
    pdf.ln(1)
    start = view.day(attorney.get("valid_from", "")) or ("　" * 8 if view.blank else view.day(view.get("incident_at")))
    end = view.day(attorney.get("valid_until", "")) or t["term_until_closed"]
    pdf.paragraph(t("term", start=start, end=end))
    pdf.paragraph(t["attachments"])
    pdf.ln(8)
    signature_rows(view, pdf, principals, role_label=t["principal"], blank_label=t["sign.principal"],
                   blank_lines=BLANK_SIGNERS)
    pdf.signature_line([(t["sign.agent"], 50 + pdf.get_string_width(t["sign.principal"]) - pdf.get_string_width(t["sign.agent"])),
                        (t["date_label"], 0), (t["date_blank"], 0)], height=14)
    return pdf.output_bytes()
