"""What the phone shows about sync, always: online or not, what waits, last success, errors.

`SyncService` is the shape the sync client (fieldapp/sync) plugs into: `sync_now()` runs one full
round (push, photos, pull) and returns the resulting status; `status()` is cheap and never touches
the network. `SyncLoop` runs rounds in the background so that a returning server is drained
without anyone pressing a button.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, replace
from typing import Callable, Protocol

log = logging.getLogger(__name__)


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

    @property
    def has_unsent(self) -> bool:
        return self.pending_changes > 0 or self.pending_photos > 0


class SyncService(Protocol):
    def sync_now(self) -> SyncStatus: ...

    def status(self) -> SyncStatus: ...


class SyncLoop:
    """Calls `service.sync_now()` every `interval` seconds (sooner when `kick()`ed).

    One round at a time; a failing round is logged and shown through status(), never raised into
    the UI. `on_change` is called after every round (from the loop's thread).
    """

    def __init__(self, service: SyncService, on_change: Callable[[SyncStatus], None],
                 interval: float = 10.0):
        self.service = service
        self.on_change = on_change
        self.interval = interval
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._round = threading.Lock()
        self._thread: threading.Thread | None = None
        self.running = False

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="sync-loop", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    def kick(self) -> None:
        self._wake.set()

    def run_once(self) -> SyncStatus:
        with self._round:
            self.running = True
            try:
                self.on_change(replace(self.service.status(), running=True))
            except Exception:
                log.debug("status before round failed", exc_info=True)
            try:
                status = self.service.sync_now()
            except Exception as exc:  # the loop must outlive any single failure
                log.warning("sync round failed: %s", exc, exc_info=True)
                status = replace(self.service.status(), error=str(exc), online=False)
            finally:
                self.running = False
            self.on_change(status)
            return status

    def _run(self) -> None:
        while not self._stop.is_set():
            self.run_once()
            self._wake.wait(self.interval)
            self._wake.clear()
