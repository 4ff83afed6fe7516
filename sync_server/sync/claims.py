"""A claim's changes: a phone's pushed claim write (new, or a change merged field by field),
the guards on it (status edges, the checklist, amounts within the claim's limits) and what a
move sets going (rotation, claim authority, event grouping); and the claim moves the server makes
itself (``server_change``, ``move_claim``), published in the pull feed like a pushed change."""
from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..authority import service as authority_service
from ..core import changelog, domain
from ..core import rules as core_rules
from ..core.changelog import ASSIGNMENT_STATUSES_WITHOUT_ACCESS, record_change
from ..core.error_codes import ERR
from ..core.models import Assignment, Claim, Record, User, utcnow
from ..devices.models import Device
from ..events import caps as events_caps
from ..events import service as events_service
from ..rotation import service as rotation_service
from . import batch, policy
from .mutations import Mutation, PushRules, Rejected, as_sent, merge
from .records import record_snapshot


def claim_fields(claim: Claim) -> dict[str, Any]:
    out = {name: getattr(claim, name) for name in policy.CLAIM_COLUMNS}
    out.update(claim.data or {})
    return out


def claim_snapshot(claim: Claim) -> dict[str, Any]:
    snap = claim_fields(claim)
    snap["created_by"] = claim.created_by
    snap["updated_at"] = changelog.now_iso(claim.updated_at)
    return snap


def _survey_participant(session: Session, user: User, claim_id: str) -> bool:
    if user.role != "surveyor":
        return False
    row = session.execute(
        select(Assignment.id).where(
            Assignment.claim_id == claim_id,
            Assignment.insurer_code == user.insurer_code,
            Assignment.status.not_in(ASSIGNMENT_STATUSES_WITHOUT_ACCESS),
        )
    ).first()
    return row is not None


def checklist_complete(session: Session, claim: Claim, loss_types: list[str] | None = None) -> bool:
    """claimcore's checklist over the claim's document records (the submit guard)."""
    from claimcore import catalogue as cat_mod
    from claimcore import checklist

    loss_types = loss_types if loss_types is not None else (claim.data or {}).get("loss_types") or []
    if not loss_types:
        return False
    docs = session.execute(
        select(Record).where(Record.claim_id == claim.id, Record.entity == "document", Record.deleted.is_(False))
    ).scalars()
    statuses: dict[str, str] = {}
    for doc in docs:
        code = (doc.fields or {}).get("code")
        status = (doc.fields or {}).get("status")
        if code and status:
            statuses[code] = status
    persons = session.execute(
        select(Record).where(Record.claim_id == claim.id, Record.entity == "person", Record.deleted.is_(False))
    ).scalars()
    by_agent = any((p.fields or {}).get("role_in_claim") == "agent" for p in persons)
    data = claim.data or {}
    try:
        catalogue = cat_mod.load_catalogue(claim.catalogue_version or None)
        items = checklist.required_documents(
            catalogue, claim.coverage, loss_types, by_agent=by_agent,
            conditions=data.get("conditions") or (), attached_to=data.get("attached_to"),
        )
        return checklist.evaluate(items, statuses).complete
    except (ValueError, KeyError):
        return False


def apply_claim(session: Session, user: User, device: Device, m: Mutation,
                 rules: PushRules) -> tuple[str, int | None]:
    if m.op == "delete":
        raise Rejected(ERR.delete_not_allowed, "claims are never deleted; withdraw them instead")
    claim = batch.load_claim_for_update(session, m.id)
    # A claim the user may not see is answered exactly as an unknown id would be: the same checks,
    # in the same order, with the same messages (so its existence cannot be probed), up to the
    # point where an unknown id would be created.
    hidden = claim is not None and not batch.claim_visible(session, user, claim.id)
    if hidden:
        claim = None
    fields = policy.check_fields("claim", m.fields, user.role, creating=claim is None)
    now = utcnow()

    if "township_code" in fields and user.role == "liaison" and fields["township_code"] != user.township_code:
        raise Rejected(ERR.township_not_permitted, "a liaison reports claims of its own township only")

    if claim is None:
        try:
            from claimcore import workflow

            workflow.check_report(user.role)
        except Exception as exc:  # WorkflowError
            raise Rejected(ERR.not_a_reporting_role, f"role {user.role} may not report a claim ({exc})") from None
        if fields.get("status", "reported") != "reported":
            raise Rejected(ERR.illegal_transition, "a new claim starts as reported")
        if fields.get("village_code") is not None:
            domain.check_village(fields["village_code"], fields["township_code"])
        if hidden:
            # Only a phone that already knows this UUID (made on another device) gets here.
            raise Rejected(ERR.id_in_use, f"claim id {m.id} is already taken; make a new id")
        columns = {k: v for k, v in fields.items() if k in policy.CLAIM_COLUMNS}
        data = {k: v for k, v in fields.items() if k not in policy.CLAIM_COLUMNS}
        # The phone holds the claim as stored only when the server filled in nothing of its own.
        own = as_sent(device, m, fields, 0) if {"status", "catalogue_version"} <= set(fields) else None
        columns.setdefault("status", "reported")
        columns.setdefault("catalogue_version", domain.catalogue_version())
        claim = Claim(
            id=m.id,
            version=1,
            data=data,
            field_versions={k: [1, device.id] for k in fields},
            created_by=user.id,
            created_at=now,
            updated_at=now,
            **columns,
        )
        session.add(claim)
        whole = batch.current(session)
        if whole is not None:
            # Written with the batch's next statement, with the records that follow it.
            whole.claims[claim.id] = claim
            if user.role == "liaison" and claim.township_code == user.township_code:
                whole.visible_claims.add(claim.id)  # claim_visible's rule for a liaison
        else:
            session.flush()
        record_change(session, "claim", claim.id, claim_snapshot(claim), version=1, claim_id=claim.id,
                      origin_device=own, new=True)
        _claim_written(session, user, claim, fields, None, new=True)
        return "applied", 1

    current = claim_fields(claim)
    township = fields.get("township_code", claim.township_code)
    if fields.get("village_code") is not None or ("township_code" in fields and claim.village_code):
        village = fields.get("village_code", claim.village_code)
        if village is not None:
            domain.check_village(village, township)
    _check_money(session, claim, {**current, **fields}, fields)
    new_status = fields.get("status")
    moving = new_status is not None and new_status != claim.status
    if moving:
        loss_types = fields.get("loss_types", current.get("loss_types"))
        _check_transition(session, rules, user, claim, new_status, fields.get("status_reason"), loss_types,
                          {**current, **fields})
    new_version = claim.version + 1
    own = as_sent(device, m, fields, claim.version)
    applied, versions, conflict = merge(
        session,
        entity="claim",
        entity_id=claim.id,
        claim_id=claim.id,
        current=current,
        field_versions=claim.field_versions or {},
        changes=fields,
        base_version=m.base_version,
        new_version=new_version,
        device_id=device.id,
    )
    if not applied:
        return "applied", claim.version
    data = dict(claim.data or {})
    for name, value in applied.items():
        if name in policy.CLAIM_COLUMNS:
            setattr(claim, name, value)
        else:
            data[name] = value
    township_changed = "township_code" in applied
    claim.data = data
    claim.field_versions = versions
    claim.version = new_version
    claim.updated_at = now
    session.flush()
    record_change(session, "claim", claim.id, claim_snapshot(claim), version=new_version, claim_id=claim.id,
                  origin_device=None if conflict else own)
    if township_changed:
        # Another township's liaison now sees this claim: its records must reach them too.
        changelog.reemit_claim(session, claim.id)
    _claim_written(session, user, claim, applied, current.get("event_id"))
    if moving and applied.get("status") == new_status:
        _after_transition(session, rules, user, claim, new_status)
    return ("conflict" if conflict else "applied"), new_version


def _claim_written(session: Session, user: User, claim: Claim, applied: dict[str, Any],
                   event_before: str | None, *, new: bool = False) -> None:
    """What a pushed claim write (a new claim or a change) sets going in the co-insurance rules:
    an office's ``event_id`` is a choice by hand; a claim without an event whose coverage,
    township or incident time is new joins the event it matches."""
    if "event_id" in applied:
        events_service.event_set_by_hand(session, claim, event_before, applied["event_id"], user)
    if events_service.GROUPING_FIELDS & set(applied):
        events_service.group_claim(session, claim, new=new)


def _after_transition(session: Session, rules: PushRules, user: User, claim: Claim, target: str) -> None:
    """What a status the phone pushed sets going on the server (the same as the office's routes):
    a dispatched survey goes through the rotation; an adjusted amount is put to the co-insurers."""
    from claimcore import authority

    now = rules.now()
    if target == "survey_dispatched":
        try:
            rotation_service.dispatch_claim(session, rules.settings, claim.id, user, now, move=False)
        except core_rules.RuleError as exc:
            if exc.code != ERR.already_dispatched:
                raise Rejected(exc.code, exc.message) from None
    try:
        if target == "adjusted" and claim.adjusted_amount_fen is not None and authority.tier_for_amount(
                claim.adjusted_amount_fen) is not authority.Tier.LEAD_ALONE:
            authority_service.authority_view(session, rules.settings, claim.id, now)  # the co-insurers are told
        authority_service.claim_moved(session, rules.settings, claim, now)
    except core_rules.RuleError as exc:
        raise Rejected(exc.code, exc.message) from None


def _persons(session: Session, claim_id: str) -> list[dict[str, Any]]:
    rows = session.execute(
        select(Record).where(Record.claim_id == claim_id, Record.entity == "person", Record.deleted.is_(False))
    ).scalars()
    return [{"id": r.id, "role_in_claim": (r.fields or {}).get("role_in_claim"),
             "has_bank_account": bool((r.fields or {}).get("bank_card"))} for r in rows]


def _check_money(session: Session, claim: Claim, values: dict[str, Any], changed: dict[str, Any],
                 target: str | None = None) -> None:
    """claimcore.amounts on a write (``changed``) or a move to ``target`` (the phone runs the
    same checks). ``values``: the claim's fields after the write."""
    from claimcore import amounts
    from claimcore.catalogue import load_catalogue

    if target is None and not amounts.MONEY_FIELDS & set(changed):
        return
    persons = _persons(session, claim.id)
    limits = amounts.limits_for(values.get("coverage") or claim.coverage, values.get("loss_types") or [],
                                amounts.victims_of(persons), load_catalogue(claim.catalogue_version or None),
                                incident_at=values.get("incident_at") or claim.incident_at)
    payable = None
    if target == "paid":
        # A payment is also within the claim's share of its event's and its year's caps.
        events_caps.lock_payments(session)
        payable = events_caps.payable(session, claim, values)
    try:
        if target is None:
            amounts.check_write(changed, limits)
        else:
            amounts.check_state(target, values, persons, limits, payable)
    except amounts.AmountError as exc:
        raise Rejected(exc.code, f"{exc.message('en')} / {exc.message('zh')}", field=exc.field) from None


def server_change(session: Session, claim: Claim, columns: dict[str, Any]) -> None:
    """A claim change the server makes itself (a status move, grouping under an event): a new
    version, the fields marked as the server's (a phone editing them from an older version meets
    a conflict like any other), published in the pull feed like a pushed change."""
    claim.version += 1
    versions = dict(claim.field_versions or {})
    for name, value in columns.items():
        setattr(claim, name, value)
        versions[name] = [claim.version, "server"]
    claim.field_versions = versions
    claim.updated_at = utcnow()
    session.flush()
    record_change(session, "claim", claim.id, claim_snapshot(claim), version=claim.version, claim_id=claim.id)


def move_claim(session: Session, claim: Claim, target: str, user: User, *, reason: str | None = None) -> None:
    """A status change the server makes itself (dispatch, a survey completed), on the same edges
    as a phone's, with a timeline entry under the user's name, published like a pushed one."""
    from claimcore import workflow

    if not workflow.path_ok([claim.status, target]):
        return
    source = claim.status
    server_change(session, claim, {"status": target})
    now = claim.updated_at
    fields = {"from_status": source, "to_status": target, "role": user.role, "at": changelog.now_iso(now),
              "reason": reason}
    rec = Record(id=str(uuid.uuid4()), entity="transition", claim_id=claim.id, version=1, deleted=False,
                 sha256=None, fields=fields, field_versions={k: [1, "server"] for k in fields},
                 created_by=user.id, created_at=now, updated_at=now)
    session.add(rec)
    session.flush()
    record_change(session, "transition", rec.id, dict(record_snapshot(rec), created_by_name=user.name),
                  version=1, claim_id=claim.id)


def _check_transition(session: Session, rules: PushRules, user: User, claim: Claim, target: str, reason: Any,
                      loss_types,  # noqa: ANN001
                      values: dict[str, Any]) -> None:
    from claimcore import workflow

    edge = workflow.find_transition(claim.status, target)
    guards: dict[str, Any] = {"reason": reason}
    if edge is not None:
        if edge.needs_checklist:
            guards["checklist_complete"] = checklist_complete(session, claim, loss_types)
        if edge.needs_authority:
            guards["authority_cleared"] = rules.authority_cleared(session, rules.settings, claim, rules.now())
        if user.role in edge.participant_roles:
            guards["survey_participant"] = _survey_participant(session, user, claim.id)
    try:
        workflow.check_transition(claim.status, target, user.role, **guards)
    except workflow.WorkflowError as exc:
        raise Rejected(ERR.illegal_transition, f"{exc.message('en')} / {exc.message('zh')}") from None
    _check_money(session, claim, values, {}, target)
