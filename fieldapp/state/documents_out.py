"""Fill a checklist item's template (fieldapp.documents) from a claim in the store."""
from __future__ import annotations

from typing import Any

from fieldapp.documents import TEMPLATES, render

_PERSON_ROLES = ("victim", "claimant", "payee", "agent")


def claim_dict(detail: Any) -> dict:
    """The store's ClaimDetail in the documents' claim JSON shape (docs/claim-json.md)."""
    persons = []
    for p in detail.persons:
        if p.role not in _PERSON_ROLES:
            continue
        person = {"role": p.role, "name": p.name or ""}
        for key in ("id_number", "phone", "relation", "bank_name", "bank_account"):
            value = getattr(p, key, None)
            if value:
                person[key] = value
        persons.append(person)
    out: dict[str, Any] = {
        "claim_id": detail.id, "report_no": detail.report_no, "coverage": detail.coverage,
        "catalogue_version": detail.catalogue_version, "loss_types": list(detail.loss_types),
        "persons": persons,
        "document_statuses": {d.doc_code: d.status for d in detail.documents},
    }
    for key, src in (("township_code", "township_code"), ("village_code", "village_code"),
                     ("address", "place"), ("incident_at", "incident_at"), ("description", "description")):
        value = getattr(detail, src)
        if value:
            out[key] = value
    return out


def render_template_for_claim(store: Any, claim_id: str, template: str, lang: str = "zh") -> bytes:
    if template not in TEMPLATES:
        raise ValueError(f"unknown template {template!r}")
    return render(template, claim_dict(store.claims.get(claim_id)), lang=lang)
