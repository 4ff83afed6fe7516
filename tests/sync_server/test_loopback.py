"""The server as deployed: `python -m sync_server serve` in a subprocess, real HTTP over loopback.

Covers what only a real server shows: concurrent replays of one batch serialised per device, the
pull cursor under concurrent commits from many devices, and the command line.
"""
from __future__ import annotations

import json
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from sync_server.core.models import Claim, Record
from sync_server.core.settings import Settings
from sync_server.sync.models import PushReceipt
from sync_server.testing import Harness, ServerProcess

from .conftest import LONGSHUI, claim_fields, new_id

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def live(db_url, tmp_path):
    settings = Settings(data_dir=tmp_path / "data", database_url=db_url)
    harness = Harness(settings)
    with ServerProcess(settings) as server:
        yield server, harness
    harness.close()


def test_enroll_push_pull_over_loopback(live):
    server, harness = live
    user = harness.add_user("liaison", township_code=LONGSHUI)
    code = harness.enrollment_code(user["id"])
    with httpx.Client(base_url=server.url, timeout=10) as http:
        assert http.get("/healthz").json() == {"status": "ok", "database": "ok"}
        enrolled = http.post("/api/v1/enroll", json={"code": code, "device_name": "phone"}).json()
        headers = {"Authorization": f"Bearer {enrolled['token']}"}
        cid = new_id()
        r = http.post("/api/v1/sync/push", headers=headers, json={
            "device_id": enrolled["device_id"],
            "mutations": [{"seq": 1, "entity": "claim", "id": cid, "op": "upsert", "fields": claim_fields(),
                           "base_version": None}]})
        assert r.json()["results"][0]["status"] == "applied"
        first = http.get("/api/v1/sync/pull", headers=headers).json()
        assert [c["id"] for c in first["changes"]] == [cid]
        empty = http.get("/api/v1/sync/pull", headers=headers, params={"cursor": first["cursor"]})
        assert empty.json()["changes"] == [] and len(empty.content) < 200


def test_twenty_concurrent_replays_apply_once(live):
    server, harness = live
    phone = harness.actor("adjuster")
    cid = new_id()
    mutations = [{"seq": 1, "entity": "claim", "id": cid, "op": "upsert", "fields": claim_fields(),
                  "base_version": None}]
    mutations += [{"seq": i, "entity": "note", "id": new_id(), "op": "upsert",
                   "fields": {"claim_id": cid, "text": f"备注 {i}"}, "base_version": None} for i in range(2, 11)]
    body = {"device_id": phone.device_id, "mutations": mutations}
    barrier = threading.Barrier(20)

    def send(_):
        with httpx.Client(base_url=server.url, timeout=60) as http:
            barrier.wait()
            return http.post("/api/v1/sync/push", headers=phone.headers, json=body).json()

    with ThreadPoolExecutor(20) as pool:
        replies = list(pool.map(send, range(20)))
    assert all(r["acked_seq"] == 10 for r in replies)
    applied = [r for r in replies if r["results"][0]["status"] == "applied"]
    assert len(applied) == 1
    assert all({x["status"] for x in r["results"]} == {"duplicate"} for r in replies if r not in applied)
    with harness.db.read() as s:
        assert s.execute(select(func.count()).select_from(Claim)).scalar() == 1
        assert s.execute(select(func.count()).select_from(Record)).scalar() == 9
        assert s.execute(select(func.count()).select_from(PushReceipt)).scalar() == 10


def test_pull_cursor_never_skips_under_concurrent_pushes(live):
    """Eight devices push while a reader pulls continuously; the reader must end with every claim."""
    server, harness = live
    phones = [harness.actor("adjuster") for _ in range(8)]
    reader = harness.actor("coordinator")
    per_phone = 15
    done = threading.Event()
    seen: set[str] = set()

    def writer(phone):
        with httpx.Client(base_url=server.url, timeout=60) as http:
            for i in range(1, per_phone + 1):
                r = http.post("/api/v1/sync/push", headers=phone.headers, json={
                    "device_id": phone.device_id,
                    "mutations": [{"seq": i, "entity": "claim", "id": new_id(), "op": "upsert",
                                   "fields": claim_fields(), "base_version": None}]})
                assert r.status_code == 200

    def pull_loop():
        cursor = None
        with httpx.Client(base_url=server.url, timeout=60) as http:
            while True:
                finished = done.is_set()
                params = {"limit": 7, **({"cursor": cursor} if cursor else {})}
                page = http.get("/api/v1/sync/pull", headers=reader.headers, params=params).json()
                seen.update(c["id"] for c in page["changes"])
                cursor = page["cursor"]
                if finished and not page["has_more"]:
                    return

    t = threading.Thread(target=pull_loop)
    t.start()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(writer, phones))
    done.set()
    t.join(120)
    with harness.db.read() as s:
        all_ids = set(s.execute(select(Claim.id)).scalars())
    assert len(all_ids) == 8 * per_phone
    assert seen == all_ids


def _cli(args, env_extra, check=True):
    import os

    env = dict(os.environ, **env_extra)
    proc = subprocess.run([sys.executable, "-m", "sync_server", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    if check:
        assert proc.returncode == 0, proc.stderr + proc.stdout
    return proc


def test_command_line(tmp_path, sqlite_url):
    env = {"DAZU_DATA_DIR": str(tmp_path / "data"), "DATABASE_URL": sqlite_url,
           "DAZU_PUBLIC_URL": "http://10.0.0.5:8700"}
    seeded = json.loads(_cli(["admin", "demo-seed", "--json"], env).stdout)
    assert len(seeded["insurers"]) == 9 and seeded["insurers"][0] == {"code": "picc", "name": "人保财险大足支公司",
                                                                      "lead": True}
    again = json.loads(_cli(["admin", "demo-seed", "--json"], env).stdout)
    assert again["created"] is False and [u["id"] for u in again["users"]] == [u["id"] for u in seeded["users"]]
    assert {u["role"] for u in seeded["users"]} == {"coordinator", "adjuster", "liaison", "surveyor"}
    assert LONGSHUI in {u["township_code"] for u in seeded["users"]}

    bad = _cli(["admin", "create-user", "--name", "甲", "--role", "liaison", "--township", "123", "--json"], env,
               check=False)
    assert bad.returncode == 2 and json.loads(bad.stdout)["error"] == "unknown_township"
    bad = _cli(["admin", "create-user", "--name", "乙", "--role", "surveyor", "--insurer", "nobody", "--json"], env,
               check=False)
    assert bad.returncode == 2 and json.loads(bad.stdout)["error"] == "unknown_insurer"
    user = json.loads(_cli(["admin", "create-user", "--name", "丙", "--role", "surveyor", "--insurer", "cpic",
                            "--json"], env).stdout)
    assert user["insurer_code"] == "cpic"
    qr = tmp_path / "qr.png"
    issued = json.loads(_cli(["admin", "enroll-code", user["id"], "--qr", str(qr), "--json"], env).stdout)
    assert qr.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert issued["qr_text"].startswith("dazu://enroll?server=http%3A%2F%2F10.0.0.5%3A8700&code=")
    assert issued["qr_text"].endswith(issued["code"])

    settings = Settings(data_dir=tmp_path / "data", database_url=sqlite_url)
    with ServerProcess(settings) as server:
        enrolled = httpx.post(server.url + "/api/v1/enroll",
                              json={"code": issued["code"], "device_name": "p"}).json()
        headers = {"Authorization": f"Bearer {enrolled['token']}"}
        assert httpx.get(server.url + "/api/v1/me", headers=headers).status_code == 200
        revoked = json.loads(_cli(["admin", "revoke-device", enrolled["device_id"], "--json"], env).stdout)
        assert revoked["device_id"] == enrolled["device_id"]
        assert httpx.get(server.url + "/api/v1/me", headers=headers).status_code == 401
    missing = _cli(["admin", "revoke-device", "nope", "--json"], env, check=False)
    assert missing.returncode == 2


def test_serve_refuses_a_database_it_cannot_upgrade(tmp_path):
    env = {"DAZU_DATA_DIR": str(tmp_path), "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"}
    proc = _cli(["serve", "--port", "1"], env, check=False)
    assert proc.returncode == 1
    assert "could not bring the database schema up to date" in proc.stderr
