"""Least privilege for co-insurer surveyors: what a survey shows them, and when it ends.

A co-insurer's surveyor joins the site survey of a claim; it does not handle the victims' papers
(PIPL: personal information limited to what the purpose needs). So:

* **What is served.** An offered or accepted survey shows a surveyor what a site survey needs:
  names, the MASKED ID number (``500111********1234``), the contact phone, the address, site
  photos and the survey's own documents. Full ID numbers, bank details, medical details and the
  papers behind them (ID cards, bank cards, medical records, death and household papers: every
  document not in :data:`SURVEY_DOCUMENTS`) never reach a surveyor. :func:`surveyor_view` applies
  this to every feed row a surveyor pulls; office roles and the township's liaisons still get the
  full records. Scans never reach surveyors at all (sync_server.claims.scans refuses them).
* **When it ends.** Declined, timed out, cancelled, or ``DAZU_SURVEY_ACCESS_DAYS_AFTER_COMPLETION``
  days (30) after completion: the scope (changelog.assignment_gives_access) stops serving the
  claim at once, by the server's clock, whether or not anything below has run yet.
* **Forgetting.** When access ends, a feed row ``claim_access`` (op ``delete``, fields
  ``{claim_id, reason}``), private to the insurer, tells its surveyors' phones to delete the claim
  and everything under it. It is written in the same transaction as a decline or a time-out
  (coinsurance), and by :func:`sweep` before a surveyor's pull for what ends by time alone (the
  days after completion, an overdue offer) or ended before this rule existed. If the insurer gets
  the claim again, the row becomes an ``upsert`` (reason ``granted``) and the claim's rows are
  sent again (changelog.reemit_claim).
"""
from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Iterable

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from claimcore.masking import mask_id

from ..core import rules as core_rules
from ..core.changelog import (
    ASSIGNMENT_STATUSES_WITHOUT_ACCESS,
    CLAIM_ACCESS,
    AccessPolicy,
    access_policy,
    assignment_gives_access,
    record_change,
)
from ..core.models import Assignment, Change, Record
from ..rotation import service as rotation_service

_ACCESS_NS = uuid.UUID("0d1f6a52-9b0e-4c57-8f3e-52a4c1d7e9b3")

# What a surveyor gets of each person field, decided field by field (every field of the contract's
# person must be listed: tests/sync_server/test_surveyor_privacy.py checks it, so a new field is
# decided here before it can reach a surveyor; an unlisted field is withheld meanwhile).
KEEP, MASK, ABSENT = "keep", "mask", "absent"
PERSON_VIEW: dict[str, str] = {
    "role_in_claim": KEEP,
    "name": KEEP,
    "id_type": KEEP,  # which document to ask for on site
    "id_number": MASK,  # who they meet on site, not a number to reuse (masked by its type)
    "phone": KEEP,  # the surveyor calls the victim to meet at the site
    "relation": KEEP,
    "gender": KEEP,
    "birth_date": ABSENT,  # exactly what the masked ID number hides
    "address": KEEP,
    "household_size": KEEP,
    "bank_name": ABSENT,
    "bank_branch": ABSENT,
    "bank_card": ABSENT,
    "disability_grade": ABSENT,  # a medical assessment
    "medical": ABSENT,
    "created_at": ABSENT,  # local-only on phones
    "updated_at": KEEP,
}
# Bookkeeping the server adds to a record's snapshot.
_SNAPSHOT_KEYS = frozenset({"claim_id", "created_by", "updated_at"})

# The catalogue's documents a site survey works with; every other document (ID cards, bank cards,
# medical papers, death and household papers, powers of attorney, relocation lists) is a paper of
# the victims' and stays with the office and the township.
SURVEY_DOCUMENTS: frozenset[str] = frozenset({
    "site_photos", "damage_photos", "survey_record", "loss_inventory", "village_site_confirmation",
    "disaster_certificate", "weather_certificate",
})
# The medical papers among the catalogue's documents (named for the tests and the docs; all of them
# are outside SURVEY_DOCUMENTS).
MEDICAL_PAPERS: frozenset[str] = frozenset({
    "medical_records", "medical_invoices", "itemised_bill", "medical_insurance_settlement",
    "death_medical_certificate", "disability_assessment", "perpetrator_psychiatric_diagnosis",
    "mental_patient_determination",
})
# Document fields a surveyor does not get even of a survey document (scans never reach it).
_DOCUMENT_ABSENT = frozenset({"scan_ref"})


def access_id(claim_id: str, insurer_code: str) -> str:
    """The ``claim_access`` row's id: one per (claim, insurer), a UUID as every feed id."""
    return str(uuid.uuid5(_ACCESS_NS, f"{claim_id}/{insurer_code}"))


# ------------------------------------------------------------------------------ what is served

def mask_person(fields: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in fields.items():
        treatment = KEEP if name in _SNAPSHOT_KEYS else PERSON_VIEW.get(name, ABSENT)
        if treatment == KEEP:
            out[name] = value
        elif treatment == MASK and value is not None:
            out[name] = mask_id(value, fields.get("id_type"))
    return out


def surveyor_view(session: Session, changes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The feed rows as a surveyor may see them (``{"entity", "id", "fields", ...}`` each)."""
    hidden_docs: set[str] = set()
    for c in changes:
        # A delete carries only the claim's id: it is passed on (the phone drops what it held).
        if c["entity"] == "document" and c["op"] == "upsert" and not _survey_document(c["fields"]):
            hidden_docs.add(c["id"])
    # Photos of a document: shown only with a survey document (a photo of an ID card shows the
    # full number). The document may be on an earlier page or not pulled at all: look it up.
    wanted = {str(c["fields"].get("document_id")) for c in changes
              if c["entity"] == "photo" and c["fields"].get("document_id")}
    known_ok = {c["id"] for c in changes
                if c["entity"] == "document" and c["op"] == "upsert" and c["id"] not in hidden_docs}
    lookup = wanted - known_ok - hidden_docs
    if lookup:
        found = {r.id: r for r in session.execute(
            select(Record).where(Record.id.in_(lookup), Record.entity == "document")).scalars()}
        for doc_id in lookup:
            rec = found.get(doc_id)
            if rec is None or rec.deleted or not _survey_document(rec.fields or {}):
                hidden_docs.add(doc_id)  # unknown: withheld rather than guessed
    out = []
    for c in changes:
        entity, fields = c["entity"], c["fields"]
        if entity == "conflict":
            continue  # the values of a field conflict (an ID number...) are the office's to review
        if entity == "person" and c["op"] == "upsert":
            c = dict(c, fields=mask_person(fields))
        elif entity == "document" and c["op"] == "upsert":
            if c["id"] in hidden_docs:
                continue
            c = dict(c, fields={k: v for k, v in fields.items() if k not in _DOCUMENT_ABSENT})
        elif entity == "photo" and fields.get("document_id") and str(fields["document_id"]) in hidden_docs:
            continue
        out.append(c)
    return out


def _survey_document(fields: dict[str, Any]) -> bool:
    return fields.get("code") in SURVEY_DOCUMENTS


def record_visible_to_surveyor(session: Session, entity: str, entity_id: str) -> bool:
    """Whether a record (of a claim the surveyor may see) is one :func:`surveyor_view` serves:
    for the routes that hand out a record's parts (a photo's blob)."""
    if entity not in ("document", "photo"):
        return True
    rec = session.get(Record, entity_id)
    if rec is None:
        return False
    if entity == "document":
        return _survey_document(rec.fields or {})
    doc_id = (rec.fields or {}).get("document_id")
    if not doc_id:
        return True
    doc = session.get(Record, str(doc_id))
    return doc is not None and not doc.deleted and _survey_document(doc.fields or {})


# ------------------------------------------------------------------------------ when it ends

def _ended(policy: AccessPolicy):
    """WHERE clause on ``Assignment``: its access is over (by status, or by time after completion)."""
    return or_(
        Assignment.status.in_(ASSIGNMENT_STATUSES_WITHOUT_ACCESS),
        and_(Assignment.status == "completed",
             or_(Assignment.completed_at.is_(None), Assignment.completed_at <= policy.completion_cutoff)),
    )


def _reason(a: Assignment) -> str:
    return "completed" if a.status == "completed" else a.status


def _write_access_row(session: Session, claim_id: str, insurer_code: str, op: str, reason: str) -> None:
    rid = access_id(claim_id, insurer_code)
    current = session.execute(
        select(Change.version).where(Change.entity == CLAIM_ACCESS, Change.entity_id == rid)).scalar()
    record_change(session, CLAIM_ACCESS, rid, {"claim_id": claim_id, "reason": reason},
                  version=(current or 0) + 1, op=op, claim_id=claim_id, insurer_code=insurer_code)


def end_access(session: Session, a: Assignment, now: dt.datetime, policy: AccessPolicy | None = None) -> bool:
    """This assignment no longer gives access: tell the insurer's phones to forget the claim,
    unless another assignment of the insurer still gives access to it. Idempotent. True when a
    forget instruction was written."""
    if a.access_ended_at is not None or a.claim_id is None:
        return False
    policy = policy or access_policy(session)
    a.access_ended_at = now
    session.flush()
    still = session.execute(select(Assignment.id).where(
        Assignment.claim_id == a.claim_id, Assignment.insurer_code == a.insurer_code,
        Assignment.id != a.id, assignment_gives_access(policy))).first()
    if still is not None:
        return False
    _write_access_row(session, a.claim_id, a.insurer_code, "delete", _reason(a))
    return True


def grant_access(session: Session, claim_id: str | None, insurer_code: str) -> None:
    """The insurer was assigned the claim (again): a standing forget instruction is replaced, so a
    phone that pulls from an older cursor is not told to drop what it is about to receive."""
    if claim_id is None:
        return
    rid = access_id(claim_id, insurer_code)
    op = session.execute(
        select(Change.op).where(Change.entity == CLAIM_ACCESS, Change.entity_id == rid)).scalar()
    if op == "delete":
        _write_access_row(session, claim_id, insurer_code, "upsert", "granted")


def _overdue_offers(session: Session, insurer_code: str, now: dt.datetime, settings: Any) -> bool:
    """Does the insurer hold an offer past the rotation's time-out that nobody has timed out yet?"""
    try:

        from ..rotation import rules as rot
    except ImportError:  # the co-insurance module is not installed: no rotation, no time-outs
        return False
    timeout = core_rules.rule_settings(getattr(settings, "extra", None)).rotation.timeout
    return session.execute(select(Assignment.id).where(
        Assignment.insurer_code == insurer_code, Assignment.status == "assigned",
        Assignment.kind.in_(rot.CLAIM_DISPATCHES), Assignment.created_at <= now - timeout,
    ).limit(1)).first() is not None


def _pending_ends(session: Session, insurer_code: str, policy: AccessPolicy) -> list[Assignment]:
    return list(session.execute(select(Assignment).where(
        Assignment.insurer_code == insurer_code, Assignment.access_ended_at.is_(None), _ended(policy),
    ).order_by(Assignment.created_at, Assignment.id)).scalars())


def sweep(db: Any, insurer_code: str | None, settings: Any = None) -> int:
    """Before a surveyor's pull: time out the insurer's overdue offers (the rotation's lazy
    time-outs, as on any dispatch or answer) and write the forget instructions of every assignment
    of the insurer whose access has ended and was not handled yet. A read first; a write
    transaction only when something is due. Returns the forget instructions written."""
    if not insurer_code:
        return 0
    with db.read() as session:
        policy = access_policy(session)
        overdue = _overdue_offers(session, insurer_code, policy.now, settings)
        due = overdue or bool(_pending_ends(session, insurer_code, policy))
    if not due:
        return 0
    written = 0
    with db.write() as session:
        policy = access_policy(session)
        if overdue:


            rotation_service.lock_rotation(session)
            state = rotation_service.load_state(session, core_rules.rule_settings(getattr(settings, "extra", None)))
            rotation_service.expire_overdue(session, state, policy.now)
        # Locked (PostgreSQL; SQLite writers take turns anyway): two phones of the insurer pulling
        # at once write each instruction once.
        rows = session.execute(select(Assignment).where(
            Assignment.insurer_code == insurer_code, Assignment.access_ended_at.is_(None), _ended(policy),
        ).order_by(Assignment.created_at, Assignment.id).with_for_update()).scalars().all()
        for a in rows:
            written += end_access(session, a, policy.now, policy)
    return written


def forget_instructions(changes: Iterable[dict[str, Any]]) -> list[str]:
    return [c["fields"].get("claim_id") for c in changes if c["entity"] == CLAIM_ACCESS and c["op"] == "delete"]


__all__ = ["ABSENT", "KEEP", "MASK", "MEDICAL_PAPERS", "PERSON_VIEW", "SURVEY_DOCUMENTS", "access_id",
           "end_access", "grant_access", "mask_person", "record_visible_to_surveyor", "surveyor_view", "sweep"]
