"""The sync core's reads and the conflicts' review: a pull's page of the change log (its cursor,
the caller's scope, a surveyor's narrower view), and the conflicts an office reviews. Applying a
push is sync_server.sync.apply."""
from __future__ import annotations

import base64
import binascii
import re

from sqlalchemy import func, or_, select

from ..audit import service as audit_service
from ..claims import survey_access
from ..core.auth import Caller
from ..core.changelog import access_policy, change_visibility_clause, now_iso
from ..core.db import Database
from ..core.error_codes import ERR
from ..core.errors import ApiError, not_found
from ..core.models import Change, utcnow
from ..core.schemas import MAX_INT64
from ..core.settings import Settings
from .models import Conflict


def encode_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(f"v1:{seq}".encode()).decode().rstrip("=")


# What encode_cursor makes: "v1:" and a change seq (a BIGINT). Anything else was not issued here;
# str.isdigit() let "v1:١٢" (Arabic-Indic digits) through and 40-digit numbers overflowed the query.
_CURSOR = re.compile(r"v1:(0|[1-9][0-9]{0,18})\Z")


def decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        found = _CURSOR.match(raw)
        if found is None or int(found.group(1)) > MAX_INT64:
            raise ValueError
        return int(found.group(1))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ApiError(400, ERR.invalid_cursor, "cursor was not issued by this server") from None


def conflict_dict(c: Conflict) -> dict:
    return {
        "id": c.id, "entity": c.entity, "entity_id": c.entity_id, "claim_id": c.claim_id,
        "field": c.field, "kept_value": c.kept_value, "other_value": c.other_value,
        "kept_device_id": c.kept_device_id, "other_device_id": c.other_device_id,
        "kept_version": c.kept_version, "created_at": now_iso(c.created_at),
        "resolved_at": now_iso(c.resolved_at) if c.resolved_at else None, "resolved_by": c.resolved_by,
    }




def pull_page(db: Database, settings: Settings, caller: Caller, after: int, page: int, *,
              first: bool = False) -> dict:
    """The changes after the cursor ``after`` that the caller may see, at most ``page`` of them;
    ``first``: the caller sent no cursor (it fills an empty store and gets its own writes too)."""
    surveyor = caller.user.role == "surveyor"
    if surveyor:
        # Surveys whose access ended by time alone (completed long enough ago, an offer past its
        # time-out) get their forget instructions now, so this very pull carries them.
        survey_access.sweep(db, caller.user.insurer_code, settings)
    with db.read() as session:
        # Read the high-water mark FIRST: every seq at or below it is already committed (see
        # changelog), so moving the cursor up to it can never skip a change.
        high = session.execute(select(func.max(Change.seq))).scalar() or 0
        query = select(Change).where(Change.seq > after, Change.seq <= high,
                                     change_visibility_clause(caller.user, access_policy(session)))
        if not first:
            # The caller's own pushes, stored exactly as it sent them: it holds them already (the
            # push receipt gave it their versions). A first pull (no cursor: a phone filling an
            # empty store) gets everything. The cursor still moves past them.
            query = query.where(or_(Change.origin_device_id.is_(None), Change.origin_device_id != caller.device.id))
        rows = session.execute(
            query
            .order_by(Change.seq)
            .limit(page + 1)
        ).scalars().all()
        has_more = len(rows) > page
        rows = rows[:page]
        new_cursor = rows[-1].seq if has_more else max(after, high)
        changes = [
            {"entity": r.entity, "id": r.entity_id, "version": r.version, "op": r.op, "fields": r.fields or {}}
            for r in rows
        ]
        if surveyor:
            # What a site survey needs only: masked ID numbers, no bank or medical details, no
            # victims' papers (survey_access). The cursor still moves past what was left out.
            changes = survey_access.surveyor_view(session, changes)
        audit_service.full_data_read(db, caller, rows)  # whose personal data went out unmasked: ids only
    return {
        "changes": changes,
        "cursor": encode_cursor(new_cursor),
        "has_more": has_more,
    }


def conflicts(db: Database, claim_id: str | None, include_resolved: bool, limit: int) -> list[dict]:
    with db.read() as session:
        q = select(Conflict).order_by(Conflict.id)
        if claim_id:
            q = q.where(Conflict.claim_id == claim_id)
        if not include_resolved:
            q = q.where(Conflict.resolved_at.is_(None))
        rows = session.execute(q.limit(limit)).scalars().all()
        return [conflict_dict(c) for c in rows]


def resolve_conflict(db: Database, conflict_id: int, user_id: str) -> dict:
    """Mark a conflict reviewed. To restore the other value, a phone pushes it as a normal edit."""
    with db.write() as session:
        c = session.get(Conflict, conflict_id)
        if c is None:
            raise not_found()
        if c.resolved_at is None:
            c.resolved_at = utcnow()
            c.resolved_by = user_id
        session.flush()
        return conflict_dict(c)
