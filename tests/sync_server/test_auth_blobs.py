"""Enrollment, tokens, blobs, body caps and malformed input (SQLite and PostgreSQL, in-process)."""
from __future__ import annotations

import hashlib
import json

from sqlalchemy import func, select

from sync_server.core.models import Change, Claim
from sync_server.devices import service as accounts
from sync_server.devices.models import Device

from .conftest import BAODING, claim_fields, new_id


def test_enroll_once_then_401(client, harness):
    user = harness.add_user("liaison", "联络员甲", township_code="500111100")
    code = harness.enrollment_code(user["id"])
    r = client.post("/api/v1/enroll", json={"code": code.lower().replace("-", " "), "device_name": "手机A"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["user"] == {"id": user["id"], "name": "联络员甲", "role": "liaison",
                            "township_code": "500111100", "insurer_code": None}
    again = client.post("/api/v1/enroll", json={"code": code, "device_name": "手机B"})
    unknown = client.post("/api/v1/enroll", json={"code": "AAAA-BBBB-CCCC", "device_name": "x"})
    assert again.status_code == unknown.status_code == 401
    assert again.content == unknown.content  # used and unknown look the same
    # only the hash of the token is stored
    with harness.db.read() as s:
        device = s.get(Device, body["device_id"])
        assert device.token_hash == accounts.hash_secret(body["token"])
        assert body["token"] not in json.dumps([device.token_hash, device.name])
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.status_code == 200
    assert me.json()["device"]["id"] == body["device_id"] and me.json()["user"]["id"] == user["id"]


def test_missing_unknown_and_revoked_tokens_get_401(client, harness):
    a = harness.actor("adjuster")
    assert client.get("/api/v1/me").status_code == 401
    assert client.get("/api/v1/me", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert client.get("/api/v1/ping", headers=a.headers).status_code == 200
    with harness.db.write() as s:
        accounts.revoke_device(s, a.device_id)
    for path in ("/api/v1/me", "/api/v1/ping", "/api/v1/sync/pull"):
        r = client.get(path, headers=a.headers)
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    r = client.post("/api/v1/sync/push", headers=a.headers,
                    json={"device_id": a.device_id, "mutations": [
                        {"seq": 1, "entity": "claim", "id": new_id(), "op": "upsert", "fields": claim_fields()}]})
    assert r.status_code == 401
    with harness.db.read() as s:
        assert s.execute(select(func.count()).select_from(Claim)).scalar() == 0


def test_push_for_another_device_is_refused(actors):
    r = actors.adjuster.client.post("/api/v1/sync/push", headers=actors.adjuster.headers,
                                    json={"device_id": actors.adjuster2.me.device_id, "mutations": []})
    assert r.status_code == 403 and r.json()["error"] == "device_mismatch"


def _upload(client, headers, data: bytes, sha: str, offset: int, length: int):
    return client.patch(f"/api/v1/blobs/{sha}", headers={**headers, "Upload-Offset": str(offset),
                                                         "Upload-Length": str(length),
                                                         "Content-Type": "application/offset+octet-stream"},
                        content=data)


def test_resumable_upload_and_scoped_download(actors, harness):
    adj = actors.adjuster
    data = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 400 + b"\xff\xd9"
    sha = hashlib.sha256(data).hexdigest()
    c = adj.client
    r = c.post("/api/v1/blobs/missing", headers=adj.headers, json={"sha256": [sha, "0" * 64]})
    assert r.json() == {"missing": [sha, "0" * 64]}
    assert c.head(f"/api/v1/blobs/{sha}", headers=adj.headers).headers["upload-offset"] == "0"
    r = _upload(c, adj.headers, data[:40_000], sha, 0, len(data))
    assert r.status_code == 204 and r.headers["upload-offset"] == "40000"
    assert c.head(f"/api/v1/blobs/{sha}", headers=adj.headers).headers["upload-offset"] == "40000"
    # resending from the start: 409 with the offset the server holds, nothing appended
    r = _upload(c, adj.headers, data, sha, 0, len(data))
    assert r.status_code == 409 and r.headers["upload-offset"] == "40000" and r.json()["offset"] == 40000
    # a body running past Upload-Length is refused and the held bytes stay
    r = _upload(c, adj.headers, data[40_000:] + b"extra", sha, 40_000, len(data))
    assert r.status_code == 413
    assert c.head(f"/api/v1/blobs/{sha}", headers=adj.headers).headers["upload-offset"] == "40000"
    r = _upload(c, adj.headers, data[40_000:], sha, 40_000, len(data))
    assert r.status_code == 204 and r.headers["upload-offset"] == str(len(data))
    assert c.post("/api/v1/blobs/missing", headers=adj.headers, json={"sha256": [sha]}).json() == {"missing": []}
    # the bytes exist, but nobody may download them until a record in their scope references them
    assert c.get(f"/api/v1/blobs/{sha}", headers=adj.headers).status_code == 404
    cid = new_id()
    actors.liaison_b.push_one("claim", cid, claim_fields(BAODING))
    assert actors.liaison_b.push_one("photo", new_id(), {"claim_id": cid, "sha256": sha})["status"] == "applied"
    # Naming the hash is not enough: the reference counts once liaison B's device has sent the
    # bytes itself (the server holds them already; its copy is verified, then one is kept).
    assert c.get(f"/api/v1/blobs/{sha}", headers=adj.headers).status_code == 404
    lb = actors.liaison_b
    assert lb.client.post("/api/v1/blobs/missing", headers=lb.headers, json={"sha256": [sha]}).json() == {"missing": [sha]}
    assert _upload(lb.client, lb.headers, data, sha, 0, len(data)).status_code == 204
    got = c.get(f"/api/v1/blobs/{sha}", headers=adj.headers)
    assert got.status_code == 200 and got.content == data and got.headers["content-type"] == "image/jpeg"
    assert actors.liaison_b.client.get(f"/api/v1/blobs/{sha}", headers=actors.liaison_b.headers).content == data
    # out of scope answers exactly like a blob that does not exist
    out = actors.liaison_a.client.get(f"/api/v1/blobs/{sha}", headers=actors.liaison_a.headers)
    unknown = actors.liaison_a.client.get(f"/api/v1/blobs/{'1' * 64}", headers=actors.liaison_a.headers)
    assert (out.status_code, out.content) == (unknown.status_code, unknown.content) == (404, unknown.content)
    surveyor = actors.surveyor_x.client.get(f"/api/v1/blobs/{sha}", headers=actors.surveyor_x.headers)
    assert (surveyor.status_code, surveyor.content) == (404, unknown.content)
    harness.assign(cid, "cpic")
    assert actors.surveyor_x.client.get(f"/api/v1/blobs/{sha}", headers=actors.surveyor_x.headers).content == data


def test_hash_mismatch_discards_the_upload(actors):
    adj = actors.adjuster
    data = b"real photo bytes" * 100
    wrong = hashlib.sha256(b"something else").hexdigest()
    r = _upload(adj.client, adj.headers, data, wrong, 0, len(data))
    assert r.status_code == 422 and r.json()["error"] == "sha256_mismatch"
    assert adj.client.head(f"/api/v1/blobs/{wrong}", headers=adj.headers).headers["upload-offset"] == "0"
    assert adj.client.post("/api/v1/blobs/missing", headers=adj.headers,
                           json={"sha256": [wrong]}).json() == {"missing": [wrong]}


def test_blob_caps_and_bad_names(actors, settings):
    adj = actors.adjuster
    sha = "a" * 64
    r = _upload(adj.client, adj.headers, b"x", sha, 0, settings.max_blob_bytes + 1)
    assert r.status_code == 413
    r = adj.client.patch(f"/api/v1/blobs/{sha}", headers=adj.headers, content=b"x")
    assert r.status_code == 400 and r.json()["error"] == "missing_header"
    assert adj.client.head("/api/v1/blobs/NOTAHASH", headers=adj.headers).status_code == 400
    r = adj.client.post("/api/v1/blobs/missing", headers=adj.headers, json={"sha256": ["a" * 64] * 1001})
    assert r.status_code == 422


def test_oversized_and_malformed_bodies_change_nothing(actors, harness, settings):
    adj = actors.adjuster
    big = adj.mutation("claim", new_id(), claim_fields(description="长" * (settings.max_json_bytes // 2)))
    r = adj.client.post("/api/v1/sync/push", headers=adj.headers,
                        json={"device_id": adj.me.device_id, "mutations": [big]})
    assert r.status_code == 413 and r.json()["error"] == "body_too_large"
    r = adj.client.post("/api/v1/sync/push", headers={**adj.headers, "Content-Type": "application/json"},
                        content=b'{"device_id": "' + adj.me.device_id.encode() + b'", "mutations": [')
    assert r.status_code == 400 and r.json()["error"] == "malformed_json"
    r = adj.client.post("/api/v1/sync/push", headers=adj.headers,
                        json={"device_id": adj.me.device_id, "mutations": [{"seq": "one"}]})
    assert r.status_code == 422 and r.json()["error"] == "invalid_request"
    two = [adj.mutation("claim", new_id(), claim_fields()), adj.mutation("claim", new_id(), claim_fields())]
    r = adj.client.post("/api/v1/sync/push", headers=adj.headers,
                        json={"device_id": adj.me.device_id, "mutations": list(reversed(two))})
    assert r.status_code == 422 and r.json()["error"] == "seq_order"
    with harness.db.read() as s:
        assert s.execute(select(func.count()).select_from(Change)).scalar() == 0
        assert s.get(Device, adj.me.device_id).acked_seq == 0
