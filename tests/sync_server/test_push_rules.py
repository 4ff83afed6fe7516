"""A phone's push applies the co-insurance rules exactly as the office's routes do: with the app's
settings (thresholds, time-outs) and the app's clock, and never without them."""
from __future__ import annotations

import dataclasses
import datetime as dt
import inspect

import pytest
from fastapi.testclient import TestClient

from claimcore import authority as ca
from sync_server.app import create_app, push_rules
from sync_server.authority import service as authority_service
from sync_server.fund import routes as fund_routes
from sync_server.rotation import routes as rotation_routes
from sync_server.sync import apply, mutations

from .conftest import Phone
from .test_rotation_api import Clock, add_claims, dispatch, setup_pool, world  # noqa: F401  (fixture)
from .test_rotation_api import LONGSHUI

YUAN = 100


def _parse(moment: str) -> dt.datetime:
    return dt.datetime.fromisoformat(moment).astimezone(dt.timezone.utc)


def test_a_pushed_answer_is_dated_by_the_apps_clock(world):
    """The test clock stands in 2026 whatever the real time: an answer made on a phone is dated by
    it, as the same answer over HTTP is, and the rotation's time-out is measured on it."""
    (cid,) = add_claims(world.harness, 1)
    offered = dispatch(world, cid)[1]
    world.clock.advance(minutes=30)
    result = Phone(world.client, world.p.s1).push_one("assignment", offered["id"], {"status": "accepted"})
    assert result["status"] == "applied", result
    got = world.client.get("/api/v1/assignments", params={"claim_id": cid}, headers=world.p.adjuster.headers)
    answered = next(a for a in got.json()["assignments"] if a["id"] == offered["id"])
    assert answered["status"] == "accepted"
    assert _parse(answered["answered_at"]) == world.clock.now


@pytest.fixture
def strict_world(settings, harness):
    """An app whose first authority threshold is 40,000 yuan (the default is 100,000)."""
    clock = Clock(dt.datetime(2026, 7, 6, 1, 0, tzinfo=dt.timezone.utc))
    setup_pool(harness)
    thresholds = ca.Thresholds(inform_from=40_000 * YUAN, inform_to_inclusive=200_000 * YUAN,
                               consult_from=300_000 * YUAN)
    app = create_app(settings.with_(extra={"clock": clock, "authority_thresholds": thresholds}))
    with TestClient(app) as client:
        yield client, harness, harness.actor("adjuster")


def _approve(phone: Phone, claim_id: str) -> dict:
    return phone.push_one("claim", claim_id, {"status": "approved"})


def test_pushed_approval_uses_the_apps_authority_thresholds(strict_world):
    client, harness, adjuster = strict_world
    below, above = (add_claims(harness, 1, status="adjusted", adjusted_amount_fen=amount, claimed_amount_fen=amount)[0]
                    for amount in (30_000 * YUAN, 50_000 * YUAN))
    view = client.get(f"/api/v1/claims/{above}/authority", headers=adjuster.headers).json()
    assert view["tier"] == "inform_coinsurers" and view["cleared"] is False  # the office's view
    phone = Phone(client, adjuster)
    refused = _approve(phone, above)
    assert refused["status"] == "rejected" and refused["error"].startswith("illegal_transition"), refused
    applied = _approve(phone, below)
    assert applied["status"] == "applied", applied


def test_the_co_insurance_rules_are_always_handed_to_the_push(world):
    """No push without its rules: the app hands over the claim-authority guard and every entity
    the co-insurance features handle; there is no default to fall back to."""
    assert inspect.signature(apply.push).parameters["rules"].default is inspect.Parameter.empty
    assert all(f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
               for f in dataclasses.fields(mutations.PushRules))
    rules = world.client.app.state.push_rules
    assert rules.authority_cleared is authority_service.authority_cleared
    assert rules.handlers["assignment"] is rotation_routes.push_assignment
    assert rules.handlers["cost"] is fund_routes.push_cost
    assert rules.now() == world.clock.now
    assert push_rules(world.client.app.state.settings).settings == rules.settings


def test_a_pushed_approval_above_the_lead_alone_tier_waits_for_the_co_insurers(world):
    (cid,) = add_claims(world.harness, 1, township=LONGSHUI, status="adjusted",
                        adjusted_amount_fen=150_000 * YUAN, claimed_amount_fen=150_000 * YUAN)
    phone = Phone(world.client, world.p.adjuster)
    refused = _approve(phone, cid)
    assert refused["status"] == "rejected" and refused["error"].startswith("illegal_transition"), refused
    for who in (world.p.s1, world.p.s2, world.p.s3, world.p.s4):
        r = world.client.post(f"/api/v1/claims/{cid}/opinions", headers=who.headers, json={"vote": "approve"})
        assert r.status_code == 200, r.text
    applied = _approve(phone, cid)
    assert applied["status"] == "applied", applied
