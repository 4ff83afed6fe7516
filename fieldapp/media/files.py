"""The photo files on disk, addressed by the SHA-256 of the stamped JPEG.

Layout under ``root``::

    originals/ab/<sha>.jpg   the stamped photo (its hash is its name)
    previews/ab/<sha>.jpg    ~1600 px, upright, no EXIF
    thumbs/ab/<sha>.jpg      ~256 px, upright, no EXIF
    sources/ab/<sha>.heic    the camera's HEIC when the photo was converted (kept as evidence)

``ab`` is the first two hex digits, so no folder grows past a few thousand entries. Writes are
atomic (temporary file, fsync, rename, fsync of the folder): after a crash a file is either
absent or complete. The original is written last, so ``has(sha)`` means every copy is there.
Saving the same photo again writes nothing.
"""
from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import BinaryIO

from fieldapp.durable import write_atomic

_SHA = re.compile(r"^[0-9a-f]{64}$")
_KINDS = {"original": ("originals", ".jpg"), "preview": ("previews", ".jpg"), "thumb": ("thumbs", ".jpg")}
_SOURCE_EXT = {"heic": ".heic"}


def _check_sha(sha: str) -> str:
    if not isinstance(sha, str) or not _SHA.match(sha):
        raise ValueError(f"not a SHA-256 hex digest: {sha!r}")
    return sha


class PhotoFiles:
    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    def path(self, sha: str, kind: str = "original") -> Path:
        """Where a copy of the photo lives (``kind``: original, preview, thumb, source)."""
        _check_sha(sha)
        if kind == "source":
            found = self.source_path(sha)
            if found is not None:
                return found
            return self.root / "sources" / sha[:2] / f"{sha}.heic"
        if kind not in _KINDS:
            raise ValueError(f"unknown photo file kind {kind!r}")
        folder, ext = _KINDS[kind]
        return self.root / folder / sha[:2] / f"{sha}{ext}"

    def source_path(self, sha: str) -> Path | None:
        _check_sha(sha)
        for ext in _SOURCE_EXT.values():
            p = self.root / "sources" / sha[:2] / f"{sha}{ext}"
            if p.exists():
                return p
        return None

    def has(self, sha: str) -> bool:
        return self.path(sha, "original").is_file()

    def open_original(self, sha: str) -> BinaryIO:
        return open(self.path(sha, "original"), "rb")

    def verify(self, sha: str) -> bool:
        """True when the stored original still hashes to its name."""
        h = hashlib.sha256()
        try:
            with self.open_original(sha) as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    h.update(chunk)
        except FileNotFoundError:
            return False
        return h.hexdigest() == sha

    def save(self, result) -> dict[str, Path]:  # result: IntakeResult
        """Store the photo and its derived copies; returns the paths by kind. Idempotent."""
        sha = _check_sha(result.sha256)
        if hashlib.sha256(result.jpeg_bytes).hexdigest() != sha:
            raise ValueError("IntakeResult.sha256 does not match its bytes")
        paths: dict[str, Path] = {}
        if result.original_bytes is not None and result.converted_from:
            ext = _SOURCE_EXT.get(result.converted_from, "." + re.sub(r"[^a-z0-9]", "", result.converted_from))
            p = self.root / "sources" / sha[:2] / f"{sha}{ext}"
            self._write_if_different(p, result.original_bytes)
            paths["source"] = p
        for kind, data in (("preview", result.preview_jpeg), ("thumb", result.thumb_jpeg)):
            p = self.path(sha, kind)
            self._write_if_different(p, data)
            paths[kind] = p
        p = self.path(sha, "original")
        if not self.verify(sha):  # absent, or damaged on disk: (re)write it
            write_atomic(p, result.jpeg_bytes)
        paths["original"] = p
        return paths

    def remove(self, sha: str) -> None:
        """Delete every copy (after the server has confirmed it holds the original)."""
        for kind in ("original", "preview", "thumb"):
            self.path(sha, kind).unlink(missing_ok=True)
        src = self.source_path(sha)
        if src is not None:
            src.unlink(missing_ok=True)

    @staticmethod
    def _write_if_different(path: Path, data: bytes) -> None:
        try:
            if path.stat().st_size == len(data) and path.read_bytes() == data:
                return
        except FileNotFoundError:
            pass
        write_atomic(path, data)
