"""A push applies a batch as one unit and, when any mutation of it is refused, one mutation at a
time: both ways give the same answers, receipts and change feed. The feed remembers the device
whose push it stored exactly as sent; that device's later pulls leave those rows out."""
from __future__ import annotations

from sqlalchemy import select

from sync_server.core import domain
from sync_server.core.models import Change
from sync_server.sync.models import PushReceipt

from .conftest import LONGSHUI, Phone, claim_fields, new_id

CATALOGUE = domain.catalogue_version()  # what the phone's store writes on a new claim


def _report(p, cid: str, ids: list[str], *, refused_in_the_middle: bool) -> list[dict]:  # noqa: ANN001
    batch = [p.mutation("claim", cid, claim_fields(catalogue_version=CATALOGUE, status="reported"))]
    batch.append(p.mutation("person", ids[0], {"claim_id": cid, "role_in_claim": "victim", "name": "张三"}))
    if refused_in_the_middle:
        batch.append(p.mutation("claim", new_id(), claim_fields(coverage="meteor_strike")))
    batch.append(p.mutation("note", ids[1], {"claim_id": cid, "text": "屋顶漏水"}))
    batch.append(p.mutation("person", ids[0], {"claim_id": cid, "name": "张三丰"}, base_version=1))
    return batch


def _feed(harness, ids: list[str]) -> list[tuple[str, int]]:  # noqa: ANN001
    with harness.db.read() as s:
        rows = s.execute(select(Change.entity_id, Change.version).where(Change.entity_id.in_(ids))
                         .order_by(Change.seq)).all()
    return [(ids.index(i), v) for i, v in rows]


def test_whole_batch_and_one_by_one_answer_alike(actors, harness, client):
    answers, feeds = [], []
    second = Phone(client, harness.actor(role="liaison", township_code=LONGSHUI))
    for p, refused in ((actors.liaison_a, False), (second, True)):
        cid, ids = new_id(), [new_id(), new_id()]
        batch = _report(p, cid, ids, refused_in_the_middle=refused)
        r = p.push(batch)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["acked_seq"] == batch[-1]["seq"]
        got = [(x["status"], x["version"], x["error"]) for x in body["results"]]
        if refused:
            assert got[2][0] == "rejected" and got[2][2].startswith("not_in_list")
            del got[2]
        answers.append(got)
        feeds.append(_feed(harness, [cid, *ids]))
        with harness.db.read() as s:
            receipts = s.execute(select(PushReceipt.seq, PushReceipt.status).where(
                PushReceipt.device_id == p.me.device_id).order_by(PushReceipt.seq)).all()
        assert [(seq, status) for seq, status in receipts] == [(x["seq"], x["status"]) for x in body["results"]]
        # A replay applies nothing again and answers with the first results.
        again = p.push(batch).json()
        assert [(x["status"], x["original_status"], x["version"]) for x in again["results"]] == \
            [("duplicate", x["status"], x["version"]) for x in body["results"]]
    assert answers[0] == answers[1] == [("applied", 1, None), ("applied", 1, None), ("applied", 1, None),
                                        ("applied", 2, None)]
    # The claim, then the note, then the person (its later change moved it to the end).
    assert feeds[0] == feeds[1] == [(0, 1), (2, 1), (1, 2)]


def test_the_pusher_is_spared_its_own_writes_as_stored(actors, harness):
    p = actors.liaison_a
    _, cursor, _ = p.pull_all()
    as_sent, defaulted, pid = new_id(), new_id(), new_id()
    r = p.push([
        p.mutation("claim", as_sent, claim_fields(LONGSHUI, catalogue_version=CATALOGUE, status="reported")),
        # No status nor catalogue version: the server fills them in, so the phone is sent the claim.
        p.mutation("claim", defaulted, claim_fields(LONGSHUI)),
        p.mutation("person", pid, {"claim_id": as_sent, "role_in_claim": "victim", "name": "张三"}),
    ])
    assert [x["status"] for x in r.json()["results"]] == ["applied"] * 3
    with harness.db.read() as s:
        origins = dict(s.execute(select(Change.entity_id, Change.origin_device_id)).all())
    assert origins[as_sent] == origins[pid] == p.me.device_id and origins[defaulted] is None

    def pull_after(who, cursor) -> tuple[set[str], str]:  # noqa: ANN001
        got = who.client.get("/api/v1/sync/pull", headers=who.headers, params={"cursor": cursor})
        assert got.status_code == 200
        return {c["id"] for c in got.json()["changes"]}, got.json()["cursor"]

    seen, moved = pull_after(p, cursor)
    assert seen == {defaulted} and moved != cursor
    assert pull_after(p, moved)[0] == set()  # the cursor went past the rows left out
    office, _, _ = actors.adjuster.pull_all()
    assert {as_sent, defaulted, pid} <= {c["id"] for c in office}

    # An edit on a version the device did not have (another device's change came between) is
    # merged by the server: its result comes back to the pusher.
    other = actors.coordinator
    assert other.push_one("claim", as_sent, {"description": "协调员的描述"}, base_version=1)["version"] == 2
    assert p.push_one("claim", as_sent, {"claimed_amount_fen": 50_000}, base_version=1)["version"] == 3
    seen, moved = pull_after(p, moved)
    assert seen == {as_sent}
    assert p.push_one("claim", as_sent, {"claimed_amount_fen": 60_000}, base_version=3)["version"] == 4
    assert pull_after(p, moved)[0] == set()
