"""Claims: reporting, editing, moving through the workflow, the list and the office's view."""
from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, delete, exists, func, select, tuple_
from sqlalchemy.orm import Session

from claimcore import amounts, workflow
from claimcore.catalogue import load_catalogue
from claimcore.divisions import load_divisions

from . import contract
from ._base import (
    CHINA_TZ,
    StoreValidationError,
    check_text,
    check_uuid,
    new_id,
    now_iso,
    utc_iso,
)
from .crypto import FieldCipher
from .db import Repo
from .documents import document_record
from .outbox import open_fields, record_mutation
from .persons import person_record
from .photos import photo_record
from .records import (
    ClaimDetail,
    ClaimListRow,
    ClaimPage,
    NoteRecord,
    OfficeClaimRow,
    PageKey,
    TransitionRecord,
)
from .rows import column_names, wire_columns
from .schema import (
    Claim,
    Document,
    Draft,
    Note,
    Outbox,
    Person,
    Photo,
    Setting,
    Transition,
)

# Claim fields a user may edit with claims.update(); status moves only through transition().
CLAIM_EDITABLE = frozenset({
    "coverage", "catalogue_version", "township_code", "village_code", "incident_at", "address", "lat",
    "lon", "accuracy_m", "description", "loss_types", "claimed_amount_fen", "adjusted_amount_fen", "paid_amount_fen",
    "event_id", "is_draft", "loss_items", "adjusted_reason", "paid_on", "payee_person_id", "transfer_ref",
})


@lru_cache(maxsize=1)
def township_names() -> dict[str, str]:
    """Township code -> name (claimcore.divisions), cached: the list screen asks for 30 at a time."""
    return {t.code: t.name for t in load_divisions().townships}


def _validate_claim_fields(fields: dict[str, Any], *, creating: bool = False,
                           role: str | None = None) -> dict[str, Any]:
    """Check and normalise claim fields given by a caller (raises StoreValidationError)."""
    unknown = sorted(set(fields) - CLAIM_EDITABLE)
    if unknown:
        raise StoreValidationError("error.store.claim_field_fixed", field=unknown[0])
    fields = dict(fields)
    for name in ("address", "description", "coverage", "catalogue_version"):
        if isinstance(fields.get(name), str):
            fields[name] = fields[name].strip()
    if "incident_at" in fields:
        fields["incident_at"] = utc_iso(fields["incident_at"], "incident_at")
    if fields.get("loss_types") is None and "loss_types" in fields:
        fields["loss_types"] = []
    if isinstance(fields.get("loss_types"), (set, frozenset, tuple)):
        fields["loss_types"] = list(fields["loss_types"])
    out = contract.check("claim", fields, creating=creating, role=role)
    for name in ("lat", "lon", "accuracy_m"):
        if out.get(name) is not None:
            out[name] = float(out[name])
    if "village_code" in out and out["village_code"] and out.get("township_code"):
        if not load_divisions().is_village_in(out["township_code"], out["village_code"]):
            raise StoreValidationError("error.store.village_not_in_chosen_township")
    return out


def _check_coverage(coverage: str, catalogue_version: str | None) -> str:
    catalogue = load_catalogue(catalogue_version)
    try:
        catalogue.coverage(coverage)
    except ValueError as exc:
        raise StoreValidationError("error.store.unknown_coverage", coverage=coverage,
                                   valid=", ".join(exc.valid)) from None
    return catalogue.version


class ClaimsRepo(Repo):
    def create(
        self,
        *,
        coverage: str,
        role: str,
        created_by: str | None = None,
        township_code: str | None = None,
        village_code: str | None = None,
        incident_at: datetime | str | None = None,
        address: str | None = None,
        lat: float | None = None,
        lon: float | None = None,
        accuracy_m: float | None = None,
        description: str | None = None,
        loss_types: Iterable[str] = (),
        claimed_amount_fen: int | None = None,
        event_id: str | None = None,
        catalogue_version: str | None = None,
        is_draft: bool = False,
        claim_id: str | None = None,
        at: datetime | str | None = None,
    ) -> str:
        """Report a new claim (state ``reported``). Returns its id; its report number is made here.

        ``role`` must be allowed to report (claimcore.workflow.check_report). Writes the claim, its
        first timeline entry and both outbox mutations in one transaction. ``claim_id`` lets the
        new-claim wizard keep the id its draft was saved under.
        """
        workflow.check_report(role)
        fields = _validate_claim_fields({
            "coverage": coverage, "township_code": township_code, "village_code": village_code,
            "incident_at": incident_at, "address": address, "lat": lat, "lon": lon,
            "accuracy_m": accuracy_m, "description": description, "loss_types": list(loss_types),
            "claimed_amount_fen": claimed_amount_fen, "event_id": event_id, "is_draft": is_draft,
            "catalogue_version": catalogue_version,
        }, creating=True, role=self._db.writer_role)
        fields["catalogue_version"] = _check_coverage(fields["coverage"], catalogue_version)
        created_by = check_text(created_by, "created_by", max_len=64)
        claim_id = check_uuid(claim_id, "claim_id") if claim_id is not None else new_id()
        stamp = utc_iso(at, "at") if at is not None else now_iso()
        with self._db.write() as session:
            if session.get(Claim, claim_id) is not None:
                raise StoreValidationError("error.store.claim_exists", claim_id=claim_id)
            report_no = _next_report_no(session)
            claim = Claim(id=claim_id, report_no=report_no, status=workflow.INITIAL_STATE,
                          created_by=created_by, created_at=stamp, updated_at=stamp, version=None,
                          adjusted_amount_fen=None, paid_amount_fen=None, **fields)
            session.add(claim)
            wire = {k: getattr(claim, k) for k in wire_columns(Claim)}
            record_mutation(session, self._c, "claim", claim_id, wire)
            _add_transition(session, self._c, claim_id, None, workflow.INITIAL_STATE, user=created_by,
                            role=role, at=stamp, lat=lat, lon=lon, reason=None)
            # The wizard's draft under the same id goes in the same transaction: after a crash there
            # is either the draft or the claim, never both (resuming it would report twice).
            session.execute(delete(Draft).where(Draft.id == claim_id))
            return claim_id

    def update(self, claim_id: str, **fields: Any) -> frozenset[str]:
        """Change claim fields. Writes only what really changed, with an outbox entry carrying only
        those fields (and the server version it was based on). Returns the changed field names;
        an empty set means nothing was written."""
        values = _validate_claim_fields(fields, role=self._db.writer_role)
        with self._db.write() as session:
            claim = self._claim(session, claim_id)
            if "coverage" in values or "catalogue_version" in values:
                cov = values.get("coverage", claim.coverage)
                values["catalogue_version"] = _check_coverage(cov, values.get("catalogue_version", claim.catalogue_version))
            if "village_code" in values and values["village_code"] and "township_code" not in values:
                if not load_divisions().is_village_in(claim.township_code or "", values["village_code"]):
                    raise StoreValidationError("error.store.village_not_in_claim_township")
            changed = {k: v for k, v in values.items() if getattr(claim, k) != v}
            if not changed:
                return frozenset()
            _check_money(session, claim, changed)
            for k, v in changed.items():
                setattr(claim, k, v)
            claim.updated_at = now_iso()
            record_mutation(session, self._c, "claim", claim_id, changed, base_version=claim.version)
            return frozenset(changed)

    def transition(
        self,
        claim_id: str,
        target: str,
        *,
        role: str,
        user: str | None,
        lat: float | None = None,
        lon: float | None = None,
        reason: str | None = None,
        checklist_complete: bool = False,
        authority_cleared: bool = False,
        survey_participant: bool = False,
        at: datetime | str | None = None,
    ) -> TransitionRecord:
        """Move the claim to ``target`` if claimcore.workflow allows it (else WorkflowError, and
        nothing is written). Records who, when, where and why in the timeline. Outbox: a ``claim``
        mutation with the new ``status`` and a ``transition`` mutation with the timeline entry."""
        checked = contract.check("transition", {"lat": lat, "lon": lon,
                                                "reason": reason.strip() or None if isinstance(reason, str) else reason})
        lat, lon, reason = (None if checked[k] is None else checked[k] for k in ("lat", "lon", "reason"))
        lat, lon = (None if v is None else float(v) for v in (lat, lon))
        stamp = utc_iso(at, "at") if at is not None else now_iso()
        with self._db.write() as session:
            claim = self._claim(session, claim_id)
            workflow.check_transition(claim.status, target, role, checklist_complete=checklist_complete,
                                      authority_cleared=authority_cleared, reason=reason,
                                      survey_participant=survey_participant)
            _check_money(session, claim, {}, target)
            source = claim.status
            claim.status = target
            claim.updated_at = now_iso()
            # The reason travels with the status too: the server checks the same guard.
            change = {"status": target, **({"status_reason": reason} if reason else {})}
            record_mutation(session, self._c, "claim", claim_id, change, base_version=claim.version)
            return _add_transition(session, self._c, claim_id, source, target, user=user, role=role,
                                   at=stamp, lat=lat, lon=lon, reason=reason)

    def get(self, claim_id: str) -> ClaimDetail:
        """Everything about one claim, personal data decrypted (masking is the screen's job)."""
        with self._db.read() as session:
            c = self._claim(session, claim_id)
            persons = session.scalars(select(Person).where(Person.claim_id == claim_id)
                                      .order_by(Person.created_at, Person.id)).all()
            docs = session.scalars(select(Document).where(Document.claim_id == claim_id)
                                   .order_by(Document.code)).all()
            photos = session.scalars(select(Photo).where(Photo.claim_id == claim_id)
                                     .order_by(Photo.taken_at, Photo.created_at)).all()
            notes = session.scalars(select(Note).where(Note.claim_id == claim_id)
                                    .order_by(Note.written_at, Note.id)).all()
            steps = session.scalars(select(Transition).where(Transition.claim_id == claim_id)
                                    .order_by(Transition.at, Transition.id)).all()
            pending: set[str] = set()
            for row in session.scalars(select(Outbox).where(Outbox.entity == "claim",
                                                            Outbox.entity_id == claim_id)):
                pending.update(open_fields(self._c, row))
            return ClaimDetail(
                **{k: getattr(c, k) for k in column_names(Claim)},
                township_name=township_names().get(c.township_code or ""),
                persons=[person_record(self._c, p) for p in persons],
                documents=[document_record(d) for d in docs],
                photos=[photo_record(p) for p in photos],
                notes=[NoteRecord(n.id, n.claim_id, n.text, n.author, n.written_at) for n in notes],
                timeline=[_transition_record(t) for t in steps],
                pending_fields=frozenset(pending),
            )

    def timeline(self, claim_id: str) -> list[TransitionRecord]:
        with self._db.read() as session:
            self._claim(session, claim_id)
            steps = session.scalars(select(Transition).where(Transition.claim_id == claim_id)
                                    .order_by(Transition.at, Transition.id)).all()
            return [_transition_record(t) for t in steps]

    def list_page(
        self,
        *,
        status: str | Iterable[str] | None = None,
        township_code: str | None = None,
        coverage: str | None = None,
        event_id: str | None = None,
        is_draft: bool | None = None,
        search: str | None = None,
        limit: int = 30,
        after: PageKey | None = None,
        offset: int | None = None,
    ) -> ClaimPage:
        """One page of the claims list, newest first (by created_at, then id).

        Page with ``after=page.next_key`` (keyset: stable while new claims arrive, and as fast on
        page 300 as on page 1); ``offset`` is there for screens that jump to a page number.
        ``search`` matches the report number, the victim's name or the place (substring).
        """
        if not (1 <= limit <= 500):
            raise StoreValidationError("error.store.page_limit")
        params: dict[str, Any] = {"lim": limit + 1, "off": int(offset or 0)}
        if status is not None:
            params["statuses"] = [status] if isinstance(status, str) else list(status)
        for name, value in (("township_code", township_code), ("coverage", coverage),
                            ("event_id", event_id), ("is_draft", is_draft)):
            if value is not None:
                params[name] = value
        if search:
            params["like"] = "%" + search.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        if after is not None:
            params["after_created"], params["after_id"] = after.created_at, after.id
        stmt = _list_statement(frozenset(k for k in params if k not in ("lim", "off")))
        names = township_names()
        with self._db.engine.connect() as conn:
            result = conn.execute(stmt, params).all()
        # positional: query columns in ClaimListRow order, the township name slotted in after its code
        rows = [ClaimListRow(*r[:5], names.get(r[4] or ""), *r[5:12], bool(r[12]), bool(r[13]))
                for r in result[:limit]]
        next_key = PageKey(rows[-1].created_at, rows[-1].id) if len(result) > limit else None
        return ClaimPage(rows, next_key)

    def office_rows(self) -> list[OfficeClaimRow]:
        """Every claim on this phone (drafts aside), oldest report first, with its amounts and the
        moments its deadlines run from: three queries, whatever the number of claims (an office
        holds thousands)."""
        with self._db.read() as session:
            claims = session.execute(select(
                Claim.id, Claim.report_no, Claim.coverage, Claim.status, Claim.township_code, Claim.event_id,
                Claim.incident_at, Claim.created_at, Claim.claimed_amount_fen, Claim.adjusted_amount_fen,
                Claim.paid_amount_fen).where(Claim.is_draft.is_(False))
                .order_by(Claim.created_at, Claim.id)).all()
            victims: dict[str, str] = {}
            for cid, name in session.execute(select(Person.claim_id, Person.name).where(
                    Person.role_in_claim == "victim").order_by(Person.created_at.desc())):
                victims[cid] = name  # the earliest victim wins, as on the claims list
            moments: dict[tuple[str, str], str] = {}
            for cid, state, first, last in session.execute(
                    select(Transition.claim_id, Transition.to_status, func.min(Transition.at), func.max(Transition.at))
                    .where(Transition.to_status.in_(("reported", "submitted", "approved", "paid")))
                    .group_by(Transition.claim_id, Transition.to_status)):
                moments[(cid, state)] = first if state in ("reported", "submitted") else last
        rows = [OfficeClaimRow(*r, victims.get(r[0]), moments.get((r[0], "reported")) or r[7],
                               moments.get((r[0], "submitted")), moments.get((r[0], "approved")),
                               moments.get((r[0], "paid")))
                for r in claims]
        return sorted(rows, key=lambda r: (r.reported_at, r.id))

    def existing_ids(self, ids: Iterable[str]) -> set[str]:
        """Which of ``ids`` are claims on this phone (one query per 500 ids)."""
        wanted = sorted(set(ids))
        found: set[str] = set()
        with self._db.read() as session:
            for start in range(0, len(wanted), 500):
                found.update(session.scalars(select(Claim.id).where(Claim.id.in_(wanted[start:start + 500]))))
        return found

    def count(self, *, status: str | None = None) -> int:
        with self._db.read() as session:
            stmt = select(func.count()).select_from(Claim)
            if status is not None:
                stmt = stmt.where(Claim.status == status)
            return session.scalar(stmt) or 0


@lru_cache(maxsize=64)
def _list_statement(shape: frozenset[str]) -> Any:
    """The claims-list query for one combination of filters, built once with bind parameters.

    Building a select() with its three correlated subqueries costs several times more than running
    it on an indexed table; the list screen runs it on every scroll and every return to the screen.
    """
    victim = (select(Person.name).where(Person.claim_id == Claim.id, Person.role_in_claim == "victim")
              .order_by(Person.created_at).limit(1).scalar_subquery())
    photo_count = select(func.count()).where(Photo.claim_id == Claim.id).scalar_subquery()
    unsynced = exists().where(Outbox.entity == "claim", Outbox.entity_id == Claim.id)
    stmt = select(
        Claim.id, Claim.report_no, Claim.coverage, Claim.status, Claim.township_code,
        Claim.village_code, Claim.incident_at, Claim.created_at, Claim.updated_at,
        Claim.claimed_amount_fen, victim.label("victim_name"), photo_count.label("photo_count"),
        Claim.is_draft, unsynced.label("unsynced"),
    )
    if "statuses" in shape:
        stmt = stmt.where(Claim.status.in_(bindparam("statuses", expanding=True)))
    for name in ("township_code", "coverage", "event_id", "is_draft"):
        if name in shape:
            stmt = stmt.where(getattr(Claim, name) == bindparam(name))
    if "like" in shape:
        like = bindparam("like")
        victims = select(Person.claim_id).where(Person.name.like(like, escape="\\"))
        stmt = stmt.where(Claim.report_no.like(like, escape="\\") | Claim.address.like(like, escape="\\")
                          | Claim.id.in_(victims))
    if "after_created" in shape:
        stmt = stmt.where(tuple_(Claim.created_at, Claim.id)
                          < tuple_(bindparam("after_created"), bindparam("after_id")))
    return (stmt.order_by(Claim.created_at.desc(), Claim.id.desc())
            .limit(bindparam("lim")).offset(bindparam("off")))


def _next_report_no(session: Session) -> str:
    """DZ-YYYYMMDD-TTTT-NNNN: local (China) date, this install's random 4-letter tag, and a daily
    counter. The tag keeps numbers made offline on different phones apart; the UUID stays the
    identity, the report number is what people read out on the phone."""
    day = datetime.now(CHINA_TZ).strftime("%Y%m%d")
    tag_row = session.get(Setting, "report_tag")
    if tag_row is None:
        alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud on the phone
        tag_row = Setting(key="report_tag", value="".join(secrets.choice(alphabet) for _ in range(4)))
        session.add(tag_row)
    counter_row = session.get(Setting, "report_counter")
    counter = dict(counter_row.value) if counter_row else {}
    n = int(counter.get(day, 0))
    while True:
        n += 1
        report_no = f"DZ-{day}-{tag_row.value}-{n:04d}"
        if session.scalar(select(func.count()).where(Claim.report_no == report_no)) == 0:
            break
    if counter_row is None:
        session.add(Setting(key="report_counter", value={day: n}))
    else:
        counter_row.value = {day: n}
    return report_no


def _money_persons(session: Session, claim_id: str) -> list[dict[str, Any]]:
    """The claim's persons as claimcore.amounts reads them (whether a bank account is on file)."""
    rows = session.scalars(select(Person).where(Person.claim_id == claim_id)).all()
    return [{"id": p.id, "role_in_claim": p.role_in_claim, "has_bank_account": p.bank_card_enc is not None}
            for p in rows]


def _check_money(session: Session, claim: Claim, changed: dict[str, Any], target: str | None = None) -> None:
    """claimcore.amounts on a write (``changed``) or a move to ``target``, as the server checks."""
    if target is None and not amounts.MONEY_FIELDS & set(changed):
        return
    persons = _money_persons(session, claim.id)
    values = {**{k: getattr(claim, k) for k in column_names(Claim)}, **changed}
    limits = amounts.limits_for(claim.coverage, values.get("loss_types") or [], amounts.victims_of(persons),
                                load_catalogue(claim.catalogue_version), incident_at=values.get("incident_at"))
    try:
        if target is None:
            amounts.check_write(changed, limits)
        else:
            amounts.check_state(target, values, persons, limits)
    except amounts.AmountError as exc:
        raise StoreValidationError.refused_by(exc) from None


def _add_transition(session: Session, cipher: FieldCipher, claim_id: str, source: str | None,
                    target: str, *, user: str | None, role: str | None, at: str,
                    lat: float | None, lon: float | None, reason: str | None) -> TransitionRecord:
    t = Transition(id=new_id(), claim_id=claim_id, from_status=source, to_status=target, by_user=user,
                   role=role, at=at, lat=lat, lon=lon, reason=reason, version=None)
    session.add(t)
    record_mutation(session, cipher, "transition", t.id, {k: getattr(t, k) for k in wire_columns(Transition)})
    return _transition_record(t)


def _transition_record(t: Transition) -> TransitionRecord:
    return TransitionRecord(t.id, t.claim_id, t.from_status, t.to_status, t.by_user, t.role, t.at,
                            t.lat, t.lon, t.reason, t.by_name)
