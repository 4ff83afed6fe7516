"""fieldapp.sync: the phone's sync client on httpx (no Flet, no sync_server imports).

    client = SyncClient(store, photo_files, httpx.Client(timeout=30), base_url=None, progress=None)
    client.enroll(server_url, code, device_name) -> user dict (id, name, role, township_code,
        insurer_code); keeps device_id, token, server in store.sync_state, the user in settings
    client.sync_once() -> SyncReport    push (batches of 100) then pull (pages); at the same
        time, on a second connection, photos (missing query, resumable upload, previews first). Raises Offline (retry later), TokenRevoked
        (enrol again), Refused (server said no), NotEnrolled; each carries .report and
        .message("zh"|"en")
    client.status() -> SyncStatus       enrolled, needs_reenroll, online, syncing, pending_changes,
        pending_photos, pending_photo_bytes, pending_scans, last_sync_at, last_error (code), last_error_zh/en,
        rejections, photo_errors, progress (Progress: phase, items_done/total, bytes_done/total)
    client.has_work() -> bool           something to push or upload (local check, no request)
    client.rejections() / dismiss_problem(entity, id)   records the server refused (names, no values)
    client.photo_errors()               photos that cannot be uploaded (damaged / missing file)
    client.scans                        document scans (fieldapp/sync/scans.py): uploaded after the push
        (PUT /api/v1/claims/{claim}/scans/{scan}); refusals are rejections with entity "scan"
    client.user()                       the enrolled user

    service = SyncService(client, interval=60, poll=2).start()   background thread
    service.add_observer(fn(SyncStatus)); service.sync_now(wait=False); service.notify_changed();
    service.status(); service.stop()

Wire mapping between the store's names and the server contract: fieldapp/sync/wire.py.
"""
from .backoff import Backoff
from .client import SyncClient
from .errors import CODES, NotEnrolled, Offline, Refused, SyncError, TokenRevoked, message
from .report import Progress, SyncReport, SyncStatus
from .service import SyncService

__all__ = [
    "Backoff", "CODES", "NotEnrolled", "Offline", "Progress", "Refused", "SyncClient", "SyncError",
    "SyncReport", "SyncService", "SyncStatus", "TokenRevoked", "message",
]
