"""Content-addressed blob storage with resumable (tus-like) uploads.

Layout under BLOB_DIR:
    objects/ab/<sha256>     complete, verified blobs (named by hash, never by a client file name)
    partial/<sha256>.part   bytes received so far; fsync'ed before any offset is reported
    partial/<sha256>.lock   flock'ed while one PATCH appends, so two uploads never interleave

A blob exists only once its bytes hashed to its name: the partial file is verified, fsync'ed,
renamed into objects/ (atomic on one file system) and the directory fsync'ed.
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
from pathlib import Path
from typing import Iterator

from .policy import SHA256_RE


class UploadBusy(Exception):
    """Another request is appending to the same blob right now."""


class BlobStore:
    def __init__(self, root: Path):
        self.root = Path(root)
        self.objects = self.root / "objects"
        self.partial = self.root / "partial"
        self.objects.mkdir(parents=True, exist_ok=True)
        self.partial.mkdir(parents=True, exist_ok=True)

    @staticmethod
    def valid_name(sha256: str) -> bool:
        return bool(SHA256_RE.match(sha256))

    def final_path(self, sha256: str) -> Path:
        return self.objects / sha256[:2] / sha256

    def partial_path(self, sha256: str) -> Path:
        return self.partial / f"{sha256}.part"

    def exists(self, sha256: str) -> bool:
        return self.final_path(sha256).is_file()

    def size(self, sha256: str) -> int | None:
        try:
            return self.final_path(sha256).stat().st_size
        except FileNotFoundError:
            return None

    def offset(self, sha256: str) -> int:
        """Bytes durably held: the whole blob, the partial upload, or 0."""
        size = self.size(sha256)
        if size is not None:
            return size
        try:
            return self.partial_path(sha256).stat().st_size
        except FileNotFoundError:
            return 0

    @contextlib.contextmanager
    def upload_lock(self, sha256: str) -> Iterator[None]:
        fd = os.open(self.partial / f"{sha256}.lock", os.O_CREAT | os.O_RDWR, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    raise UploadBusy() from None
                raise
            yield
        finally:
            os.close(fd)

    def open_append(self, sha256: str):  # noqa: ANN201
        return open(self.partial_path(sha256), "ab")

    def truncate_partial(self, sha256: str, length: int) -> None:
        path = self.partial_path(sha256)
        with open(path, "r+b") as f:
            f.truncate(length)
            f.flush()
            os.fsync(f.fileno())

    def discard_partial(self, sha256: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.partial_path(sha256).unlink()
        fsync_dir(self.partial)

    def complete(self, sha256: str) -> bool:
        """Verify the partial upload against its name; move it into place if it matches.

        Returns False (and discards the bytes) on a mismatch.
        """
        path = self.partial_path(sha256)
        digest = hashlib.sha256()
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1024 * 1024), b""):
                digest.update(chunk)
            os.fsync(f.fileno())
        if digest.hexdigest() != sha256:
            self.discard_partial(sha256)
            return False
        target = self.final_path(sha256)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, target)
        fsync_dir(target.parent)
        fsync_dir(self.partial)
        return True


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
