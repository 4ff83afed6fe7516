"""The sync client: the order of one sync (push, pull, scans, photos alongside), enrolment and
status. The parts: transport.py (requests), push.py, pull.py, uploads.py (photos and scans),
backoff.py (waiting after a failure), report.py (what a sync did).

Invariants this code keeps (tests/sync/ checks each against the real server):

* An outbox entry is cleared only by a PARSED acknowledgement: a JSON object whose ``acked_seq``
  is an int and whose ``results`` answer exactly the seqs that were sent, in order. Anything else
  (a captive portal's 200 page, a cut connection, a 5xx) means "not sent" and the entry stays.
* Replays are safe: the server deduplicates on (device, seq), so resending after a lost reply
  never applies twice; a ``duplicate`` reply carries the first attempt's result, so a rejection
  or conflict whose reply was lost is still shown.
* Rejected mutations are cleared from the outbox (resending would be refused forever) and kept
  as sync problems the user can see (:meth:`SyncClient.rejections`); conflicts become the store's
  conflict notes. Field values of personal data are never copied into the problem list.
* A pulled page and its cursor are applied in one store transaction.
* Photos: the server is asked which hashes it lacks (up to 1,000 per request); each missing blob
  is sent with one PATCH from the offset the server holds (assumed 0 the first time, so a fresh
  upload is one request; a 409 or a cut connection makes the next attempt ask with HEAD and send
  only the rest). Previews go before originals. Bytes stream from the file, never whole in memory.
* Nothing to send and no photo waiting: one request (the pull), decided locally.
* Photos go on a second connection while the changes are pushed and pulled (``parallel_photos``),
  so a first sync takes about as long as uploading its photos alone.
* Document scans (personal data) go after the push, so their claim exists on the server:
  fieldapp/sync/scans.py (``SyncClient.scans``).
"""
from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

import httpx

from .errors import Offline, Refused, SyncError, message
from .pull import PULL_LIMIT, Pull
from .push import PUSH_BATCH, Push
from .report import Progress, SyncReport, SyncStatus, now_iso
from .scans import ScanUploader
from .transport import S_REENROLL, Transport
from .uploads import MAX_PATCH_BYTES, Uploads, file_size

S_USER = "sync.user"


class SyncClient(Transport, Push, Pull, Uploads):
    """One phone's sync with the server. Thread-safe for one sync at a time (a lock guards it).

    ``client``: an ``httpx.Client`` (tests pass one bound to the app in-process or to a loopback
    server). ``base_url``: the server; defaults to the one stored at enrolment.
    ``progress``: called with a :class:`Progress` as items and bytes move (from the sync
    thread, and from the photo thread when ``parallel_photos``: photos upload on a second
    connection while changes are pushed and pulled).
    """

    def __init__(self, store, photo_files, client: httpx.Client, *, base_url: str | None = None,  # noqa: ANN001
                 progress: Callable[[Progress], None] | None = None, push_batch: int = PUSH_BATCH,
                 pull_limit: int = PULL_LIMIT, upload_previews: bool = True,
                 max_patch_bytes: int = MAX_PATCH_BYTES, parallel_photos: bool = True):
        self.store = store
        self.photo_files = photo_files
        self.http = client
        self._base_url = base_url.rstrip("/") if base_url else None
        self.progress_callback = progress
        self.push_batch = push_batch
        self.pull_limit = pull_limit
        self.upload_previews = upload_previews
        self.max_patch_bytes = max_patch_bytes
        self.online: bool | None = None
        self.syncing = False
        self.last_progress: Progress | None = None
        self._lock = threading.Lock()
        self._count_lock = threading.Lock()
        self.parallel_photos = parallel_photos
        self._offsets: dict[str, int | None] = {}  # sha -> server offset if known, None = ask (HEAD)
        self._caps: dict[str, int] = {}  # sha -> PATCH body cap while resuming after a cut
        self._report = SyncReport()
        self._claims_accepted: set[str] = set()  # claims the server accepted since this app started
        self._photos_busy = False  # the photo thread runs (files of forgotten claims wait for it)
        self.scans = ScanUploader(self)

    def _emit(self, progress: Progress) -> None:
        self.last_progress = progress
        if self.progress_callback is not None:
            self.progress_callback(progress)

    def enroll(self, server_url: str, code: str, device_name: str) -> dict:
        """Exchange a one-time code for this phone's token. Returns the user (id, name, role,
        township_code, insurer_code). Raises Refused(invalid_code) or Offline."""
        server_url = server_url.rstrip("/")
        self._base_url = server_url
        resp = self._send("POST", "/api/v1/enroll", auth=False, json={"code": code, "device_name": device_name})
        if resp.status_code in (400, 401, 404, 422):
            raise Refused("invalid_code", status=resp.status_code)
        if resp.status_code != 200:
            raise self._refused(resp)
        body = self._json(resp)
        if not isinstance(body, dict) or not all(isinstance(body.get(k), str) for k in ("device_id", "token")) \
                or not isinstance(body.get("user"), dict):
            raise Offline("not_acknowledged", "enrol reply has no device_id/token/user")
        # A new device identity starts a new seq space on the server: the old cursor belongs to
        # the old device's view, so the pull starts over.
        self.store.sync_state.set(device_id=body["device_id"], token=body["token"], server_url=server_url,
                                  cursor=None, last_error=None)
        self.store.settings.set(S_USER, body["user"])
        self.store.settings.set(S_REENROLL, False)
        return body["user"]

    def user(self) -> dict | None:
        return self.store.settings.get(S_USER)

    def has_work(self) -> bool:
        """Anything to push or upload (decided locally, no request)."""
        return self.store.outbox.count() > 0 or bool(self._uploadable()) or self.scans.has_work()

    def sync_once(self) -> SyncReport:
        """Push then pull, photos alongside. Raises Offline / TokenRevoked / Refused / NotEnrolled (with
        ``.report`` = what was done before the failure); the error is also kept in sync_state."""
        with self._lock:
            self._report = SyncReport()
            self.syncing = True
            try:
                self._run_auth = self._auth()
                if self.parallel_photos and self._uploadable():
                    self._sync_parallel()
                else:
                    t0 = time.perf_counter()
                    self.push()
                    t1 = time.perf_counter()
                    self.pull()
                    self.upload_scans()
                    t2 = time.perf_counter()
                    self.upload_photos()
                    self._report.push_s = round(t1 - t0, 3)
                    self._report.pull_s = round(t2 - t1, 3)
                    self._report.photos_s = round(time.perf_counter() - t2, 3)
            except SyncError as exc:
                exc.report = self._report
                self.store.sync_state.set(last_error=exc.code)
                raise
            finally:
                self.syncing = False
                self._run_auth = None
            self.store.sync_state.set(last_sync_at=now_iso(), last_error=None)
            self._emit(Progress("done"))
            return self._report

    def _sync_parallel(self) -> None:
        """Photos on a second connection while the changes go up and come down: the photos are
        the bulk of the bytes, so the push and pull cost (almost) no extra time. Blobs may reach
        the server before their photo record (the contract allows it). Both finish before this
        returns; the first error is raised."""
        def photos() -> None:
            t = time.perf_counter()
            try:
                self.upload_photos()
            finally:
                self._report.photos_s = round(time.perf_counter() - t, 3)

        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sync-photos") as pool:
            self._photos_busy = True
            future = pool.submit(photos)
            error: BaseException | None = None
            try:
                t0 = time.perf_counter()
                self.push()
                t1 = time.perf_counter()
                self.pull()
                self._report.push_s = round(t1 - t0, 3)
                self._report.pull_s = round(time.perf_counter() - t1, 3)
                self.upload_scans()
            except BaseException as exc:  # noqa: BLE001 - wait for the photos, then re-raise
                error = exc
            try:
                future.result()
            except BaseException as exc:  # noqa: BLE001
                error = error or exc
            self._photos_busy = False
            # Files of claims the pull made the phone forget, now that no upload reads them.
            self.store.purge_forgotten_files(self.photo_files)
            if error is not None:
                raise error

    def status(self) -> SyncStatus:
        state = self.store.sync_state.get()
        items = self._uploadable()
        pending_bytes = 0
        for it in items:
            size = file_size(self.photo_files.path(it.sha256, "original"))
            pending_bytes += size or 0
            if it.upload_state == "none" and self.upload_previews:
                pending_bytes += file_size(self.photo_files.path(it.sha256, "preview")) or 0
        code = state.last_error
        reenroll = bool(self.store.settings.get(S_REENROLL, False))
        if reenroll:
            code = "token_revoked"
        return SyncStatus(
            enrolled=bool(state.token and state.device_id),
            needs_reenroll=reenroll,
            online=self.online,
            syncing=self.syncing,
            pending_changes=self.store.outbox.count(),
            pending_photos=len(items),
            pending_photo_bytes=pending_bytes,
            pending_scans=len(self.scans.pending()),
            last_sync_at=state.last_sync_at,
            last_error=code,
            last_error_zh=message(code, "zh"),
            last_error_en=message(code, "en"),
            rejections=len(self.rejections()),
            photo_errors=len(self._photo_errors()),
            progress=self.last_progress if self.syncing else None,
        )


__all__ = ["SyncClient"]
