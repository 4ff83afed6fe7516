"""Durable file writes for the phone: a file is either whole or absent after a crash or a dead
battery, and a finished rename survives a power cut. Used for photos, keys, and printed forms."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path


def fsync_dir(path: Path) -> None:
    """Make a rename inside ``path`` durable (some platforms cannot open folders: then the rename
    is still atomic, only not yet on disk)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes, *, make_parents: bool = True) -> None:
    """Write ``data`` beside ``path`` (a 0600 temporary file), fsync, rename over ``path``, fsync
    the folder. On any error the target is untouched and the temporary file removed."""
    path = Path(path)
    if make_parents:
        path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    fsync_dir(path.parent)
