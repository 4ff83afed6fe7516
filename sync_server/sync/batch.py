"""A push applied as one unit (sync_server.sync.apply): what the batch holds while it runs.

The rows it names are read once at its start (records and claims locked, in id order; which
claims a liaison may see, in one statement); the new records and photo references are kept as
rows and written together, one executemany per table, before the batch's next statement reads
anything (a ``do_orm_execute`` hook on the batch's session, as autoflush does for ORM objects).
Outside a batch every function here does what a single mutation needs.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from ..blobs import provenance
from ..core import changelog
from ..core.changelog import claim_visible as _visible_now
from ..core.models import Claim, Record, User
from . import policy

_KEY = "dazu_push_whole_batch"

@dataclass
class WholeBatch:
    records: dict[str, Record | None]  # the batch's record ids -> the row (None: not there at the start)
    # The claims the batch's claim mutations name (locked, read in one statement; None: not there
    # at the start), and those it creates: the records that follow a claim read it here. Holding
    # them also keeps them in the session's identity map, which holds rows weakly.
    claims: dict[str, Claim | None]
    blobs: provenance.Batch | None = None  # what the new photo records' references find
    visible_claims: set[str] = field(default_factory=set)
    # New records as rows, written by one executemany before the batch's next statement reads
    # anything (write_new_records), with the new photos' blob references (provenance.write_batch):
    # the ORM's bookkeeping of thousands of new objects was a third of a push.
    new_records: dict[str, dict[str, Any]] = field(default_factory=dict)

    def unwritten(self) -> bool:
        return bool(self.new_records or (self.blobs is not None and self.blobs.unwritten()))

def current(session: Session) -> WholeBatch | None:
    return session.info.get(_KEY)

def begin(session: Session) -> None:
    """From now on the session's statements first write what the batch holds unwritten."""
    event.listen(session, "do_orm_execute", _before_statement)

def hold(session: Session, batch: WholeBatch) -> None:
    session.info[_KEY] = batch

def end(session: Session) -> None:
    session.info.pop(_KEY, None)
    event.remove(session, "do_orm_execute", _before_statement)

def write_new_records(session: Session) -> None:
    """The batch's new records written now (after the claims they belong to)."""
    whole = current(session)
    session.flush()
    if whole is None or not whole.unwritten():
        return
    rows = list(whole.new_records.values())
    whole.new_records.clear()
    if rows:
        session.execute(Record.__table__.insert(), rows)
    if whole.blobs is not None:
        provenance.write_batch(session, whole.blobs)

def _before_statement(state: Any) -> None:  # noqa: ANN401 - sqlalchemy.orm.ORMExecuteState
    """Whatever the batch runs next sees its new records, as autoflush makes it see new objects."""
    whole = current(state.session)
    if whole is not None and whole.unwritten():
        write_new_records(state.session)

def read_locked(session: Session, model: type[Claim] | type[Record], ids: list[str]) -> dict[str, Any]:
    """The rows of ``ids`` (sorted), locked, in a few statements; None for an id not there."""
    rows: dict[str, Any] = dict.fromkeys(ids)
    for start in range(0, len(ids), 500):
        # In id order, as any other transaction locking several of them would.
        for row in session.execute(select(model).where(model.id.in_(ids[start:start + 500]))
                                   .order_by(model.id).with_for_update()).scalars():
            rows[row.id] = row
    return rows

def visible_claims(session: Session, user: User, claim_ids: set[str]) -> set[str]:
    """Of ``claim_ids``, those ``user`` may see now (claim_visible's rule, one statement per 500)."""
    ids = sorted(i for i in claim_ids if policy.is_uuid(i))
    seen: set[str] = set()
    visible = changelog.claim_visibility_clause(user, changelog.access_policy(session))
    for start in range(0, len(ids), 500):
        seen.update(session.execute(select(Claim.id).where(Claim.id.in_(ids[start:start + 500]), visible)).scalars())
    return seen

def claim_visible(session: Session, user: User, claim_id: str) -> bool:
    """claim_visible; for a liaison's batch, as read for all its claims at the start (a liaison
    sees the claims of its township; a claim that changes township sends the batch one by one),
    plus those the batch creates in that township."""
    whole = current(session)
    if whole is None or user.role != "liaison":
        return _visible_now(session, user, claim_id)
    return claim_id in whole.visible_claims

def claim_of(session: Session, claim_id: str) -> Claim | None:
    """The claim, from the batch when it holds it (a claim the batch created is not written yet)."""
    whole = current(session)
    claim = whole.claims.get(claim_id) if whole is not None else None
    return claim if claim is not None else session.get(Claim, claim_id)

def load_record_for_update(session: Session, record_id: str) -> Record | None:
    whole = current(session)
    if whole is not None and record_id in whole.records and record_id not in whole.new_records:
        return whole.records[record_id]
    # A record the batch created is read back once written (the statement writes it first).
    rec = session.execute(select(Record).where(Record.id == record_id).with_for_update()).scalar_one_or_none()
    if whole is not None and rec is not None:
        whole.records[record_id] = rec
    return rec

def load_claim_for_update(session: Session, claim_id: str) -> Claim | None:
    whole = current(session)
    if whole is not None and claim_id in whole.claims:
        return whole.claims[claim_id]
    return session.execute(
        select(Claim).where(Claim.id == claim_id).with_for_update()
    ).scalar_one_or_none()
