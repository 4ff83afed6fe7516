"""The sync client's bookkeeping: device identity, sealed token, server, pull cursor."""
from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from ._base import (
    StoreValidationError,
    utc_iso,
)
from .crypto import aad_for
from .db import Repo
from .records import (
    SyncStateRecord,
)
from .schema import (
    SyncState,
)


def state_row(session: Session) -> SyncState:
    """The one sync-state row, made on first use inside the caller's transaction."""
    row = session.get(SyncState, 1)
    if row is None:
        row = SyncState(id=1, last_acked_seq=0)
        session.add(row)
        session.flush()
    return row


class SyncStateRepo(Repo):
    """The sync client's bookkeeping: device identity, token (sealed), server, pull cursor."""

    _FIELDS = frozenset({"device_id", "token", "server_url", "cursor", "last_sync_at", "last_error"})

    def get(self) -> SyncStateRecord:
        with self._db.read() as session:
            row = session.get(SyncState, 1)
            token = self._c.open_text(row.token_enc, aad_for("sync_state", "token", "1")) if row else None
            return SyncStateRecord(row.device_id, token, row.server_url, row.cursor, row.last_sync_at,
                                   row.last_error, row.last_acked_seq)

    def set(self, **fields: Any) -> None:
        """Set any of device_id, token, server_url, cursor, last_sync_at, last_error (None clears)."""
        unknown = set(fields) - self._FIELDS
        if unknown:
            raise StoreValidationError("error.store.unknown_sync_state", fields=sorted(unknown))
        if "last_sync_at" in fields:
            fields["last_sync_at"] = utc_iso(fields["last_sync_at"], "last_sync_at")
        with self._db.write() as session:
            row = state_row(session)
            for k, v in fields.items():
                if k == "token":
                    row.token_enc = self._c.seal_text(v, aad_for("sync_state", "token", "1"))
                else:
                    setattr(row, k, v)
