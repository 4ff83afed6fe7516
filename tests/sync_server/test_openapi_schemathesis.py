"""The sync server's HTTP API against its own OpenAPI schema (schemathesis 4), over real HTTP.

Every core operation (``sync_server.api.router`` and the document scans of
``sync_server.scans.router``; plug-in routes belong to their own modules and tests) gets generated positive and negative requests, sent to a real uvicorn server on loopback
with a fresh SQLite database, as an enrolled coordinator. Each response must pass schemathesis'
built-in checks (no 5xx; status code, content type, headers and body as declared; data that
violates the schema refused with a 4xx; a required header left out refused; the same request
without the token answered 401; an unsupported method answered 405 with a true ``Allow``) and this
project's error contract:

- every 4xx body is ``{"error": CODE, "message": TEXT}``;
- the operation declares CODE under that status (``x-error-codes`` in its OpenAPI responses), so
  the schema names every refusal a client can meet;
- docs/api.md's error table lists CODE under the same status, so the docs stay true as well.

``positive_data_acceptance`` (schema-valid input must not be refused) is replaced, for operations
whose validity the schema cannot state (an opaque cursor, seq order, an upload's offset, hash and
caps), by the same check with the operation's documented refusal codes allowed.

A second test walks the happy paths with real data (enroll, push, pull, upload, download, conflict
review) and validates those responses against the schema too: random input rarely reaches them.
"""
from __future__ import annotations

import hashlib
import json
import re
import tempfile
import uuid
from collections import Counter
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings as hypothesis_settings
from schemathesis.specs.openapi.checks import (
    allow_header_conformance,
    positive_data_acceptance,
    unsupported_method,
)

from sync_server import api, scans
from sync_server.app import create_app
from sync_server.migrate import upgrade
from sync_server.settings import Settings
from sync_server.testing import Harness, run_server

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"
LONGSHUI = "500111100"  # 龙水镇
MAX_EXAMPLES = 50

# PATCH bodies are raw bytes sent as application/offset+octet-stream: serialise them like
# application/octet-stream (schemathesis has no serializer for the tus media type).
schemathesis.serializer.alias("application/offset+octet-stream", "application/octet-stream")
# Scan uploads are raw bytes sent as the scan's own type.
for _scan_type in ("image/jpeg", "image/png", "image/heic", "application/pdf"):
    schemathesis.serializer.alias(_scan_type, "application/octet-stream")
SCAN_PATH = "/api/v1/claims/{claim_id}/scans/{scan_id}"
CLAIM: dict[str, str] = {}  # a claim that exists on the served server (filled by `served`)


def _openapi() -> dict:
    # The schema does not depend on the settings; a throwaway folder keeps import side-effect free.
    with tempfile.TemporaryDirectory() as tmp:
        return create_app(Settings(data_dir=Path(tmp))).openapi()


OPENAPI = _openapi()
CORE_PATHS = {route.path for route in api.router.routes} | {route.path for route in scans.router.routes}
schema = schemathesis.openapi.from_dict(OPENAPI).include(lambda ctx: ctx.operation.path in CORE_PATHS)
TOKENS: dict[str, str] = {}  # filled by the `served` fixture
# schemathesis applies auth when it generates a case, and builds some cases while pytest collects,
# before any server exists: cases carry this stand-in, which the test swaps for the real token.
TOKEN_STAND_IN = "Bearer coordinator-token-from-the-served-fixture"


@schema.auth()
class CoordinatorToken:
    """The coordinator's token, set by schemathesis' own auth machinery, so that cases which
    leave the token out on purpose (expecting 401) really go without it."""

    def get(self, case, ctx):
        return TOKEN_STAND_IN

    def set(self, case, data, ctx):
        case.headers = {**(case.headers or {}), "Authorization": data}


# ------------------------------------------------------------------------------ the error contract

def documented_errors() -> dict[str, set[int]]:
    """docs/api.md's error table: code -> the statuses it is answered with."""
    table: dict[str, set[int]] = {}
    for status, codes in re.findall(r"^\| (\d{3}) \| ([^|]+) \|", DOC.read_text(encoding="utf-8"), re.M):
        for code in re.findall(r"`([a-z0-9_]+)`", codes):
            table.setdefault(code, set()).add(int(status))
    return table


DOC_ERRORS = documented_errors()


def declared_errors(operation) -> dict[int, set[str]]:
    """The refusal codes an operation's OpenAPI responses declare, per status."""
    declared: dict[int, set[str]] = {}
    for status, response in OPENAPI["paths"][operation.path][operation.method.lower()]["responses"].items():
        if status.isdigit():
            declared[int(status)] = set(response.get("x-error-codes", ()))
    return declared


STATS: Counter = Counter()


def error_contract(ctx, response, case) -> bool | None:
    """A 4xx is the documented error shape, with a code the operation and docs/api.md both list."""
    status = response.status_code
    method = (response.request.method or "").upper()
    if method != case.operation.method.upper():
        # schemathesis' unsupported_method probe (another method on this path): its own check
        # wants 405 with a true Allow header; the answer belongs to no declared operation.
        STATS[f"{method} {case.operation.path} -> {status} (unsupported method probe)"] += 1
        return None
    STATS[f"{method} {case.operation.path} -> {status}"] += 1
    if not 400 <= status < 500 or method == "HEAD":
        return None  # HEAD answers carry no body; their status is checked by the built-ins
    body = json.loads(response.content)
    assert isinstance(body, dict) and isinstance(body.get("error"), str) and isinstance(body.get("message"), str), (
        f"{status} body is not {{error, message}}: {response.content[:200]!r}")
    code = body["error"]
    assert body["message"].strip(), f"{code}: empty message"
    declared = declared_errors(case.operation).get(status, set())
    assert code in declared, (
        f"{case.operation.method.upper()} {case.operation.path} answered {status} {code}, "
        f"but its OpenAPI declares {sorted(declared)} for {status}")
    assert status in DOC_ERRORS.get(code, set()), (
        f"{status} {code} is not in docs/api.md's error table (it lists {sorted(DOC_ERRORS.get(code, ()))})")
    return True


# Schema-valid input these operations still refuse by design, with the codes that say why.
# invalid_text: JSON Schema strings may hold NUL and lone surrogates; no database can store them.
BUSINESS_REFUSALS: dict[tuple[str, str], set[str]] = {
    ("GET", "/api/v1/sync/pull"): {"invalid_cursor"},  # a cursor is opaque: any string fits the schema
    # the mutation cap is a setting, not in the schema
    ("POST", "/api/v1/sync/push"): {"too_many_mutations", "invalid_text"},
    ("POST", "/api/v1/enroll"): {"invalid_code", "invalid_text"},
    ("PATCH", "/api/v1/blobs/{sha256}"): {"offset_mismatch", "upload_in_progress", "blob_too_large",
                                          "body_too_large", "sha256_mismatch"},
    # what a scan is, is in its bytes (magic numbers, hash, size), which a schema cannot state
    ("PUT", SCAN_PATH): {"unsupported_scan_type", "content_type_mismatch", "sha256_mismatch", "scan_id_in_use",
                         "scan_too_large"},
}


def positive_refusals_are_documented(ctx, response, case) -> bool | None:
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code < 400:
        return None
    body = json.loads(response.content) if response.content else {}
    allowed = BUSINESS_REFUSALS[(case.operation.method.upper(), case.operation.path)]
    assert response.status_code in (401, 403, 404) or body.get("error") in allowed, (
        f"schema-valid input refused with {response.status_code} {body}; "
        f"the only refusals expected here are {sorted(allowed)}")
    return True


# ----------------------------------------------------------------------------------- the server

@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A real server on loopback with a coordinator, and data for the happy paths."""
    tmp = tmp_path_factory.mktemp("schemathesis")
    url = f"sqlite:///{tmp}/server.sqlite3"
    upgrade(url)
    settings = Settings(data_dir=tmp / "data", database_url=url, max_json_bytes=256 * 1024,
                        max_blob_bytes=4 * 1024 * 1024, pull_limit_max=50)
    harness = Harness(settings)
    coordinator = harness.actor("coordinator")
    TOKENS["coordinator"] = coordinator.token
    server = run_server(settings)
    # A claim for the scan routes' generated requests to reach past "unknown claim".
    reporter = harness.actor("adjuster")
    CLAIM["id"] = str(uuid.uuid4())
    pushed = httpx.post(f"{server.url}/api/v1/sync/push", headers=reporter.headers, timeout=30, json={
        "device_id": reporter.device_id, "mutations": [
            {"seq": 1, "entity": "claim", "id": CLAIM["id"], "op": "upsert", "base_version": None,
             "fields": {"coverage": "natural_disaster", "township_code": LONGSHUI,
                        "incident_at": "2026-07-12T03:40:00+08:00", "description": "暴雨致房屋进水"}}]})
    assert pushed.json()["results"][0]["status"] == "applied", pushed.text
    try:
        yield settings, harness, coordinator, server
    finally:
        server.stop()
        harness.close()
        print(f"\nschemathesis requests per operation and status: {dict(sorted(STATS.items()))}")
        print(f"schemathesis total requests checked: {sum(STATS.values())}")


@schema.parametrize()
@hypothesis_settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_openapi_schema(case, served):
    _settings, _harness, coordinator, server = served
    key = (case.operation.method.upper(), case.operation.path)
    if case.headers and case.headers.get("Authorization") == TOKEN_STAND_IN:
        case.headers["Authorization"] = f"Bearer {TOKENS['coordinator']}"
    if key == ("POST", "/api/v1/sync/push") and case.meta and case.meta.generation.mode.is_positive \
            and isinstance(case.body, dict):
        # Reach the batch code instead of stopping at device_mismatch / seq_order: push as the
        # token's own device, with the generated seqs made strictly increasing. (Pushing for
        # another device and out-of-order seqs are covered in test_bad_input.py.)
        case.body["device_id"] = coordinator.device_id
        last, kept = 0, []
        for m in case.body.get("mutations", []):
            if last >= api.MAX_WIRE_INT:
                break  # no room left above the largest seq: drop the rest of the batch
            seq = m.get("seq") if isinstance(m, dict) else None
            if isinstance(seq, (int, float)) and not isinstance(seq, bool):
                m["seq"] = last = min(max(int(seq), last + 1), api.MAX_WIRE_INT)
            kept.append(m)
        if "mutations" in case.body:
            case.body["mutations"] = kept
    if case.operation.path == SCAN_PATH and case.meta and case.meta.generation.mode.is_positive:
        # Reach the scan checks instead of stopping at "unknown claim": a claim that exists, and
        # for uploads the generated body's true hash (the bytes then decide: type, replay, size).
        case.path_parameters = {**(case.path_parameters or {}), "claim_id": CLAIM["id"]}
        body = getattr(case.body, "data", case.body)  # schemathesis wraps generated bytes in Binary
        if key[0] == "PUT" and isinstance(body, bytes) and case.headers is not None:
            case.headers["X-Scan-SHA256"] = hashlib.sha256(body).hexdigest()
    excluded = [positive_data_acceptance] if key in BUSINESS_REFUSALS else []
    if key == ("POST", "/api/v1/blobs/missing"):
        # PATCH/HEAD/GET /api/v1/blobs/missing are requests for a blob named "missing": they are
        # answered by the blob routes (400 invalid_sha256 / 404), not 405, and a 405 there lists
        # them in Allow. schemathesis' 405 probes cannot know about the overlap.
        excluded += [unsupported_method, allow_header_conformance]
    extra = [error_contract] + ([positive_refusals_are_documented] if key in BUSINESS_REFUSALS else [])
    response = case.call(base_url=server.url, timeout=30)
    case.validate_response(response, excluded_checks=excluded,
                           additional_checks=extra, transport_kwargs={"base_url": server.url})
    assert response.status_code < 500, server.log_path.read_text(errors="replace")[-3000:]


def test_every_declared_refusal_code_is_in_the_docs():
    """Each x-error-codes entry of a core route is in docs/api.md's table under that status."""
    checked = 0
    for path, operations in OPENAPI["paths"].items():
        if path not in CORE_PATHS:
            continue
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if status.isdigit() and int(status) >= 400:
                    codes = response.get("x-error-codes")
                    assert codes, f"{method.upper()} {path} {status} declares no x-error-codes"
                    for code in codes:
                        assert int(status) in DOC_ERRORS.get(code, set()), (
                            f"{method.upper()} {path}: {status} {code} is missing from docs/api.md's error table")
                        checked += 1
    assert checked > 30  # the table parser found the table (a test that cannot fail is a defect)


# --------------------------------------------------------------------------------- happy paths

def _header(response, name: str) -> str:
    """schemathesis' Response keeps headers lower-cased, each a list."""
    return response.headers[name.lower()][0]


def _validate(operation, server, auth, **case_data):
    case = schema[operation[1]][operation[0]].Case(**case_data)
    response = case.call(base_url=server.url, headers=auth, timeout=30)
    case.validate_response(response, headers=auth, additional_checks=[error_contract],
                           transport_kwargs={"base_url": server.url})
    return response


def test_happy_paths_conform_to_the_schema(served):
    """Real data through every core operation; every response validated against the schema."""
    _settings, harness, coordinator, server = served
    adjuster_user = harness.add_user("adjuster", "理赔员")
    code = harness.enrollment_code(adjuster_user["id"])
    no_token: dict = {}

    r = _validate(("POST", "/api/v1/enroll"), server, no_token,
                  body={"code": code, "device_name": "理赔员的手机 📱"}, media_type="application/json")
    assert r.status_code == 200
    adjuster = r.json()
    adj_headers = {"Authorization": f"Bearer {adjuster['token']}"}
    other = harness.actor("adjuster")

    assert _validate(("GET", "/healthz"), server, no_token).status_code == 200
    assert _validate(("GET", "/api/v1/me"), server, adj_headers).json()["device"]["name"] == "理赔员的手机 📱"
    assert _validate(("GET", "/api/v1/ping"), server, adj_headers).status_code == 200

    photo = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 64 + b"\xff\xd9"
    sha = hashlib.sha256(photo).hexdigest()
    claim_id, photo_id = str(uuid.uuid4()), str(uuid.uuid4())
    mutations = [
        {"seq": 1, "entity": "claim", "id": claim_id, "op": "upsert", "base_version": None,
         "fields": {"coverage": "natural_disaster", "township_code": LONGSHUI,
                    "incident_at": "2026-07-12T03:40:00+08:00", "description": "暴雨致房屋进水"}},
        {"seq": 2, "entity": "photo", "id": photo_id, "op": "upsert", "base_version": None,
         "fields": {"claim_id": claim_id, "sha256": sha}},
    ]
    r = _validate(("POST", "/api/v1/sync/push"), server, adj_headers,
                  body={"device_id": adjuster["device_id"], "mutations": mutations}, media_type="application/json")
    assert [x["status"] for x in r.json()["results"]] == ["applied", "applied"], r.text
    # The same field from a second adjuster, based on version 1 after the first changed it: a conflict.
    with httpx.Client(base_url=server.url, timeout=30) as http:
        for device, headers, text, seq in ((adjuster["device_id"], adj_headers, "第一次修改", 3),
                                           (other.device_id, other.headers, "第二次修改", 1)):
            r = http.post("/api/v1/sync/push", headers=headers, json={"device_id": device, "mutations": [
                {"seq": seq, "entity": "claim", "id": claim_id, "op": "upsert", "base_version": 1,
                 "fields": {"description": text}}]})
            assert r.status_code == 200, r.text
    assert r.json()["results"][0]["status"] == "conflict"

    r = _validate(("GET", "/api/v1/sync/pull"), server, adj_headers, query={"limit": 1})
    assert r.json()["has_more"] is True
    r = _validate(("GET", "/api/v1/sync/pull"), server, adj_headers, query={"cursor": r.json()["cursor"]})
    assert r.status_code == 200

    r = _validate(("POST", "/api/v1/blobs/missing"), server, adj_headers, body={"sha256": [sha]},
                  media_type="application/json")
    assert r.json() == {"missing": [sha]}
    for start, end in ((0, 1000), (1000, len(photo))):
        r = _validate(("PATCH", "/api/v1/blobs/{sha256}"), server, adj_headers, path_parameters={"sha256": sha},
                      headers={"Upload-Offset": str(start), "Upload-Length": str(len(photo))},
                      body=photo[start:end], media_type="application/offset+octet-stream")
        assert r.status_code == 204 and _header(r, "Upload-Offset") == str(end)
    r = _validate(("HEAD", "/api/v1/blobs/{sha256}"), server, adj_headers, path_parameters={"sha256": sha})
    assert _header(r, "Upload-Offset") == _header(r, "Upload-Length") == str(len(photo))
    r = _validate(("GET", "/api/v1/blobs/{sha256}"), server, adj_headers, path_parameters={"sha256": sha})
    assert r.content == photo and _header(r, "Content-Type") == "image/jpeg"

    scan = b"%PDF-1.4\n" + bytes(range(256)) * 8 + b"\n%%EOF\n"
    scan_ids = {"claim_id": claim_id, "scan_id": str(uuid.uuid4())}
    scan_headers = {"X-Scan-SHA256": hashlib.sha256(scan).hexdigest(), "X-Document-Code": "claimant_id_card"}
    for expected in (201, 200):  # stored, then a replay of the same bytes
        r = _validate(("PUT", SCAN_PATH), server, adj_headers, path_parameters=scan_ids, headers=scan_headers,
                      body=scan, media_type="application/pdf")
        assert r.status_code == expected and r.json()["size"] == len(scan), r.text
    r = _validate(("GET", SCAN_PATH), server, adj_headers, path_parameters=scan_ids)
    assert r.content == scan and _header(r, "Content-Type") == "application/pdf"

    r = _validate(("GET", "/api/v1/conflicts"), server, coordinator.headers, query={"claim_id": claim_id})
    conflicts = r.json()["conflicts"]
    assert [(c["field"], c["kept_value"], c["other_value"]) for c in conflicts] == [
        ("description", "第二次修改", "第一次修改")]
    r = _validate(("POST", "/api/v1/conflicts/{conflict_id}/resolve"), server, coordinator.headers,
                  path_parameters={"conflict_id": conflicts[0]["id"]})
    assert r.json()["resolved_by"] == coordinator.user["id"]
    r = _validate(("GET", "/api/v1/conflicts"), server, coordinator.headers, query={"include_resolved": "true"})
    assert len(r.json()["conflicts"]) == 1
