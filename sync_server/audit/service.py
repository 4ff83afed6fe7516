"""The audit log: who read or changed whose data, and who was refused; append-only, hash-chained.

    record(session, action, actor, **what)   queue an entry; written when the session commits,
                                             in the same transaction as the act it describes
    append(db, action, actor, **what)        write an entry in a transaction of its own
                                             (reads, downloads, refusals: nothing else commits)
    full_data_read(db, caller, rows)         a pull page's person records read with unmasked
                                             personal data: one entry per claim
    verify(db) -> Verdict                    walk the chain; the first row that does not fit
    claim_trail(session, claim_id, ...)      the entries of one claim (the office's export)

An entry holds ids, roles and codes, NEVER the data itself (no names, ID numbers, addresses):
``seq``, ``at``, the actor (user id, device id, role), ``action``, ``object_kind`` and
``object_ids``, ``claim_id``, ``outcome`` (a reason or result code), ``prev_hash`` and
``hash`` = SHA-256 over ``prev_hash`` and the canonical JSON of the other fields. Changing or
removing a row breaks the chain at that row; ``python -m sync_server audit verify`` names it.

Appending is serialised: on PostgreSQL under a transaction-scoped advisory lock (any number of
server processes and admin commands may append), on SQLite by the write transaction itself
(``BEGIN IMMEDIATE``). Seqs are handed out as head + 1 under that lock, so the chain has no gaps
and no forks (the primary key refuses a second row with the same seq anyway). The database
refuses UPDATE and DELETE on the table (triggers of migration 0009_audit): there is no code path
that rewrites it."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from dataclasses import dataclass
from typing import Any, Iterable

from sqlalchemy import (
    event,
    select,
    text,
)
from sqlalchemy.orm import Session

from ..core.models import utcnow
from .models import AuditEntry

log = logging.getLogger("sync_server.security")


GENESIS = "0" * 64


_AUDIT_LOCK_KEY = 4_207_113_002  # any constant; shared by every process appending to the audit log


_PENDING = "dazu_pending_audit"


# Roles whose pulls carry persons' personal data unmasked (surveyors get them masked).
FULL_DATA_ROLES = frozenset({"coordinator", "adjuster", "liaison"})


# The operator at the server's shell (admin commands): no user id, no device.
ADMIN_CLI = {"user_id": None, "device_id": None, "role": "admin_cli"}


MAX_IDS = 1000


FIELDS = ("seq", "at", "actor_user_id", "device_id", "role", "action", "object_kind", "object_ids",
          "claim_id", "outcome", "prev_hash")


def _aware(moment: dt.datetime) -> dt.datetime:
    # SQLite hands timestamps back without tzinfo; they were written in UTC.
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(dt.timezone.utc)


def _at_text(moment: dt.datetime) -> str:
    return _aware(moment).isoformat(timespec="microseconds")


def canonical(row: dict[str, Any]) -> str:
    """The bytes the hash covers: every field but ``hash``, sorted keys, no spaces, UTF-8."""
    body = {k: row.get(k) for k in FIELDS}
    body["at"] = _at_text(body["at"]) if isinstance(body["at"], dt.datetime) else body["at"]
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def entry_hash(row: dict[str, Any]) -> str:
    return hashlib.sha256((row["prev_hash"] + canonical(row)).encode("utf-8")).hexdigest()


def actor_of(caller: Any) -> dict[str, Any]:
    """The actor fields of an API caller (``api.Caller``), or of None (nobody authenticated)."""
    if caller is None:
        return {"user_id": None, "device_id": None, "role": None}
    return {"user_id": caller.user.id, "device_id": caller.device.id, "role": caller.user.role}


def _entry(action: str, actor: dict[str, Any] | Any, *, object_kind: str | None = None,
           object_ids: Iterable[Any] | None = None, claim_id: str | None = None,
           outcome: str | None = None) -> dict[str, Any]:
    who = actor if isinstance(actor, dict) else actor_of(actor)
    ids = None if object_ids is None else [str(i)[:200] for i in list(object_ids)[:MAX_IDS]]
    return {
        "actor_user_id": who.get("user_id"), "device_id": who.get("device_id"), "role": who.get("role"),
        "action": action[:120], "object_kind": object_kind, "object_ids": ids,
        "claim_id": claim_id, "outcome": outcome[:64] if outcome else outcome,
    }


def record(session: Session, action: str, actor: dict[str, Any] | Any, **what: Any) -> None:
    """Queue an entry on a write session: it commits with the act, or not at all."""
    session.info.setdefault(_PENDING, []).append(_entry(action, actor, **what))


def append(db: Any, action: str, actor: dict[str, Any] | Any, **what: Any) -> None:
    """Write one entry now, in its own transaction."""
    append_many(db, [_entry(action, actor, **what)])


def append_many(db: Any, entries: list[dict[str, Any]]) -> None:
    if not entries:
        return
    with db.write() as session:
        session.info.setdefault(_PENDING, []).extend(entries)


def _head(session: Session) -> tuple[int, str]:
    last = session.execute(
        select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)
    ).first()
    return (last[0], last[1]) if last else (0, GENESIS)


def _flush_pending(session: Session) -> None:
    pending: list = session.info.pop(_PENDING, None) or []
    if not pending:
        return
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _AUDIT_LOCK_KEY})
    seq, prev = _head(session)
    now = utcnow()
    rows = []
    for entry in pending:
        seq += 1
        row = {**entry, "seq": seq, "at": now, "prev_hash": prev}
        row["hash"] = prev = entry_hash(row)
        rows.append(row)
    session.execute(AuditEntry.__table__.insert(), rows)
    # The head goes to the security log too: a copy outside the database, against which a
    # removed tail (which leaves no gap inside the chain) shows.
    log.info("event=audit_appended rows=%d head_seq=%d head_hash=%s", len(rows), seq, prev)


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    _flush_pending(session)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)


def full_data_read(db: Any, caller: Any, rows: Iterable[Any]) -> None:
    """A pull page handed person records to a role that reads them unmasked: which claims' persons
    (ids only), one entry per claim."""
    if caller.user.role not in FULL_DATA_ROLES:
        return
    by_claim: dict[str | None, list[str]] = {}
    for r in rows:
        if r.entity == "person" and r.op == "upsert":
            by_claim.setdefault(r.claim_id, []).append(r.entity_id)
    append_many(db, [_entry("personal_data_read", caller, object_kind="person", object_ids=sorted(ids),
                            claim_id=claim_id, outcome="pull")
                     for claim_id, ids in sorted(by_claim.items(), key=lambda kv: kv[0] or "")])


def download(db: Any, caller: Any, kind: str, object_id: str, claim_ids: Iterable[str | None] = (None,)) -> None:
    """A photo or scan was handed out: one entry per claim it belongs to."""
    claims = sorted({c for c in claim_ids if c}) or [None]
    append_many(db, [_entry(f"{kind}_download", caller, object_kind=kind, object_ids=[object_id],
                            claim_id=c, outcome="ok") for c in claims])


def blob_claims(session: Session, sha256: str) -> list[str]:
    """The claims whose records hold a blob (the claims a photo download is filed under)."""
    from ..blobs.models import BlobRef

    return sorted({c for c in session.execute(
        select(BlobRef.claim_id).where(BlobRef.sha256 == sha256)).scalars() if c})


@dataclass
class Verdict:
    ok: bool
    rows: int
    head_seq: int
    head_hash: str
    broken_seq: int | None = None
    problem: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "rows": self.rows, "head_seq": self.head_seq, "head_hash": self.head_hash,
                "first_broken_seq": self.broken_seq, "problem": self.problem}


def _row_dict(row: AuditEntry) -> dict[str, Any]:
    return {"seq": row.seq, "at": _aware(row.at), "actor_user_id": row.actor_user_id, "device_id": row.device_id,
            "role": row.role, "action": row.action, "object_kind": row.object_kind, "object_ids": row.object_ids,
            "claim_id": row.claim_id, "outcome": row.outcome, "prev_hash": row.prev_hash, "hash": row.hash}


def verify(db: Any, batch: int = 1000) -> Verdict:
    """Walk the chain from seq 1: every seq present, each row's prev_hash its predecessor's hash,
    each hash true to its row. Stops at the first row that fails."""
    expected_seq, prev, count = 1, GENESIS, 0
    with db.read() as session:
        after = 0
        while True:
            chunk = session.execute(
                select(AuditEntry).where(AuditEntry.seq > after).order_by(AuditEntry.seq).limit(batch)
            ).scalars().all()
            if not chunk:
                break
            for row in chunk:
                d = _row_dict(row)
                if row.seq != expected_seq:
                    return Verdict(False, count, expected_seq - 1, prev, expected_seq,
                                   f"row {expected_seq} is missing (the chain goes from {expected_seq - 1} "
                                   f"to {row.seq})")
                if row.prev_hash != prev:
                    return Verdict(False, count, expected_seq - 1, prev, row.seq,
                                   f"row {row.seq}: prev_hash is not the hash of row {row.seq - 1} "
                                   f"(a row before it was altered or removed)")
                if entry_hash(d) != row.hash:
                    return Verdict(False, count, expected_seq - 1, prev, row.seq,
                                   f"row {row.seq} was altered: its hash does not match its contents")
                prev, expected_seq, count = row.hash, expected_seq + 1, count + 1
                after = row.seq
            session.expunge_all()
    return Verdict(True, count, expected_seq - 1, prev)


def entry_out(row: AuditEntry) -> dict[str, Any]:
    d = _row_dict(row)
    d["at"] = _at_text(d["at"])
    return d


def claim_trail(session: Session, claim_id: str, after: int = 0, limit: int = 1000) -> tuple[list[dict], bool]:
    rows = session.execute(
        select(AuditEntry).where(AuditEntry.claim_id == claim_id, AuditEntry.seq > after)
        .order_by(AuditEntry.seq).limit(limit + 1)
    ).scalars().all()
    return [entry_out(r) for r in rows[:limit]], len(rows) > limit


