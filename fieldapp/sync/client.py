"""The sync client: push the outbox, pull changes, upload photos resumably.

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

import hashlib
import random
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

import httpx

from fieldapp.store import NotFoundError

from . import wire
from .errors import NotEnrolled, Offline, Refused, SyncError, TokenRevoked, message
from .scans import ScanUploader

PUSH_BATCH = 100
MISSING_CHUNK = 1000
PULL_LIMIT = 1000
READ_CHUNK = 256 * 1024
MAX_PATCH_BYTES = 8 * 1024 * 1024  # one PATCH carries at most this; bigger blobs take several
RESUME_FIRST_BYTES = 256 * 1024  # first PATCH body after a cut (then doubling)
_CONFLICT_NS = uuid.UUID("6f1c2a9e-2d43-4e0b-9a39-5d0b6c7e3a11")

S_USER = "sync.user"
S_REENROLL = "sync.reenroll_required"
S_REJECTIONS = "sync.rejections"
# Records the phone holds whole and can send again after a refusal.
REQUEUEABLE = frozenset({"claim", "person", "document", "photo", "note", "transition"})
S_PHOTO_ERRORS = "sync.photo_errors"


def _now_iso() -> str:
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


class Backoff:
    """Exponential backoff with jitter, capped: base, 2*base, 4*base ... up to ``cap`` seconds.

    "Equal jitter": half the step is fixed, half random, so retries of many phones after an
    outage spread out but no phone retries at once in a tight loop."""

    def __init__(self, base: float = 2.0, cap: float = 300.0, rng: random.Random | None = None):
        self.base = base
        self.cap = cap
        self.failures = 0
        self._rng = rng or random.Random()

    def next_delay(self) -> float:
        step = min(self.cap, self.base * (2 ** self.failures))
        self.failures += 1
        return step / 2 + self._rng.uniform(0, step / 2)

    def reset(self) -> None:
        self.failures = 0


class _Cut(Exception):
    """Internal: the connection broke during a PATCH; the server may hold part of it."""


class SyncClient:
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
        self.scans = ScanUploader(self)

    # ------------------------------------------------------------------------------ plumbing
    @property
    def base_url(self) -> str | None:
        return self._base_url or self.store.sync_state.get().server_url

    def _url(self, path: str) -> str:
        base = self.base_url
        if not base:
            raise NotEnrolled()
        return base.rstrip("/") + path

    def _auth(self) -> dict[str, str]:
        state = self.store.sync_state.get()
        if not state.token or not state.device_id:
            raise NotEnrolled()
        if self.store.settings.get(S_REENROLL, False):
            raise TokenRevoked()
        return {"Authorization": f"Bearer {state.token}"}

    def _send(self, method: str, path: str, *, auth: bool = True, **kwargs: Any) -> httpx.Response:
        headers = dict(kwargs.pop("headers", None) or {})
        if auth:
            headers.update(self._auth())
        with self._count_lock:
            self._report.requests += 1
        try:
            resp = self.http.request(method, self._url(path), headers=headers, **kwargs)
        except httpx.TimeoutException as exc:
            self.online = False
            raise Offline("timeout", type(exc).__name__) from exc
        except (httpx.TransportError, OSError) as exc:
            self.online = False
            raise Offline("offline", type(exc).__name__) from exc
        if resp.status_code >= 500:
            self.online = False
            raise Offline("server_error", f"HTTP {resp.status_code}")
        self.online = True
        if resp.status_code == 401 and auth:
            self.store.settings.set(S_REENROLL, True)
            raise TokenRevoked()
        return resp

    def call(self, method: str, path: str, *, json: Any = None) -> tuple[int, Any]:
        """One request the user asked for that only the server can answer (record a consultation,
        read the insurers): (status, JSON body). Raises Offline when there is no server."""
        resp = self._send(method, path, json=json)
        return resp.status_code, self._json(resp)

    def download(self, path: str) -> tuple[int, bytes, str]:
        """A file the user asked for (a report as PDF or XLSX): (status, bytes, content type)."""
        resp = self._send("GET", path)
        return resp.status_code, resp.content, resp.headers.get("content-type", "")

    @staticmethod
    def _json(resp: httpx.Response) -> Any:
        """The body as our server's JSON, or Offline(not_acknowledged): a login page is not a reply."""
        ctype = resp.headers.get("content-type", "")
        if "json" not in ctype:
            raise Offline("not_acknowledged", f"HTTP {resp.status_code} {ctype or 'no content type'}")
        try:
            return resp.json()
        except ValueError:
            raise Offline("not_acknowledged", "body is not JSON") from None

    def _refused(self, resp: httpx.Response) -> Refused:
        try:
            body = resp.json()
            code, detail = body.get("error"), body.get("message")
        except (ValueError, AttributeError):
            code, detail = None, None
        return Refused("refused", f"HTTP {resp.status_code} {code or ''} {detail or ''}".strip(),
                       status=resp.status_code)

    def _emit(self, progress: Progress) -> None:
        self.last_progress = progress
        if self.progress_callback is not None:
            self.progress_callback(progress)

    # ------------------------------------------------------------------------------ enrolment
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

    # ------------------------------------------------------------------------------ one sync
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
                self._auth()
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
            self.store.sync_state.set(last_sync_at=_now_iso(), last_error=None)
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
            if error is not None:
                raise error

    # ------------------------------------------------------------------------------ push
    def push(self) -> None:
        state = self.store.sync_state.get()
        total = self.store.outbox.count()
        done = 0
        size = self.push_batch
        while True:
            self._requeue_refused()
            batch = self.store.outbox.pending(size)
            if not batch:
                return
            sent = [wire.to_server(m, preview_sha=self._preview_sha) for m in batch]
            resp = self._send("POST", "/api/v1/sync/push", json={"device_id": state.device_id, "mutations": sent})
            if resp.status_code == 422:
                # The server refused the request as a whole (a malformed entry, e.g. from an
                # older app version): it applied nothing. Find the entry by sending one at a
                # time; that one is shown as refused and cleared, so it does not block the rest
                # forever.
                if len(batch) > 1:
                    size = 1
                    continue
                self._record_outcomes(batch, [{"seq": batch[0]["seq"], "status": "rejected",
                                               "error": self._refused(resp).detail}])
                self.store.outbox.ack(batch[0]["seq"])
                done += 1
                size = self.push_batch
                continue
            if resp.status_code != 200:
                if resp.status_code < 500:
                    raise self._refused(resp)
            body = self._json(resp)
            acked, results = self._parse_ack(body, [m["seq"] for m in batch])
            self._record_outcomes(batch, results)
            self.store.outbox.ack(acked)
            done += sum(1 for m in batch if m["seq"] <= acked)
            self._report.pushed += sum(1 for m in batch if m["seq"] <= acked)
            self._emit(Progress("push", done, max(total, done)))
            if size == 1 and done % 50 == 0:
                size = self.push_batch  # isolate a malformed entry without crawling for long
            if acked < batch[-1]["seq"]:
                # The server acknowledged only part of the batch (it should not): send the rest
                # again next time instead of looping here.
                raise Offline("not_acknowledged", f"acked {acked} of up to {batch[-1]['seq']}")

    @staticmethod
    def _parse_ack(body: Any, seqs: list[int]) -> tuple[int, list[dict]]:
        if not isinstance(body, dict):
            raise Offline("not_acknowledged", "push reply is not an object")
        acked = body.get("acked_seq")
        results = body.get("results")
        if isinstance(acked, bool) or not isinstance(acked, int) or not isinstance(results, list):
            raise Offline("not_acknowledged", "push reply lacks acked_seq/results")
        got = [r.get("seq") if isinstance(r, dict) else None for r in results]
        if got != seqs or not all(isinstance(r.get("status"), str) for r in results):
            raise Offline("not_acknowledged", "push reply does not answer the batch that was sent")
        return min(acked, seqs[-1]), results

    def _record_outcomes(self, batch: list[dict], results: list[dict]) -> None:
        # Sync problems are kept per record: the newest refusal of a record replaces an older one,
        # and a record the server accepted later has no problem any more.
        problems = {(x["entity"], x["id"]): x for x in self.rejections()}
        before = dict(problems)
        conflict_notes: list[dict] = []
        for m, r in zip(batch, results):
            status = r["status"]
            if status == "duplicate":
                self._report.duplicates += 1
                status = r.get("original_status") or "duplicate"
            elif status == "applied":
                self._report.applied += 1
            if status == "rejected":
                self._report.rejected += 1
                error = r.get("error") or ""
                code = error.split(":", 1)[0] or "refused"
                earlier = problems.get((m["entity"], m["id"])) or {}
                problems[(m["entity"], m["id"])] = {
                    "seq": m["seq"], "entity": m["entity"], "id": m["id"],
                    "claim_id": (m.get("fields") or {}).get("claim_id") if m["entity"] != "claim" else m["id"],
                    "fields": sorted((m.get("fields") or {}).keys()),  # names only: values may be personal
                    "code": code, "field": r.get("field"), "error": error, "at": _now_iso(),
                    # Sent again already and refused the same way: not again without a user's edit
                    # (an unknown claim also answers for one out of the user's scope now).
                    "retried": bool(earlier.get("requeued") and earlier.get("code") == code),
                }
            elif status in ("applied", "conflict"):
                problems.pop((m["entity"], m["id"]), None)
                if m["entity"] == "claim":
                    self._claims_accepted.add(m["id"])
            if status == "conflict":
                self._report.conflicts += 1
                conflict_notes.extend(self._conflict_changes(m, r))
        if problems != before:
            self.store.settings.set(S_REJECTIONS, list(problems.values()))
        if conflict_notes:
            # Conflict notes go through the store's own path for them (apply_remote_changes with
            # entity "conflict"), which seals personal values; the cursor is left as it is.
            self.store.apply_remote_changes(conflict_notes, self.store.sync_state.get().cursor)

    def _conflict_changes(self, m: dict, r: dict) -> list[dict]:
        """Conflict notes for one mutation the server applied with a conflict.

        Office roles may read the server's conflict records: the notes then name the exact field
        and both values. Other roles only learn that some of the mutation's fields replaced a
        value another device had written; the note names those fields (values stay on the
        server for the office's review, and the phone's own values are in its record)."""
        device = self.store.sync_state.get().device_id or ""
        claim_id = m["id"] if m["entity"] == "claim" else (m.get("fields") or {}).get("claim_id")
        user = self.user() or {}
        if user.get("role") in ("adjuster", "coordinator") and claim_id:
            exact = self._server_conflicts(claim_id, m, device)
            if exact:
                return exact
        names = sorted(k for k in (m.get("fields") or {}) if k != "claim_id")
        nid = str(uuid.uuid5(_CONFLICT_NS, f"{device}/{m['seq']}"))
        return [{"entity": "conflict", "id": nid, "op": "upsert", "version": r.get("version"), "fields": {
            "claim_id": claim_id, "entity": m["entity"], "entity_id": m["id"], "field": ",".join(names),
            "kept_value": None, "other_value": None, "at": _now_iso(),
            "detail": "这台手机的修改已保存，但覆盖了另一台设备对其中某项的修改；被覆盖的值由服务器保留待复核 / "
                      "this phone's edit was kept but replaced another device's value of one of these "
                      "fields; the replaced value is kept on the server for review",
        }}]

    def _server_conflicts(self, claim_id: str, m: dict, device: str) -> list[dict]:
        try:
            resp = self._send("GET", "/api/v1/conflicts", params={"claim_id": claim_id})
            body = self._json(resp) if resp.status_code == 200 else None
        except Offline:
            return []
        if not isinstance(body, dict) or not isinstance(body.get("conflicts"), list):
            return []
        out = []
        for c in body["conflicts"]:
            if not isinstance(c, dict) or c.get("entity_id") != m["id"] or c.get("kept_device_id") != device:
                continue
            nid = str(uuid.uuid5(_CONFLICT_NS, f"server/{c.get('id')}"))
            out.append({"entity": "conflict", "id": nid, "op": "upsert", "version": c.get("kept_version"), "fields": {
                "claim_id": claim_id, "entity": m["entity"], "entity_id": m["id"], "field": c.get("field"),
                "kept_value": c.get("kept_value"), "other_value": c.get("other_value"), "at": c.get("created_at"),
                "detail": "另一台设备的值被这台手机的修改覆盖，已保留待复核 / another device's value was "
                          "replaced by this phone's edit and is kept for review",
            }})
        return out

    def rejections(self) -> list[dict]:
        """Sync problems: mutations the server refused (entity, id, claim_id, field names, error)."""
        return list(self.store.settings.get(S_REJECTIONS, []) or [])

    def dismiss_problem(self, entity: str, record_id: str) -> None:
        """The user read a sync problem and set it aside. The record stays on the phone; a refused
        scan is offered to the server again at the next sync."""
        self.store.settings.set(S_REJECTIONS, [x for x in self.rejections()
                                               if (x.get("entity"), x.get("id")) != (entity, record_id)])

    def _requeue_refused(self) -> None:
        """Send again, whole, every refused record that can now succeed: the user corrected it
        (a newer local edit of it waits in the outbox), or it was refused only because its claim
        was not on the server yet and now is. The record never left the phone; the problem stays
        listed until the server accepts it."""
        problems = self.rejections()
        changed = False
        for p in problems:
            if p.get("requeued") or p.get("entity") not in REQUEUEABLE:
                continue
            edited = bool(self.store.outbox.pending_fields(p["entity"], p["id"]))
            parent_there = (p.get("code") == "claim_not_found" and not p.get("retried")
                            and self._claim_on_server(p.get("claim_id")))
            if (edited or parent_there) and self.store.requeue_record(p["entity"], p["id"]):
                p["requeued"] = True
                changed = True
        if changed:
            self.store.settings.set(S_REJECTIONS, problems)

    def _claim_on_server(self, claim_id: str | None) -> bool:
        if not claim_id:
            return False
        if claim_id in self._claims_accepted:
            return True
        try:
            return self.store.claims.get(claim_id).version is not None
        except NotFoundError:
            return False

    # ------------------------------------------------------------------------------ pull
    def pull(self) -> None:
        pages = 0
        while True:
            cursor = self.store.sync_state.get().cursor
            params: dict[str, Any] = {"limit": self.pull_limit}
            if cursor:
                params["cursor"] = cursor
            resp = self._send("GET", "/api/v1/sync/pull", params=params)
            if resp.status_code != 200:
                raise self._refused(resp)
            body = self._json(resp)
            if not isinstance(body, dict) or not isinstance(body.get("changes"), list) \
                    or not isinstance(body.get("cursor"), str) or not isinstance(body.get("has_more"), bool):
                raise Offline("not_acknowledged", "pull reply lacks changes/cursor/has_more")
            changes = [wire.to_store(c) for c in body["changes"] if isinstance(c, dict)]
            if changes or body["cursor"] != cursor:
                self._fill_report_numbers(changes)
                self.store.apply_remote_changes(changes, body["cursor"])
            pages += 1
            self._report.pulled += len(changes)
            self._report.pull_pages = pages
            self._emit(Progress("pull", self._report.pulled, self._report.pulled))
            if not body["has_more"] or not body["changes"]:
                return

    def _fill_report_numbers(self, changes: list[dict]) -> None:
        claims = [c for c in changes if c["entity"] == "claim"]
        if not claims:
            return
        known = self._local_claim_ids([c["id"] for c in claims])
        for c in claims:
            fallback = c["fields"].pop("report_no_fallback", None)
            if c["id"] not in known and fallback:
                c["fields"]["report_no"] = fallback

    def _local_claim_ids(self, ids: list[str]) -> set[str]:
        # Read-only lookup of which claims this phone already has (their own report number
        # must not be replaced). The store has no bulk "exists" call, so this reads its table.
        from sqlalchemy import select

        from fieldapp.store.schema import Claim

        with self.store._read() as session:
            return set(session.scalars(select(Claim.id).where(Claim.id.in_(ids))))

    # ------------------------------------------------------------------------------ photos
    def _preview_sha(self, sha: str) -> str | None:
        try:
            path = self.photo_files.path(sha, "preview")
        except ValueError:
            return None
        return _file_sha(path)

    def _photo_errors(self) -> dict[str, dict]:
        return dict(self.store.settings.get(S_PHOTO_ERRORS, {}) or {})

    def _uploadable(self) -> list:
        """Photos waiting for upload, minus those known damaged (unchanged since)."""
        items = self.store.photos.pending_upload()
        if not items:
            return []
        errors = self._photo_errors()
        if not errors:
            return items
        out = []
        for it in items:
            err = errors.get(it.sha256)
            if err is not None and _file_stamp(self.photo_files.path(it.sha256, "original")) == err.get("stamp"):
                continue
            out.append(it)
        return out

    def upload_photos(self) -> None:
        items = self._uploadable()
        if not items:
            return
        # (sha, kind, path, photo sha): previews first, so the office can triage early.
        blobs: list[tuple[str, str, Path, str]] = []
        if self.upload_previews:
            for it in items:
                if it.upload_state == "none":
                    p = self.photo_files.path(it.sha256, "preview")
                    psha = _file_sha(p)
                    if psha:
                        blobs.append((psha, "preview", p, it.sha256))
        for it in items:
            blobs.append((it.sha256, "original", self.photo_files.path(it.sha256, "original"), it.sha256))
        missing: set[str] = set()
        hashes = list(dict.fromkeys(b[0] for b in blobs))
        for start in range(0, len(hashes), MISSING_CHUNK):
            chunk = hashes[start:start + MISSING_CHUNK]
            resp = self._send("POST", "/api/v1/blobs/missing", json={"sha256": chunk})
            if resp.status_code != 200:
                raise self._refused(resp)
            body = self._json(resp)
            if not isinstance(body, dict) or not isinstance(body.get("missing"), list):
                raise Offline("not_acknowledged", "blobs/missing reply lacks missing")
            missing.update(h for h in body["missing"] if isinstance(h, str))
        todo = [b for b in blobs if b[0] in missing]
        sizes = {b[0]: _size(b[2]) for b in todo}
        total_bytes = sum(s for s in sizes.values() if s is not None)
        done_items = 0
        done_bytes = 0
        # Recording "uploaded" is a durable (fsync'ed) store write; it runs on one helper thread,
        # in order, while the next photo is on the wire. If the phone dies before a mark lands,
        # the next sync's blobs/missing says the server has the blob and marks it then.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sync-mark") as marker:
            marks = []
            try:
                for sha, kind, path, photo_sha in blobs:
                    if sha not in missing:
                        marks.append(marker.submit(self.store.photos.mark_uploaded, photo_sha, kind))
                        continue
                    if sizes.get(sha) is None:
                        self._photo_failed(photo_sha, "photo_file_missing")
                        continue
                    try:
                        self._upload_blob(sha, path, lambda n: self._emit(Progress(
                            "photos", done_items, len(todo), done_bytes + n, total_bytes)))
                    except _Damaged:
                        self._photo_failed(photo_sha, "photo_damaged")
                        continue
                    marks.append(marker.submit(self.store.photos.mark_uploaded, photo_sha, kind))
                    done_items += 1
                    done_bytes += sizes[sha] or 0
                    self._report.blobs_uploaded += 1
                    self._emit(Progress("photos", done_items, len(todo), done_bytes, total_bytes))
            finally:
                for f in marks:
                    f.result()

    def _photo_failed(self, sha: str, code: str) -> None:
        self._report.photo_errors += 1
        errors = self._photo_errors()
        errors[sha] = {"code": code, "at": _now_iso(),
                       "stamp": _file_stamp(self.photo_files.path(sha, "original"))}
        self.store.settings.set(S_PHOTO_ERRORS, errors)

    def photo_errors(self) -> dict[str, dict]:
        """sha256 -> {code, at}: photos that could not be uploaded (damaged or missing file)."""
        return self._photo_errors()

    def _head_offset(self, sha: str) -> int:
        resp = self._send("HEAD", f"/api/v1/blobs/{sha}")
        if resp.status_code != 200:
            raise self._refused(resp)
        value = resp.headers.get("upload-offset", "")
        if not value.isdigit():
            raise Offline("not_acknowledged", "HEAD without Upload-Offset")
        return int(value)

    def _upload_blob(self, sha: str, path: Path, on_bytes: Callable[[int], None]) -> None:
        size = path.stat().st_size
        mismatches = 0
        for _attempt in range(50):
            offset = self._offsets.get(sha, 0)
            if offset is None:
                offset = self._head_offset(sha)
            if offset >= size:
                offset = size
            # After a cut the server may still be writing what arrived, so the offset HEAD gave
            # can be stale and the PATCH answered 409 - after its whole body went out. Resume
            # with a small body and double it on every success: a stale guess wastes little.
            cap = self._caps.get(sha, self.max_patch_bytes)
            length = min(size - offset, cap)
            sent = [0]

            def body() -> Iterator[bytes]:
                with open(path, "rb") as f:
                    f.seek(offset)
                    left = length
                    while left > 0:
                        chunk = f.read(min(READ_CHUNK, left))
                        if not chunk:
                            raise OSError("photo file shrank while uploading")
                        left -= len(chunk)
                        sent[0] += len(chunk)
                        yield chunk
                        on_bytes(offset + sent[0])

            headers = {"Upload-Offset": str(offset), "Upload-Length": str(size),
                       "Content-Type": "application/offset+octet-stream", "Content-Length": str(length)}
            try:
                resp = self._send("PATCH", f"/api/v1/blobs/{sha}", headers=headers, content=body())
            except Offline:
                # The server may hold part of what was sent: ask next time instead of guessing.
                self._offsets[sha] = None
                self._caps[sha] = RESUME_FIRST_BYTES
                self._report.bytes_uploaded += sent[0]
                raise
            self._report.bytes_uploaded += sent[0]
            new = resp.headers.get("upload-offset", "")
            if resp.status_code == 204:
                if sha in self._caps:
                    self._caps[sha] = min(self.max_patch_bytes, cap * 2)
                held = int(new) if new.isdigit() else offset + length
                self._offsets[sha] = held
                if held >= size:
                    self._offsets.pop(sha, None)
                    self._caps.pop(sha, None)
                    return
                continue
            if resp.status_code == 409:
                try:
                    code = resp.json().get("error")
                except ValueError:
                    code = None
                if code == "upload_in_progress":
                    time.sleep(0.1)
                self._offsets[sha] = int(new) if new.isdigit() else None
                continue
            if resp.status_code == 422:
                self._offsets[sha] = 0
                mismatches += 1
                if _file_sha(path) != sha or mismatches >= 2:
                    raise _Damaged()
                continue
            raise self._refused(resp)
        raise Offline("not_acknowledged", "upload did not progress")

    # ------------------------------------------------------------------------------ scans
    def upload_scans(self) -> None:
        """Document scans, after the push (fieldapp/sync/scans.py): one PUT each, no request when
        none waits. Refusals become sync problems (entity "scan"); a 404 waits for the next sync."""
        done = self.scans.upload_pending()
        self._report.scans_uploaded += done.uploaded + done.already_there

    # ------------------------------------------------------------------------------ status
    def status(self) -> SyncStatus:
        state = self.store.sync_state.get()
        items = self._uploadable()
        pending_bytes = 0
        for it in items:
            size = _size(self.photo_files.path(it.sha256, "original"))
            pending_bytes += size or 0
            if it.upload_state == "none" and self.upload_previews:
                pending_bytes += _size(self.photo_files.path(it.sha256, "preview")) or 0
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


class _Damaged(Exception):
    pass


def _size(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except (FileNotFoundError, NotADirectoryError):
        return None


def _file_stamp(path: Path) -> list | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return [st.st_size, st.st_mtime_ns]


def _file_sha(path: Path) -> str | None:
    try:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        return h.hexdigest()
    except FileNotFoundError:
        return None


__all__ = ["Backoff", "Progress", "SyncClient", "SyncReport", "SyncStatus"]
