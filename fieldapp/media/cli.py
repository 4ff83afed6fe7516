"""``python -m fieldapp photos inspect FILE [FILE ...]``: the intake, as a diagnostic.

For support staff and batch-import checks. Every file goes through the same validation and
intake as a photo taken in the app, into a temporary photo store that is deleted afterwards, and
gets exactly one JSON line on stdout::

    {"file", "ok", "error", "error_code" (when refused), "sha256", "width", "height",
     "exif_gps" (the photo's own GPS or null), "flags": [...], "orientation", "converted_from"}

Each file is processed in a child process with a time limit, so no input (a FIFO, a damaged
file that sends a decoder into a loop, a huge file) can crash or hang the command. Exit status:
0 when every file got its line (refused ones included), 2 on bad usage.

Options: ``--lat/--lon`` (both or neither) ``--alt --accuracy --fix-time ISO`` describe a device
fix (without one, photos are flagged ``no_gps_fix``); ``--captured-at ISO`` (default: now);
``--lang zh|en`` for messages; ``--timeout SECONDS`` per file.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import stat
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from fieldapp.i18n import t

USAGE = "python -m fieldapp photos inspect FILE [FILE ...] [--lat LAT --lon LON [--alt M] [--accuracy M] [--fix-time ISO]] [--captured-at ISO] [--lang zh|en] [--timeout S]"


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse would sys.exit(2) from deep inside
        raise _UsageError(message)


def _aware(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _parser() -> _Parser:
    p = _Parser(prog="python -m fieldapp photos inspect", add_help=False)
    p.add_argument("files", nargs="*")
    p.add_argument("--lat", type=float)
    p.add_argument("--lon", type=float)
    p.add_argument("--alt", type=float)
    p.add_argument("--accuracy", type=float)
    p.add_argument("--fix-time", type=_aware)
    p.add_argument("--captured-at", type=_aware)
    p.add_argument("--lang", choices=("zh", "en"), default="zh")
    p.add_argument("--timeout", type=float, default=60.0)
    p.add_argument("-h", "--help", action="store_true")
    return p


def _read_capped(path: str, max_bytes: int) -> bytes:
    """Read a regular file, refusing before reading when it is over the byte cap."""
    from .errors import IntakeRefused
    from .intake import MiB

    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise IntakeRefused("not_a_file") from None
    except OSError as e:
        raise IntakeRefused("unreadable", detail=e.strerror or type(e).__name__) from None
    if not stat.S_ISREG(st.st_mode):
        raise IntakeRefused("not_a_file")
    if st.st_size > max_bytes:
        raise IntakeRefused("too_large", limit_mib=max_bytes // MiB)
    try:
        with open(path, "rb") as f:
            data = f.read(max_bytes + 1)
    except OSError as e:
        raise IntakeRefused("unreadable", detail=e.strerror or type(e).__name__) from None
    if len(data) > max_bytes:  # grew while we looked
        raise IntakeRefused("too_large", limit_mib=max_bytes // MiB)
    return data


def inspect_file(path: str, fix: Any, captured_at: datetime, store_root: str, lang: str) -> dict[str, Any]:
    """One file through the intake into the store at ``store_root``; the JSON line as a dict."""
    from .errors import IntakeRefused
    from .files import PhotoFiles
    from .intake import IntakeSettings, intake_photo

    line: dict[str, Any] = {"file": path, "ok": False}
    settings = IntakeSettings()
    try:
        data = _read_capped(path, settings.max_bytes)
        result = intake_photo(data, fix, captured_at, settings)
        PhotoFiles(store_root).save(result)
    except IntakeRefused as e:
        line.update(error=e.message(lang), error_code=e.code)
        return line
    line.update(
        ok=True,
        sha256=result.sha256,
        width=result.width,
        height=result.height,
        exif_gps=result.exif_gps,
        flags=result.flags,
        orientation=result.orientation,
        converted_from=result.converted_from,
    )
    return line


def _child(conn: Any, path: str, fix: Any, captured_at: datetime, store_root: str, lang: str) -> None:
    try:
        line = inspect_file(path, fix, captured_at, store_root, lang)
    except BaseException as e:  # an unexpected failure is still a line, never a crash
        line = {
            "file": path,
            "ok": False,
            "error": t("photos.inspect_failed", lang, detail=f"{type(e).__name__}: {e}"),
            "error_code": "internal_error",
        }
    conn.send(line)
    conn.close()


def _run_isolated(path: str, fix: Any, captured_at: datetime, store_root: str, lang: str, timeout: float) -> dict[str, Any]:
    from .errors import IntakeRefused

    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(child, path, fix, captured_at, store_root, lang), daemon=True)
    proc.start()
    child.close()
    line: dict[str, Any] | None = None
    if parent.poll(timeout):
        try:
            line = parent.recv()
        except EOFError:
            line = None
    proc.join(5 if line is not None else 0)
    if proc.is_alive():
        proc.kill()
        proc.join()
    parent.close()
    if line is None:
        if proc.exitcode is not None and proc.exitcode != -9:
            err = IntakeRefused("unreadable", detail=f"worker exit {proc.exitcode}")
            return {"file": path, "ok": False, "error": err.message(lang), "error_code": "internal_error"}
        err = IntakeRefused("timeout", seconds=f"{timeout:g}")
        return {"file": path, "ok": False, "error": err.message(lang), "error_code": err.code}
    return line


def main(argv: list[str]) -> int:
    if not argv or argv[0] != "inspect":
        print(f"usage: {USAGE}", file=sys.stderr)
        return 2
    try:
        args = _parser().parse_args(argv[1:])
    except _UsageError as e:
        print(f"usage: {USAGE}\nerror: {e}", file=sys.stderr)
        return 2
    if args.help:
        print(f"usage: {USAGE}")
        return 0
    if not args.files:
        print(f"usage: {USAGE}\nerror: no files given", file=sys.stderr)
        return 2
    if (args.lat is None) != (args.lon is None):
        print(f"usage: {USAGE}\nerror: --lat and --lon go together", file=sys.stderr)
        return 2
    if args.timeout <= 0:
        print(f"usage: {USAGE}\nerror: --timeout must be positive", file=sys.stderr)
        return 2
    from .intake import GpsFix

    captured_at = args.captured_at or datetime.now(timezone.utc)
    fix = None
    if args.lat is not None:
        try:
            fix = GpsFix(
                lat=args.lat,
                lon=args.lon,
                altitude=args.alt,
                accuracy_m=args.accuracy,
                fix_time=args.fix_time or captured_at,
            )
        except ValueError as e:
            print(f"usage: {USAGE}\nerror: {e}", file=sys.stderr)
            return 2
    with tempfile.TemporaryDirectory(prefix="photos-inspect-") as store_root:
        for path in args.files:
            line = _run_isolated(path, fix, captured_at, str(Path(store_root)), args.lang, args.timeout)
            sys.stdout.write(json.dumps(line, ensure_ascii=False) + "\n")
            sys.stdout.flush()
    return 0
