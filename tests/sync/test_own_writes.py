"""A phone's own writes do not come back in its pull; everything else still does.

The real server over loopback (a uvicorn subprocess), real store files. The change feed remembers
the phone whose push the server stored exactly as sent (changelog.record_change's origin): that
phone's later pulls skip the row (it holds the record, and took the new version from the push
receipt), its cursor moves past it all the same, and every other phone gets it. A write the
server merged, a conflict, or a change the server made itself reaches the pusher as before.
"""
from __future__ import annotations

import base64

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from sync_server.core.changelog import record_change
from sync_server.core.models import Change

from .conftest import TOWNSHIP_A, server_claim, server_conflicts


def _cursor_seq(phone) -> int:  # noqa: ANN001
    cursor = phone.store.sync_state.get().cursor
    return int(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode().split(":")[1])


def _feed_origin(server, entity_id: str) -> str | None:  # noqa: ANN001
    with server.harness.db.read() as s:
        return s.execute(select(Change.origin_device_id).where(Change.entity_id == entity_id)).scalar_one()


def test_own_writes_stay_out_of_the_pull_others_and_merges_come(loopback, phones):
    a, b = phones("a"), phones("b")
    a.enroll("liaison", township_code=TOWNSHIP_A)
    b.enroll("liaison", township_code=TOWNSHIP_A)
    a.client.sync_once()
    b.client.sync_once()
    start = _cursor_seq(a)

    cid = a.new_claim(description="原始描述")
    a.add_photo(cid, seed=1)
    queued = a.store.outbox.count()
    assert queued >= 3  # the claim, its first timeline entry, the photo record
    report = a.client.sync_once()
    assert report.pushed == queued and report.rejected == 0
    assert report.pulled == 0  # all of it is the phone's own, stored as sent
    assert _cursor_seq(a) > start  # the cursor moved past the rows it skipped
    assert _feed_origin(loopback, cid) == a.store.sync_state.get().device_id
    assert a.store.claims.get(cid).version == 1  # from the push receipt

    # Another phone of the township gets all of it.
    got = b.client.sync_once()
    assert got.pulled >= queued
    assert b.store.claims.get(cid).description == "原始描述" and b.store.claims.get(cid).version == 1

    # The next edit on the pushing phone is based on the receipt's version: applied, no conflict,
    # and not pulled back either.
    a.store.claims.update(cid, description="第二次描述")
    again = a.client.sync_once()
    assert (again.applied, again.conflicts, again.rejected, again.pulled) == (1, 0, 0, 0)
    assert server_claim(loopback, cid)["version"] == 2 and a.store.claims.get(cid).version == 2
    assert server_conflicts(loopback) == []

    # b edits the same field from version 1: a conflict; the server keeps b's value, and b is
    # served the record (its conflict), as a is.
    b.store.claims.update(cid, description="另一台手机的描述")
    clash = b.client.sync_once()
    assert clash.conflicts == 1 and clash.pulled >= 1
    assert _feed_origin(loopback, cid) is None
    assert b.store.claims.get(cid).version == 3
    assert a.client.sync_once().pulled >= 1
    assert a.store.claims.get(cid).description == "另一台手机的描述" and a.store.claims.get(cid).version == 3

    # Different fields from the same version: the server merges; the second pusher is served the
    # merged record (the first one's address with its own amount).
    a.store.claims.update(cid, address="龙岗街道学坝社区")
    b.store.claims.update(cid, claimed_amount_fen=880_000)
    assert a.client.sync_once().pulled == 0
    merged = b.client.sync_once()
    assert merged.conflicts == 0 and merged.pulled >= 1
    held = b.store.claims.get(cid)
    assert (held.address, held.claimed_amount_fen, held.version) == ("龙岗街道学坝社区", 880_000, 5)
    a.client.sync_once()
    held = a.store.claims.get(cid)
    assert (held.address, held.claimed_amount_fen, held.version) == ("龙岗街道学坝社区", 880_000, 5)


def test_a_lost_push_reply_gives_the_version_on_the_replay(loopback, phones):
    """The push committed but its reply was lost: the replay's duplicate receipts carry the
    versions, so the next edit is not a conflict with the phone's own write."""
    a = phones("a")
    a.enroll("liaison", township_code=TOWNSHIP_A)
    a.client.sync_once()
    cid = a.new_claim(description="原始描述")
    a.transport.lose_reply_next = 1
    try:
        a.client.sync_once()
    except Exception:  # noqa: BLE001 - the reply was lost on purpose; the next sync replays
        pass
    replay = a.client.sync_once()
    assert replay.duplicates >= 1 and replay.pulled == 0
    assert a.store.claims.get(cid).version == 1
    a.store.claims.update(cid, description="改过的描述")
    after = a.client.sync_once()
    assert (after.applied, after.conflicts, after.rejected) == (1, 0, 0)
    assert server_claim(loopback, cid)["version"] == 2


def test_a_first_pull_gets_the_phones_own_writes(server, phones):
    """No cursor: the phone fills an empty store (a fresh start on an enrolled device), so its
    own writes come too."""
    a = phones("a")
    a.enroll("liaison", township_code=TOWNSHIP_A)
    cid = a.new_claim()
    a.client.sync_once()
    assert a.store.sync_state.get().cursor  # the sync's own pull left its own writes out
    first = a.client._send("GET", "/api/v1/sync/pull")  # noqa: SLF001 - a pull without a cursor
    assert first.status_code == 200
    assert cid in {c["id"] for c in first.json()["changes"]}
    again = a.client._send("GET", "/api/v1/sync/pull",  # noqa: SLF001
                           params={"cursor": first.json()["cursor"]})
    assert again.json()["changes"] == []


def test_the_feed_keeps_one_row_per_entity_and_refuses_a_second_for_one_said_to_be_new(loopback, phones):
    """A claim a push creates is written to the feed without looking for a row to replace (it has
    none); its next change replaces that row. Saying "new" of an entity the feed holds already is
    refused at commit, and the feed keeps its one row."""
    a = phones("a")
    a.enroll("liaison", township_code=TOWNSHIP_A)
    cid = a.new_claim(description="原始描述")
    a.client.sync_once()
    a.store.claims.update(cid, description="第二次描述")
    assert a.client.sync_once().applied == 1

    def rows():
        with loopback.harness.db.read() as s:
            return s.execute(select(Change.seq, Change.version)
                             .where(Change.entity == "claim", Change.entity_id == cid)).all()

    before = rows()
    assert [r.version for r in before] == [2]
    with pytest.raises(IntegrityError):
        with loopback.harness.db.write() as s:
            record_change(s, "claim", cid, {"description": "不该出现"}, version=3, claim_id=cid, new=True)
    assert rows() == before
