"""A damaged database file is detected at open, quarantined, and its unsent changes are not lost."""
from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from fieldapp.store import open_store

from .conftest import ID_NUMBER, new_claim


def _pages(db: Path, table: str, kind: str = "leaf") -> list[tuple[int, int]]:
    """(page number, rows on it) of a table's b-tree pages, from SQLite's dbstat."""
    conn = sqlite3.connect(db)
    try:
        return conn.execute("SELECT pageno, ncell FROM dbstat WHERE name = ? AND pagetype = ? ORDER BY pageno",
                            (table, kind)).fetchall()
    finally:
        conn.close()


def _smash_page(db: Path, pageno: int, page_size: int = 4096) -> None:
    with open(db, "r+b") as f:
        f.seek((pageno - 1) * page_size)
        f.write(bytes([0xA5]) * page_size)


def _store_with_unsent_changes(data_dir: Path, claims: int = 120) -> tuple[list[dict], str]:
    s = open_store(data_dir)
    s.sync_state.set(device_id="device-7", token="secret-token", server_url="https://sync.example")
    ids = [new_claim(s, description="暴雨" * 200) for _ in range(claims)]  # many claims pages
    s.outbox.ack(s.outbox.pending(10_000)[-1]["seq"])  # everything so far reached the server
    pid = s.persons.add(ids[0], role_in_claim="victim", name="张三", id_number=ID_NUMBER)
    for i in range(5):
        s.notes.add(ids[i], f"unsent note {i}")
    s.claims.update(ids[1], claimed_amount_fen=123_45)
    pending = s.outbox.pending(1000)
    s.close()  # checkpoint: everything is in store.db now
    return pending, pid


def test_damaged_page_in_the_middle_is_quarantined_and_unsent_changes_requeued(data_dir):
    pending, pid = _store_with_unsent_changes(data_dir)
    db = data_dir / "store.db"
    leaves = _pages(db, "claims")
    assert len(leaves) > 10
    _smash_page(db, leaves[len(leaves) // 2][0])

    store = open_store(data_dir)
    try:
        report = store.recovery_report
        assert report is not None and report.recovered_changes == len(pending) == 7
        assert report.device_identity_kept and "损坏" in report.message("zh")
        qdir = Path(report.quarantine_dir)
        assert qdir.parent == data_dir / "quarantine" and (qdir / "store.db").exists()
        exported = json.loads(Path(report.export_path).read_text(encoding="utf-8"))
        assert [e["seq"] for e in exported["entries"]] == [m["seq"] for m in pending]
        assert ID_NUMBER not in Path(report.export_path).read_text(encoding="utf-8")  # still sealed

        # the fresh database has them queued again, same seqs, personal fields readable again
        assert store.outbox.pending(1000) == pending
        assert next(m for m in store.outbox.pending() if m["id"] == pid)["fields"]["id_number"] == ID_NUMBER
        state = store.sync_state.get()
        assert (state.device_id, state.token, state.cursor) == ("device-7", "secret-token", None)
        # new changes never reuse a seq the server may have seen
        cid = new_claim(store)
        assert min(m["seq"] for m in store.outbox.pending(1000) if m["id"] == cid) > max(m["seq"] for m in pending)
        assert store.settings.get("recovery_reports")[-1]["quarantine_dir"] == str(qdir)
    finally:
        store.close()
    again = open_store(data_dir)  # the fresh file is healthy: no second report
    assert again.recovery_report is None
    again.close()


def test_damaged_outbox_page_keeps_every_row_on_intact_pages(data_dir):
    s = open_store(data_dir)
    s.sync_state.set(device_id="device-8")
    cid = new_claim(s)
    for i in range(400):
        s.notes.add(cid, f"unsent note {i:04d} " + "x" * 300)
    total = s.outbox.count()
    s.close()
    db = data_dir / "store.db"
    leaves = _pages(db, "outbox")
    victim_page, rows_lost = leaves[len(leaves) // 2]
    _smash_page(db, victim_page)

    store = open_store(data_dir)
    try:
        report = store.recovery_report
        assert report is not None and report.unreadable
        assert report.recovered_changes == total - rows_lost
        recovered = store.outbox.pending(10_000)
        assert len(recovered) == total - rows_lost
        assert len({m["seq"] for m in recovered}) == len(recovered)
        # rows after the damaged page were reached too, not only the ones before it
        assert recovered[-1]["fields"]["text"].startswith("unsent note 0399")
    finally:
        store.close()


def test_overwritten_header_is_detected_and_a_fresh_store_works(data_dir):
    _store_with_unsent_changes(data_dir, claims=5)
    db = data_dir / "store.db"
    with open(db, "r+b") as f:
        f.write(b"\x00" * 100)
    store = open_store(data_dir)
    try:
        report = store.recovery_report
        assert report is not None and report.recovered_changes == 0 and report.unreadable
        assert not report.device_identity_kept and "重新登记" in report.message("zh")
        assert Path(report.quarantine_dir, "store.db").read_bytes()[:100] == b"\x00" * 100  # evidence kept
        exported = json.loads(Path(report.export_path).read_text(encoding="utf-8"))
        assert exported["entries"] == [] and exported["unreadable"]
        assert store.claims.count() == 0 and store.sync_state.get().device_id is None
        new_claim(store)
        assert store.outbox.count() == 2
    finally:
        store.close()


def test_wal_with_committed_changes_is_not_mistaken_for_damage(data_dir):
    """A phone that died with its WAL not checkpointed opens normally with everything in it."""
    import shutil

    s = open_store(data_dir)
    cid = new_claim(s)
    # copy the files while the store is open (as a dead battery leaves them), WAL included
    copy = data_dir.parent / "copy"
    copy.mkdir()
    for name in ("store.db", "store.db-wal", "store.key"):
        shutil.copy2(data_dir / name, copy / name)
    s.close()
    store = open_store(copy)
    try:
        assert store.recovery_report is None
        assert store.claims.get(cid).status == "reported" and store.outbox.count() == 2
    finally:
        store.close()
