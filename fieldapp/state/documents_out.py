"""A checklist item's template, filled in from a claim on this phone, as a PDF file.

The claim -> form mapping is the documents package's (``fieldapp.documents.from_store``); this
module only chooses where the file goes and turns its refusals into one sentence for the user.
The file holds full ID and account numbers (the only place they appear unmasked), so it stays in
the phone's own data folder (created 0600 by the documents package) until the user saves or
shares it.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from fieldapp.documents import UnknownTemplate
from fieldapp.documents.claim_json import ClaimJsonError
from fieldapp.documents.from_store import ClaimNotFound, IncompleteClaimError, render_claim_pdf
from fieldapp.i18n import t

OUT_DIR = "documents"  # inside the phone's data folder


class TemplateRefused(Exception):
    """The form could not be made; ``message`` is the sentence shown to the user."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def template_dir(data_dir: Path | str) -> Path:
    return Path(data_dir) / OUT_DIR


def open_template(store: Any, data_dir: Path | str, claim_id: str, template: str, lang: str = "zh") -> Path:
    """Write the filled-in ``template`` for the claim and return the file's path.

    Raises TemplateRefused with a message in ``lang``: no such claim here, a checklist without
    loss types, stored data the form cannot print (each problem named), an unknown template."""
    try:
        return render_claim_pdf(store, claim_id, template, lang=lang, out_dir=template_dir(data_dir))
    except (ClaimNotFound, IncompleteClaimError) as exc:
        raise TemplateRefused(exc.message(lang)) from None
    except UnknownTemplate:
        raise TemplateRefused(t("docs.template_unknown", lang, template=template)) from None
    except ClaimJsonError as exc:
        raise TemplateRefused(t("docs.template_bad_data", lang, problems="; ".join(exc.problems))) from None
