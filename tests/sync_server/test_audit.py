"""The audit log (append-only, hash-chained) and the security log.

Each test fails on the server as it was before the audit log existed: nothing recorded who pulled
whose personal data, downloaded which photo or scan, acted as office or admin, or was refused;
refusals left no line in the server's log.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from sync_server.audit import service as audit_service
from sync_server.audit.models import AuditEntry
from sync_server.core.db import Database
from sync_server.testing import ROOT, ServerProcess, settings_env

from .conftest import LONGSHUI, claim_fields, new_id

NAME = "王小明"
ID_NUMBER = "500111199001011232"


def _entries(db: Database) -> list[dict]:
    with db.read() as s:
        return [audit_service.entry_out(r) for r in s.query(AuditEntry).order_by(AuditEntry.seq)]


def _cli(settings, *argv: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, **settings_env(settings), PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "sync_server", *argv], env=env, capture_output=True, text=True,
                          timeout=120, cwd=str(ROOT))


def _push_person(phone, claim_id: str) -> str:
    phone.push_one("claim", claim_id, claim_fields())
    pid = new_id()
    res = phone.push_one("person", pid, {"claim_id": claim_id, "role_in_claim": "victim", "name": NAME,
                                         "id_number": ID_NUMBER})
    assert res["status"] == "applied", res
    return pid


# ------------------------------------------------------------------------------------ the chain

def test_appends_form_a_chain_that_verifies(harness):
    db = harness.db
    for i in range(5):
        audit_service.append(db, "test", audit_service.ADMIN_CLI, object_kind="thing", object_ids=[str(i)], outcome="ok")
    rows = _entries(db)
    assert [r["seq"] for r in rows] == [1, 2, 3, 4, 5]
    assert rows[0]["prev_hash"] == audit_service.GENESIS
    assert all(b["prev_hash"] == a["hash"] for a, b in zip(rows, rows[1:]))
    verdict = audit_service.verify(db)
    assert verdict.ok and verdict.rows == 5 and verdict.head_hash == rows[-1]["hash"]


def test_the_database_refuses_to_update_or_delete_audit_rows(harness):
    audit_service.append(harness.db, "test", audit_service.ADMIN_CLI, outcome="ok")
    for sql in ("UPDATE audit_log SET outcome = 'x'", "DELETE FROM audit_log"):
        with pytest.raises(Exception, match="append-only"):
            with harness.db.write() as s:
                s.execute(text(sql))
    assert audit_service.verify(harness.db).ok


def _drop_guard(db: Database) -> None:
    """What someone with the database owner's rights can do; verify must catch what follows."""
    with db.write() as s:
        if db.is_postgres:
            s.execute(text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
        else:
            s.execute(text("DROP TRIGGER audit_log_no_update"))
            s.execute(text("DROP TRIGGER audit_log_no_delete"))


def test_audit_verify_names_an_altered_row(settings, harness):
    for i in range(4):
        audit_service.append(harness.db, "test", audit_service.ADMIN_CLI, object_ids=[str(i)], outcome="ok")
    ok = _cli(settings, "audit", "verify", "--json")
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["ok"] is True and json.loads(ok.stdout)["rows"] == 4
    _drop_guard(harness.db)
    with harness.db.write() as s:
        s.execute(text("UPDATE audit_log SET outcome = 'forged' WHERE seq = 3"))
    bad = _cli(settings, "audit", "verify", "--json")
    assert bad.returncode == 1
    verdict = json.loads(bad.stdout)
    assert verdict["ok"] is False and verdict["first_broken_seq"] == 3 and "altered" in verdict["problem"]
    plain = _cli(settings, "audit", "verify")
    assert plain.returncode == 1 and "row 3" in plain.stdout


def test_audit_verify_names_a_removed_row(harness):
    for i in range(4):
        audit_service.append(harness.db, "test", audit_service.ADMIN_CLI, object_ids=[str(i)], outcome="ok")
    _drop_guard(harness.db)
    with harness.db.write() as s:
        s.execute(text("DELETE FROM audit_log WHERE seq = 2"))
    verdict = audit_service.verify(harness.db)
    assert not verdict.ok and verdict.broken_seq == 2 and "missing" in verdict.problem


def test_a_rewritten_row_with_a_fresh_hash_breaks_the_next_link(harness):
    for i in range(3):
        audit_service.append(harness.db, "test", audit_service.ADMIN_CLI, object_ids=[str(i)], outcome="ok")
    _drop_guard(harness.db)
    row = _entries(harness.db)[1]
    forged = {**row, "outcome": "forged", "at": row["at"]}
    forged["hash"] = audit_service.entry_hash(forged)
    with harness.db.write() as s:
        s.execute(text("UPDATE audit_log SET outcome = 'forged', hash = :h WHERE seq = 2"), {"h": forged["hash"]})
    verdict = audit_service.verify(harness.db)
    assert not verdict.ok and verdict.broken_seq == 3 and "prev_hash" in verdict.problem


def test_concurrent_appends_from_two_connections_leave_a_valid_chain(settings):
    # Two engines: two connection pools, as two server processes would have.
    dbs = [Database(settings), Database(settings)]
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def work(db: Database, n: int) -> None:
        try:
            start.wait()
            for i in range(15):
                if i % 3 == 0:
                    # in the same transaction as other writes, as an office act is
                    with db.write() as s:
                        audit_service.record(s, "test together", audit_service.ADMIN_CLI, object_ids=[f"{n}-{i}"], outcome="ok")
                        audit_service.record(s, "test together", audit_service.ADMIN_CLI, object_ids=[f"{n}-{i}b"], outcome="ok")
                else:
                    audit_service.append(db, "test alone", audit_service.ADMIN_CLI, object_ids=[f"{n}-{i}"], outcome="ok")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(dbs[n % 2], n)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    verdict = audit_service.verify(dbs[0])
    assert verdict.ok, verdict
    assert verdict.rows == 4 * (15 + 5)
    for db in dbs:
        db.dispose()


# -------------------------------------------------------------------------------- what is recorded

def test_full_personal_data_reads_are_recorded_with_ids_only(actors, harness):
    cid = new_id()
    pid = _push_person(actors.liaison_a, cid)
    _, cursor, _ = actors.coordinator.pull_all()
    actors.liaison_a.pull_all()
    reads = [e for e in _entries(harness.db) if e["action"] == "personal_data_read"]
    assert {(e["actor_user_id"], e["claim_id"]) for e in reads} == {
        (actors.coordinator.me.user["id"], cid), (actors.liaison_a.me.user["id"], cid)}
    assert all(e["object_kind"] == "person" and e["object_ids"] == [pid] for e in reads)
    # A pull that carried no person records leaves no entry.
    before = len(_entries(harness.db))
    r = actors.coordinator.client.get("/api/v1/sync/pull", headers=actors.coordinator.headers,
                                      params={"cursor": cursor})
    assert r.status_code == 200 and r.json()["changes"] == []
    assert len(_entries(harness.db)) == before
    # Ids and codes only, never the data itself.
    dump = json.dumps(_entries(harness.db), ensure_ascii=False)
    assert NAME not in dump and ID_NUMBER not in dump


def test_photo_and_scan_downloads_are_recorded(actors, harness):
    adj = actors.adjuster
    cid = new_id()
    adj.push_one("claim", cid, claim_fields())
    photo = b"\xff\xd8\xff\xe0" + os.urandom(2000) + b"\xff\xd9"
    sha = hashlib.sha256(photo).hexdigest()
    r = adj.client.patch(f"/api/v1/blobs/{sha}", content=photo, headers={
        **adj.headers, "Upload-Offset": "0", "Upload-Length": str(len(photo)),
        "Content-Type": "application/offset+octet-stream"})
    assert r.status_code == 204, r.text
    assert adj.push_one("photo", new_id(), {"claim_id": cid, "sha256": sha})["status"] == "applied"
    assert adj.client.get(f"/api/v1/blobs/{sha}", headers=adj.headers).content == photo

    scan = b"%PDF-1.4\n" + os.urandom(500) + b"\n%%EOF\n"
    scan_id = new_id()
    r = adj.client.put(f"/api/v1/claims/{cid}/scans/{scan_id}", content=scan, headers={
        **adj.headers, "Content-Type": "application/pdf", "X-Document-Code": _a_document_code(),
        "X-Scan-SHA256": hashlib.sha256(scan).hexdigest()})
    assert r.status_code in (200, 201), r.text
    assert adj.client.get(f"/api/v1/claims/{cid}/scans/{scan_id}", headers=adj.headers).content == scan

    got = {(e["action"], e["object_ids"][0], e["claim_id"], e["actor_user_id"]) for e in _entries(harness.db)
           if e["action"].endswith("_download")}
    me = adj.me.user["id"]
    assert got == {("photo_download", sha, cid, me), ("scan_download", scan_id, cid, me)}


def _a_document_code() -> str:
    from sync_server.core import domain

    return sorted(domain.document_codes())[0]


def test_refusals_are_recorded(actors, harness, client):
    r = actors.surveyor_x.client.get("/api/v1/conflicts", headers=actors.surveyor_x.headers)
    assert r.status_code == 403
    r = client.get("/api/v1/me", headers={"Authorization": "Bearer not-a-token"})
    assert r.status_code == 401
    refused = [e for e in _entries(harness.db) if e["action"] == "refused"]
    assert {(e["actor_user_id"], e["role"], e["outcome"]) for e in refused} == {
        (actors.surveyor_x.me.user["id"], "surveyor", "role_not_office"), (None, None, "bad_or_revoked_token")}


def test_office_acts_through_the_api_are_recorded(actors, harness):
    harness.add_insurer("cpic", "太平洋财险")
    r = actors.coordinator.client.post("/api/v1/insurers/cpic/rename", headers=actors.coordinator.headers,
                                       json={"name": "太平洋财险大足支公司"})
    assert r.status_code == 200, r.text
    acts = [e for e in _entries(harness.db) if e["action"] == "POST /api/v1/insurers/{code}/rename"]
    assert [(a["actor_user_id"], a["object_ids"], a["outcome"]) for a in acts] == [
        (actors.coordinator.me.user["id"], ["cpic"], "200")]
    # A refused act is a refusal, not an act; a surveyor's writes are not office acts.
    r = actors.adjuster.client.post("/api/v1/insurers/cpic/rename", headers=actors.adjuster.headers,
                                    json={"name": "x"})
    assert r.status_code == 403
    assert len([e for e in _entries(harness.db) if e["action"].startswith("POST /api/v1/insurers")]) == 1


def test_admin_commands_are_recorded(settings, harness, tmp_path):
    harness.add_insurer("cpic", "太平洋财险")
    made = _cli(settings, "admin", "create-user", "--name", "赵六", "--role", "adjuster", "--json")
    user = json.loads(made.stdout)
    issued = _cli(settings, "admin", "enroll-code", user["id"], "--json")
    assert issued.returncode == 0, issued.stderr
    renamed = _cli(settings, "admin", "insurer", "rename", "cpic", "--name", "太平洋财险大足支公司", "--json")
    assert renamed.returncode == 0, renamed.stderr
    device = harness.enroll(user["id"])
    assert _cli(settings, "admin", "revoke-device", device.device_id, "--json").returncode == 0
    acts = [(e["action"], e["role"], e["object_ids"]) for e in _entries(harness.db) if e["role"] == "admin_cli"]
    assert acts == [("admin create-user", "admin_cli", [user["id"]]),
                    ("admin enroll-code", "admin_cli", [user["id"]]),
                    ("admin insurer rename", "admin_cli", ["cpic"]),
                    ("admin revoke-device", "admin_cli", [device.device_id])]
    dump = json.dumps(_entries(harness.db), ensure_ascii=False)
    assert "赵六" not in dump and json.loads(issued.stdout)["code"] not in dump


# ---------------------------------------------------------------------------------- the export

def test_office_exports_a_claims_audit_trail(actors, harness):
    cid = new_id()
    pid = _push_person(actors.liaison_a, cid)
    actors.adjuster.pull_all()
    other = new_id()
    _push_person(actors.liaison_a, other)
    r = actors.coordinator.client.get(f"/api/v1/claims/{cid}/audit", headers=actors.coordinator.headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["claim_id"] == cid and body["has_more"] is False
    assert [(e["action"], e["actor_user_id"], e["object_ids"]) for e in body["entries"]] == [
        ("personal_data_read", actors.adjuster.me.user["id"], [pid])]
    # the export itself is on the trail
    again = actors.adjuster.client.get(f"/api/v1/claims/{cid}/audit", headers=actors.adjuster.headers).json()
    assert again["entries"][-1]["action"] == "audit_export"
    assert again["entries"][-1]["actor_user_id"] == actors.coordinator.me.user["id"]
    for phone in (actors.liaison_a, actors.surveyor_x):
        r = phone.client.get(f"/api/v1/claims/{cid}/audit", headers=phone.headers)
        assert r.status_code == 403 and r.json()["error"] == "forbidden"
    unknown = actors.coordinator.client.get(f"/api/v1/claims/{new_id()}/audit", headers=actors.coordinator.headers)
    bad = actors.coordinator.client.get("/api/v1/claims/nope/audit", headers=actors.coordinator.headers)
    assert unknown.status_code == bad.status_code == 404 and unknown.content == bad.content


# ------------------------------------------------------------------------------- the security log

@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_serve_writes_refusals_to_the_security_log_without_personal_data(settings, harness, tmp_path):
    log_path = tmp_path / "server.log"
    liaison = harness.actor("liaison", township_code=LONGSHUI)
    surveyor = harness.actor("surveyor", insurer_code="cpic")
    with ServerProcess(settings, log_path=log_path) as server:
        cid, pid = new_id(), new_id()
        pushed = httpx.post(f"{server.url}/api/v1/sync/push", headers=liaison.headers, timeout=30, json={
            "device_id": liaison.device_id, "mutations": [
                {"seq": 1, "entity": "claim", "id": cid, "op": "upsert", "fields": claim_fields()},
                {"seq": 2, "entity": "person", "id": pid, "op": "upsert",
                 "fields": {"claim_id": cid, "role_in_claim": "victim", "name": NAME, "id_number": ID_NUMBER}}]})
        assert [r["status"] for r in pushed.json()["results"]] == ["applied", "applied"], pushed.text
        assert httpx.get(f"{server.url}/api/v1/me", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert httpx.get(f"{server.url}/api/v1/me").status_code == 401
        assert httpx.get(f"{server.url}/api/v1/conflicts", headers=surveyor.headers).status_code == 403
        assert httpx.post(f"{server.url}/api/v1/enroll", json={"code": "AAAA-BBBB-CCCC",
                                                               "device_name": NAME}).status_code == 401
    log = log_path.read_text(encoding="utf-8", errors="replace")
    lines = [line for line in log.splitlines() if "event=refused" in line]
    assert any("reason=bad_or_revoked_token" in line and "status=401" in line for line in lines), log
    assert any("reason=no_token" in line for line in lines), log
    assert any("reason=role_not_office" in line and f"user={surveyor.user['id']}" in line for line in lines), log
    assert any("reason=bad_enrollment_code" in line for line in lines), log
    assert all(line.startswith("ts=") and " level=" in line for line in lines)
    assert NAME not in log and ID_NUMBER not in log


# --------------------------------------------------------------------------------- QR files

def test_enrollment_qr_files_are_private_and_removed_once_used_or_expired(settings, harness, client):
    user = harness.add_user("adjuster")
    issued = json.loads(_cli(settings, "admin", "enroll-code", user["id"], "--json").stdout)
    png = Path(issued["qr_png"])
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert stat.S_IMODE(png.stat().st_mode) == 0o600
    assert stat.S_IMODE(png.parent.stat().st_mode) == 0o700
    second = Path(json.loads(_cli(settings, "admin", "enroll-code", user["id"], "--json").stdout)["qr_png"])
    assert second != png and second.exists()
    # used: the enroll route removes its picture (and only its own)
    r = client.post("/api/v1/enroll", json={"code": issued["code"], "device_name": "p"})
    assert r.status_code == 200
    assert not png.exists() and second.exists()
    # expired: the sweep every admin command (and serve) runs first removes it
    with harness.db.write() as s:
        s.execute(text("UPDATE enrollment_codes SET expires_at = :t WHERE used_at IS NULL"),
                  {"t": dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)})
    # ... as does an older version's leftover, which no code names
    stray = png.parent / f"{user['id']}.png"
    stray.write_bytes(b"\x89PNG old")
    assert _cli(settings, "admin", "insurer", "list", "--json").returncode == 0
    assert not second.exists() and not stray.exists()
