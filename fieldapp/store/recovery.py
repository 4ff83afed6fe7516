"""A damaged database file: detect at open, move aside, export what can still be read of the unsent
changes, report it. Nothing is silently lost and nothing is silently thrown away.

At open the store runs ``PRAGMA quick_check``. When the file cannot be opened or the check finds a
problem:

1. the database and its ``-wal``/``-shm`` files are moved (not copied, not deleted) into
   ``<data_dir>/quarantine/<UTC time>/``;
2. the quarantined copy is read for unsent outbox entries: first a plain scan in seq order; if the
   scan breaks on a damaged page, every seq between the last acknowledged one and the highest ever
   issued is looked up by primary key, which reaches rows on intact pages past the damage;
3. what was read goes to ``unsent_outbox.json`` next to the quarantined file (personal fields stay
   sealed with the phone's data key, exactly as they were in the database), with the list of what
   could not be read;
4. a fresh database is created and the recovered entries are queued again *with their original
   sequence numbers*, so the server, which deduplicates on (device, seq), applies each at most
   once. The device identity (device id, token, server) is carried over only when the highest seq
   ever issued is known, so new changes can never reuse a seq the server already saw; otherwise
   the phone must enrol again (a new device starts a new seq space). The pull cursor is reset: the
   local records are gone and a full pull brings back everything the server holds.

The user sees :attr:`fieldapp.store.Store.recovery_report` (``message("zh")``); the last reports
are also kept in the settings table (``recovery_reports``).
"""
from __future__ import annotations

import base64
import json
import os
import sqlite3
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fieldapp.i18n import sentences, t

MAX_PROBES = 200_000  # point lookups when the outbox scan breaks: bounded, a phone must still open


@dataclass(frozen=True)
class RecoveryReport:
    detected_at: str
    problem: str
    quarantine_dir: str
    export_path: str
    recovered_changes: int
    unreadable: list[str] = field(default_factory=list)
    device_identity_kept: bool = False

    def message(self, lang: str = "zh") -> str:
        parts = [t("store.recovery.moved", lang, folder=self.quarantine_dir, changes=self.recovered_changes,
                   export=self.export_path)]
        if self.unreadable:
            parts.append(t("store.recovery.unreadable", lang, count=len(self.unreadable)))
        if not self.device_identity_kept:
            parts.append(t("store.recovery.enrol_again", lang))
        return sentences(lang, *parts)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Salvage:
    entries: list[dict[str, Any]]
    device: dict[str, Any] | None
    seq_floor: int | None  # highest seq ever issued, when known
    unreadable: list[str]


def check_integrity(path: Path) -> str | None:
    """None when the file is healthy, else what is wrong (SQLite's own words)."""
    try:
        conn = sqlite3.connect(path, timeout=10)
    except sqlite3.DatabaseError as exc:
        return f"cannot open: {exc}"
    try:
        rows = conn.execute("PRAGMA quick_check").fetchall()
    except sqlite3.DatabaseError as exc:
        return f"quick_check failed: {exc}"
    finally:
        conn.close()
    if rows == [("ok",)]:
        return None
    return "; ".join(str(r[0]) for r in rows[:10])


_COLS = "seq, entity, entity_id, op, fields, sealed, base_version, created_at"


def _entry(row: tuple) -> dict[str, Any]:
    seq, entity, entity_id, op, fields, sealed, base_version, created_at = row
    try:
        parsed = json.loads(fields) if fields is not None else {}
    except (TypeError, ValueError):
        parsed = {"__unparsed__": str(fields)}
    return {
        "seq": seq, "entity": entity, "id": entity_id, "op": op, "fields": parsed,
        "sealed_b64": base64.b64encode(sealed).decode("ascii") if sealed is not None else None,
        "base_version": base_version, "created_at": created_at,
    }


def salvage(path: Path) -> Salvage:
    unreadable: list[str] = []
    entries: dict[int, dict[str, Any]] = {}
    try:
        conn = sqlite3.connect(path, timeout=10)
        conn.execute("SELECT 1").fetchone()
    except sqlite3.DatabaseError as exc:
        return Salvage([], None, None, [f"database unreadable: {exc}"])
    try:
        scan_broke = False
        try:
            for row in conn.execute(f"SELECT {_COLS} FROM outbox ORDER BY seq"):
                entries[row[0]] = _entry(row)
        except sqlite3.DatabaseError as exc:
            scan_broke = True
            unreadable.append(f"outbox scan stopped after {len(entries)} entries: {exc}")

        issued: int | None = None
        try:
            got = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'outbox'").fetchone()
            issued = int(got[0]) if got else 0
        except sqlite3.DatabaseError as exc:
            unreadable.append(f"sequence counter unreadable: {exc}")

        device = None
        try:
            got = conn.execute(
                "SELECT device_id, token_enc, server_url, last_acked_seq FROM sync_state WHERE id = 1"
            ).fetchone()
            if got:
                device = {"device_id": got[0],
                          "token_enc_b64": base64.b64encode(got[1]).decode() if got[1] else None,
                          "server_url": got[2], "last_acked_seq": int(got[3] or 0)}
        except sqlite3.DatabaseError as exc:
            unreadable.append(f"sync state unreadable: {exc}")

        if scan_broke:
            lo = device["last_acked_seq"] if device else 0
            hi = max([issued or 0, *entries])
            if issued is None:
                try:
                    hi = max(hi, conn.execute("SELECT max(seq) FROM outbox").fetchone()[0] or 0)
                except sqlite3.DatabaseError:
                    pass
            missing = 0
            for seq in range(lo + 1, min(hi, lo + MAX_PROBES) + 1):
                if seq in entries:
                    continue
                try:
                    row = conn.execute(f"SELECT {_COLS} FROM outbox WHERE seq = ?", (seq,)).fetchone()
                except sqlite3.DatabaseError:
                    missing += 1
                    continue
                if row:
                    entries[seq] = _entry(row)
            if missing:
                unreadable.append(f"{missing} outbox entries between seq {lo + 1} and {hi} unreadable")

        known = [v for v in (issued, device["last_acked_seq"] if device else None) if v is not None]
        seq_floor = max([*known, *entries]) if (issued is not None) else None
        return Salvage([entries[k] for k in sorted(entries)], device, seq_floor, unreadable)
    finally:
        conn.close()


def _write_json(path: Path, data: Any) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f, ensure_ascii=False, indent=1)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def quarantine(data_dir: Path, db_path: Path, problem: str) -> tuple[RecoveryReport, Salvage]:
    detected = datetime.now(UTC)
    qdir = data_dir / "quarantine" / detected.strftime("%Y%m%dT%H%M%S%fZ")
    qdir.mkdir(parents=True, exist_ok=False)
    # Move first, read afterwards: opening the damaged file in place could checkpoint its WAL into
    # it and change the evidence.
    for suffix in ("", "-wal", "-shm"):
        src = Path(str(db_path) + suffix)
        if src.exists():
            os.replace(src, qdir / src.name)
    found = salvage(qdir / db_path.name)
    export = qdir / "unsent_outbox.json"
    _write_json(export, {
        "format": "dazu-unsent-outbox/1",
        "exported_at": detected.isoformat(timespec="seconds"),
        "problem": problem,
        "device_id": found.device["device_id"] if found.device else None,
        "note": ("fields under sealed_b64 are AES-256-GCM sealed with this phone's data key, "
                 "associated data 'outbox|<entity>|<id>'"),
        "entries": found.entries,
        "unreadable": found.unreadable,
    })
    report = RecoveryReport(
        detected_at=detected.isoformat(timespec="seconds"),
        problem=problem[:500],
        quarantine_dir=str(qdir),
        export_path=str(export),
        recovered_changes=len(found.entries),
        unreadable=found.unreadable,
        device_identity_kept=bool(found.device and found.device.get("device_id")
                                  and found.seq_floor is not None),
    )
    _write_json(qdir / "recovery.json", report.as_dict())
    return report, found
