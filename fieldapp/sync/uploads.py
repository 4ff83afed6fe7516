"""Photo uploads (resumable, previews first) and document scans after the push."""
from __future__ import annotations

import hashlib
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable, Iterator

from .errors import Offline
from .report import Progress, now_iso

MISSING_CHUNK = 1000
READ_CHUNK = 256 * 1024
# One PATCH carries at most this; bigger blobs take several. A cut (the network, or the server
# killed and restarted) loses at most the body on the wire, whatever the socket buffers held:
# 1 MiB bounds what a cut costs, at one more request per MiB of a large photo.
MAX_PATCH_BYTES = 1024 * 1024
RESUME_FIRST_BYTES = 256 * 1024  # first PATCH body after a cut (then doubling)
S_PHOTO_ERRORS = "sync.photo_errors"


class Uploads:
    """The upload half of :class:`fieldapp.sync.client.SyncClient` (a mixin over its transport,
    store, photo files and report)."""

    def _preview_sha(self, sha: str) -> str | None:
        try:
            path = self.photo_files.path(sha, "preview")
        except ValueError:
            return None
        return file_sha(path)

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
            if err is not None and file_stamp(self.photo_files.path(it.sha256, "original")) == err.get("stamp"):
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
                    psha = file_sha(p)
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
        sizes = {b[0]: file_size(b[2]) for b in todo}
        total_bytes = sum(s for s in sizes.values() if s is not None)
        done_items = 0
        done_bytes = 0
        # Recording "uploaded" is a durable (fsync'ed) store write; it runs on one helper thread,
        # in order, while the next photo is on the wire, and records in one write every upload
        # that ended while the previous write was being synced (the phone's flash then syncs
        # once per run of uploads, not once per photo, beside the server's own syncs). If the
        # phone dies before a mark lands, the next sync's blobs/missing says the server has the
        # blob and marks it then.
        unmarked: list[tuple[str, str]] = []
        unmarked_lock = threading.Lock()

        def mark_those_waiting() -> None:
            with unmarked_lock:
                those = list(unmarked)
                unmarked.clear()
            if those:
                self.store.photos.mark_all_uploaded(those)

        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sync-mark") as marker:
            marks = []

            def mark(photo_sha: str, kind: str) -> None:
                with unmarked_lock:
                    unmarked.append((photo_sha, kind))
                marks.append(marker.submit(mark_those_waiting))

            try:
                for sha, kind, path, photo_sha in blobs:
                    if sha not in missing:
                        mark(photo_sha, kind)
                        continue
                    if sizes.get(sha) is None:
                        self._photo_failed(photo_sha, "photo_file_missing")
                        continue
                    try:
                        self._upload_blob(sha, path, lambda n: self._emit(Progress(
                            "photos", done_items, len(todo), done_bytes + n, total_bytes)))
                    except Damaged:
                        self._photo_failed(photo_sha, "photo_damaged")
                        continue
                    mark(photo_sha, kind)
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
        errors[sha] = {"code": code, "at": now_iso(),
                       "stamp": file_stamp(self.photo_files.path(sha, "original"))}
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
                if file_sha(path) != sha or mismatches >= 2:
                    raise Damaged()
                continue
            raise self._refused(resp)
        raise Offline("not_acknowledged", "upload did not progress")

    def upload_scans(self) -> None:
        """Document scans, after the push (fieldapp/sync/scans.py): one PUT each, no request when
        none waits. Refusals become sync problems (entity "scan"); a 404 waits for the next sync."""
        done = self.scans.upload_pending()
        self._report.scans_uploaded += done.uploaded + done.already_there


class Damaged(Exception):
    """A photo file whose bytes no longer match its name (the server refused them twice)."""


def file_size(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except (FileNotFoundError, NotADirectoryError):
        return None


def file_stamp(path: Path) -> list | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return [st.st_size, st.st_mtime_ns]


def file_sha(path: Path) -> str | None:
    try:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        return h.hexdigest()
    except FileNotFoundError:
        return None
