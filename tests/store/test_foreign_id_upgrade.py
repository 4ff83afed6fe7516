"""A phone store from before identity document types (schema v4) opens with this app: its persons
have resident IDs, queued entries go out unchanged, and a passport holder's type is kept from then
on, across closing and reopening, in the outbox and in what the server sends back."""
from __future__ import annotations

import base64
import json
import sqlite3
import uuid

import pytest

from fieldapp.store import FieldCipher, FileKeyProvider, StoreValidationError, open_store
from fieldapp.store.crypto import aad_for
from fieldapp.store.upgrade import STEPS, create_v1

from .conftest import ID_NUMBER, TOWNSHIP

T = "2026-06-01T00:00:00.000000+00:00"


def _v4_store(data_dir):
    """A v4 file as the previous release left it: one claim, one person with a resident ID, and that
    person's creation still queued."""
    data_dir.mkdir(parents=True)
    db = data_dir / "store.db"
    create_v1(db)
    conn = sqlite3.connect(db, isolation_level=None)
    for version in (1, 2, 3):
        conn.execute("BEGIN")
        STEPS[version](conn)
        conn.execute(f"PRAGMA user_version = {version + 1}")
        conn.execute("COMMIT")
    cipher = FieldCipher(FileKeyProvider(data_dir / "store.key").create_key())
    cid, pid = str(uuid.uuid4()), str(uuid.uuid4())
    with conn:
        conn.execute("BEGIN")
        conn.execute("INSERT INTO settings VALUES ('key_check', ?)",
                     (json.dumps(base64.b64encode(cipher.key_check()).decode()),))
        conn.execute("INSERT INTO settings VALUES ('report_tag', '\"ABCD\"')")
        conn.execute("INSERT INTO claims (id, report_no, coverage, township_code, loss_types, status, created_at, "
                      "updated_at, is_draft, description) VALUES (?, 'DZ-20260601-ABCD-0001', 'natural_disaster', ?, "
                      "'[\"house\"]', 'reported', ?, ?, 0, '暴雨')", (cid, TOWNSHIP, T, T))
        sealed = cipher.seal_bytes(json.dumps(ID_NUMBER).encode(), aad_for("persons", "id_number", pid))
        conn.execute("INSERT INTO persons (id, claim_id, role_in_claim, name, id_number_enc, created_at, updated_at) "
                     "VALUES (?, ?, 'victim', '张三', ?, ?, ?)", (pid, cid, sealed, T, T))
        queued = cipher.seal_bytes(json.dumps({"id_number": ID_NUMBER}).encode(), f"outbox|person|{pid}")
        conn.execute("INSERT INTO outbox (entity, entity_id, op, fields, sealed, base_version, created_at) "
                     "VALUES ('person', ?, 'upsert', ?, ?, NULL, ?)",
                     (pid, json.dumps({"claim_id": cid, "role_in_claim": "victim", "name": "张三"}), queued, T))
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 4
    assert "id_type" not in {r[1] for r in conn.execute("PRAGMA table_info(persons)")}
    conn.close()
    return cid, pid


def test_an_old_store_keeps_its_persons_and_then_keeps_their_document_type(tmp_path):
    data_dir = tmp_path / "phone"
    cid, pid = _v4_store(data_dir)
    store = open_store(data_dir)
    try:
        assert store.upgraded_to == [5]
        old = store.persons.get(pid)
        assert (old.id_type, old.id_number) == ("resident_id", ID_NUMBER)
        # The entry queued before the upgrade goes out as it was: no type means a resident ID.
        assert store.outbox.pending()[0]["fields"] == {"claim_id": cid, "role_in_claim": "victim", "name": "张三",
                                                     "id_number": ID_NUMBER}
        # Changing only the type is judged against the number on file, as the server judges it.
        with pytest.raises(StoreValidationError):
            store.persons.update(pid, id_type="passport")
        assert store.persons.update(pid, id_type="passport", id_number="e1234 5678") == {"id_type", "id_number"}
        visitor = store.persons.add(cid, role_in_claim="claimant", name="Anna Meyer",
                                    id_type="foreign_permanent_resident", id_number="KAZ110090123105")
        queued = store.outbox.pending()
        assert queued[-2]["fields"]["id_type"] == "passport" and queued[-2]["fields"]["id_number"] == "E12345678"
        assert queued[-1]["fields"]["id_type"] == "foreign_permanent_resident"
    finally:
        store.close()

    store = open_store(data_dir)
    try:
        assert store.upgraded_to == []
        assert (store.persons.get(pid).id_type, store.persons.get(pid).id_number) == ("passport", "E12345678")
        assert store.persons.get(visitor).id_type == "foreign_permanent_resident"
        assert {p.id: p.id_type for p in store.claims.get(cid).persons} == {
            pid: "passport", visitor: "foreign_permanent_resident"}
        # A person the office added arrives with its type: the phone stores it with the record.
        remote = str(uuid.uuid4())
        store.apply_remote_changes([{"entity": "person", "id": remote, "version": 1, "op": "upsert",
                                     "fields": {"claim_id": cid, "role_in_claim": "payee", "name": "Li Wei",
                                                "id_type": "residence_permit", "id_number": "AB1234567"}}], "c1")
        assert (store.persons.get(remote).id_type, store.persons.get(remote).id_number) == (
            "residence_permit", "AB1234567")
    finally:
        store.close()
    raw = b"".join(p.read_bytes() for p in data_dir.glob("store.db*"))
    assert b"E12345678" not in raw and b"KAZ110090123105" not in raw  # the numbers stay sealed
