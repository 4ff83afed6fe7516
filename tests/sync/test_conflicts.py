"""Two phones edit one claim offline, in both arrival orders, one phone's clock two days ahead.

Expected (DESIGN.md): different fields merge; the same field: the later ARRIVAL wins and a
conflict record keeps the other value; device clocks never decide.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

import fieldapp.store.store as store_module

from .conftest import TOWNSHIP_A, server_claim, server_conflicts


@pytest.fixture
def skewed_clock(monkeypatch):
    """Everything the store stamps while active is two days in the future (a phone set wrong)."""
    original = store_module.now_iso

    def ahead() -> str:
        return (datetime.now(timezone.utc) + timedelta(days=2)).isoformat(timespec="microseconds")

    class Skew:
        def __enter__(self):  # noqa: ANN204
            monkeypatch.setattr(store_module, "now_iso", ahead)

        def __exit__(self, *exc):  # noqa: ANN002, ANN204
            monkeypatch.setattr(store_module, "now_iso", original)

    return Skew()


@pytest.mark.parametrize("first", ["fast_clock_phone", "true_clock_phone"])
def test_two_phones_one_claim_both_orders_clock_two_days_ahead(server, phones, skewed_clock, first):
    true_phone, fast_phone = phones("true_clock"), phones("fast_clock")
    true_phone.enroll("liaison", township_code=TOWNSHIP_A)
    fast_phone.enroll("adjuster")
    cid = true_phone.new_claim(description="原始描述")
    true_phone.sync_until_quiet()
    fast_phone.client.sync_once()
    assert fast_phone.store.claims.get(cid).version == 1

    # Offline edits. Same field: description. Different fields: place (true) / claimed (fast).
    true_phone.store.claims.update(cid, description="描述-准确时钟手机", address="龙岗街道学坝社区")
    with skewed_clock:
        fast_phone.store.claims.update(cid, description="描述-时钟快两天手机", claimed_amount_fen=880_000)
        fast_phone.store.notes.add(cid, "快时钟手机的备注")
    assert fast_phone.store.claims.get(cid).updated_at > true_phone.store.claims.get(cid).updated_at

    order = [fast_phone, true_phone] if first == "fast_clock_phone" else [true_phone, fast_phone]
    for phone in order:
        phone.client.sync_once()
    for phone in order:
        phone.client.sync_once()

    later, earlier = order[1], order[0]
    expected_desc = later.store.claims.get(cid).description
    assert expected_desc == {true_phone: "描述-准确时钟手机", fast_phone: "描述-时钟快两天手机"}[later]
    remote = server_claim(server, cid)
    assert remote["description"] == expected_desc, "the later arrival wins, whatever the clocks say"
    assert remote["address"] == "龙岗街道学坝社区" and remote["claimed_amount_fen"] == 880_000  # merged
    conflicts = server_conflicts(server)
    assert [(c["field"], c["kept"], c["other"]) for c in conflicts] == [
        ("description", expected_desc, {true_phone: "描述-准确时钟手机", fast_phone: "描述-时钟快两天手机"}[earlier])
    ], "the replaced value is kept for review, not silently lost"
    # Both phones end with the server's state.
    for phone in (true_phone, fast_phone):
        got = phone.store.claims.get(cid)
        assert (got.description, got.address, got.claimed_amount_fen, got.version) == (
            expected_desc, "龙岗街道学坝社区", 880_000, remote["version"])
        assert [n.text for n in got.notes] == ["快时钟手机的备注"]
        assert phone.store.outbox.count() == 0
    # The phone whose push caused the conflict shows it locally. The adjuster may read the
    # server's conflict records (exact field, both values); the liaison learns which of its
    # fields were involved.
    notes = later.store.conflicts.list(claim_id=cid)
    if later is fast_phone:
        assert [(n.field, n.kept_value, n.other_value) for n in notes] == [
            ("description", expected_desc, "描述-准确时钟手机")]
    else:
        assert [n.field for n in notes] == ["address,description"] and notes[0].kept_value is None
    assert earlier.store.conflicts.list(claim_id=cid) == []
