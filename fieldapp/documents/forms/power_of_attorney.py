"""授权委托书: a township liaison or a relative files the claim on the principal's behalf."""
from __future__ import annotations

from fieldapp.documents.claim_json import ATTORNEY_SCOPES, DEFAULT_ATTORNEY_SCOPE
from fieldapp.documents.forms.base import ClaimView
from pdflayer.page import LINE_MM


def _person_grid(view: ClaimView, person: dict | None, role_label: str, relation_label: str):
    t = view.t
    person = person or {}
    return [
        [(role_label, person.get("name", ""), 1), (t["id_number"], person.get("id_number", ""), 1)],
        [(t["phone"], person.get("phone", ""), 1), (relation_label, person.get("relation", ""), 1)],
    ]


def render(view: ClaimView) -> bytes:
    t = view.t
    pdf = view.new_pdf()
    pdf.title_block(t["title"])

    principal = view.applicant
    agent = view.person("agent")
    if principal is not None and principal["role"] == "victim":
        principal = {**principal, "relation": "本人" if view.lang == "zh" else "self"}
    widths = (1.2, 2, 1.3, 2.3)
    pdf.section(t["principal"], keep_with_next_mm=15)
    pdf.field_grid(_person_grid(view, principal, t["name"], t["principal_relation"]), col_widths=widths)
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
    pdf.signature_line([(t["sign.principal"], 50), (t["date_label"], 0), (t["date_blank"], 0)], height=14)
    pdf.signature_line([(t["sign.agent"], 50 + pdf.get_string_width(t["sign.principal"]) - pdf.get_string_width(t["sign.agent"])),
                        (t["date_label"], 0), (t["date_blank"], 0)], height=14)
    return pdf.output_bytes()
