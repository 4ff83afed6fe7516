"""The change log behind pull, and the scope rules that filter it.

Public API (used by the sync code here and by the co-insurance module):

    record_change(session, entity, entity_id, fields, *, version, op="upsert",
                  claim_id=None, insurer_code=None)
        Queue the entity's new full snapshot for the pull feed. Written when the session commits,
        in the same transaction as the data it describes.
        - ``claim_id``: the claim the entity belongs to (for a claim, its own id). Liaisons and
          surveyors see it when they may see that claim.
        - ``insurer_code``: marks the entity as private to one insurer (assignments, surveyor
          costs): only that insurer's surveyors (and adjusters/coordinator) see it; liaisons never.
        - neither: public to every enrolled user (e.g. the insurer list).
        Recording an ``assignment`` re-emits its claim's tree, so a surveyor whose insurer was
        just assigned receives the claim and everything in it on the next pull, even though
        those rows were written before its cursor.

        - ``origin_device``: the device whose push made the entity exactly what that device
          sent (its fields verbatim, on the version it had; no merge, conflict or value of the
          server's). That device's pulls skip the row: it holds the record already and took the
          new version from its push receipt. A later change of the same entity in the same
          transaction (the server grouping a pushed claim, say) replaces the row without it.
        - ``new``: the entity's row did not exist before this transaction (a claim or record
          created by a push), so the feed has no row of it to replace. A push creates thousands;
          looking each up again to delete nothing was a seventh of its time. Were it wrong, the
          feed's unique (entity, entity_id) refuses the commit: nothing is served twice.

    reemit_claim(session, claim_id)   give a claim's non-private rows new seqs (scope widened)

Surveyors see a claim while an assignment of their insurer gives access
(:func:`assignment_gives_access`: not declined, timed out, cancelled or skipped, and not completed
more than ``DAZU_SURVEY_ACCESS_DAYS_AFTER_COMPLETION`` days ago by the server's clock, which
:func:`access_policy` reads from the session's settings). When access ends, sync_server.claims.survey_access
writes the insurer-private ``claim_access`` row that tells their phones to forget the claim; office
roles are never served those rows.

Why the feed has one row per entity: a newer change replaces the older row and gets a new seq, so
a pull never returns an entity twice and "nothing new" is one empty page however many records
exist. Seqs are never reused (SQLite AUTOINCREMENT, PostgreSQL identity/sequence).

Cursors and concurrent commits on PostgreSQL: sequence numbers are handed out at INSERT, but
transactions commit in any order, so a reader could see seq 11 committed while seq 10 is still
in flight, move its cursor to 11 and never see 10. To prevent that, change rows are written only
at commit time (``before_commit``) under a transaction-scoped advisory lock
(``pg_advisory_xact_lock``): seq allocation and commit are serialised, so whenever a reader sees
seq N every lower seq is either committed or will never exist. The lock is held only for the
short insert-and-commit, not for the whole push. SQLite serialises writers anyway (one writer
holds the database lock from BEGIN IMMEDIATE to COMMIT).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, event, false, or_, select, text, true, tuple_
from sqlalchemy.orm import Session

from claimcore import entities

from .models import Assignment, Change, Claim, User, utcnow

_PENDING = "dazu_pending_changes"
_NEW = "dazu_new_entities"  # (entity, id) created in this transaction: no feed row to replace
_CHANGELOG_LOCK_KEY = 4_207_113_001  # any constant; shared by every process writing the feed

# Assignment statuses that do NOT give the insurer's surveyors access to the claim.
ASSIGNMENT_STATUSES_WITHOUT_ACCESS: frozenset[str] = frozenset(
    {"declined", "timed_out", "cancelled", "skipped_on_leave"}
)
OFFICE_ROLES = frozenset(entities.OFFICE_ROLES)
# The feed row that tells an insurer's surveyor phones to forget a claim (op ``delete``) or that
# the insurer has the claim again (``upsert``): sync_server.claims.survey_access writes it. It is private
# to the insurer (``insurer_code``) and served to its surveyors only.
CLAIM_ACCESS = "claim_access"
DEFAULT_SURVEY_ACCESS_DAYS = 30


def _pending(session: Session) -> dict[tuple[str, str], dict[str, Any]]:
    return session.info.setdefault(_PENDING, {})


def pending_snapshot(session: Session) -> dict[tuple[str, str], dict[str, Any]]:
    """Copy of the queued changes; restore it with ``restore_pending`` when a savepoint rolls back."""
    return dict(_pending(session))


def restore_pending(session: Session, snapshot: dict[tuple[str, str], dict[str, Any]]) -> None:
    session.info[_PENDING] = dict(snapshot)


def record_change(
    session: Session,
    entity: str,
    entity_id: str,
    fields: dict[str, Any],
    *,
    version: int,
    op: str = "upsert",
    claim_id: str | None = None,
    insurer_code: str | None = None,
    origin_device: str | None = None,
    new: bool = False,
) -> None:
    if op not in ("upsert", "delete"):
        raise ValueError(f"op must be upsert or delete, not {op!r}")
    pending = _pending(session)
    key = (entity, str(entity_id))
    if new:
        session.info.setdefault(_NEW, set()).add(key)
    # Re-inserting moves the key to the end: the feed order follows the order of the last change.
    pending.pop(key, None)
    pending[key] = {
        "entity": entity,
        "entity_id": str(entity_id),
        "op": op,
        "version": int(version),
        "claim_id": claim_id,
        "insurer_code": insurer_code,
        "fields": fields,
        "origin_device_id": origin_device,
    }
    if entity == "assignment" and claim_id:
        reemit_claim(session, claim_id)


_CHANGES = Change.__table__

_HELD = "dazu_feed_held"


class FeedHeld(Exception):
    """A claim's rows re-sent while a push holds a whole batch's feed rows back: the push runs
    the batch again one change at a time (sync_server.sync.apply), so the rows re-sent take the
    same places in the feed as they always have."""


def hold_feed(session: Session, held: bool) -> None:
    """A push applying a whole batch as one unit (its feed rows are written once, at its end)."""
    if held:
        session.info[_HELD] = True
    else:
        session.info.pop(_HELD, None)


def reemit_claim(session: Session, claim_id: str) -> None:
    if session.info.get(_HELD):
        raise FeedHeld()
    pending = _pending(session)
    rows = session.execute(
        select(Change).where(Change.claim_id == claim_id, Change.insurer_code.is_(None))
    ).scalars()
    for row in rows:
        key = (row.entity, row.entity_id)
        if key in pending:
            continue
        pending[key] = {
            "entity": row.entity,
            "entity_id": row.entity_id,
            "op": row.op,
            "version": row.version,
            "claim_id": row.claim_id,
            "insurer_code": row.insurer_code,
            "fields": row.fields,
            # Unchanged content: the device that pushed it holds it already.
            "origin_device_id": row.origin_device_id,
        }


def _flush_pending(session: Session) -> None:
    pending: dict = session.info.pop(_PENDING, None) or {}
    new = session.info.pop(_NEW, None) or set()
    if not pending:
        return
    # Whatever the session still holds goes first (an erased record's feed row, say): the rows
    # replaced below are deleted beneath the ORM, which must have nothing left to write to them.
    session.flush()
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _CHANGELOG_LOCK_KEY})
    replaced = [key for key in pending if key not in new]
    for start in range(0, len(replaced), 500):
        session.execute(_CHANGES.delete().where(
            tuple_(_CHANGES.c.entity, _CHANGES.c.entity_id).in_(replaced[start : start + 500])))
    now = utcnow()
    session.execute(_CHANGES.insert(), [dict(p, changed_at=now) for p in pending.values()])


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    _flush_pending(session)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)
    session.info.pop(_NEW, None)


# --------------------------------------------------------------------------------------- scope

@dataclass(frozen=True)
class AccessPolicy:
    """The server's clock and how long a completed survey stays visible to its surveyors."""

    now: dt.datetime
    days_after_completion: int = DEFAULT_SURVEY_ACCESS_DAYS

    @property
    def completion_cutoff(self) -> dt.datetime:
        """Surveys completed at or before this instant no longer give access."""
        return self.now - dt.timedelta(days=self.days_after_completion)


def server_now(settings: Any = None) -> dt.datetime:
    """The server's clock in UTC (tests move it with ``Settings.extra["clock"]``)."""
    clock = (getattr(settings, "extra", None) or {}).get("clock")
    moment = clock() if clock else utcnow()
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(dt.timezone.utc)


def policy_from_settings(settings: Any = None) -> AccessPolicy:
    days = getattr(settings, "survey_access_days_after_completion", DEFAULT_SURVEY_ACCESS_DAYS)
    return AccessPolicy(server_now(settings), int(days))


def access_policy(session: Session) -> AccessPolicy:
    """The policy of the server this session belongs to (sync_server.core.db puts its settings in
    ``session.info``); the defaults and the wall clock for a bare session."""
    return policy_from_settings(session.info.get("settings"))


def assignment_gives_access(policy: AccessPolicy | None = None):
    """WHERE clause on ``Assignment``: this assignment lets its insurer's surveyors see the claim.

    Offered, accepted and arrived surveys do; declined, timed-out, cancelled and skipped ones do
    not; a completed survey does for ``days_after_completion`` days after ``completed_at`` (the
    site survey's own follow-up: questions, photos to add), then no more."""
    policy = policy or policy_from_settings()
    return and_(
        Assignment.status.not_in(ASSIGNMENT_STATUSES_WITHOUT_ACCESS),
        or_(Assignment.status != "completed", Assignment.completed_at > policy.completion_cutoff),
    )


def assigned_claim_ids(insurer_code: str | None, policy: AccessPolicy | None = None):
    """Subquery: claims the insurer is (still) assigned to."""
    return select(Assignment.claim_id).where(
        Assignment.insurer_code == (insurer_code or ""),
        assignment_gives_access(policy),
    )


def claim_visibility_clause(user: User, policy: AccessPolicy | None = None):
    """WHERE clause on ``Claim`` for the claims ``user`` may see."""
    if user.role in OFFICE_ROLES:
        return true()
    if user.role == "liaison":
        return Claim.township_code == (user.township_code or "")
    if user.role == "surveyor":
        return Claim.id.in_(assigned_claim_ids(user.insurer_code, policy))
    return false()


def change_visibility_clause(user: User, policy: AccessPolicy | None = None):
    """WHERE clause on ``Change`` for the feed rows ``user`` may see."""
    if user.role in OFFICE_ROLES:
        # An insurer's forget instructions are for its surveyors' phones only: an office phone
        # must never drop a claim because a co-insurer's survey ended.
        return Change.entity != CLAIM_ACCESS
    public = and_(Change.claim_id.is_(None), Change.insurer_code.is_(None))
    # ``claim_id || ''`` keeps the planner off ix_changes_claim_id: a pull must walk the (small)
    # sequence range after the cursor, not every change of every claim in scope, or an empty
    # pull would grow with the township's claims (SQLite otherwise prefers the IN-list index).
    feed_claim = Change.claim_id.concat("")
    if user.role == "liaison":
        in_township = select(Claim.id).where(Claim.township_code == (user.township_code or ""))
        return or_(public, and_(Change.insurer_code.is_(None), feed_claim.in_(in_township)))
    if user.role == "surveyor":
        own = Change.insurer_code == (user.insurer_code or "")
        claims = and_(
            Change.insurer_code.is_(None), feed_claim.in_(assigned_claim_ids(user.insurer_code, policy))
        )
        return or_(public, own, claims)
    return false()


def claim_visible(session: Session, user: User, claim_id: str) -> bool:
    """The single-record check behind every read, write and download of a claim's data."""
    if user.role in OFFICE_ROLES:
        return session.get(Claim, claim_id) is not None
    found = session.execute(
        select(Claim.id).where(Claim.id == claim_id, claim_visibility_clause(user, access_policy(session)))
    ).first()
    return found is not None


def row_visible(session: Session, user: User, claim_id: str | None, insurer_code: str | None) -> bool:
    """Visibility of any entity described by (claim_id, insurer_code), as for the feed."""
    if user.role in OFFICE_ROLES:
        return True
    if insurer_code is not None:
        return user.role == "surveyor" and insurer_code == user.insurer_code
    if claim_id is None:
        return True
    return claim_visible(session, user, claim_id)


def now_iso(moment: dt.datetime | None = None) -> str:
    moment = moment or utcnow()
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.isoformat()
