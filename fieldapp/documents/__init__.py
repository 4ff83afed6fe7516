"""Claim documents as print-ready Chinese PDFs (fpdf2, pure Python: runs on the phone too).

    render(template, claim, *, lang="zh") -> bytes     claim=None renders the blank form
    TEMPLATES                                          the five template codes
    validate_claim_json(obj) -> dict                   raises ClaimJsonError listing every problem

The claim dict's shape is docs/claim-json.md; the forms' words are assets/catalogue/templates/.
The page layer (font, header and footer, tables, seal blocks) is pdflayer.page, which the server's
reports use too.
"""
from __future__ import annotations

from fieldapp.documents.claim_json import ClaimJsonError, validate_claim_json

TEMPLATES = ("claim_application", "disaster_certificate", "power_of_attorney", "loss_inventory", "checklist")

__all__ = ["TEMPLATES", "ClaimJsonError", "UnknownTemplate", "render", "validate_claim_json"]


class UnknownTemplate(ValueError):
    def __init__(self, template: object) -> None:
        self.template = template
        super().__init__(f"unknown template {template!r}; one of: {', '.join(TEMPLATES)}")


def render(template: str, claim: dict | None, *, lang: str = "zh") -> bytes:
    """The PDF bytes of one form. The claim is validated first (ClaimJsonError if unusable)."""
    if template not in TEMPLATES:
        raise UnknownTemplate(template)
    if lang not in ("zh", "en"):
        raise ValueError(f"language must be zh or en, not {lang!r}")
    from importlib import import_module

    from fieldapp.documents.forms.base import ClaimView

    checked = None if claim is None else validate_claim_json(claim)
    form = import_module(f"fieldapp.documents.forms.{template}")
    return form.render(ClaimView(template, checked, lang))
