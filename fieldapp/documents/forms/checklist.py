"""索赔资料清单: what the victim must bring, from whom, and what is still missing.

Filled from claimcore.checklist (the single source of the document rules); the blank version lists
the base set, every coverage's cause evidence and every loss type's documents, for the liaison to
tick by hand.
"""
from __future__ import annotations

from claimcore.checklist import ChecklistItem, evaluate, required_documents

from fieldapp.documents.forms.base import ClaimView
from pdflayer.page import FormPDF

STATUS_CELL_BLANK = "□"


def checklist_items(view: ClaimView) -> list[ChecklistItem]:
    claim = view.claim
    return required_documents(
        view.catalogue, claim["coverage"], claim["loss_types"],
        by_agent=bool(view.persons("agent")),
        conditions=tuple(claim.get("conditions") or ()),
        attached_to=claim.get("attached_to") or None,
    )


def _name(view: ClaimView, item: ChecklistItem) -> str:
    t = view.t
    name = item.label.get(view.lang)
    if item.template:
        name = "★" + name
    if item.when:
        name += t("when", condition=view.catalogue.conditions[item.when].label.get(view.lang))
    if item.shared_per_event:
        name += t["shared_per_event"]
    if item.long_wait:
        name += t["long_wait"]
    return name


def _required(view: ClaimView, mandatory: bool, group_size: int = 0, need: int = 0) -> str:
    t = view.t
    if group_size:
        return t("required.group", need=need, of=group_size)
    return t["required.yes"] if mandatory else t["required.no"]


def _section_label(view: ClaimView, section: str) -> str:
    t = view.t
    if section == "base":
        return t["section.base"]
    if section == "cause":
        return t["section.cause"]
    return t("section.loss", name=view.loss_type_name(section))


def _group_notes(view: ClaimView, pdf: FormPDF, groups: dict[str, tuple[int, list[str]]]) -> None:
    """Explain each "2 of 3" group in plain words under the table."""
    sep = "、" if view.lang == "zh" else " / "
    for need, names in groups.values():
        pdf.paragraph(view.t("group_note", need=need, of=len(names), names=sep.join(names)), size=9)


def render(view: ClaimView) -> bytes:
    t = view.t
    pdf = view.new_pdf()
    pdf.title_block(t["title"])
    headings = [t["col.no"], t["col.document"], t["col.issuer"], t["col.required"], t["col.status"]]
    widths = (0.65, 3.3, 2.45, 0.9, 1.3)
    if view.blank:
        _render_blank(view, pdf, headings, widths)
        return pdf.output_bytes()

    victim = view.victim or {}
    pdf.field_grid(
        [
            [(t["report_no"], view.get("report_no"), 1), (t["claim_of"], victim.get("name", ""), 1)],
            [(t["coverage"], view.coverage_name(), 1), (t["role.claimant"], view.applicant_names(), 1)],
            [(t["loss_types"], view.loss_type_names(), 3)],
            [(t["address"], view.full_address(), 3)],
        ],
        col_widths=(1.1, 2.2, 1.1, 2.2),
    )
    pdf.ln(1)
    pdf.paragraph(t["intro"])
    pdf.ln(1)

    items = checklist_items(view)
    statuses = view.claim.get("document_statuses", {})
    rows: list[tuple[str, ...]] = []
    emphasised: list[int] = []
    groups: dict[str, tuple[int, list[str]]] = {}
    section = None
    number = 0
    for item in items:
        if item.section != section:
            section = item.section
            emphasised.append(len(rows))
            rows.append(("", _section_label(view, section), "", "", ""))
        number += 1
        if item.group:
            need = item.group_min_required or 1
            groups.setdefault(item.group, (need, []))[1].append(item.label.get(view.lang))
            required = _required(view, item.mandatory, len(item.group_members), need)
        else:
            required = _required(view, item.mandatory)
        status = statuses.get(item.document, "missing")
        rows.append((str(number), _name(view, item), item.issuer.get(view.lang), required, t[f"status.{status}"]))
    pdf.data_table(headings, rows, col_widths=widths, align="CLLCC", emphasised_rows=emphasised)
    pdf.ln(1)
    _group_notes(view, pdf, groups)
    if any(item.template for item in items):
        pdf.paragraph(t["template_note"], size=9)

    result = evaluate(items, statuses)
    pdf.section(t("summary.missing", count=len(result.missing)) if result.missing else t["summary.complete"],
                keep_with_next_mm=15)
    for index, entry in enumerate(result.missing, start=1):
        pdf.paragraph(f"{index}. {entry.text(view.lang)}")
    if result.optional_missing:
        pdf.ln(1)
        pdf.paragraph(t["optional_missing"], size=9.5)
        for entry in result.optional_missing:
            pdf.paragraph(f"· {entry.text(view.lang)}", size=9.5)
    _contacts(view, pdf)
    return pdf.output_bytes()


def _render_blank(view: ClaimView, pdf: FormPDF, headings: list[str], widths: tuple[float, ...]) -> None:
    t = view.t
    cat = view.catalogue
    sep = "　" if view.lang == "zh" else "  "
    loss_type_boxes = sep.join("□" + view.loss_type_name(code) for code in cat.loss_types)
    pdf.field_grid(
        [
            [(t["report_no"], "", 1), (t["claim_of"], "", 1)],
            [(t["coverage"], "", 1), (t["role.claimant"], "", 1)],
            [(t["loss_types"], loss_type_boxes, 3)],
        ],
        col_widths=(1.1, 2.2, 1.1, 2.2),
    )
    pdf.ln(1)
    pdf.paragraph(t["blank_intro"])
    pdf.ln(1)

    rows: list[tuple[str, ...]] = []
    emphasised: list[int] = []
    groups: dict[str, tuple[int, list[str]]] = {}

    def add_requirements(section_label: str, requirements) -> None:
        emphasised.append(len(rows))
        rows.append(("", section_label, "", "", ""))
        for requirement in requirements:
            if requirement.document is not None:
                members, group = [requirement.document], None
            else:
                group = cat.groups[requirement.group]
                members = list(group.members)
            for code in members:
                document = cat.documents[code]
                name = ("★" if document.template else "") + document.label.get(view.lang)
                if requirement.when:
                    name += t("when", condition=cat.conditions[requirement.when].label.get(view.lang))
                if group:
                    groups.setdefault(group.code, (group.min_required, []))[1].append(document.label.get(view.lang))
                    required = _required(view, requirement.mandatory, len(group.members), group.min_required)
                else:
                    required = _required(view, requirement.mandatory)
                rows.append(("", name, document.issuer.get(view.lang), required, STATUS_CELL_BLANK))

    add_requirements(t["section.base"], cat.base_documents)
    for code, requirements in cat.loss_type_documents.items():
        add_requirements(t("section.loss", name=view.loss_type_name(code)), requirements)
    pdf.data_table(headings, rows, col_widths=widths, align="CLLCC", emphasised_rows=emphasised)
    pdf.ln(1)
    _group_notes(view, pdf, groups)
    pdf.paragraph(t["template_note"], size=9)

    # Cause evidence differs per coverage: one line per coverage, so the same sheet serves all. A
    # rider such as 附加安置费用救助保险 proves its cause with its main coverage's papers.
    pdf.section(t["cause_by_coverage"], keep_with_next_mm=40)
    cause_rows = []
    for coverage in cat.coverages.values():
        if coverage.cause_evidence_from_main:
            mains = t["or"].join(cat.coverage(code).label.get(view.lang) for code in coverage.attaches_to)
            cause_rows.append((coverage.label.get(view.lang), t("cause_from_main", main=mains),
                               t["issuer_from_main"]))
            continue
        names = "、".join(
            ("★" if cat.documents[r.document].template else "") + cat.documents[r.document].label.get(view.lang)
            for r in coverage.cause_evidence if r.document)
        issuers = "、".join(dict.fromkeys(cat.documents[r.document].issuer.get(view.lang)
                                         for r in coverage.cause_evidence if r.document))
        cause_rows.append((coverage.label.get(view.lang), names, issuers))
    pdf.data_table([t["col.coverage"], t["col.document"], t["col.issuer"]], cause_rows,
                   col_widths=(2.2, 3.6, 2.8), align="LLL")
    _contacts(view, pdf)


def _contacts(view: ClaimView, pdf: FormPDF) -> None:
    t = view.t
    pdf.ln(3)
    if pdf.will_page_break(30):
        pdf.add_page()
    pdf.paragraph(t["liaison"])
    pdf.ln(2)
    pdf.paragraph(t["surveyor"])
    pdf.ln(2)
    pdf.paragraph(t["privacy"], size=8.5, grey=True)
