"""Admin commands for personal data sealed at rest (sync_server.core.sealing); plugged into
``python -m sync_server admin`` by sync_server.cli:

    python -m sync_server admin seal-existing [--no-compact] [--json]
        seal every sealed field still in plaintext (rows from before sealing) and re-seal values
        under older keys with the newest; erase the sealed values of persons deleted earlier;
        recompute the blind index; make existing data files 0600 and folders 0700; then compact
        the database (SQLite VACUUM; PostgreSQL VACUUM FULL of records, changes, conflicts) so the
        replaced plaintext does not linger in free pages. Safe to run again; the server may run.
    python -m sync_server admin rotate-seal-key [--no-compact] [--json]
        add a new key to the key file (new values use it; older keys stay to open what they
        sealed), then do all of seal-existing under the new key.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..claims.scans import seal_stored_scans
from . import sealing
from .error_codes import ERR
from .settings import Settings


def _protect(settings: Settings) -> int:
    roots = [Path(settings.data_dir)]
    if settings.blob_dir and not Path(settings.blob_dir).resolve().is_relative_to(Path(settings.data_dir).resolve()):
        roots.append(Path(settings.blob_dir))
    changed = sealing.protect_tree(roots)
    sealing.protect_sqlite_file(sealing.sqlite_path(settings.database_url))
    return changed


def _run(args: argparse.Namespace, settings: Settings, *, rotate: bool) -> int:
    from ..command import emit, prepare

    db = prepare(settings)
    try:
        sealer = sealing.sealer_of(db.engine.dialect)
        data: dict = {}
        try:
            if rotate:
                data["new_key"] = sealer.add_key()
            report = sealing.seal_existing(db)
            data["scans"] = seal_stored_scans(db, Path(settings.data_dir) / "scans")
        except sealing.SealError as exc:
            emit(args.json, {"error": ERR.seal_key, "message": str(exc)}, f"error: {exc}")
            return 2
        data.update(report.as_dict())
        data["file_modes_fixed"] = _protect(settings)
        if not args.no_compact:
            sealing.compact(db)
        data["compacted"] = not args.no_compact
    finally:
        db.dispose()
    text = (f"sealed under key {data['kid']}: {data['records']} records, {data['changes']} feed rows, "
            f"{data['conflicts']} conflicts, {data['scans']} scans re-sealed; {data['erased']} deleted persons erased; "
            f"{data['indexed']} blind index values set; {data['file_modes_fixed']} file modes fixed")
    if rotate:
        text = (f"new seal key {data['new_key']}\n{text}\nA running server picks the new key up within "
                f"{int(sealing.KEY_FILE_RECHECK_SECONDS)} s; run `admin seal-existing` once more after that "
                "to re-seal what it wrote meanwhile. Keep the key file with the backups.")
    emit(args.json, data, text)
    return 0


def cmd_seal_existing(args: argparse.Namespace, settings: Settings) -> int:
    return _run(args, settings, rotate=False)


def cmd_rotate_seal_key(args: argparse.Namespace, settings: Settings) -> int:
    if (settings.seal_key or "").strip():
        print("error: the seal keys come from DAZU_SEAL_KEY: append a new key there (comma-separated, newest "
              "last), restart the server, then run `admin seal-existing`", file=sys.stderr)
        return 2
    return _run(args, settings, rotate=True)


def configure_admin(asub) -> None:  # noqa: ANN001
    se = asub.add_parser("seal-existing", help="seal personal data still in plaintext, re-seal under the newest "
                                               "key, erase deleted persons' sealed values, fix file modes")
    se.set_defaults(run=cmd_seal_existing)
    rk = asub.add_parser("rotate-seal-key", help="add a new seal key and re-seal every sealed value with it")
    rk.set_defaults(run=cmd_rotate_seal_key)
    for p in (se, rk):
        p.add_argument("--no-compact", action="store_true",
                       help="skip VACUUM (SQLite) / VACUUM FULL (PostgreSQL) after re-sealing")
        p.add_argument("--json", action="store_true", help="print JSON")
