"""Personal data is not readable in the raw files; the key lives outside the database."""
from __future__ import annotations

import os
import stat

import pytest

from fieldapp.store import DecryptionError, FileKeyProvider, StoreKeyError, open_store

from .conftest import BANK_ACCOUNT, ID_NUMBER, PHONE, new_claim

MEDICAL = "右股骨骨折，住院14天"
SECRETS = [ID_NUMBER.encode(), PHONE.encode(), BANK_ACCOUNT.encode(), MEDICAL.encode("utf-8"),
           ID_NUMBER[-8:].encode()]


def _raw_files(data_dir):
    return {p.name: p.read_bytes() for p in data_dir.iterdir()
            if p.is_file() and p.name.startswith("store.db")}


def _fill(store):
    cid = new_claim(store)
    pid = store.persons.add(cid, role_in_claim="victim", name="张三", relation="self", id_number=ID_NUMBER,
                            phone=PHONE, bank_card=BANK_ACCOUNT, bank_name="农业银行",
                            medical={"diagnosis": MEDICAL})
    store.persons.update(pid, phone=PHONE[:-1] + "9")
    store.persons.update(pid, phone=PHONE)
    return cid, pid


def test_personal_data_not_in_db_or_wal(data_dir):
    store = open_store(data_dir)
    cid, pid = _fill(store)
    files = _raw_files(data_dir)
    assert "store.db-wal" in files and len(files["store.db-wal"]) > 0  # the changes are in the WAL now
    for name, data in files.items():
        for secret in SECRETS:
            assert secret not in data, (name, secret)
    assert "张三".encode() in files["store.db-wal"]  # the grep can find plain text: names are not secret
    p = store.persons.get(pid)
    assert (p.id_number, p.phone, p.bank_card, p.medical) == (ID_NUMBER, PHONE, BANK_ACCOUNT, {"diagnosis": MEDICAL})
    store.close()
    files = _raw_files(data_dir)  # after the checkpoint: the main file
    for data in files.values():
        for secret in SECRETS:
            assert secret not in data


def test_key_file_is_0600_and_outside_the_database(data_dir):
    store = open_store(data_dir)
    _fill(store)
    store.close()
    key_file = data_dir / "store.key"
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    key = FileKeyProvider(key_file).load_key()
    assert len(key) == 32
    for data in _raw_files(data_dir).values():
        assert key not in data and key_file.read_bytes().strip() not in data


def test_missing_key_refuses_to_open_and_keeps_the_data(data_dir):
    store = open_store(data_dir)
    _fill(store)
    store.close()
    before = (data_dir / "store.db").read_bytes()
    (data_dir / "store.key").rename(data_dir / "elsewhere.key")
    with pytest.raises(StoreKeyError):
        open_store(data_dir)
    assert not (data_dir / "store.key").exists()  # no new key was made over the old data
    assert (data_dir / "store.db").read_bytes() == before
    (data_dir / "elsewhere.key").rename(data_dir / "store.key")
    open_store(data_dir).close()


def test_wrong_key_is_refused(data_dir, tmp_path):
    open_store(data_dir).close()
    other = FileKeyProvider(tmp_path / "other.key")
    other.create_key()
    with pytest.raises(StoreKeyError):
        open_store(data_dir, key_provider=other)


def test_sealed_value_moved_to_another_row_fails(data_dir):
    store = open_store(data_dir)
    cid, pid = _fill(store)
    other = store.persons.add(cid, role_in_claim="payee", name="李四", id_number="500111198001011115")
    with store.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE persons SET id_number_enc = (SELECT id_number_enc FROM persons WHERE id = ?) "
                             "WHERE id = ?", (pid, other))
    with pytest.raises(DecryptionError):
        store.persons.get(other)
    store.close()


def test_scans_are_encrypted_files(data_dir):
    store = open_store(data_dir)
    cid, _ = _fill(store)
    scan = b"\xff\xd8\xff\xe0 ID CARD " + ID_NUMBER.encode() + b" \xff\xd9"
    scan_id = store.documents.attach_scan(cid, "claimant_id_card", scan, user="l1")
    on_disk = (data_dir / "scans" / f"{scan_id}.bin").read_bytes()
    assert ID_NUMBER.encode() not in on_disk and b"ID CARD" not in on_disk
    assert store.documents.read_scan(scan_id) == scan
    (doc,) = store.documents.list_for_claim(cid)
    assert doc.status == "collected" and doc.scan_ref == scan_id
    assert [s.id for s in store.documents.pending_scan_uploads()] == [scan_id]
    store.documents.mark_scan_uploaded(scan_id)
    assert store.documents.pending_scan_uploads() == []
    store.close()


def test_key_file_never_overwritten(tmp_path):
    provider = FileKeyProvider(tmp_path / "k.key")
    key = provider.create_key()
    with pytest.raises(FileExistsError):
        provider.create_key()
    assert provider.load_key() == key
