"""What one sync did and where it stands, for the sync screen and the benches."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timezone


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass
class Progress:
    phase: str  # push | pull | photos | done
    items_done: int = 0
    items_total: int = 0
    bytes_done: int = 0
    bytes_total: int = 0


@dataclass
class SyncReport:
    pushed: int = 0
    applied: int = 0
    duplicates: int = 0
    conflicts: int = 0
    rejected: int = 0
    pulled: int = 0
    pull_pages: int = 0
    blobs_uploaded: int = 0
    bytes_uploaded: int = 0
    bytes_resent: int = 0
    photo_errors: int = 0
    requests: int = 0
    push_s: float = 0.0
    pull_s: float = 0.0
    photos_s: float = 0.0
    scans_uploaded: int = 0

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


@dataclass
class SyncStatus:
    enrolled: bool
    needs_reenroll: bool
    online: bool | None  # None: not tried yet since start
    syncing: bool
    pending_changes: int
    pending_photos: int
    pending_photo_bytes: int
    last_sync_at: str | None
    last_error: str | None  # a code of fieldapp.sync.errors.MESSAGES
    last_error_zh: str | None
    last_error_en: str | None
    rejections: int
    photo_errors: int
    progress: Progress | None = None
    next_retry_in_s: float | None = None
    pending_scans: int = 0  # document scans still to upload (refused ones are in rejections)

    def message(self, lang: str = "zh") -> str | None:
        return self.last_error_en if lang == "en" else self.last_error_zh
