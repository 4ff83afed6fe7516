"""A phone with last month's database (schema v1) opens with this month's app and keeps every row."""
from __future__ import annotations

import base64
import json
import sqlite3
import uuid

import pytest

from fieldapp.store import SCHEMA_VERSION, FieldCipher, FileKeyProvider, StoreTooNewError, open_store
from fieldapp.store.crypto import aad_for
from fieldapp.store.upgrade import create_v1

from .conftest import ID_NUMBER, TOWNSHIP

T = "2026-06-01T00:00:00.000000+00:00"
ACCOUNT = "6222020200112233445"


def _v1_database(data_dir):
    """A v1 file with rows in every table, sealed with a real key, as the first release wrote it."""
    data_dir.mkdir(parents=True)
    db = data_dir / "store.db"
    create_v1(db)
    key = FileKeyProvider(data_dir / "store.key").create_key()
    cipher = FieldCipher(key)
    ids = {"claims": [str(uuid.uuid4()) for _ in range(3)], "person": str(uuid.uuid4())}
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("INSERT INTO settings VALUES ('key_check', ?)",
                     (json.dumps(base64.b64encode(cipher.key_check()).decode()),))
        conn.execute("INSERT INTO settings VALUES ('report_tag', '\"ABCD\"')")
        for i, cid in enumerate(ids["claims"]):
            conn.execute(
                "INSERT INTO claims (id, report_no, coverage, catalogue_version, township_code, loss_types, "
                "claimed_fen, status, created_at, updated_at, version, is_draft) "
                "VALUES (?, ?, 'natural_disaster', '2024.1', ?, '[\"house\"]', ?, 'reported', ?, ?, ?, 0)",
                (cid, f"DZ-20260601-ABCD-{i + 1:04d}", TOWNSHIP, 1000 * (i + 1), T, T, i or None))
            conn.execute("INSERT INTO transitions VALUES (?, ?, NULL, 'reported', 'u', 'liaison', ?, NULL, NULL, NULL, NULL)",
                         (str(uuid.uuid4()), cid, T))
        pid = ids["person"]
        sealed = cipher.seal_bytes(json.dumps(ID_NUMBER).encode(), aad_for("persons", "id_number", pid))
        account = cipher.seal_bytes(json.dumps(ACCOUNT).encode(), aad_for("persons", "bank_account", pid))
        conn.execute("INSERT INTO persons (id, claim_id, role, name, id_number_enc, bank_account_enc, created_at, "
                     "updated_at) VALUES (?, ?, 'victim', '张三', ?, ?, ?, ?)",
                     (pid, ids["claims"][0], sealed, account, T, T))
        for n, uploaded in enumerate([1, 1, 0]):
            conn.execute(
                "INSERT INTO photos (id, sha256, claim_id, flags, exif_replaced, uploaded, created_at) "
                "VALUES (?, ?, ?, '[]', 0, ?, ?)", (str(uuid.uuid4()), f"{n:064x}", ids["claims"][0], uploaded, T))
        conn.execute("INSERT INTO notes VALUES (?, ?, 'v1 note', 'u', ?, NULL)", (str(uuid.uuid4()), ids["claims"][1], T))
        conn.execute("INSERT INTO documents VALUES (?, ?, 'id_card_claimant', 'collected', NULL, NULL, 'u', ?, NULL)",
                     (str(uuid.uuid4()), ids["claims"][0], T))
        conn.execute("INSERT INTO drafts VALUES ('d1', 'claim_wizard', 'place', '{\"place\": \"宝顶\"}', ?)", (T,))
        conn.execute("INSERT INTO assignments VALUES ('a1', ?, 'cpic', 'offered', '{}', ?, ?, 1)", (ids["claims"][2], T, T))
        conn.execute("INSERT INTO sync_state VALUES (1, 'dev-1', NULL, 'https://s', 'cur-5', NULL, NULL, 40)")
        for k in range(4):
            conn.execute("INSERT INTO outbox (entity, entity_id, op, fields, base_version, created_at) "
                         "VALUES ('claim', ?, 'upsert', ?, NULL, ?)",
                         (ids["claims"][0], json.dumps({"claimed_fen": k}), T))
        # A person queued by the first release: plain part and sealed part in the old names.
        queued = cipher.seal_bytes(json.dumps({"bank_account": ACCOUNT}).encode(), f"outbox|person|{pid}")
        conn.execute("INSERT INTO outbox (entity, entity_id, op, fields, sealed, base_version, created_at) "
                     "VALUES ('person', ?, 'upsert', ?, ?, NULL, ?)",
                     (pid, json.dumps({"claim_id": ids["claims"][0], "role": "victim"}), queued, T))
        conn.execute("UPDATE sqlite_sequence SET seq = 44 WHERE name = 'outbox'")
    counts = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
              for (t,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'")}
    conn.close()
    return ids, counts


def _schema(db):
    conn = sqlite3.connect(db)
    try:
        tables = [t for (t,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
        out = {}
        for t in tables:
            cols = {(r[1], r[2].upper(), r[3], r[5]) for r in conn.execute(f"PRAGMA table_info({t})")}
            idx = {}
            for r in conn.execute(f"PRAGMA index_list({t})"):
                idx[r[1] if not r[1].startswith("sqlite_autoindex") else f"auto:{r[2]}:" + ",".join(
                    c[2] for c in conn.execute(f"PRAGMA index_info('{r[1]}')"))] = [
                    c[2] for c in conn.execute(f"PRAGMA index_info('{r[1]}')")]
            fks = {(r[2], r[3], r[4], r[6]) for r in conn.execute(f"PRAGMA foreign_key_list({t})")}
            out[t] = (cols, idx, fks)
        return out, conn.execute("PRAGMA user_version").fetchone()[0]
    finally:
        conn.close()


def test_upgrade_from_v1_keeps_every_row(tmp_path):
    data_dir = tmp_path / "phone"
    ids, counts = _v1_database(data_dir)
    store = open_store(data_dir)
    try:
        assert store.upgraded_to == list(range(2, SCHEMA_VERSION + 1))
        with store.engine.connect() as conn:
            for table, n in counts.items():
                assert conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar() == n, table
        detail = store.claims.get(ids["claims"][0])
        assert detail.persons[0].id_number == ID_NUMBER
        assert (detail.persons[0].role_in_claim, detail.persons[0].bank_card) == ("victim", ACCOUNT)
        assert detail.address is None and detail.claimed_amount_fen == 1000
        assert sorted(p.upload_state for p in detail.photos) == ["none", "original", "original"]
        assert [u.upload_state for u in store.photos.pending_upload()] == ["none"]
        assert store.drafts.load("d1").data == {"place": "宝顶"}
        assert store.sync_state.get().cursor == "cur-5" and store.sync_state.get().last_acked_seq == 40
        queued = store.outbox.pending()
        assert [m["fields"]["claimed_amount_fen"] for m in queued[:4]] == [0, 1, 2, 3]
        # The entry queued before the upgrade goes out in today's names, sealed part included.
        assert queued[4]["fields"] == {"claim_id": ids["claims"][0], "role_in_claim": "victim", "bank_card": ACCOUNT}
        store.notes.add(ids["claims"][1], "after upgrade")
        assert store.outbox.pending()[-1]["seq"] == 45  # the AUTOINCREMENT counter survived
        page = store.claims.list_page()
        assert len(page.rows) == 3 and {r.township_name for r in page.rows} == {"龙岗街道"}
        assert store.conflicts.list() == []  # the v2 table exists and works
    finally:
        store.close()
    backups = list((data_dir / "backups").glob("store-v1-before-upgrade-*.db"))
    assert len(backups) == 1
    with sqlite3.connect(backups[0]) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
        assert conn.execute("SELECT count(*) FROM claims").fetchone()[0] == 3


def test_upgraded_schema_equals_a_fresh_one(tmp_path):
    _v1_database(tmp_path / "old")
    open_store(tmp_path / "old").close()
    open_store(tmp_path / "new").close()
    upgraded, v_old = _schema(tmp_path / "old" / "store.db")
    fresh, v_new = _schema(tmp_path / "new" / "store.db")
    assert v_old == v_new == SCHEMA_VERSION
    assert upgraded.keys() == fresh.keys()
    for table in fresh:
        assert upgraded[table] == fresh[table], table


def test_database_from_a_newer_app_is_refused_untouched(tmp_path):
    data_dir = tmp_path / "phone"
    open_store(data_dir).close()
    db = data_dir / "store.db"
    with sqlite3.connect(db) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    before = db.read_bytes()
    with pytest.raises(StoreTooNewError):
        open_store(data_dir)
    assert db.read_bytes() == before
