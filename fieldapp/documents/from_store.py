"""Fill the claim documents from a claim stored on this phone (fieldapp.store).

    claim_json_from_store(store, claim_id, *, lang="zh", allow_incomplete=False) -> dict
    render_claim_pdf(store, claim_id, template, *, lang="zh", out_dir) -> Path
    pdf_file_name(report_no, template, lang="zh") -> str

The claim's documents tab calls ``render_claim_pdf`` to open, share or save a filled-in form. The
printout is the ONE place full ID numbers and bank accounts appear (screens mask them), so this
module reads them decrypted from the store and writes them only into the PDF.

What the store does not hold is left empty on the form, never made up: the policy number, the
application's loss lines (the claimed total is one line), compensation received elsewhere, the
household details of the disaster certificate (size, rooms, casualties, relocation), the power of
attorney's scope and term (the form's defaults apply); a person entered as household head becomes
the certificate's head (name, ID number and the document it is of). Each person's identity document
type (``id_type``) goes along with the number unless it is a resident ID (the claim JSON's default).
The loss inventory prints the adjuster's ``loss_items``; the payee is the recorded
``payee_person_id`` or, without one, the first person claimcore.amounts.payee_candidates allows
(never the deceased victim of a death claim), else the boxes stay blank. The mapping, field by field, is in docs/claim-json.md ("Filling the claim JSON
from the phone's store").

A claim still being entered (a draft, or a report missing its township, incident time, loss types,
victim or a person's name) is *incomplete*: ``claim_json_from_store`` refuses it with
``IncompleteClaimError`` naming what is missing (unless ``allow_incomplete=True``), and
``render_claim_pdf`` prints it with those fields empty; everything that IS recorded is still
checked by ``validate_claim_json``. Only the checklist needs the loss types (and a rider's main
coverage): without them it raises ``IncompleteClaimError``.
"""
from __future__ import annotations

import logging
import re
from datetime import datetime
from importlib import import_module
from pathlib import Path
from typing import Any

from claimcore import amounts
from claimcore.localtime import CHINA_TIME
from claimcore.divisions import load_divisions
from fieldapp.documents import TEMPLATES, UnknownTemplate, render
from fieldapp.documents import catalogue_view, places
from fieldapp.documents.claim_json import ClaimJsonError, payee_preference, validate_claim_json
from fieldapp.store import NotFoundError
from fieldapp.durable import write_atomic

log = logging.getLogger(__name__)

__all__ = [
    "ClaimNotFound", "IncompleteClaimError", "claim_json_from_store", "pdf_file_name", "render_claim_pdf",
]

# Dazu keeps China Standard Time; the store keeps UTC. The JSON carries the local wall-clock time
# with its offset so that a person reading the JSON sees what the form prints.

# Relations the app's screens store as codes (fieldapp/i18n relation.*); anything else is the
# user's own words (e.g. "龙水镇联络员") and is printed as typed.
RELATION_CODES = ("self", "spouse", "child", "parent", "sibling", "other")
_SELF = ("self", "本人")

# The claimed amount has no item breakdown in the store; this labels the one line it becomes.
_CLAIMED_ITEM = {"zh": "申报损失金额（未分项）", "en": "Amount claimed (not itemised)"}

# Values used ONLY to let validate_claim_json check the rest of an incomplete claim; they are
# removed again before anything is returned or printed.
_FILLER_TIME = "2000-01-01T00:00:00+08:00"
_FILLER_NAME = "-"


class ClaimNotFound(NotFoundError):
    """No claim with this id on this phone (a store NotFoundError, so either can be caught)."""

    def __init__(self, claim_id: str) -> None:
        super().__init__("claim", claim_id)
        self.claim_id = claim_id

    def __str__(self) -> str:
        return f"no claim {self.claim_id!r} on this phone: its documents cannot be filled in"

    def message(self, lang: str = "zh") -> str:
        if lang == "zh":
            return f"本机没有这个案件（{self.claim_id}），无法生成单证。"
        return str(self)


class IncompleteClaimError(ClaimJsonError):
    """The stored claim lacks fields the claim JSON requires; ``missing`` names them (paths as in
    ClaimJsonError: ``township_code``, ``incident_at``, ``loss_types``, ``victim``,
    ``attached_to``, ``persons[2].name``)."""

    _WHAT = {
        "township_code": ("镇街", "township"),
        "incident_at": ("出险时间", "incident time"),
        "loss_types": ("损失类型", "loss types"),
        "victim": ("受害人", "victim"),
        "attached_to": ("附加险所附主险", "main coverage of the rider"),
    }

    def __init__(self, missing: list[str], *, template: str | None = None) -> None:
        self.missing = tuple(missing)
        self.template = template
        super().__init__([f"{path}: required, not recorded on this phone yet" for path in missing])

    def message(self, lang: str = "zh") -> str:
        names = []
        for path in self.missing:
            zh_en = self._WHAT.get(path)
            if zh_en is None:  # persons[i].name
                zh_en = ("人员姓名", "a person's name")
            names.append(zh_en[0] if lang == "zh" else zh_en[1])
        names = list(dict.fromkeys(names))
        if lang == "zh":
            what = "、".join(names)
            if self.template == "checklist":
                return f"案件尚未填写{what}，无法列出所需资料。"
            return f"案件尚未填写{what}。"
        what = ", ".join(names)
        if self.template == "checklist":
            return f"the claim has no {what} yet: the list of documents cannot be made"
        return f"the claim has no {what} yet"


def claim_json_from_store(store: Any, claim_id: str, *, lang: str = "zh",
                          allow_incomplete: bool = False) -> dict:
    """The stored claim in the shape of docs/claim-json.md, checked by validate_claim_json.

    ``lang`` ("zh" | "en") chooses the words for relation codes and the claimed-amount line.
    Raises ClaimNotFound (unknown id), ClaimJsonError (stored data the documents cannot print, every
    problem listed, missing fields included), IncompleteClaimError (only fields are missing). With
    ``allow_incomplete=True`` missing fields are left out instead (``loss_types`` empty, a nameless
    person's ``name`` ""): everything present is validated, but such a dict is NOT a complete claim
    JSON and validate_claim_json alone would refuse it.
    """
    claim, missing = _build(store, claim_id, lang)
    if missing and not allow_incomplete:
        raise IncompleteClaimError(missing)
    return claim


def render_claim_pdf(store: Any, claim_id: str, template: str, *, lang: str = "zh",
                     out_dir: Path | str) -> Path:
    """Fill ``template`` from the stored claim and write it atomically to
    ``out_dir/<report_no>-<template>.pdf`` (``-en`` before ``.pdf`` for English); returns the path.

    An incomplete claim prints with the missing fields empty. The file appears whole or not at all
    (temporary file, fsync, rename); it holds full ID and account numbers, so it is created 0600.
    Raises UnknownTemplate, ValueError (language), ClaimNotFound, ClaimJsonError, and
    IncompleteClaimError for a checklist without loss types (or without a rider's main coverage).
    """
    if template not in TEMPLATES:
        raise UnknownTemplate(template)
    if lang not in ("zh", "en"):
        raise ValueError(f"language must be zh or en, not {lang!r}")
    claim, missing = _build(store, claim_id, lang)
    if template == "loss_inventory":
        # The inventory lists the adjuster's items (loss_items). The claimed total is not an item and
        # would be counted twice once the surveyor writes the real ones in the rows.
        claim["losses"] = []
    if template == "checklist":
        needed = [path for path in missing if path in ("loss_types", "attached_to")]
        if needed:
            raise IncompleteClaimError(needed, template=template)
    pdf = render(template, claim, lang=lang) if not missing else _render_incomplete(template, claim, lang)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    target = out / pdf_file_name(claim["report_no"], template, lang, fallback=claim["claim_id"])
    write_atomic(target, pdf)
    return target


def pdf_file_name(report_no: str, template: str, lang: str = "zh", *, fallback: str = "claim") -> str:
    """``DZ-20260714-A1B2-0038-claim_application.pdf``: the report number made safe as a file name
    (a server-made number may hold characters a file system or a share sheet refuses)."""
    safe = re.sub(r"[^0-9A-Za-z_.-]+", "_", report_no or "").strip("._") or fallback
    suffix = "" if lang == "zh" else f"-{lang}"
    return f"{safe}-{template}{suffix}.pdf"


# ---- building the claim JSON --------------------------------------------------------------------

def _build(store: Any, claim_id: str, lang: str) -> tuple[dict, list[str]]:
    """(claim dict, missing paths). Missing fields are absent from the dict (names: "")."""
    if lang not in ("zh", "en"):
        raise ValueError(f"language must be zh or en, not {lang!r}")
    try:
        detail = store.claims.get(claim_id)
    except NotFoundError:
        raise ClaimNotFound(claim_id) from None

    claim: dict[str, Any] = {"claim_id": detail.id, "report_no": detail.report_no, "coverage": detail.coverage}
    if detail.catalogue_version:
        claim["catalogue_version"] = detail.catalogue_version
    for key, value in (("township_code", detail.township_code), ("village_code", detail.village_code),
                       ("address", detail.address), ("description", detail.description)):
        if value:
            claim[key] = value
    if detail.incident_at:
        claim["incident_at"] = datetime.fromisoformat(detail.incident_at).astimezone(CHINA_TIME).isoformat()
    claim["loss_types"] = list(detail.loss_types or [])
    claim["persons"] = _persons(detail, lang)
    household = _household(detail)
    if household:
        claim["household"] = household
    claim["payee_person_id"] = _payee_id(detail, {p["id"] for p in claim["persons"]})
    claim["losses"] = _losses(detail, lang)
    claim["loss_items"] = [dict(item) for item in detail.loss_items or []]
    # Not known on the phone: an explicit None leaves the line blank instead of printing "无" (none),
    # which would state that nothing was received.
    claim["other_compensation_fen"] = None
    claim["document_statuses"] = _statuses(detail)

    catalogue = _catalogue_or_none(detail.catalogue_version)
    rider = None
    if catalogue is not None and catalogue_view.has_coverage(catalogue, detail.coverage):
        rider = catalogue.coverage(detail.coverage)
        attached = _main_coverage(store, detail, rider)
        if attached:
            claim["attached_to"] = attached

    missing: list[str] = []
    filled = dict(claim)  # what validation sees: the missing fields given harmless values
    filled["persons"] = [dict(p) for p in claim["persons"]]
    if "township_code" not in claim:
        missing.append("township_code")
        filled["township_code"] = (places.village_township(claim.get("village_code", ""))
                                   or load_divisions().townships[0].code)
    if "incident_at" not in claim:
        missing.append("incident_at")
        filled["incident_at"] = _FILLER_TIME
    if not claim["loss_types"]:
        missing.append("loss_types")
        allowed = catalogue_view.coverage_loss_types(catalogue, detail.coverage) if rider else ()
        if allowed:
            filled["loss_types"] = [allowed[0]]
    if not any(p["role"] == "victim" for p in claim["persons"]):
        missing.append("victim")
        filled["persons"].insert(0, {"role": "victim", "name": _FILLER_NAME})
    offset = 1 if "victim" in missing else 0
    for index, person in enumerate(claim["persons"]):
        if not person["name"]:
            missing.append(f"persons[{index}].name")
            filled["persons"][index + offset]["name"] = _FILLER_NAME
    if rider is not None and rider.cause_evidence_from_main and "attached_to" not in claim:
        missing.append("attached_to")
        filled["attached_to"] = rider.attaches_to[0]

    try:
        checked = validate_claim_json(filled)
    except ClaimJsonError as exc:
        problems = [_label_person(p, claim["persons"], offset) for p in exc.problems]
        problems += [f"{path}: required, not recorded on this phone yet" for path in missing]
        raise ClaimJsonError(problems) from None

    # Take the fillers out again: validated (normalised) values for everything else.
    for key in ("township_code", "incident_at", "attached_to"):
        if key in missing:
            checked.pop(key, None)
    if "loss_types" in missing:
        checked["loss_types"] = []
    if "victim" in missing:
        del checked["persons"][0]
    for index, person in enumerate(claim["persons"]):
        if not person["name"]:
            checked["persons"][index]["name"] = ""
    return checked, missing


def _catalogue_or_none(version: str | None):
    try:
        return catalogue_view.catalogue(version or None)
    except catalogue_view.UnknownCatalogueVersion:
        return None  # validate_claim_json reports the unknown version


def _relation(value: str | None, lang: str) -> str:
    if not value:
        return ""
    if value in RELATION_CODES:
        from fieldapp.i18n import catalogue as ui_texts  # plain JSON, no Flet

        return ui_texts(lang).get(f"relation.{value}", value)
    return value


def _persons(detail: Any, lang: str) -> list[dict]:
    """Store persons in claim-JSON roles: one victim, claimants (heirs of a death claim are its
    claimants), payee, agent; decrypted numbers as stored."""
    victims = [p for p in detail.persons if p.role_in_claim == "victim"]
    # The wizard lets a reporter enter several injured people; the claim JSON and its forms have
    # one victim per claim (the household head for house losses): the one entered as "self".
    victim = next((p for p in victims if (p.relation or "") in _SELF), victims[0] if victims else None)
    for other in victims:
        if other is not victim:
            log.warning("claim %s: victim %s not printed (the forms have one victim per claim)",
                        detail.id, other.id)
    ordered = ([victim] if victim else []) + [p for p in detail.persons if p.role_in_claim == "claimant"] \
        + [p for p in detail.persons if p.role_in_claim == "heir"] \
        + [p for p in detail.persons if p.role_in_claim in ("payee", "agent")]
    out = []
    for p in ordered:
        person: dict[str, Any] = {"id": p.id, "role": "claimant" if p.role_in_claim == "heir" else p.role_in_claim,
                                  "name": p.name or ""}
        relation = _relation(p.relation, lang)
        if relation:
            person["relation"] = relation
        if _other_document(p):
            person["id_type"] = p.id_type
        # The claim JSON (docs/claim-json.md) names the payee's account ``bank_account``.
        for key, attr in (("id_number", "id_number"), ("phone", "phone"), ("bank_name", "bank_name"),
                          ("bank_account", "bank_card")):
            value = getattr(p, attr)
            if value:
                person[key] = value
        if p.bank_card:
            # Same rule as the store: 16-19 digits is a card (Luhn-checked), other lengths a passbook.
            person["account_type"] = "card" if 16 <= len(p.bank_card) <= 19 else "passbook"
        out.append(person)
    return out


def _household(detail: Any) -> dict:
    """The household head the disaster certificate prints, from a person entered as
    ``household_head`` (the first one); without one the forms take the victim."""
    head = next((p for p in detail.persons if p.role_in_claim == "household_head" and p.name), None)
    if head is None:
        return {}
    household = {"head_name": head.name}
    if head.id_number:
        household["head_id_number"] = head.id_number
        if _other_document(head):
            household["head_id_type"] = head.id_type
    return household


def _other_document(person: Any) -> bool:
    """Whether the person's number is of a document other than a resident ID. A resident ID is
    what a claim JSON without ``id_type`` means, so it is left out: a resident's claim JSON stays
    exactly what it was before other documents were accepted."""
    return bool(person.id_type) and person.id_type != catalogue_view.DEFAULT_ID_TYPE


def _payee_id(detail: Any, printed: set[str]) -> str | None:
    """The payee the forms print, by the store's own roles (the claim JSON's claimants include the
    heirs): the recorded payee (``payee_person_id``) when the payment rule allows that person to
    be paid; otherwise the first person claimcore.amounts.payee_candidates offers, in the order
    payee, applicants, victim, anyone else; None (boxes left blank) when nobody qualifies yet.
    Only printed persons count (a second injured victim is not on the forms)."""
    loss_types = detail.loss_types or []
    persons = sorted(
        ({"id": p.id, "role_in_claim": p.role_in_claim, "has_bank_account": bool(p.bank_card)}
         for p in detail.persons if p.id in printed),
        key=lambda p: payee_preference(p["role_in_claim"]),
    )
    recorded = detail.payee_person_id
    if recorded:
        # A payee may be recorded before their account is: the person is printed, the account is
        # left to write in.
        allowed = amounts.payee_candidates([{**p, "has_bank_account": True} for p in persons], loss_types)
        if recorded in allowed:
            return recorded
        log.warning("claim %s: recorded payee %s is not printed (not a person of the forms, or the "
                    "payment rule does not allow paying them)", detail.id, recorded)
    candidates = amounts.payee_candidates(persons, loss_types)
    return candidates[0] if candidates else None


def _losses(detail: Any, lang: str) -> list[dict]:
    """The store keeps the claimed total, not item lines. With one loss type the total belongs to
    it unambiguously and becomes one labelled line; with several it cannot be split without
    guessing, so the form's loss table stays for the family to fill in."""
    if detail.claimed_amount_fen is None or len(detail.loss_types or []) != 1:
        return []
    return [{"loss_type": detail.loss_types[0], "item": _CLAIMED_ITEM[lang], "amount_fen": detail.claimed_amount_fen}]


def _statuses(detail: Any) -> dict[str, str]:
    """Document statuses by code. A code the claim's catalogue does not know (e.g. from a newer
    catalogue via sync) cannot appear on any form; it is left out rather than failing the print."""
    catalogue = _catalogue_or_none(detail.catalogue_version)
    known = catalogue_view.document_codes(catalogue) if catalogue is not None else None
    out = {}
    for doc in detail.documents:
        if known is not None and doc.code not in known:
            log.warning("claim %s: document code %r not in catalogue %s, not printed",
                        detail.id, doc.code, detail.catalogue_version)
            continue
        out[doc.code] = doc.status
    return out


def _main_coverage(store: Any, detail: Any, rider: Any) -> str | None:
    """A rider's main coverage, only where the store shows it: the rider attaches to one coverage
    only, or the claim's event holds claims of exactly one coverage the rider can attach to."""
    if not rider.attaches_to:
        return None
    if len(rider.attaches_to) == 1:
        return rider.attaches_to[0]
    if not detail.event_id:
        return None
    found: set[str] = set()
    after = None
    while True:
        page = store.claims.list_page(event_id=detail.event_id, limit=200, after=after)
        found.update(row.coverage for row in page.rows
                     if row.id != detail.id and row.coverage in rider.attaches_to)
        if page.next_key is None:
            break
        after = page.next_key
    return found.pop() if len(found) == 1 else None


def _label_person(problem: str, persons: list[dict], offset: int) -> str:
    """persons[1].id_number: ... -> persons[1] (claimant 李犇).id_number: ... so the user knows whom."""
    match = re.match(r"persons\[(\d+)\]", problem)
    if not match:
        return problem
    index = int(match.group(1)) - offset
    if not 0 <= index < len(persons):
        return problem
    person = persons[index]
    label = f"persons[{index}] ({person['role']} {person['name']})".rstrip()
    return label + problem[match.end():]


# ---- rendering and writing ----------------------------------------------------------------------

def _render_incomplete(template: str, claim: dict, lang: str) -> bytes:
    """fieldapp.documents.render() insists on a complete claim; an incomplete one (already checked
    above, fields missing) goes to the same form code directly, which prints absent fields empty."""
    from fieldapp.documents.forms.base import ClaimView

    form = import_module(f"fieldapp.documents.forms.{template}")
    return form.render(ClaimView(template, claim, lang))


