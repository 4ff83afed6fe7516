"""What every command of the server's command line does first, and how it answers: shared by the
command line itself (sync_server.cli) and the admin commands the features add to it (sealing,
insurers), which therefore need nothing from the command line's module."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from .devices import service as accounts
from .migrate import MigrationError, upgrade
from .core.db import Database
from .core.settings import Settings


def qr_dir(settings: Settings) -> Path:
    """Where enrollment QR files are written (0700; each file 0600, swept when its code expires)."""
    return settings.data_dir / "enroll"


def prepare(settings: Settings) -> Database:
    """Bring the schema up to date (or stop with a clear message) and sweep stale QR files."""
    try:
        upgrade(settings.database_url)
    except MigrationError as exc:
        print(f"sync_server: {exc}\n  DATABASE_URL={redact(settings.database_url)}", file=sys.stderr)
        raise SystemExit(1) from None
    db = Database(settings)
    with db.write() as session:
        accounts.sweep_qr_files(session, qr_dir(settings))
    return db


def redact(url: str) -> str:
    # Never print a password from the URL.
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}"
    return url


def emit(as_json: bool, data: dict, text: str) -> None:
    """A command's answer: JSON for programs (--json), a line for people."""
    if as_json:
        print(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        print(text)
