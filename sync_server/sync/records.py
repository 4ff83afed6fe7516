"""A record's changes from a phone's push (documents, photos, persons, notes, timeline
entries): scope first, the record contract, a surveyor's and a closed checklist's limits, a
photo's blob references, and the field merge of a change."""
from __future__ import annotations

from typing import Any, Mapping

from sqlalchemy.orm import Session

from ..blobs import provenance
from ..claims import survey_access
from ..core import changelog, sealing
from ..core.changelog import record_change
from ..core.error_codes import ERR
from ..core.models import Record, User, utcnow
from ..devices.models import Device
from . import batch, policy
from .mutations import Mutation, Rejected, as_sent, merge

PHOTO_BLOBS = ("sha256", "preview_sha256")  # a photo record's blobs


def record_snapshot(rec: Record | Mapping[str, Any]) -> dict[str, Any]:
    """What the change feed holds of a record (a row, or a new record's values not written yet)."""
    row = rec if isinstance(rec, Mapping) else {"fields": rec.fields, "claim_id": rec.claim_id,
                                                  "created_by": rec.created_by, "updated_at": rec.updated_at}
    snap = dict(row["fields"] or {})
    snap["claim_id"] = row["claim_id"]
    snap["created_by"] = row["created_by"]
    snap["updated_at"] = changelog.now_iso(row["updated_at"])
    return snap


def _check_survey_record(session: Session, entity: str, rec: Record | None, clean: dict[str, Any]) -> None:
    """A surveyor works the site survey's own papers and photos: the victims' papers it is never
    served (survey_access) are not its to change, nor to attach photos to."""
    before = (rec.fields or {}) if rec is not None else {}
    if entity == "document":
        codes = {before.get("code"), clean.get("code")} - {None}
        if not codes or not codes <= survey_access.SURVEY_DOCUMENTS:
            raise Rejected(ERR.not_allowed_for_role, "a surveyor handles only the site survey's documents")
        return
    doc_ids = {before.get("document_id"), clean.get("document_id")} - {None}
    if any(not survey_access.record_visible_to_surveyor(session, "document", str(d)) for d in doc_ids):
        raise Rejected(ERR.not_allowed_for_role, "a surveyor attaches photos only to the site survey's documents")


def _check_documents_open(session: Session, user: User, claim_id: str, rec: Record | None,
                          clean: dict[str, Any]) -> None:
    """Past document collection only the offices change the checklist (claimcore.document_rules,
    the rule the phone's store applies). A push repeating what is stored is not a change."""
    from claimcore import document_rules

    before = (rec.fields or {}) if rec is not None and not rec.deleted else None
    if before is not None and all(before.get(k) == v for k, v in clean.items()):
        return
    claim = batch.claim_of(session, claim_id)
    if claim is None:
        return
    try:
        document_rules.check_document_change(claim.status, user.role)
    except document_rules.DocumentsClosed as exc:
        raise Rejected(exc.code, f"{exc.message('en')} / {exc.message('zh')}", field="status") from None


def apply_record(session: Session, user: User, device: Device, m: Mutation) -> tuple[str, int | None]:
    entity = m.entity
    fields = dict(m.fields)
    claim_id = fields.pop("claim_id", None)
    rec = batch.load_record_for_update(session, m.id)
    if rec is not None and not batch.claim_visible(session, user, rec.claim_id):
        # A record of a claim out of the caller's scope: scope first, so nothing here says that the
        # id exists (nor names its claim). Answered as for a claim the caller may not see.
        if claim_id is None:
            raise Rejected(ERR.required, f"{entity} needs claim_id", field="claim_id")
        raise Rejected(ERR.claim_not_found, f"claim {claim_id} not found")
    if rec is not None:
        if rec.entity != entity:
            raise Rejected(ERR.id_in_use, f"id {m.id} belongs to another kind of record")
        if claim_id is not None and claim_id != rec.claim_id:
            raise Rejected(ERR.claim_id_immutable, "a record cannot move to another claim")
        claim_id = rec.claim_id
    if claim_id is None:
        raise Rejected(ERR.required, f"{entity} needs claim_id", field="claim_id")
    if not policy.is_uuid(claim_id) or not batch.claim_visible(session, user, claim_id):
        # Unknown and out-of-scope claims get the same answer.
        raise Rejected(ERR.claim_not_found, f"claim {claim_id} not found")
    now = utcnow()

    if m.op == "delete":
        if entity in policy.APPEND_ONLY:
            raise Rejected(ERR.append_only, f"{entity}s are never deleted")
        if user.role not in policy.FIELD_ROLES:
            raise Rejected(ERR.not_allowed_for_role, f"role {user.role} may not delete a {entity}")
        if rec is None:
            raise Rejected(ERR.not_found, f"{entity} {m.id} not found")
        if rec.deleted:
            return "applied", rec.version
        if entity == "document":
            _check_documents_open(session, user, rec.claim_id, None, {})
        own = as_sent(device, m, {}, rec.version, {})
        rec.deleted = True
        sealing.erase_sealed(session, rec)  # a deleted person keeps no ID number, card, phone
        rec.version += 1
        rec.updated_at = now
        session.flush()
        record_change(session, entity, rec.id, {"claim_id": rec.claim_id}, version=rec.version,
                      op="delete", claim_id=rec.claim_id, origin_device=own)
        return "applied", rec.version

    if rec is None and user.role not in policy.create_roles(entity):
        raise Rejected(ERR.not_allowed_for_role, f"role {user.role} may not add a {entity}")
    # The record as stored: a person's ID number is checked by its document type, whichever of
    # the two this write changes (claimcore.entities.check_fields), as the phone's store does.
    clean = policy.check_fields(entity, fields, user.role, creating=rec is None,
                          current=(rec.fields or {}) if rec is not None and not rec.deleted else None)
    if user.role == "surveyor" and entity in ("document", "photo"):
        _check_survey_record(session, entity, rec, clean)
    if entity == "document":
        _check_documents_open(session, user, claim_id, rec, clean)
    if rec is None and entity == "transition":
        _check_timeline_entry(session, user, claim_id, clean)

    if rec is None:
        row = {"id": m.id, "entity": entity, "claim_id": claim_id, "version": 1, "deleted": False,
               "sha256": clean.get("sha256"), "fields": clean, "field_versions": {k: [1, device.id] for k in clean},
               "created_by": user.id, "created_at": now, "updated_at": now}
        whole = batch.current(session)
        if whole is not None:
            # Written before the batch's next statement, with the other new records (a clash of
            # ids surfaces there and sends the batch one by one, where it is answered as always).
            row["id_index"] = sealing.id_index_of(session.get_bind().dialect, entity, False, clean)
            whole.new_records[m.id] = row
        else:
            session.add(Record(**row))
            session.flush()
        if entity == "photo":
            # Naming a hash is not owning the photo: the reference counts once this device has
            # sent those bytes (or they belong to a record its user sees already); until then the
            # record is kept and the blob stays unreadable through it (sync_server.blobs.provenance).
            for key in PHOTO_BLOBS:
                if clean.get(key):
                    provenance.reference(session, user, device.id, clean[key], "photo", m.id, claim_id=claim_id,
                                         batch=whole.blobs if whole is not None else None)
        snap = record_snapshot(row)
        if entity in ("transition", "note"):
            snap["created_by_name"] = user.name  # timelines show people, not ids
        record_change(session, entity, m.id, snap, version=1, claim_id=claim_id,
                      origin_device=as_sent(device, m, clean, 0, fields), new=True)
        return "applied", 1

    if rec.deleted:
        raise Rejected(ERR.record_deleted, f"{entity} {m.id} was deleted")
    if entity in policy.APPEND_ONLY:
        if any(rec.fields.get(k) != v for k, v in clean.items()):
            raise Rejected(ERR.append_only, f"a {entity} cannot be changed once recorded; add a new one")
        return "applied", rec.version
    new_version = rec.version + 1
    own = as_sent(device, m, clean, rec.version, fields)
    applied, versions, conflict = merge(
        session,
        entity=entity,
        entity_id=rec.id,
        claim_id=claim_id,
        current=rec.fields or {},
        field_versions=rec.field_versions or {},
        changes=clean,
        base_version=m.base_version,
        new_version=new_version,
        device_id=device.id,
    )
    if not applied:
        return "applied", rec.version
    rec.fields = {**(rec.fields or {}), **applied}
    rec.field_versions = versions
    rec.version = new_version
    rec.updated_at = now
    session.flush()
    record_change(session, entity, rec.id, record_snapshot(rec), version=new_version, claim_id=claim_id,
                  origin_device=None if conflict else own)
    return ("conflict" if conflict else "applied"), new_version


def _check_timeline_entry(session: Session, user: User, claim_id: str, fields: dict[str, Any]) -> None:
    """A pushed timeline entry must tell what happened: the claim is now in ``to_status`` (the
    status change itself travels first, as the claim's ``status``, and was checked there), the
    step ``from_status → to_status`` is one of claimcore.workflow's edges that the caller's role
    may take (the first entry: a reporting role reported it), and it names the caller's role."""
    from claimcore import workflow

    claim = batch.claim_of(session, claim_id)
    source, target = fields.get("from_status"), fields.get("to_status")
    role = fields.get("role")
    if role is not None and role != user.role:
        raise Rejected(ERR.illegal_transition, f"a timeline entry names its writer's role ({user.role}), not {role}",
                       field="role")
    if claim is None or target != claim.status:
        raise Rejected(ERR.illegal_transition, f"the claim is not {target}: a timeline entry records a status "
                                             "change that was made", field="to_status")
    try:
        if source is None:
            if target != workflow.INITIAL_STATE or claim.created_by != user.id:
                raise Rejected(ERR.illegal_transition, "only the claim's reporter records its first entry",
                               field="from_status")
            workflow.check_report(user.role)
            return
        edge = workflow.find_transition(source, target)
    except workflow.WorkflowError as exc:
        raise Rejected(ERR.illegal_transition, f"{exc.message('en')} / {exc.message('zh')}") from None
    if edge is None or user.role not in edge.roles:
        raise Rejected(ERR.illegal_transition, f"role {user.role} does not move a claim from {source} to {target}",
                       field="from_status")
