"""The sync server's whole HTTP API against its own OpenAPI schema (schemathesis 4), over real HTTP.

Other programs generate their clients from ``/openapi.json``: every status and every error code a
route can answer must be in it. Every operation of the app (the sync core, the document scans and
the co-insurance routes) gets generated requests in all four schemathesis phases:

- examples and coverage (the schema's own examples and boundary values: every enum value, every
  length limit, every required field left out, wrong types, the token left out),
- fuzzing (random positive and negative requests, ``MAX_EXAMPLES`` per operation),
- stateful (``test_api_statefully``: sequences of calls chained by the links schemathesis infers
  from the schema, e.g. POST /events -> GET /events/{event_id} -> POST .../dispatch -> accept),

sent to a real uvicorn server on loopback with a fresh SQLite database, as each of ``ROLES`` (the
coordinator of the lead's office, a township liaison and a co-insurer's surveyor: most routes
answer them differently). Each response must pass schemathesis' checks, among them
``not_a_server_error`` (no 5xx), ``status_code_conformance`` (the status is declared for the
operation) and ``response_schema_conformance`` (the body is what the operation declares for that
status), plus this project's error contract:

- every 4xx body is ``{"error": CODE, "message": TEXT}``;
- the operation declares CODE under that status (``x-error-codes`` in its OpenAPI responses), so
  the schema names every refusal a client can meet;
- docs/api.md's error table lists CODE under the same status, so the docs stay true as well.

``positive_data_acceptance`` (schema-valid input must not be refused) is replaced, for operations
whose validity the schema cannot state (an opaque cursor, seq order, an upload's offset, hash and
caps, the co-insurance rules), by the same check with the operation's documented refusal codes
allowed.

Further tests walk the happy paths with real data (enroll, push, pull, upload, download, conflict
review; dispatch and survey, events, fund, recoveries, leave, reports) and validate those
responses against the schema too: random input rarely reaches them.

Budget (2 cores): about 40 operations x (examples + coverage + ``MAX_EXAMPLES`` fuzzed cases) x 3
roles, and ``STATEFUL_EXAMPLES`` scenarios of at most ``STATEFUL_STEPS`` calls per role.
"""
from __future__ import annotations

import hashlib
import itertools
import json
import re
import tempfile
import uuid
import zlib
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    allow_header_conformance,
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

from sync_server.app import create_app
from sync_server.blobs import routes as blobs_routes
from sync_server.claims import scans
from sync_server.core import schemas as core_schemas
from sync_server.core.settings import Settings
from sync_server.devices import routes as devices_routes
from sync_server.insurers.models import InsurerTerms
from sync_server.migrate import upgrade
from sync_server.sync import routes as sync_routes
from sync_server.testing import Harness, run_server

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"
LONGSHUI = "500111100"  # 龙水镇
# Fuzzed cases per operation (the examples and coverage phases add theirs: every boundary the
# schema states, whatever this number is); each case is sent once per role.
MAX_EXAMPLES = 40
STATEFUL_EXAMPLES = 25  # scenarios per role
STATEFUL_STEPS = 10  # calls per scenario at most
# The office (coordinator), a township's liaison (its own claims only, no co-insurance office
# work) and a co-insurer's surveyor (its insurer's assignments only, never scans).
ROLES = ("coordinator", "liaison", "surveyor")
POOL = {"lead": 4000, "co1": 1500, "co2": 1500, "co3": 1500, "co4": 1500}  # basis points

# PATCH bodies are raw bytes sent as application/offset+octet-stream: serialise them like
# application/octet-stream (schemathesis has no serializer for the tus media type).
schemathesis.serializer.alias("application/offset+octet-stream", "application/octet-stream")
# Scan uploads are raw bytes sent as the scan's own type.
for _scan_type in ("image/jpeg", "image/png", "image/heic", "application/pdf"):
    schemathesis.serializer.alias(_scan_type, "application/octet-stream")
SCAN_PATH = "/api/v1/claims/{claim_id}/scans/{scan_id}"
PUSH = ("POST", "/api/v1/sync/push")


def _openapi() -> dict:
    # The schema does not depend on the settings; a throwaway folder keeps import side-effect free.
    with tempfile.TemporaryDirectory() as tmp:
        return create_app(Settings(data_dir=Path(tmp))).openapi()


OPENAPI = _openapi()
CORE_PATHS = {route.path for router in (devices_routes.router, sync_routes.router, blobs_routes.router)
              for route in router.routes} | {scans.SCAN_PATH}
schema = schemathesis.openapi.from_dict(OPENAPI)
TOKENS: dict[str, str] = {}  # role -> token, filled by the `served` fixture
DEVICES: dict[str, str] = {}  # role -> device id
# Records that exist on the served server, per path parameter (filled by `served`): schema-valid
# requests use them half of the time, so they reach past "not found" into the rules.
KNOWN: dict[str, list[str]] = {}
# schemathesis applies auth when it generates a case, and builds some cases while pytest collects,
# before any server exists: cases carry this stand-in, which the test swaps for a real token.
TOKEN_STAND_IN = "Bearer token-of-a-role-from-the-served-fixture"


@schema.auth()
class RoleToken:
    """A stand-in token, set by schemathesis' own auth machinery, so that cases which leave the
    token out on purpose (expecting 401) really go without it."""

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
STATEFUL: Counter = Counter()  # the stateful phase's calls, per role, operation and status


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


# Schema-valid input these operations still refuse by design, with the codes that say why. Every
# operation may also answer invalid_text (JSON Schema strings, and keys of the objects a schema
# leaves open, may hold NUL and lone surrogates; no database can store them), and any status that
# is not about the input (401, 403, 404, 409, 429; schemathesis' own positive_data_acceptance
# allows the same).
BUSINESS_REFUSALS: dict[tuple[str, str], set[str]] = {
    ("GET", "/api/v1/sync/pull"): {"invalid_cursor"},  # a cursor is opaque: any string fits the schema
    # the mutation cap is a setting, not in the schema
    PUSH: {"too_many_mutations"},
    ("POST", "/api/v1/enroll"): {"invalid_code"},
    ("PATCH", "/api/v1/blobs/{sha256}"): {"offset_mismatch", "upload_in_progress", "blob_too_large",
                                          "body_too_large", "sha256_mismatch", "upload_quota"},
    # what a scan is, is in its bytes (magic numbers, hash, size), which a schema cannot state
    ("PUT", SCAN_PATH): {"unsupported_scan_type", "content_type_mismatch", "sha256_mismatch", "scan_id_in_use",
                         "scan_too_large"},
    # The co-insurance rules: codes from the pool's catalogue (coverage, township, insurer), times
    # that must carry an offset or come in order, and amounts whose 2% rounds to nothing.
    ("POST", "/api/v1/events"): {"unknown_coverage", "unknown_township", "invalid_datetime"},
    ("POST", "/api/v1/insurers/{code}/leave"): {"invalid_datetime", "invalid_leave"},
    ("POST", "/api/v1/assignments/{assignment_id}/decline"): {"reason_required"},
    ("POST", "/api/v1/claims/{claim_id}/consultations"): {"invalid_insurer", "attendees_required",
                                                           "invalid_datetime"},
    ("POST", "/api/v1/fund/premiums"): {"invalid_amount"},
    # which receipts exist, the fund's caps (settings): not in the schema
    ("POST", "/api/v1/fund/entries"): {"invalid_insurer", "invalid_fund_entry", "receipt_not_uploaded",
                                       "amount_over_cap"},
    ("POST", "/api/v1/insurers/{code}/rename"): {"invalid_name"},  # 1-100 characters, no control characters
    ("POST", "/api/v1/fund/entries/{entry_id}/corrections"): {"reason_required", "invalid_amount", "amount_over_cap"},
    ("POST", "/api/v1/fund/recoveries/entries/{entry_id}/corrections"): {"reason_required"},
    ("POST", "/api/v1/reports/annual/{year}/review"): {"reason_required"},  # a return says what to change
    ("POST", "/api/v1/fund/disclosure/comments"): {"text_required"},  # blank text
    ("GET", "/api/v1/reports/{kind}"): {"invalid_request"},  # a quarterly report needs its quarter
    ("POST", "/api/v1/persons/search"): {"invalid_id_number"},  # the check digit (GB 11643)
    # The civil-affairs step: township codes from the catalogue, times after the event's start and
    # not in the future, no more collapsed than damaged households.
    ("POST", "/api/v1/events/{event_id}/civil-affairs/township-reports"): {
        "unknown_township", "invalid_datetime", "in_the_future", "before_event", "collapsed_exceeds_damaged"},
    ("POST", "/api/v1/events/{event_id}/civil-affairs/bureau-figures"): {
        "invalid_datetime", "in_the_future", "before_event", "collapsed_exceeds_damaged"},
}
NOT_ABOUT_THE_INPUT = {401, 403, 404, 409, 429}


def positive_refusals_are_documented(ctx, response, case) -> bool | None:
    """schemathesis' positive_data_acceptance, with the refusals the schema cannot state allowed."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code < 400:
        return None
    body = json.loads(response.content) if response.content and case.method.upper() != "HEAD" else {}
    allowed = {"invalid_text"} | BUSINESS_REFUSALS.get((case.operation.method.upper(), case.operation.path), set())
    assert response.status_code in NOT_ABOUT_THE_INPUT or body.get("error") in allowed, (
        f"schema-valid input refused with {response.status_code} {body}; "
        f"the only refusals expected here are {sorted(allowed)}")
    return True


def checks_for(case) -> tuple[list, list]:
    """(excluded built-in checks, extra checks) for a case's operation."""
    key = (case.operation.method.upper(), case.operation.path)
    excluded = [positive_data_acceptance]  # replaced by positive_refusals_are_documented
    if key == ("POST", "/api/v1/blobs/missing"):
        # PATCH/HEAD/GET /api/v1/blobs/missing are requests for a blob named "missing": they are
        # answered by the blob routes (400 invalid_sha256 / 404), not 405, and a 405 there lists
        # them in Allow. schemathesis' 405 probes cannot know about the overlap.
        excluded += [unsupported_method, allow_header_conformance]
    # The three the published contract rests on, named so that no configuration drops them.
    extra = [not_a_server_error, status_code_conformance, response_schema_conformance, error_contract,
             positive_refusals_are_documented]
    return excluded, extra


# ----------------------------------------------------------------------------------- the server

@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A real server on loopback with the co-insurance pool, a claim, an assignment, an event, fund
    and recovery entries, and one enrolled device per role."""
    tmp = tmp_path_factory.mktemp("schemathesis")
    url = f"sqlite:///{tmp}/server.sqlite3"
    upgrade(url)
    # The throttle off (0): schemathesis sends wrong tokens on purpose (ignored_auth wants 401 for
    # each) and many wrong enrollment codes; past the limits every one would be answered 429 and a
    # right code refused too. The throttle has its own tests; its 429 is declared on every route.
    settings = Settings(data_dir=tmp / "data", database_url=url, max_json_bytes=256 * 1024,
                        max_blob_bytes=4 * 1024 * 1024, pull_limit_max=50, auth_fail_limit=0,
                        enroll_fail_limit=0, enroll_prefix_fail_limit=0)
    harness = Harness(settings)
    for code in POOL:
        harness.add_insurer(code, f"{code} 保险")
    with harness.db.write() as s:
        for position, (code, bp) in enumerate(POOL.items()):
            s.merge(InsurerTerms(insurer_code=code, share_bp=bp, is_lead=code == "lead", position=position))
    actors = {"coordinator": harness.actor("coordinator"),
              "liaison": harness.actor("liaison", township_code=LONGSHUI),
              "surveyor": harness.actor("surveyor", insurer_code="co1")}
    for role, actor in actors.items():
        TOKENS[role], DEVICES[role] = actor.token, actor.device_id
    adjuster = harness.actor("adjuster")
    server = run_server(settings)
    try:
        _seed(server, adjuster, actors["coordinator"])
        yield SimpleNamespace(server=server, harness=harness, adjuster=adjuster, **actors)
    finally:
        server.stop()
        harness.close()
        probes = sum(n for k, n in STATS.items() if k.endswith("(unsupported method probe)"))
        answers = {k: n for k, n in sorted(STATS.items()) if not k.endswith("(unsupported method probe)")}
        print(f"\nschemathesis answers per operation and status: {answers}")
        print(f"schemathesis requests checked: {sum(STATS.values())} (of them unsupported-method probes: {probes})")
        print(f"stateful phase calls: {dict(sorted(STATEFUL.items()))}")


def _seed(server, adjuster, coordinator) -> None:
    """Records for generated requests to reach past "not found" (see KNOWN)."""
    with httpx.Client(base_url=server.url, timeout=30) as http:
        def ok(response):
            assert response.status_code in (200, 201), response.text
            return response.json()

        claim_id = str(uuid.uuid4())
        pushed = ok(http.post("/api/v1/sync/push", headers=adjuster.headers, json={
            "device_id": adjuster.device_id, "mutations": [
                {"seq": 1, "entity": "claim", "id": claim_id, "op": "upsert", "base_version": None,
                 "fields": {"coverage": "natural_disaster", "township_code": LONGSHUI,
                            "incident_at": "2026-07-12T03:40:00+08:00", "description": "暴雨致房屋进水"}}]}))
        assert pushed["results"][0]["status"] == "applied", pushed
        office = coordinator.headers
        assignments = ok(http.post(f"/api/v1/claims/{claim_id}/dispatch", headers=office))["assignments"]
        event = ok(http.post("/api/v1/events", headers=office, json={
            "name": "7·12 暴雨", "coverage": "natural_disaster", "township_codes": [LONGSHUI],
            "started_at": "2026-07-12T00:00:00+08:00"}))
        # The lead books the work fund, within the budget the coordinator confirmed.
        lead = adjuster.headers
        ok(http.put("/api/v1/fund/budget", params={"year": 2026}, headers=lead, json={
            "amounts": {"publicity": 1_000_000, "survey": 1_000_000}}))
        ok(http.post("/api/v1/fund/budget/2026/confirm", headers=office, json={"version": 1}))
        ok(http.post("/api/v1/fund/premiums", headers=lead, json={
            "policy_year": 2026, "insurer_code": "lead", "premium_ex_tax_fen": 40_000_000,
            "received_on": "2026-01-20"}))
        spending = ok(http.post("/api/v1/fund/entries", headers=lead, json={
            "on": "2026-02-01", "amount_fen": 10_000, "category": "publicity", "note": "宣传册"}))
        demand = ok(http.post("/api/v1/fund/recoveries/co1/demands", headers=office, json={
            "amount_fen": 5_000, "on": "2026-03-01"}))
    KNOWN.update({
        "claim_id": [claim_id],
        "assignment_id": [a["id"] for a in assignments],
        "event_id": [event["id"]],
        "entry_id": [spending["id"], demand["id"]],
        "insurer_code": ["co1", "lead"],
        "code": ["co1", "lead"],
        "year": [2026],
    })


def _reach_known_records(case) -> None:
    """A schema-valid request uses records that exist half of the time (chosen from what was
    generated, so the choice replays with the case); the other half meets "not found"."""
    params = case.path_parameters or {}
    for name, ids in KNOWN.items():
        if name in params:
            pick = zlib.crc32(repr(params[name]).encode()) % (2 * len(ids))
            if pick < len(ids):
                params[name] = ids[pick]
    if case.operation.path == SCAN_PATH:
        # Reach the scan checks instead of stopping at "unknown claim": a claim that exists, and
        # for uploads the generated body's true hash (the bytes then decide: type, replay, size).
        params["claim_id"] = KNOWN["claim_id"][0]
        body = getattr(case.body, "data", case.body)  # schemathesis wraps generated bytes in Binary
        if case.method.upper() == "PUT" and isinstance(body, bytes) and case.headers is not None:
            case.headers["X-Scan-SHA256"] = hashlib.sha256(body).hexdigest()


def _as_role(case, role: str, positive: bool) -> None:
    case.headers["Authorization"] = f"Bearer {TOKENS[role]}"
    if (case.operation.method.upper(), case.operation.path) == PUSH and positive and isinstance(case.body, dict):
        # Reach the batch code instead of stopping at device_mismatch / seq_order: push as the
        # token's own device, with the generated seqs made strictly increasing. (Pushing for
        # another device and out-of-order seqs are covered in test_bad_input.py.)
        case.body["device_id"] = DEVICES[role]
        last, kept = 0, []
        for m in case.body.get("mutations", []):
            if last >= core_schemas.MAX_WIRE_INT:
                break  # no room left above the largest seq: drop the rest of the batch
            seq = m.get("seq") if isinstance(m, dict) else None
            if isinstance(seq, (int, float)) and not isinstance(seq, bool):
                m["seq"] = last = min(max(int(seq), last + 1), core_schemas.MAX_WIRE_INT)
            kept.append(m)
        if "mutations" in case.body:
            case.body["mutations"] = kept


def _send_and_check(case, server, role: str | None, positive: bool) -> None:
    if role is not None:
        _as_role(case, role, positive)
    excluded, extra = checks_for(case)
    response = case.call(base_url=server.url, timeout=30)
    try:
        case.validate_response(response, excluded_checks=excluded, additional_checks=extra,
                               transport_kwargs={"base_url": server.url})
        assert response.status_code < 500, server.log_path.read_text(errors="replace")[-3000:]
    except BaseException as exc:
        exc.add_note(f"sent as the {role or 'caller without a token'}")
        raise
    return response


@schema.parametrize()
@hypothesis_settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_openapi_schema(case, served):
    """Phases examples, coverage and fuzzing; each case sent as each role."""
    positive = bool(case.meta and case.meta.generation.mode.is_positive)
    if positive:
        _reach_known_records(case)
    with_token = bool(case.headers) and case.headers.get("Authorization") == TOKEN_STAND_IN
    for role in ROLES if with_token else (None,):
        _send_and_check(case, served.server, role, positive)


@pytest.mark.parametrize("role", ROLES)
def test_api_statefully(role, served):
    """The stateful phase: call sequences chained by the links schemathesis infers (an event's id
    from POST /events into GET /events/{event_id}, an assignment's id from a dispatch into
    accept/decline/arrive/complete, an insurer's code into its leave, …), as one role."""
    server = served.server
    base = schema.as_state_machine()

    class Scenario(base):
        def call(self, case, **kwargs):
            positive = bool(case.meta and case.meta.generation.mode.is_positive)
            if case.headers and case.headers.get("Authorization") == TOKEN_STAND_IN:
                _as_role(case, role, positive)
            response = case.call(base_url=server.url, timeout=30)
            STATEFUL[f"{role}: {case.method.upper()} {case.operation.path} -> {response.status_code}"] += 1
            return response

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            excluded, extra = checks_for(case)
            try:
                case.validate_response(response, excluded_checks=excluded, additional_checks=extra,
                                       transport_kwargs={"base_url": server.url},
                                       recorder=getattr(self, "recorder", None))
                assert response.status_code < 500, server.log_path.read_text(errors="replace")[-3000:]
            except BaseException as exc:
                exc.add_note(f"sent as the {role}")
                raise

    Scenario.run(settings=hypothesis_settings(
        max_examples=STATEFUL_EXAMPLES, stateful_step_count=STATEFUL_STEPS, deadline=None,
        phases=[Phase.generate], suppress_health_check=list(HealthCheck)))


def test_every_declared_refusal_code_is_in_the_docs():
    """Each x-error-codes entry of every route (core, scans, co-insurance) is in docs/api.md's
    table under that status, and every route declares 401 unless it needs no token."""
    checked = 0
    for path, operations in OPENAPI["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            if operation.get("security") or (method, path) not in {("get", "/healthz"), ("post", "/api/v1/enroll")}:
                assert "401" in responses, f"{method.upper()} {path} does not declare 401"
            for status, response in responses.items():
                if status.isdigit() and int(status) >= 400:
                    codes = response.get("x-error-codes")
                    assert codes, f"{method.upper()} {path} {status} declares no x-error-codes"
                    for code in codes:
                        assert int(status) in DOC_ERRORS.get(code, set()), (
                            f"{method.upper()} {path}: {status} {code} is missing from docs/api.md's error table")
                        checked += 1
    assert checked > 200  # the table parser found the table (a test that cannot fail is a defect)


# --------------------------------------------------------------------------------- happy paths

def _header(response, name: str) -> str:
    """schemathesis' Response keeps headers lower-cased, each a list."""
    return response.headers[name.lower()][0]


def _validate(operation, server, auth, **case_data):
    case = schema[operation[1]][operation[0]].Case(**case_data)
    response = case.call(base_url=server.url, headers=auth, timeout=30)
    case.validate_response(response, headers=auth, additional_checks=[
        not_a_server_error, status_code_conformance, response_schema_conformance, error_contract],
        transport_kwargs={"base_url": server.url})
    return response


def test_happy_paths_conform_to_the_schema(served):
    """Real data through every core operation; every response validated against the schema."""
    harness, coordinator, server = served.harness, served.coordinator, served.server
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
    r = _validate(("GET", "/api/v1/conflicts"), server, coordinator.headers,
                  query={"claim_id": claim_id, "include_resolved": "true"})
    assert len(r.json()["conflicts"]) == 1


def test_coinsurance_happy_paths_conform_to_the_schema(served):
    """Real data through the co-insurance operations (dispatch and survey, events, authority, fund,
    recoveries, leave, reports); every response validated against the schema."""
    harness, server = served.harness, served.server
    office = served.coordinator.headers
    claim_ids = [_push_claim(server, served.adjuster) for _ in range(2)]

    assert _validate(("GET", "/api/v1/insurers"), server, office).status_code == 200
    assert _validate(("GET", "/api/v1/rotation"), server, office, query={"history": 5}).status_code == 200
    r = _validate(("POST", "/api/v1/claims/{claim_id}/dispatch"), server, office,
                  path_parameters={"claim_id": claim_ids[0]})
    lead, co = sorted(r.json()["assignments"], key=lambda a: a["kind"] != "lead")
    surveyor = harness.actor("surveyor", insurer_code=co["insurer_code"]).headers
    r = _validate(("GET", "/api/v1/assignments"), server, surveyor, query={"claim_id": claim_ids[0]})
    assert [a["id"] for a in r.json()["assignments"]] == [co["id"]]
    for action, extra in (("accept", {}), ("arrive", {"body": {"lat": 29.7, "lon": 105.72}}), ("complete", {})):
        for assignment, who in ((co, surveyor), (lead, office)):
            r = _validate(("POST", f"/api/v1/assignments/{{assignment_id}}/{action}"), server, who,
                          path_parameters={"assignment_id": assignment["id"]}, media_type="application/json",
                          **extra)
            assert r.status_code == 200, r.text
    r = _validate(("POST", "/api/v1/claims/{claim_id}/dispatch"), server, office,
                  path_parameters={"claim_id": claim_ids[1]})
    co2 = next(a for a in r.json()["assignments"] if a["kind"] != "lead")
    r = _validate(("POST", "/api/v1/assignments/{assignment_id}/decline"), server,
                  harness.actor("surveyor", insurer_code=co2["insurer_code"]).headers,
                  path_parameters={"assignment_id": co2["id"]}, body={"reason": "人手不足"},
                  media_type="application/json")
    assert r.json()["assignment"]["status"] == "declined" and r.json()["handed_over"]

    r = _validate(("POST", "/api/v1/events"), server, office, media_type="application/json", body={
        "name": "7·13 暴雨", "coverage": "natural_disaster", "township_codes": [LONGSHUI],
        "started_at": "2026-07-13T00:00:00+08:00"})
    assert r.status_code == 201
    event = {"event_id": r.json()["id"]}
    assert _validate(("GET", "/api/v1/events"), server, office).status_code == 200
    assert _validate(("GET", "/api/v1/events/{event_id}"), server, office, path_parameters=event).status_code == 200
    for method in ("POST", "DELETE"):
        r = _validate((method, "/api/v1/events/{event_id}/claims/{claim_id}"), server, office,
                      path_parameters={**event, "claim_id": claim_ids[1]})
        assert r.status_code == 200, r.text
    assert _validate(("POST", "/api/v1/events/{event_id}/dispatch"), server, office,
                     path_parameters=event).status_code == 200
    r = _validate(("GET", "/api/v1/claims/{claim_id}/authority"), server, office,
                  path_parameters={"claim_id": claim_ids[0]})
    assert r.json()["tier"] is None  # no adjusted amount yet

    # The work fund: the lead books it (within the year's budget the coordinator confirms).
    fund_lead = served.adjuster.headers
    r = _validate(("PUT", "/api/v1/fund/budget"), server, fund_lead, media_type="application/json",
                  query={"year": 2027}, body={"amounts": {"communication": 300_000.0}, "note": "联席会议"})
    assert r.status_code == 200 and r.json()["proposed"]["version"] == 1, r.text
    r = _validate(("POST", "/api/v1/fund/budget/{year}/confirm"), server, office, media_type="application/json",
                  path_parameters={"year": 2027}, body={"version": 1})
    assert r.status_code == 200 and r.json()["confirmed"]["amounts"]["communication"] == 300_000, r.text
    assert _validate(("GET", "/api/v1/fund/budget"), server, office, query={"year": 2026}).status_code == 200
    # A premium of 1 fen: its 2% rounds to 0 fen, a refusal (it was a 500), nothing booked.
    r = _validate(("POST", "/api/v1/fund/premiums"), server, fund_lead, media_type="application/json", body={
        "policy_year": 2027, "insurer_code": "co2", "premium_ex_tax_fen": 1, "received_on": "2027-01-20"})
    assert (r.status_code, r.json()["error"]) == (422, "invalid_amount"), r.text
    r = _validate(("POST", "/api/v1/fund/premiums"), server, fund_lead, media_type="application/json", body={
        "policy_year": 2026, "insurer_code": "co2", "premium_ex_tax_fen": 15_000_000.0, "received_on": "2026-01-20"})
    assert r.status_code == 201, r.text  # 15000000.0 is the JSON integer 15000000
    r = _validate(("POST", "/api/v1/fund/entries"), server, fund_lead, media_type="application/json", body={
        "on": "2026-02-02", "amount_fen": 2_000, "category": "publicity", "note": "短信"})
    assert r.status_code == 201, r.text
    r = _validate(("POST", "/api/v1/fund/entries/{entry_id}/corrections"), server, fund_lead,
                  path_parameters={"entry_id": r.json()["id"]}, media_type="application/json",
                  body={"reason": "金额录错", "amount_fen": 1_500})
    assert r.status_code == 201 and r.json()["replacement"]["amount_fen"] == 1_500, r.text
    assert _validate(("GET", "/api/v1/fund/entries"), server, office).status_code == 200
    assert _validate(("GET", "/api/v1/fund/disclosure"), server, office,
                     query={"year": 2026, "quarter": 1}).status_code == 200
    r = _validate(("POST", "/api/v1/fund/disclosure/comments"), server, served.surveyor.headers,
                  media_type="application/json", query={"year": 2026, "quarter": 1}, body={"text": "建议增加方言宣传"})
    assert r.status_code == 201 and r.json()["insurer_code"] == "co1", r.text
    assert _validate(("GET", "/api/v1/fund/disclosure/comments"), server, office,
                     query={"year": 2026, "quarter": 1}).json()["comments"][0]["id"] == r.json()["id"]
    assert _validate(("GET", "/api/v1/fund/settlement"), server, office, query={"year": 2026}).status_code in (200, 409)
    assert _validate(("GET", "/api/v1/fund/recoveries"), server, office).status_code == 200
    for kind in ("demands", "receipts"):
        r = _validate(("POST", f"/api/v1/fund/recoveries/{{insurer_code}}/{kind}"), server, office,
                      path_parameters={"insurer_code": "co3"}, media_type="application/json",
                      body={"amount_fen": 700, "on": "2026-03-02", "note": "摊回"})
        assert r.status_code == 201, r.text
    r = _validate(("POST", "/api/v1/fund/recoveries/entries/{entry_id}/corrections"), server, office,
                  path_parameters={"entry_id": r.json()["id"]}, media_type="application/json",
                  body={"reason": "重复登记"})
    assert r.status_code == 201, r.text

    r = _validate(("POST", "/api/v1/insurers/{code}/leave"), server, office, path_parameters={"code": "co4"},
                  media_type="application/json",
                  body={"from": "2026-08-01T00:00:00+08:00", "to": "2026-08-08T00:00:00+08:00", "note": "年假"})
    assert r.status_code == 201, r.text
    assert _validate(("POST", "/api/v1/insurers/{code}/back"), server, office,
                     path_parameters={"code": "co4"}).status_code == 200
    for fmt, media in (("json", "application/json"), ("xlsx", "spreadsheetml"), ("pdf", "application/pdf")):
        r = _validate(("GET", "/api/v1/reports/{kind}"), server, office, path_parameters={"kind": "quarterly"},
                      query={"year": 2026, "quarter": 3, "format": fmt})
        assert r.status_code == 200 and media in _header(r, "Content-Type"), r.text[:200]


ADJUSTER_SEQ = itertools.count(2)  # the adjuster's seq 1 went into _seed


def _push_claim(server, adjuster) -> str:
    claim_id = str(uuid.uuid4())
    seq = next(ADJUSTER_SEQ)
    r = httpx.post(f"{server.url}/api/v1/sync/push", headers=adjuster.headers, timeout=30, json={
        "device_id": adjuster.device_id, "mutations": [
            {"seq": seq, "entity": "claim", "id": claim_id, "op": "upsert", "base_version": None,
             "fields": {"coverage": "natural_disaster", "township_code": LONGSHUI,
                        "incident_at": "2026-07-13T03:40:00+08:00", "description": "暴雨致房屋倒塌"}}]})
    assert r.json()["results"][0]["status"] == "applied", r.text
    return claim_id


def test_a_domain_refusal_no_route_caught_is_a_4xx_not_a_500(tmp_path):
    """The net under the routes (sync_server.errors.domain_refusal): a rule's refusal that escapes a
    route is answered with its stable code, like any declared refusal; a plain ValueError is still
    the server error it is."""
    from fastapi.testclient import TestClient

    from claimcore.authority import VoteError
    from sync_server.core.domain import DomainError
    from sync_server.fund.rules import FundError
    from sync_server.reports.rules import ReportError

    url = f"sqlite:///{tmp_path}/x.sqlite3"
    upgrade(url)
    app = create_app(Settings(data_dir=tmp_path / "data", database_url=url))
    raised = {"domain": DomainError("unknown_township", "unknown township code '1'"),
              "vote": VoteError("shares must sum to 10000 basis points (100%), not 9000"),
              "fund": FundError("shares add up to 9000 basis points, not 10000"),
              "report": ReportError("a report is 'annual', or 'quarterly' with quarter 1-4"),
              "bug": ValueError("invalid literal for int() with base 10: 'x'")}

    def boom(which: str):
        raise raised[which]

    app.add_api_route("/boom/{which}", boom)
    with TestClient(app, raise_server_exceptions=False) as http:
        answers = {which: http.get(f"/boom/{which}") for which in raised}
    assert {w: (r.status_code, r.json().get("error")) for w, r in answers.items() if w != "bug"} == {
        "domain": (422, "unknown_township"), "vote": (409, "shares_incomplete"),
        "fund": (409, "fund_error"), "report": (422, "invalid_request")}
    assert answers["bug"].status_code == 500
    for which in ("domain", "vote", "fund", "report"):
        assert answers[which].json()["message"]
