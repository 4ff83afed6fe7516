"""Personal data sealed at rest on the server (sync_server.sealing), through the real HTTP API.

A victim's ID number, bank card, phone number and medical details travel from a phone in plaintext
and come back to the office in plaintext, but the database never holds them so: not in the
records, the change feed or the conflicts (raw column text on SQLite and PostgreSQL), and not in
the SQLite file or its WAL, byte for byte. Also: data files 0600 in 0700 folders; the office finds
a person by ID number through the blind index (others 403); deleting a person erases its sealed
values and its index; key rotation re-seals; a wrong or missing key fails loudly.
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
from pathlib import Path

import pytest
from sqlalchemy import select, text

from claimcore.validators import id_check_character
from sync_server import cli
from sync_server.core import sealing
from sync_server.core.db import Database
from sync_server.core.models import Change, Record
from sync_server.sync.models import Conflict

from .conftest import claim_fields, new_id


def _id_number(body17: str) -> str:
    return body17 + id_check_character(body17)


def _luhn(body: str) -> str:
    total = 0
    for i, d in enumerate(reversed(body)):
        n = int(d) * (2 if i % 2 == 0 else 1)
        total += n - 9 if n > 9 else n
    return body + str((10 - total % 10) % 10)


ID_NUMBER = _id_number("50011119880315417")
CARD = _luhn("622848040123456789")
PHONE = "13912345678"
PHONE_A = "13787654321"
PHONE_B = "15011223344"
MEDICAL = "左腿胫骨骨折，住院 12 天 tibia-fracture-QX7"
SECRETS = (ID_NUMBER, CARD, PHONE, PHONE_A, PHONE_B, "tibia-fracture-QX7")


def _person(claim_id: str) -> dict:
    return {"claim_id": claim_id, "role_in_claim": "victim", "name": "王五", "id_number": ID_NUMBER,
            "bank_card": CARD, "phone": PHONE, "medical": MEDICAL, "bank_name": "农业银行"}


def victim_claim(actors) -> tuple[str, str]:
    """A liaison reports a claim with a victim; two office devices change the victim's phone from the
    same version (a conflict on a sealed field). Returns (claim id, person id)."""
    cid, pid = new_id(), new_id()
    liaison = actors.liaison_a
    assert liaison.push_one("claim", cid, claim_fields(loss_types=["medical"]))["status"] == "applied"
    assert liaison.push_one("person", pid, _person(cid))["status"] == "applied"
    r = actors.adjuster.push_one("person", pid, {"claim_id": cid, "phone": PHONE_A}, base_version=1)
    assert r["status"] == "applied", r
    assert actors.adjuster2.push_one("person", pid, {"claim_id": cid, "phone": PHONE_B}, base_version=1)["status"] == "conflict"
    return cid, pid


def raw_texts(db: Database) -> dict[str, list[str]]:
    """The stored text of every column that may hold personal data, read past the ORM's types."""
    queries = {
        "records": "SELECT CAST(fields AS TEXT) FROM records",
        "changes": "SELECT CAST(fields AS TEXT) FROM changes",
        "conflicts": "SELECT CAST(kept_value AS TEXT) || ' ' || CAST(other_value AS TEXT) FROM conflicts",
    }
    out = {}
    with db.engine.connect() as conn:
        for table, sql in queries.items():
            out[table] = [row[0] or "" for row in conn.execute(text(sql))]
    return out


def assert_no_secrets(blob: str | bytes, where: str) -> None:
    for secret in SECRETS:
        needle = secret.encode() if isinstance(blob, bytes) else secret
        assert needle not in blob, f"{secret!r} in plaintext in {where}"


def sqlite_file(settings) -> Path:
    return Path(settings.database_url[len("sqlite:///"):])


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def _ordinary_umask():
    # The usual umask (files 0644): the server must make its files private itself.
    old = os.umask(0o022)
    yield
    os.umask(old)


# --------------------------------------------------------------------------- sealed in the columns

def test_personal_data_is_sealed_in_records_feed_and_conflicts(actors, harness):
    cid, pid = victim_claim(actors)
    raw = raw_texts(harness.db)
    for table, rows in raw.items():
        for row in rows:
            assert_no_secrets(row, table)
    person_rows = [r for r in raw["records"] if "$sealed" in r]
    assert len(person_rows) == 1 and all(k in person_rows[0] for k in ("id_number", "bank_card", "phone", "medical"))
    assert any("$sealed" in r for r in raw["changes"]) and all("$sealed" in r for r in raw["conflicts"])

    # The office still gets plaintext, the values round-trip exactly.
    changes, _, _ = actors.coordinator.pull_all()
    [person] = [c for c in changes if c["id"] == pid]
    assert {k: person["fields"][k] for k in ("id_number", "bank_card", "phone", "medical", "name")} == {
        "id_number": ID_NUMBER, "bank_card": CARD, "phone": PHONE_B, "medical": MEDICAL, "name": "王五"}
    r = actors.coordinator.client.get("/api/v1/conflicts", headers=actors.coordinator.headers)
    [conflict] = r.json()["conflicts"]
    assert (conflict["field"], conflict["kept_value"], conflict["other_value"]) == ("phone", PHONE_B, PHONE_A)
    # So does the liaison that works the claim's files.
    changes, _, _ = actors.liaison_a.pull_all()
    assert [c for c in changes if c["id"] == pid][0]["fields"]["bank_card"] == CARD


def test_conflict_values_of_ordinary_fields_stay_plain(actors, harness):
    """Only sealed fields are sealed: a conflict on an amount is still readable SQL for the office."""
    cid = new_id()
    actors.adjuster.push_one("claim", cid, claim_fields())
    actors.adjuster.push_one("claim", cid, {"claimed_amount_fen": 500_000}, base_version=1)
    assert actors.adjuster2.push_one("claim", cid, {"claimed_amount_fen": 650_000}, base_version=1)["status"] == "conflict"
    assert raw_texts(harness.db)["conflicts"] == ["650000 500000"]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_sqlite_file_and_wal_hold_no_personal_data(actors, harness, settings):
    victim_claim(actors)
    path = sqlite_file(settings)
    wal = path.with_name(path.name + "-wal")
    assert wal.exists() and wal.stat().st_size > 0
    assert_no_secrets(path.read_bytes(), "the SQLite file")
    assert_no_secrets(wal.read_bytes(), "the WAL")
    with harness.db.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    assert_no_secrets(path.read_bytes(), "the SQLite file after a checkpoint")
    # and the values are really there, sealed
    assert b"$sealed" in path.read_bytes()


# ------------------------------------------------------------------------------------ file modes

@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_data_files_are_private_to_the_server(actors, settings):
    victim_claim(actors)
    photo = b"\xff\xd8\xff\xe0" + os.urandom(2000)
    sha = hashlib.sha256(photo).hexdigest()
    r = actors.liaison_a.client.patch(
        f"/api/v1/blobs/{sha}", content=photo, headers={**actors.liaison_a.headers, "Upload-Offset": "0",
                                                       "Upload-Length": str(len(photo)),
                                                       "Content-Type": "application/offset+octet-stream"})
    assert r.status_code == 204, r.text
    half = os.urandom(3000)
    half_sha = hashlib.sha256(half).hexdigest()
    r = actors.liaison_a.client.patch(
        f"/api/v1/blobs/{half_sha}", content=half[:1000],
        headers={**actors.liaison_a.headers, "Upload-Offset": "0", "Upload-Length": str(len(half)),
                 "Content-Type": "application/offset+octet-stream"})
    assert r.status_code == 204, r.text

    db = sqlite_file(settings)
    files = [db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm"),
             settings.data_dir / "keys" / "server.key", settings.blob_dir / "objects" / sha[:2] / sha]
    files += [p for p in (settings.blob_dir / "partial").iterdir() if p.name.endswith(".part")]
    assert len(files) == 6
    for path in files:
        assert _mode(path) == 0o600, f"{path} is {oct(_mode(path))}"
    folders = [settings.data_dir, settings.data_dir / "keys", settings.blob_dir, settings.blob_dir / "objects",
               settings.blob_dir / "objects" / sha[:2], settings.blob_dir / "partial"]
    for path in folders:
        assert _mode(path) == 0o700, f"{path} is {oct(_mode(path))}"


def test_seal_existing_makes_old_files_private(settings, harness, monkeypatch):
    """Files left by an older version (0644 / 0755) are fixed by the admin command."""
    old = settings.blob_dir / "objects" / "ab"
    old.mkdir(parents=True, exist_ok=True)
    os.chmod(old, 0o755)
    blob = old / ("ab" + "0" * 62)
    blob.write_bytes(b"old photo")
    os.chmod(blob, 0o644)
    _cli(monkeypatch, settings, "seal-existing", "--no-compact")
    assert _mode(blob) == 0o600 and _mode(old) == 0o700


# ----------------------------------------------------------------------------------- blind index

def test_office_finds_a_person_by_id_number(actors, harness):
    cid, pid = victim_claim(actors)
    # The same victim on another claim of the household (a duplicate to catch).
    cid2, pid2 = new_id(), new_id()
    actors.liaison_a.push_one("claim", cid2, claim_fields())
    actors.liaison_a.push_one("person", pid2, {"claim_id": cid2, "role_in_claim": "claimant",
                                               "id_number": ID_NUMBER.lower().replace("x", "x")})
    other = new_id()
    actors.liaison_a.push_one("person", other, {"claim_id": cid2, "role_in_claim": "victim",
                                                "id_number": _id_number("50011119900101123")})
    spaced = f"{ID_NUMBER[:6]} {ID_NUMBER[6:14]} {ID_NUMBER[14:]}"
    for office in (actors.coordinator, actors.adjuster):
        r = office.client.post("/api/v1/persons/search", headers=office.headers, json={"id_number": spaced})
        assert r.status_code == 200, r.text
        assert sorted((m["claim_id"], m["person_id"], m["role_in_claim"]) for m in r.json()["matches"]) == sorted(
            [(cid, pid, "victim"), (cid2, pid2, "claimant")])
    # Not a plain hash of the number: the index needs the server's key.
    with harness.db.read() as s:
        index = s.execute(select(Record.id_index).where(Record.id == pid)).scalar_one()
    assert len(index) == 64 and index != hashlib.sha256(ID_NUMBER.encode()).hexdigest()

    for outsider in (actors.liaison_a, actors.surveyor_x):
        r = outsider.client.post("/api/v1/persons/search", headers=outsider.headers, json={"id_number": ID_NUMBER})
        assert r.status_code == 403 and r.json()["error"] == "forbidden"
    r = actors.adjuster.client.post("/api/v1/persons/search", headers=actors.adjuster.headers,
                                    json={"id_number": "500111198803154170"})
    assert r.status_code == 422 and r.json()["error"] == "invalid_id_number"
    assert "500111198803154170" not in r.text
    r = actors.adjuster.client.post("/api/v1/persons/search", json={"id_number": ID_NUMBER})
    assert r.status_code == 401


# -------------------------------------------------------------------------------------- erasure

def test_deleting_a_person_erases_its_sealed_values_everywhere(actors, harness, settings):
    cid, pid = victim_claim(actors)
    before = raw_texts(harness.db)
    tokens = {tok for rows in before.values() for row in rows for tok in _tokens(row)}
    assert len(tokens) >= 8  # 4 in the record, 4 in the feed, 2 in the conflict

    r = actors.liaison_a.push_one("person", pid, {"claim_id": cid}, op="delete")
    assert r["status"] == "applied"

    after = raw_texts(harness.db)
    for table, rows in after.items():
        for row in rows:
            assert "$sealed" not in row, f"a sealed value left in {table}: {row}"
    with harness.db.read() as s:
        rec = s.get(Record, pid)
        assert rec.deleted and rec.id_index is None
        assert not {"id_number", "bank_card", "phone", "medical"} & set(rec.fields)
        assert rec.fields["name"] == "王五"  # what is not sealed stays (the claim's file)
        conflict = s.execute(select(Conflict).where(Conflict.entity_id == pid)).scalar_one()
        assert conflict.kept_value is None and conflict.other_value is None
        feed = s.execute(select(Change).where(Change.entity_id == pid)).scalar_one()
        assert feed.op == "delete" and not {"id_number", "bank_card", "phone", "medical"} & set(feed.fields)
    r = actors.adjuster.client.post("/api/v1/persons/search", headers=actors.adjuster.headers,
                                    json={"id_number": ID_NUMBER})
    assert r.json()["matches"] == []
    if settings.is_sqlite:
        with harness.db.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        data = sqlite_file(settings).read_bytes()
        assert not [t for t in tokens if t.encode() in data], "erased ciphertexts linger in the SQLite file"


def _tokens(raw: str) -> list[str]:
    out = []
    for part in raw.split('"$sealed"')[1:]:
        out.append(part.split('"')[1])
    return out


# ------------------------------------------------------------------------------- keys, rotation

def _cli(monkeypatch, settings, *args: str) -> dict:
    monkeypatch.setenv("DAZU_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("BLOB_DIR", str(settings.blob_dir))
    monkeypatch.delenv("DAZU_SEAL_KEY", raising=False)
    monkeypatch.delenv("DAZU_SEAL_KEY_FILE", raising=False)
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli.main(["admin", *args, "--json"]) == 0
    return json.loads(out.getvalue())


def _kids(db: Database) -> set[str]:
    return {t.split(":")[1] for rows in raw_texts(db).values() for row in rows for t in _tokens(row)}


def test_rotation_reseals_everything_and_old_values_still_open(actors, harness, settings, monkeypatch):
    cid, pid = victim_claim(actors)
    [old_kid] = _kids(harness.db)
    old_token = _tokens(raw_texts(harness.db)["records"][-1])[0]

    out = _cli(monkeypatch, settings, "rotate-seal-key", "--no-compact")
    assert out["new_key"] != old_kid and out["kid"] == out["new_key"]
    assert out["records"] == 1 and out["changes"] == 1 and out["conflicts"] == 1
    assert _kids(harness.db) == {out["new_key"]}
    keyfile = json.loads((settings.data_dir / "keys" / "server.key").read_text())
    assert [k["id"] for k in keyfile["keys"]] == [old_kid, out["new_key"]]
    assert _mode(settings.data_dir / "keys" / "server.key") == 0o600

    # The running server (its keyring loaded before the rotation) still answers in plaintext...
    changes, _, _ = actors.coordinator.pull_all()
    assert [c for c in changes if c["id"] == pid][0]["fields"]["id_number"] == ID_NUMBER
    r = actors.coordinator.client.post("/api/v1/persons/search", headers=actors.coordinator.headers,
                                       json={"id_number": ID_NUMBER})
    assert [m["person_id"] for m in r.json()["matches"]] == [pid]
    # ...and a value sealed under the old key still opens.
    sealer = sealing.Sealer.from_settings(settings)
    assert sealer.open(old_token, "person.id_number") == ID_NUMBER
    # Nothing is left to do: running it again changes nothing.
    again = _cli(monkeypatch, settings, "seal-existing", "--no-compact")
    assert (again["records"], again["changes"], again["conflicts"]) == (0, 0, 0)


def test_legacy_plaintext_is_read_as_it_is_then_sealed_by_the_admin_command(actors, harness, settings,
                                                                             monkeypatch):
    cid, pid = victim_claim(actors)
    gone = new_id()
    actors.liaison_a.push_one("person", gone, {"claim_id": cid, "role_in_claim": "payee", "bank_card": CARD})
    # Rows as an older server wrote them: plaintext, and a person deleted but keeping its card.
    legacy = json.dumps(_person(cid))
    with harness.db.engine.begin() as conn:
        conn.execute(text("UPDATE records SET fields = :f, id_index = NULL WHERE id = :id"), {"f": legacy, "id": pid})
        conn.execute(text("UPDATE changes SET fields = :f WHERE entity_id = :id"), {"f": legacy, "id": pid})
        conn.execute(text("UPDATE conflicts SET kept_value = :k, other_value = :o"),
                     {"k": json.dumps(PHONE_B), "o": json.dumps(PHONE_A)})
        conn.execute(text("UPDATE records SET deleted = :t, fields = :f WHERE id = :id"),
                     {"t": True, "f": json.dumps({"role_in_claim": "payee", "bank_card": CARD}), "id": gone})
    assert any(CARD in row for row in raw_texts(harness.db)["records"])
    changes, _, _ = actors.coordinator.pull_all()
    assert [c for c in changes if c["id"] == pid][0]["fields"]["phone"] == PHONE

    out = _cli(monkeypatch, settings, "seal-existing")
    assert (out["records"], out["changes"], out["conflicts"], out["erased"]) == (1, 1, 1, 1)
    for table, rows in raw_texts(harness.db).items():
        for row in rows:
            assert_no_secrets(row, table)
    changes, _, _ = actors.coordinator.pull_all()
    assert [c for c in changes if c["id"] == pid][0]["fields"]["phone"] == PHONE
    r = actors.coordinator.client.post("/api/v1/persons/search", headers=actors.coordinator.headers,
                                       json={"id_number": ID_NUMBER})
    assert [m["person_id"] for m in r.json()["matches"]] == [pid]
    if settings.is_sqlite:  # compacted: the replaced plaintext is gone from the file too
        path = sqlite_file(settings)
        assert_no_secrets(path.read_bytes(), "the SQLite file after seal-existing")


def test_a_wrong_or_missing_key_fails_loudly(actors, harness, settings):
    cid, pid = victim_claim(actors)
    wrong = base64.b64encode(os.urandom(32)).decode()
    for other in (settings.with_(seal_key=wrong),
                  settings.with_(seal_key_file=settings.data_dir / "keys" / "elsewhere.key")):
        db = Database(other)
        try:
            with pytest.raises(sealing.SealError, match="key"):
                with db.read() as s:
                    s.get(Record, pid).fields  # noqa: B018
            with pytest.raises(sealing.SealError):
                with db.read() as s:
                    s.execute(select(Conflict)).scalars().all()
        finally:
            db.dispose()
    # A missing key file is not made up when a sealed value is read.
    assert not (settings.data_dir / "keys" / "elsewhere.key").exists()
    # A damaged key file is refused, not guessed around.
    bad = settings.data_dir / "keys" / "bad.key"
    bad.write_text("{not json")
    db = Database(settings.with_(seal_key_file=bad))
    try:
        with pytest.raises(sealing.SealError, match="cannot be read"):
            with db.read() as s:
                s.get(Record, pid).fields  # noqa: B018
    finally:
        db.dispose()
    # A key that is not 32 bytes of base64 stops the server from starting.
    with pytest.raises(sealing.SealError):
        Database(settings.with_(seal_key="not base64!"))


def test_a_sealed_value_moved_to_another_field_does_not_open(actors, harness):
    cid, pid = victim_claim(actors)
    with harness.db.engine.begin() as conn:
        raw = json.loads(conn.execute(text("SELECT CAST(fields AS TEXT) FROM records WHERE id = :id"),
                                      {"id": pid}).scalar_one())
        raw["phone"] = raw["id_number"]  # an ID number put where a phone number is shown
        conn.execute(text("UPDATE records SET fields = :f WHERE id = :id"), {"f": json.dumps(raw), "id": pid})
    with pytest.raises(sealing.SealError, match="person.phone"):
        with harness.db.read() as s:
            s.get(Record, pid).fields  # noqa: B018


def test_the_key_can_come_from_the_environment(db_url, tmp_path, monkeypatch):
    """DAZU_SEAL_KEY: no key file is made; the same secret reads what it sealed."""
    from fastapi.testclient import TestClient

    from sync_server.app import create_app
    from sync_server.core.settings import Settings
    from sync_server.testing import Harness

    from .conftest import Phone

    key = base64.b64encode(os.urandom(32)).decode()
    monkeypatch.setenv("DAZU_SEAL_KEY", key)
    monkeypatch.setenv("DAZU_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DATABASE_URL", db_url)
    settings = Settings.from_env()
    assert key not in repr(settings)
    harness = Harness(settings)
    try:
        with TestClient(create_app(settings)) as client:
            liaison = Phone(client, harness.actor(role="liaison", township_code="500111100"))
            cid, pid = new_id(), new_id()
            liaison.push_one("claim", cid, claim_fields())
            liaison.push_one("person", pid, _person(cid))
            changes, _, _ = liaison.pull_all()
            assert [c for c in changes if c["id"] == pid][0]["fields"]["id_number"] == ID_NUMBER
        for row in raw_texts(harness.db)["records"]:
            assert_no_secrets(row, "records")
        assert not (tmp_path / "data" / "keys").exists()
    finally:
        harness.close()


# ------------------------------------------------------------------------------ document scans

SCAN_MARK = b"ID-CARD-SCAN 500111198803154170 QX7-PLAINTEXT"


def _put_scan(actor, claim_id: str, scan_id: str, body: bytes):
    return actor.client.put(f"/api/v1/claims/{claim_id}/scans/{scan_id}", content=body,
                            headers={**actor.headers, "Content-Type": "image/jpeg",
                                     "X-Scan-SHA256": hashlib.sha256(body).hexdigest(),
                                     "X-Document-Code": "claimant_id_card"})


def _scan_files(settings) -> list[Path]:
    return [p for p in (Path(settings.data_dir) / "scans").rglob("*") if p.is_file()]


def test_document_scans_are_sealed_on_disk_and_served_opened(actors, harness, settings, monkeypatch):
    """An ID card's scan is personal data like the number printed on it: on disk it is sealed under
    the server key, the office gets the very bytes back, and scans an older server wrote in
    plaintext are served as they are until `admin seal-existing` seals them."""
    cid, _pid = victim_claim(actors)
    body = b"\xff\xd8\xff\xe0" + SCAN_MARK * 50 + b"\xff\xd9"
    scan_id = new_id()
    r = _put_scan(actors.liaison_a, cid, scan_id, body)
    assert r.status_code == 201, r.text
    (stored,) = _scan_files(settings)
    raw = stored.read_bytes()
    assert SCAN_MARK not in raw and b"\xff\xd8\xff" not in raw[:64] and sealing.is_sealed_file(raw)
    got = actors.adjuster.client.get(f"/api/v1/claims/{cid}/scans/{scan_id}", headers=actors.adjuster.headers)
    assert got.status_code == 200 and got.content == body and got.headers["content-type"] == "image/jpeg"
    # The same upload again is a replay (nothing changes), the file stays sealed.
    assert _put_scan(actors.liaison_a, cid, scan_id, body).status_code == 200
    assert sealing.is_sealed_file(stored.read_bytes())
    # Moved under another scan's name, the sealed bytes do not open: refused, not garbage served.
    with pytest.raises(sealing.SealError):
        sealing.Sealer.from_settings(settings).open_bytes(raw, f"scan:{new_id()}")

    # A scan written before sealing existed: served as it is, then sealed by the admin command.
    old_id = new_id()
    assert _put_scan(actors.liaison_a, cid, old_id, body).status_code == 201
    (old_file,) = [p for p in _scan_files(settings) if p.name.startswith(old_id)]
    old_file.write_bytes(body)
    got = actors.adjuster.client.get(f"/api/v1/claims/{cid}/scans/{old_id}", headers=actors.adjuster.headers)
    assert got.content == body
    out = _cli(monkeypatch, settings, "seal-existing", "--no-compact")
    assert out["scans"] == 1
    assert all(SCAN_MARK not in p.read_bytes() for p in _scan_files(settings))
    got = actors.adjuster.client.get(f"/api/v1/claims/{cid}/scans/{old_id}", headers=actors.adjuster.headers)
    assert got.content == body
