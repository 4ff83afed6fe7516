"""A background sync loop for the UI (a thread; no Flet here).

    service = SyncService(client, interval=60)
    service.add_observer(fn)     fn(SyncStatus) after every attempt and on progress; called from
                                 the sync thread, so a Flet view must hand it to its page loop
    service.start() / service.stop()
    service.sync_now(wait=False) ask for a sync now (skips any backoff wait); with wait=True
                                 blocks until that attempt ends and returns its SyncStatus
    service.notify_changed()     the app wrote something: sync soon
    service.status()             the latest SyncStatus

When it syncs: something waits (outbox or photos; checked locally every ``poll`` seconds, no
request), every ``interval`` seconds anyway (to pull), or on ``sync_now``. After an Offline error
it waits with exponential backoff and jitter (``Backoff``), so it drains by itself once the server
is reachable again; after a refusal it waits for the next interval; after TokenRevoked it stops
syncing until the phone is enrolled again (``sync_now`` after enrolment resumes).
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import replace
from typing import Callable

from .backoff import Backoff
from .client import SyncClient
from .errors import Offline, SyncError, TokenRevoked
from .report import SyncStatus

log = logging.getLogger("fieldapp.sync")


class SyncService:
    def __init__(self, client: SyncClient, *, interval: float = 60.0, poll: float = 2.0,
                 backoff: Backoff | None = None, clock: Callable[[], float] = time.monotonic):
        self.client = client
        self.interval = interval
        self.poll = poll
        self.backoff = backoff or Backoff()
        self._clock = clock
        self._observers: list[Callable[[SyncStatus], None]] = []
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._forced = False
        self._thread: threading.Thread | None = None
        self._next_retry_at: float | None = None
        self._last_attempt_at: float | None = None
        self._attempts = 0  # finished
        self._started = 0
        self._done = threading.Condition()
        self._status: SyncStatus | None = None
        self.last_error: SyncError | None = None
        self.progress_interval = 0.25
        self._last_progress_at = float("-inf")
        previous = client.progress_callback

        def on_progress(p) -> None:  # noqa: ANN001
            if previous is not None:
                previous(p)
            self._notify_progress(p)

        client.progress_callback = on_progress

    # ------------------------------------------------------------------------------ observers
    def add_observer(self, fn: Callable[[SyncStatus], None]) -> None:
        self._observers.append(fn)

    def remove_observer(self, fn: Callable[[SyncStatus], None]) -> None:
        if fn in self._observers:
            self._observers.remove(fn)

    def status(self) -> SyncStatus:
        st = self.client.status()
        if self._next_retry_at is not None:
            st.next_retry_in_s = max(0.0, self._next_retry_at - self._clock())
        self._status = st
        return st

    def _notify_progress(self, progress) -> None:  # noqa: ANN001
        """Progress arrives per chunk; observers get at most a few updates a second, built from
        the last full status (counting pending photos stats every file: too slow per chunk)."""
        now = self._clock()
        if progress.phase != "done" and now - self._last_progress_at < self.progress_interval:
            return
        self._last_progress_at = now
        if self._status is None:
            self._status = self.client.status()
        st = replace(self._status, syncing=True, progress=progress, online=self.client.online)
        self._deliver(st)

    def _notify(self) -> None:
        self._deliver(self.status())

    def _deliver(self, st: SyncStatus) -> None:
        for fn in list(self._observers):
            try:
                fn(st)
            except Exception:  # noqa: BLE001 - a broken observer must not stop syncing
                log.exception("sync observer failed")

    # ------------------------------------------------------------------------------ control
    def start(self) -> "SyncService":
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="fieldapp-sync", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def notify_changed(self) -> None:
        self._wake.set()

    def sync_now(self, wait: bool = False, timeout: float = 120.0) -> SyncStatus | None:
        """One attempt that starts after this call (one already running began before the user's
        tap and may have missed what changed since); with ``wait``, its outcome."""
        with self._done:
            target = self._started + 1
            self._forced = True
            self._wake.set()
            if not wait:
                return None
            end = self._clock() + timeout
            while self._attempts < target and not self._stop.is_set():
                left = end - self._clock()
                if left <= 0:
                    break
                self._done.wait(left)
        return self.status()

    # ------------------------------------------------------------------------------ loop
    def _due(self) -> bool:
        if self._forced:
            return True
        if self.client.store.settings.get("sync.reenroll_required", False):
            return False
        now = self._clock()
        if self._next_retry_at is not None and now < self._next_retry_at:
            return False
        if self._last_attempt_at is None or now - self._last_attempt_at >= self.interval:
            return True
        try:
            return self.client.has_work()
        except Exception:  # noqa: BLE001 - a store hiccup must not kill the loop
            log.exception("sync: could not check for pending work")
            return False

    def _run(self) -> None:
        while not self._stop.is_set():
            if self._due():
                self._attempt()
            wait = self.poll
            if self._next_retry_at is not None:
                wait = min(wait, max(0.05, self._next_retry_at - self._clock()))
            self._wake.wait(wait)
            self._wake.clear()

    def _attempt(self) -> None:
        with self._done:
            self._started += 1
            self._forced = False
        self._last_attempt_at = self._clock()
        try:
            self.client.sync_once()
            self.last_error = None
            self.backoff.reset()
            self._next_retry_at = None
        except Offline as exc:
            self.last_error = exc
            self._next_retry_at = self._clock() + self.backoff.next_delay()
        except TokenRevoked as exc:
            self.last_error = exc
            self._next_retry_at = None
        except SyncError as exc:  # Refused / NotEnrolled: try again at the next interval
            self.last_error = exc
            self._next_retry_at = self._clock() + self.interval
        except Exception as exc:  # noqa: BLE001 - unexpected: keep the loop, show it, back off
            log.exception("sync attempt failed")
            self.last_error = SyncError("refused", type(exc).__name__)
            self._next_retry_at = self._clock() + self.backoff.next_delay()
        with self._done:
            self._attempts += 1
            self._done.notify_all()
        self._notify()
