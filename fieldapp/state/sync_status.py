"""What the phone shows about sync, always: online or not, what waits, last success, errors.

The sync client (fieldapp.sync) reports its own status; `from_client_status` turns it into this
one, the shape every screen reads.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SyncProgress:
    changes_done: int = 0
    changes_total: int = 0
    bytes_done: int = 0
    bytes_total: int = 0


@dataclass(frozen=True)
class SyncStatus:
    online: bool | None  # None: not tried yet since the app started
    pending_changes: int
    pending_photos: int
    last_sync: str | None  # ISO time of the last successful round
    error: str | None = None  # plain words for the user (already translated or a server message)
    running: bool = False
    progress: SyncProgress | None = None
    pending_scans: int = 0  # document scans not yet on the server
    problems: int = 0  # records the server refused, kept on the phone until corrected or dismissed

    @property
    def has_unsent(self) -> bool:
        return self.pending_changes > 0 or self.pending_photos > 0 or self.pending_scans > 0


def from_client_status(st, lang: str) -> SyncStatus:
    """The sync client's status (fieldapp.sync.SyncStatus) as the screens show it."""
    p = getattr(st, "progress", None)
    progress = None
    if p is not None and getattr(p, "phase", "done") != "done":
        progress = SyncProgress(p.items_done, p.items_total, p.bytes_done, p.bytes_total)
    error = st.message(lang) if st.last_error else None
    return SyncStatus(online=st.online, pending_changes=st.pending_changes, pending_photos=st.pending_photos,
                      last_sync=st.last_sync_at, error=error, running=bool(st.syncing), progress=progress,
                      pending_scans=getattr(st, "pending_scans", 0), problems=getattr(st, "rejections", 0))
