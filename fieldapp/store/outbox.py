"""The outbox: every local change as a wire mutation, written in the same transaction as the change.

A mutation (docs/architecture.md, claimcore.wire):
``{"seq", "entity", "id", "op": "upsert"|"delete", "fields": {changed fields only}, "base_version"}``.
Personal fields of a ``person`` mutation (id_number, phone, bank_account, medical) wait here sealed
with the data key (column ``sealed``), like the persons table itself; :meth:`OutboxRepo.pending`
opens them for the sync client, which sends them over TLS.
"""
from __future__ import annotations

import json
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from claimcore import entities

from ._base import crash_point_before_outbox, now_iso
from .contract import local_only
from .crypto import FieldCipher
from .db import Repo
from .schema import Outbox, SyncState
from .sync_state import state_row

SEALED_FIELDS: dict[str, frozenset[str]] = {name: entities.sealed_fields(name) for name in entities.ENTITIES}
# The sealed part of a person's entry queued by a schema-v2 app names the bank card the v2 way
# (the plain part was renamed by the upgrade, which cannot open sealed values).
V2_SEALED_NAMES = {"bank_account": "bank_card"}


def outbox_aad(entity: str, entity_id: str) -> str:
    return f"outbox|{entity}|{entity_id}"


def record_mutation(
    session: Session,
    cipher: FieldCipher,
    entity: str,
    entity_id: str,
    fields: dict[str, Any],
    *,
    op: str = "upsert",
    base_version: int | None = None,
) -> None:
    """Append one mutation to the outbox inside the caller's open transaction.

    An upsert that changes only local-only fields (the draft flag, bookkeeping) queues nothing:
    the server has nothing to learn from it and would refuse it as empty."""
    if op == "upsert" and not set(fields) - local_only(entity) - {"claim_id"}:
        return
    # The domain rows go to SQLite first (still uncommitted); the crash-test hook sits exactly here.
    session.flush()
    crash_point_before_outbox()
    secret_names = SEALED_FIELDS.get(entity, frozenset())
    plain = {k: v for k, v in fields.items() if k not in secret_names}
    secret = {k: v for k, v in fields.items() if k in secret_names}
    sealed = None
    if secret:
        sealed = cipher.seal_bytes(json.dumps(secret, ensure_ascii=False).encode("utf-8"),
                                   outbox_aad(entity, entity_id))
    session.add(Outbox(entity=entity, entity_id=entity_id, op=op, fields=plain, sealed=sealed,
                       base_version=base_version, created_at=now_iso()))
    session.flush()


def open_fields(cipher: FieldCipher, row: Outbox) -> dict[str, Any]:
    fields = dict(row.fields or {})
    if row.sealed is not None:
        opened = json.loads(cipher.open_bytes(row.sealed, outbox_aad(row.entity, row.entity_id)))
        fields.update({V2_SEALED_NAMES.get(k, k): v for k, v in opened.items()})
    return fields


def pending_field_map(session: Session, cipher: FieldCipher,
                      entity_ids: set[str]) -> dict[tuple[str, str], set[str]]:
    """(entity, id) -> names of fields with unsent local edits, for the given record ids only (a
    phone offline for days can hold thousands of entries; a pull page names a few hundred ids)."""
    out: dict[tuple[str, str], set[str]] = {}
    ids = sorted(entity_ids)
    for start in range(0, len(ids), 500):  # stay under SQLite's bound-parameter limit
        chunk = ids[start:start + 500]
        for row in session.scalars(select(Outbox).where(Outbox.entity_id.in_(chunk))):
            names = out.setdefault((row.entity, row.entity_id), set())
            names.update(open_fields(cipher, row))
            if row.op == "delete":
                names.add("*deleted*")
    return out


class OutboxRepo(Repo):
    """For the sync client. Typical push loop::

        batch = store.outbox.pending(100)
        reply = push(batch)                  # parse the server's acknowledgement first
        store.outbox.ack(reply.applied_up_to_seq)
    """

    def pending(self, limit: int = 100) -> list[dict[str, Any]]:
        """The oldest unsent mutations, in seq order, as wire dicts (personal fields opened)."""
        with self._db.read() as session:
            rows = session.scalars(select(Outbox).order_by(Outbox.seq).limit(limit)).all()
            return [
                {"seq": r.seq, "entity": r.entity, "id": r.entity_id, "op": r.op,
                 "fields": open_fields(self._c, r), "base_version": r.base_version}
                for r in rows
            ]

    def ack(self, up_to_seq: int) -> int:
        """Drop every entry with seq <= up_to_seq (the server applied them). Returns how many.

        Entries above ``up_to_seq`` stay, even when they were in the same pushed batch."""
        if isinstance(up_to_seq, bool) or not isinstance(up_to_seq, int):
            raise TypeError("up_to_seq must be an int")
        with self._db.write() as session:
            result = session.execute(delete(Outbox).where(Outbox.seq <= up_to_seq))
            state = state_row(session)
            if up_to_seq > state.last_acked_seq:
                session.execute(update(SyncState).where(SyncState.id == 1)
                                .values(last_acked_seq=up_to_seq))
            return result.rowcount or 0

    def count(self) -> int:
        with self._db.read() as session:
            return session.scalar(select(func.count()).select_from(Outbox)) or 0

    def pending_fields(self, entity: str, entity_id: str) -> frozenset[str]:
        """Field names of ``entity``/``entity_id`` with edits not yet acknowledged by the server."""
        with self._db.read() as session:
            rows = session.scalars(select(Outbox).where(Outbox.entity == entity,
                                                        Outbox.entity_id == entity_id)).all()
            names: set[str] = set()
            for r in rows:
                names.update(open_fields(self._c, r))
            return frozenset(names)
