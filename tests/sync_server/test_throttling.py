"""Guessing device tokens and enrollment codes is slowed down: past a set count of failures per
client address (and, for enrollment, per code prefix) within a window, 429 too_many_attempts with
Retry-After. The counts live in the database, so every server process shares them.

Each test fails on the server as it was before: wrong tokens and codes were answered 401 forever.
"""
from __future__ import annotations

from fastapi.testclient import TestClient

from sync_server.app import create_app

BAD = {"Authorization": "Bearer wrong-token"}


def _client(settings, address: str = "10.0.0.1") -> TestClient:
    return TestClient(create_app(settings), client=(address, 40000))


def test_wrong_tokens_are_answered_429_past_the_limit_across_processes(settings, harness):
    settings = settings.with_(auth_fail_limit=3, auth_fail_window_seconds=600)
    good = harness.actor("adjuster")
    # two apps on one database: two server processes behind the same address
    with _client(settings) as one, _client(settings) as two:
        assert [one.get("/api/v1/me", headers=BAD).status_code for _ in range(2)] == [401, 401]
        assert two.get("/api/v1/me", headers=BAD).status_code == 401
        r = one.get("/api/v1/ping", headers=BAD)
        assert r.status_code == 429 and r.json()["error"] == "too_many_attempts"
        assert 1 <= int(r.headers["retry-after"]) <= 600
        assert two.get("/api/v1/sync/pull", headers=BAD).status_code == 429
        # a right token is never held up by someone else's guessing at the same address
        assert one.get("/api/v1/me", headers=good.headers).status_code == 200
        # a missing token is not a guess: plain 401
        assert one.get("/api/v1/me").status_code == 401
    # another address is not affected
    with _client(settings, "10.0.0.2") as other:
        assert other.get("/api/v1/me", headers=BAD).status_code == 401


def test_the_window_passes(settings):
    import datetime as dt

    from .test_rotation_api import Clock

    clock = Clock(dt.datetime.now(dt.timezone.utc))
    settings = settings.with_(auth_fail_limit=2, auth_fail_window_seconds=60, extra={"clock": clock})
    with _client(settings) as c:
        assert [c.get("/api/v1/me", headers=BAD).status_code for _ in range(3)] == [401, 401, 429]
        clock.advance(seconds=59)
        assert c.get("/api/v1/me", headers=BAD).status_code == 429
        clock.advance(seconds=2)
        assert c.get("/api/v1/me", headers=BAD).status_code == 401


def test_wrong_enrollment_codes_block_the_address_even_for_a_right_code(settings, harness):
    settings = settings.with_(enroll_fail_limit=3, enroll_prefix_fail_limit=100)
    code = harness.enrollment_code(harness.add_user("adjuster")["id"])
    with _client(settings) as c:
        for guess in ("AAAA-BBBB-CCCC", "DDDD-EEEE-FFFF", "GGGG-HHHH-JJJJ"):
            assert c.post("/api/v1/enroll", json={"code": guess, "device_name": "x"}).status_code == 401
        r = c.post("/api/v1/enroll", json={"code": code, "device_name": "x"})
        assert r.status_code == 429 and r.json()["error"] == "too_many_attempts" and int(r.headers["retry-after"]) > 0
    # from elsewhere the code still works: it was not spent by the refusal
    with _client(settings, "10.0.0.9") as c:
        assert c.post("/api/v1/enroll", json={"code": code, "device_name": "x"}).status_code == 200


def test_guessing_one_codes_prefix_from_many_addresses_is_slowed(settings, harness):
    settings = settings.with_(enroll_fail_limit=100, enroll_prefix_fail_limit=3)
    code = harness.enrollment_code(harness.add_user("adjuster")["id"])
    prefix = code[:4]
    for n in range(3):
        with _client(settings, f"10.0.1.{n}") as c:
            r = c.post("/api/v1/enroll", json={"code": f"{prefix}-ZZZZ-ZZZ{n + 2}", "device_name": "x"})
            assert r.status_code == 401
    with _client(settings, "10.0.1.200") as c:
        assert c.post("/api/v1/enroll", json={"code": code, "device_name": "x"}).status_code == 429
        # other prefixes are not held up
        other = harness.enrollment_code(harness.add_user("adjuster")["id"])
        if other[:4] != prefix:
            assert c.post("/api/v1/enroll", json={"code": other, "device_name": "x"}).status_code == 200


def test_429_is_declared_on_enroll_and_every_authenticated_route(settings):
    schema = create_app(settings).openapi()
    checked = 0
    for path, operations in schema["paths"].items():
        for method, op in operations.items():
            responses = op.get("responses", {})
            if "401" in responses:
                assert "429" in responses, f"{method.upper()} {path} declares 401 but not 429"
                assert "too_many_attempts" in responses["429"]["x-error-codes"]
                checked += 1
    assert checked > 20
    assert "429" in schema["paths"]["/api/v1/enroll"]["post"]["responses"]
