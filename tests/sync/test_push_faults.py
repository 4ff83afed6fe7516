"""Push under faults: lost replies, captive portals, replays, a server SIGKILLed mid-push.

Invariant everywhere: nothing lost (every local record reaches the server), nothing duplicated
(one server row per record, every mutation applied once), outbox empty only after a parsed ack.
"""
from __future__ import annotations

import random
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from fieldapp.sync import Offline, wire

from .conftest import TOWNSHIP_A, TOWNSHIP_B, server_claim, server_counts, server_records, valid_id_number


def _fill(phone, claims: int, seed: int = 0) -> dict[str, list[str]]:
    rng = random.Random(seed)
    made: dict[str, list[str]] = {"claim": [], "person": [], "document": []}
    for i in range(claims):
        cid = phone.new_claim(description=f"第 {i} 户 房屋倒塌")
        made["claim"].append(cid)
        made["person"].append(phone.store.persons.add(cid, role_in_claim="victim", name=f"户主{i}",
                                                      id_number=valid_id_number(rng)))
        phone.store.documents.set_status(cid, "claimant_id_card", "collected")
        made["document"].append(cid)
    return made


def _assert_server_holds_exactly(server, phone, made: dict[str, list[str]]) -> None:
    counts = server_counts(server)
    n = len(made["claim"])
    # one timeline entry per claim: "reported"
    assert counts == {"claim": n, "person": n, "document": n, "transition": n}, counts
    persons = {p["id"]: p for p in server_records(server, "person")}
    assert set(persons) == set(made["person"])
    for cid in made["claim"]:
        local = phone.store.claims.get(cid)
        remote = server_claim(server, cid)
        assert remote["description"] == local.description
        assert remote["version"] == 1, "a replayed create must not bump the version"


def test_reply_lost_after_commit_is_resent_and_not_applied_twice(server, phones):
    phone = phones()
    phone.enroll("liaison", township_code=TOWNSHIP_A)
    made = _fill(phone, 30)
    phone.client.push_batch = 25
    phone.client.pull()  # the phone holds a cursor: the next sync's first request is the push
    before = phone.store.outbox.count()
    phone.transport.lose_reply_next = 1
    with pytest.raises(Offline) as caught:
        phone.client.sync_once()
    assert caught.value.code == "offline"
    # The server committed the first batch but the phone never saw the ack: it keeps all entries.
    assert phone.store.outbox.count() == before
    assert server_counts(server)["claim"] > 0
    assert phone.client.status().last_error == "offline"
    report = phone.client.sync_once()
    assert report.duplicates == 25 and report.rejected == 0
    assert phone.store.outbox.count() == 0
    _assert_server_holds_exactly(server, phone, made)


class CaptivePortal(httpx.BaseTransport):
    """A hotel Wi-Fi: every request answers 200 with a login page."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "text/html"},
                              content=b"<html><body>Please log in to WiFi</body></html>")


class WrongJson(httpx.BaseTransport):
    """A proxy answering JSON that is not an acknowledgement of what was sent."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"acked_seq": 10**9, "results": []})


@pytest.mark.parametrize("portal", [CaptivePortal, WrongJson])
def test_a_200_that_is_not_an_ack_clears_nothing(server, phones, portal):
    phone = phones()
    phone.enroll("liaison", township_code=TOWNSHIP_A)
    made = _fill(phone, 3)
    before = phone.store.outbox.pending(1000)
    real = phone.transport.inner
    phone.transport.inner = portal()
    with pytest.raises(Offline) as caught:
        phone.client.sync_once()
    assert caught.value.code == "not_acknowledged"
    assert phone.store.outbox.pending(1000) == before
    assert server_counts(server)["claim"] == 0
    phone.transport.inner = real
    phone.client.sync_once()
    _assert_server_holds_exactly(server, phone, made)


def test_same_batch_replayed_20_times_concurrently(loopback, phones):
    phone = phones()
    phone.enroll("liaison", township_code=TOWNSHIP_A)
    made = _fill(phone, 20)
    batch = [wire.to_server(m) for m in phone.store.outbox.pending(100)]
    state = phone.store.sync_state.get()
    body = {"device_id": state.device_id, "mutations": batch}
    headers = {"Authorization": f"Bearer {state.token}"}
    start = threading.Barrier(20)

    def replay(_i: int) -> dict:
        with httpx.Client(base_url=loopback.url, timeout=60) as c:
            start.wait()
            r = c.post("/api/v1/sync/push", json=body, headers=headers)
            assert r.status_code == 200, r.text
            return r.json()

    with ThreadPoolExecutor(20) as pool:
        replies = list(pool.map(replay, range(20)))
    seqs = [m["seq"] for m in batch]
    for reply in replies:
        assert reply["acked_seq"] == seqs[-1]
        assert [r["seq"] for r in reply["results"]] == seqs
    # Exactly one reply applied each mutation; the other 19 saw duplicates of that result.
    for i, seq in enumerate(seqs):
        statuses = [reply["results"][i]["status"] for reply in replies]
        assert statuses.count("applied") == 1, (seq, statuses)
        assert statuses.count("duplicate") == 19
    _assert_server_holds_exactly(loopback, phone, made)
    # The phone itself has not seen any ack: it resends once more, gets duplicates, clears.
    report = phone.client.sync_once()
    assert report.duplicates == len(seqs) and phone.store.outbox.count() == 0
    _assert_server_holds_exactly(loopback, phone, made)


def test_server_sigkilled_mid_push_then_restarted(loopback, phones):
    phone = phones()
    phone.enroll("liaison", township_code=TOWNSHIP_A)
    made = _fill(phone, 120, seed=3)  # 480 mutations: 5 batches of 100
    rng = random.Random(7)
    kills = 0
    for _round in range(3):
        if phone.store.outbox.count() == 0:
            break
        delay = rng.uniform(0.02, 0.4)
        killer = threading.Timer(delay, loopback.kill)
        killer.start()
        try:
            phone.client.sync_once()
        except Offline:
            kills += 1
        killer.join()
        # Whatever the phone still holds was not acknowledged; whatever it dropped was.
        acked = phone.store.sync_state.get().last_acked_seq
        assert all(m["seq"] > acked for m in phone.store.outbox.pending(1000))
        loopback.process.start()
    assert kills >= 1, "the kill never landed during a sync; the test proved nothing"
    phone.sync_until_quiet()
    assert phone.store.outbox.count() == 0
    _assert_server_holds_exactly(loopback, phone, made)
    assert phone.client.rejections() == []


def test_offline_push_keeps_everything_and_counts_as_offline(server, phones):
    phone = phones()
    phone.enroll("liaison", township_code=TOWNSHIP_A)
    _fill(phone, 2)
    phone.transport.offline = True
    before = phone.store.outbox.count()
    with pytest.raises(Offline):
        phone.client.sync_once()
    st = phone.client.status()
    assert st.online is False and st.pending_changes == before
    assert st.last_error == "offline" and "联网" in st.last_error_zh and st.last_error_en
    assert server_counts(server)["claim"] == 0


def _claim_from_an_older_app(phone) -> str:
    """A claim whose queued creation breaks today's contract (an older app version let an empty
    account of events through); the record on the phone itself is fine."""
    from sqlalchemy import text

    cid = phone.new_claim()
    with phone.store.engine.begin() as conn:
        conn.execute(text("UPDATE outbox SET fields = json_set(fields, '$.description', '') "
                          "WHERE entity = 'claim' AND entity_id = :id"), {"id": cid})
    return cid


def test_rejected_change_is_shown_not_resent_and_the_rest_goes_through(server, phones):
    phone = phones()
    phone.enroll("liaison", township_code=TOWNSHIP_A)
    good = phone.new_claim()
    bad = _claim_from_an_older_app(phone)  # the server requires a description
    pid = phone.store.persons.add(good, role_in_claim="victim", name="王五", id_number=valid_id_number())
    report = phone.client.sync_once()
    assert report.rejected >= 1
    problems = phone.client.rejections()
    assert {p["id"] for p in problems if p["entity"] == "claim"} == {bad}
    assert all("value" not in p for p in problems)
    assert server_claim(server, good) is not None and server_claim(server, bad) is None
    assert [p["id"] for p in server_records(server, "person")] == [pid]
    # Not re-sent: the outbox is empty and the next sync is a single pull.
    assert phone.store.outbox.count() == 0
    requests = phone.transport.requests
    phone.client.sync_once()
    assert phone.transport.requests - requests == 1
    assert phone.client.status().rejections == len(problems)
    phone.client.dismiss_problem(problems[0]["entity"], problems[0]["id"])
    assert len(phone.client.rejections()) == len(problems) - 1


def test_rejection_whose_reply_was_lost_is_still_shown(server, phones):
    phone = phones()
    phone.enroll("liaison", township_code=TOWNSHIP_A)
    bad = _claim_from_an_older_app(phone)
    phone.transport.lose_reply_next = 1
    with pytest.raises(Offline):
        phone.client.sync_once()
    phone.client.sync_once()
    assert [p["id"] for p in phone.client.rejections() if p["entity"] == "claim"] == [bad]


def test_a_refused_creation_corrected_on_the_phone_ends_on_the_server(server, phones):
    """Nothing stranded: the refused claim stays on the phone with its reason; once the user
    corrects it, the whole record (and its timeline entry, refused for want of its claim) is sent
    again and the server ends up with both."""
    phone = phones()
    phone.enroll("liaison", township_code=TOWNSHIP_A)
    bad = _claim_from_an_older_app(phone)
    phone.client.sync_once()
    problems = {p["entity"]: p for p in phone.client.rejections()}
    assert problems["claim"]["code"] == "required" and problems["claim"]["field"] == "description"
    assert problems["transition"]["code"] == "claim_not_found"
    assert server_claim(server, bad) is None
    assert phone.store.claims.get(bad).description  # kept on the phone
    phone.store.claims.update(bad, description="暴雨致房屋倒塌，已核实")  # the user's correction
    phone.client.sync_once()
    on_server = server_claim(server, bad)
    assert on_server is not None and on_server["description"] == "暴雨致房屋倒塌，已核实"
    assert on_server["coverage"] == "natural_disaster" and on_server["incident_at"] is not None
    assert [r["claim_id"] for r in server_records(server, "transition")] == [bad], phone.client.rejections()
    assert phone.client.rejections() == []
    assert phone.store.outbox.count() == 0


def test_a_record_refused_for_a_claim_out_of_scope_is_sent_again_once_not_forever(server, phones):
    """A liaison's note on a claim the office moved to another township: the server answers as for
    an unknown claim. The phone tries the whole record once more (its claim is known to be on the
    server), then keeps it as a problem instead of sending it in a loop."""
    office, phone = phones(), phones()
    office.enroll("adjuster")
    phone.enroll("liaison", township_code=TOWNSHIP_A)
    cid = phone.new_claim()
    phone.sync_until_quiet()
    office.sync_until_quiet()
    office.store.claims.update(cid, township_code=TOWNSHIP_B)
    office.sync_until_quiet()
    note = phone.store.notes.add(cid, "村委会已核实")
    before = phone.transport.requests
    phone.client.sync_once()
    problems = phone.client.rejections()
    assert [(p["entity"], p["id"], p["code"]) for p in problems] == [("note", note.id, "claim_not_found")]
    assert phone.transport.requests - before <= 4  # push, the one retry, pull; no loop
    assert phone.store.notes.list_for_claim(cid)[0].text == "村委会已核实"  # kept on the phone
    phone.client.sync_once()
    assert len(phone.client.rejections()) == 1 and phone.store.outbox.count() == 0


def test_a_malformed_entry_refused_as_a_whole_batch_does_not_block_the_rest(server, phones, monkeypatch):
    phone = phones()
    phone.enroll("liaison", township_code=TOWNSHIP_A)
    made = _fill(phone, 5)
    poisoned = phone.store.outbox.pending(100)[5]
    real = wire.to_server

    def to_server(m, **kw):  # noqa: ANN001, ANN003, ANN202 - an entry an older app wrote wrongly
        out = real(m, **kw)
        if m["seq"] == poisoned["seq"]:
            out["op"] = "merge"
        return out

    monkeypatch.setattr(wire, "to_server", to_server)
    report = phone.client.sync_once()
    assert report.rejected == 1
    assert [(p["seq"], p["entity"]) for p in phone.client.rejections()] == [(poisoned["seq"], poisoned["entity"])]
    assert phone.store.outbox.count() == 0
    counts = server_counts(server)
    assert counts["claim"] == 5 and counts["transition"] + counts["person"] + counts["document"] == 14
    assert {p["id"] for p in server_records(server, "person")} | {poisoned["id"]} >= set(made["person"])
