"""Content-addressed blob storage with resumable (tus-like) uploads.

Layout under BLOB_DIR:
    objects/ab/<sha256>                 complete, verified blobs (named by hash, never by a client file name)
    partial/<sha256>.<device>.part      bytes one device sent so far; fsync'ed before any offset is reported
    partial/<sha256>.<device>.lock      flock'ed while one PATCH appends, so two uploads never interleave
                                        (removed with the partial file when the upload ends)

A blob exists only once its bytes hashed to its name: the partial file is verified, fsync'ed,
renamed into objects/ (atomic on one file system) and the directory fsync'ed.

Partial uploads are each device's own: what one device has sent says nothing to another (an
offset would tell that somebody holds that photo), a device's unfinished bytes count against its
own quota, and a device that uploads bytes the server already holds proves it holds them (the
copy is verified, then dropped: storage keeps one).

:func:`clean` removes what nobody finishes or needs: partial uploads and lock files older than a
set age, and blobs no record, scan or receipt references (``admin clean-blobs``).
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import re
import time
from pathlib import Path
from typing import Iterator

from ..sync.policy import SHA256_RE

# Device ids are UUIDs made by the server; anything else never becomes part of a file name.
_DEVICE_RE = re.compile(r"^[0-9a-zA-Z-]{1,64}\Z")
_PARTIAL_NAME = re.compile(r"^([0-9a-f]{64})(?:\.([0-9a-zA-Z-]{1,64}))?\.(part|lock)\Z")


class UploadBusy(Exception):
    """Another request is appending to the same blob right now."""


class BlobStore:
    def __init__(self, root: Path):
        self.root = Path(root)
        self.objects = self.root / "objects"
        self.partial = self.root / "partial"
        for folder in (self.root, self.objects, self.partial):  # photos of victims: the server's user only
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.chmod(folder, 0o700)

    @staticmethod
    def valid_name(sha256: str) -> bool:
        return bool(SHA256_RE.match(sha256))

    def final_path(self, sha256: str) -> Path:
        return self.objects / sha256[:2] / sha256

    @staticmethod
    def _device(device_id: str) -> str:
        if not _DEVICE_RE.match(device_id or ""):
            raise ValueError("not a device id")
        return device_id

    def partial_path(self, sha256: str, device_id: str) -> Path:
        return self.partial / f"{sha256}.{self._device(device_id)}.part"

    def lock_path(self, sha256: str, device_id: str) -> Path:
        return self.partial / f"{sha256}.{self._device(device_id)}.lock"

    def exists(self, sha256: str) -> bool:
        return self.final_path(sha256).is_file()

    def size(self, sha256: str) -> int | None:
        try:
            return self.final_path(sha256).stat().st_size
        except FileNotFoundError:
            return None

    def partial_offset(self, sha256: str, device_id: str) -> int:
        """Bytes of this blob this device has durably sent in an unfinished upload, or 0."""
        try:
            return self.partial_path(sha256, device_id).stat().st_size
        except FileNotFoundError:
            return 0

    def partial_bytes(self, device_id: str) -> dict[str, int]:
        """sha256 -> bytes held in this device's unfinished uploads (its quota counts these)."""
        out: dict[str, int] = {}
        suffix = f".{self._device(device_id)}.part"
        with os.scandir(self.partial) as it:
            for entry in it:
                if entry.name.endswith(suffix):
                    with contextlib.suppress(FileNotFoundError):
                        out[entry.name[:64]] = entry.stat().st_size
        return out

    @contextlib.contextmanager
    def upload_lock(self, sha256: str, device_id: str) -> Iterator[None]:
        path = self.lock_path(sha256, device_id)
        fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    raise UploadBusy() from None
                raise
            # The clean-up may have removed this lock file between open and flock: then another
            # upload could lock a new file of the same name. Holding an unlinked file locks nothing.
            try:
                same = os.stat(path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if not same:
                raise UploadBusy()
            os.utime(fd)  # in use now: the clean-up leaves a recently used lock alone
            try:
                yield
            finally:
                if not self.partial_path(sha256, device_id).exists():
                    # Nothing left to resume (completed or discarded): the lock goes too, while
                    # held (see the inode check above), so the folder holds unfinished uploads
                    # only; every PATCH lists it for the quota, and a surge's thousands of
                    # finished uploads made that listing grow until the clean-up ran.
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(path)
        finally:
            os.close(fd)

    def open_append(self, sha256: str, device_id: str):  # noqa: ANN201
        return open(self.partial_path(sha256, device_id), "ab", opener=lambda p, f: os.open(p, f, 0o600))

    def truncate_partial(self, sha256: str, device_id: str, length: int) -> None:
        path = self.partial_path(sha256, device_id)
        with open(path, "r+b") as f:
            f.truncate(length)
            f.flush()
            os.fsync(f.fileno())

    def discard_partial(self, sha256: str, device_id: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.partial_path(sha256, device_id).unlink()
        fsync_dir(self.partial)

    def complete(self, sha256: str, device_id: str) -> bool:
        """Verify this device's upload against its name; move it into place if it matches (or drop
        it when the blob is already stored: the bytes are the same, storage keeps one copy).

        Returns False (and discards the bytes) on a mismatch.
        """
        path = self.partial_path(sha256, device_id)
        digest = hashlib.sha256()
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1024 * 1024), b""):
                digest.update(chunk)
            os.fsync(f.fileno())
        if digest.hexdigest() != sha256:
            self.discard_partial(sha256, device_id)
            return False
        target = self.final_path(sha256)
        if target.is_file():
            self.discard_partial(sha256, device_id)
            with contextlib.suppress(FileNotFoundError):
                os.utime(target)  # just proven wanted: the clean-up goes by age
            return True
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.replace(path, target)
        fsync_dir(target.parent)
        fsync_dir(self.partial)
        return True

    def remove_blob(self, sha256: str) -> bool:
        try:
            self.final_path(sha256).unlink()
        except FileNotFoundError:
            return False
        fsync_dir(self.final_path(sha256).parent)
        return True

    def clean_partials(self, older_than_s: float, now: float | None = None) -> dict[str, int]:
        """Remove partial uploads and lock files untouched for ``older_than_s`` seconds. An upload
        running right now holds its lock, so its file is left alone."""
        now = time.time() if now is None else now
        counts = {"partial_files": 0, "partial_bytes": 0, "lock_files": 0}
        for path in sorted(self.partial.iterdir()):
            found = _PARTIAL_NAME.match(path.name)
            if found is None or found.group(3) != "part":
                continue
            try:
                st = path.stat()
            except FileNotFoundError:
                continue
            if now - st.st_mtime < older_than_s:
                continue
            lock = path.with_suffix(".lock")
            fd = os.open(lock, os.O_CREAT | os.O_RDWR, 0o600)
            try:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    continue  # being appended to right now
                with contextlib.suppress(FileNotFoundError):
                    if now - path.stat().st_mtime >= older_than_s:
                        path.unlink()
                        counts["partial_files"] += 1
                        counts["partial_bytes"] += st.st_size
                        lock.unlink()  # held by us: see upload_lock's inode check
                        counts["lock_files"] += 1
            finally:
                os.close(fd)
        for lock in sorted(self.partial.glob("*.lock")):
            if _PARTIAL_NAME.match(lock.name) is None:
                continue
            fd = os.open(lock, os.O_RDWR)
            try:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    continue
                st = os.fstat(fd)
                if now - st.st_mtime < older_than_s or lock.with_suffix(".part").exists():
                    continue
                # Unlinked while held: an upload opening the name now gets a new file, and one
                # that opened this file before sees it is gone (upload_lock's inode check).
                with contextlib.suppress(FileNotFoundError):
                    lock.unlink()
                    counts["lock_files"] += 1
            finally:
                os.close(fd)
        fsync_dir(self.partial)
        return counts

    def stored(self) -> Iterator[tuple[str, float]]:
        """(sha256, modification time) of every complete blob."""
        for sub in sorted(self.objects.iterdir()):
            if not sub.is_dir():
                continue
            for path in sub.iterdir():
                if SHA256_RE.match(path.name):
                    with contextlib.suppress(FileNotFoundError):
                        yield path.name, path.stat().st_mtime


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def clean(db, store: BlobStore, older_than_hours: float, *, now: float | None = None) -> dict[str, int]:  # noqa: ANN001
    """Remove abandoned partial uploads and stale lock files, and blobs that nothing references
    (no record's reference, no scan, no fund receipt), all older than ``older_than_hours``.

    A record that named a blob its device never uploaded (a pending reference) does not keep the
    blob: that device uploads the bytes itself when it syncs. Returns what was removed."""
    from sqlalchemy import delete, select

    from ..claims.models import Scan
    from ..fund.models import FundEntryRow
    from .models import Blob, BlobRef, BlobUpload

    now = time.time() if now is None else now
    older_than_s = max(0.0, float(older_than_hours) * 3600)
    counts = store.clean_partials(older_than_s, now)
    counts.update(blobs=0, blob_bytes=0)
    old = [(sha, mtime) for sha, mtime in store.stored() if now - mtime >= older_than_s]
    for start in range(0, len(old), 500):
        chunk = [sha for sha, _ in old[start:start + 500]]
        with db.write() as session:
            used: set[str] = set(session.execute(select(BlobRef.sha256).where(BlobRef.sha256.in_(chunk))).scalars())
            used.update(session.execute(select(Scan.sha256).where(Scan.sha256.in_(chunk))).scalars())
            used.update(session.execute(select(FundEntryRow.receipt_sha256).where(
                FundEntryRow.receipt_sha256.in_(chunk))).scalars())
            gone = [sha for sha in chunk if sha not in used]
            if not gone:
                continue
            # Row locks first (PostgreSQL), so an upload recording its provenance right now waits.
            session.execute(select(Blob.sha256).where(Blob.sha256.in_(gone)).with_for_update()).all()
            session.execute(delete(BlobUpload).where(BlobUpload.sha256.in_(gone)))
            session.execute(delete(Blob).where(Blob.sha256.in_(gone)))
        for sha in gone:
            path = store.final_path(sha)
            try:
                st = path.stat()
            except FileNotFoundError:
                continue
            if now - st.st_mtime < older_than_s:
                continue  # uploaded again meanwhile
            if store.remove_blob(sha):
                counts["blobs"] += 1
                counts["blob_bytes"] += st.st_size
    return counts
