"""apply_remote_changes: server values land, unsent local edits are never clobbered, one transaction."""
from __future__ import annotations

import uuid

import pytest

from fieldapp.store import StoreValidationError, open_store

from .conftest import ID_NUMBER, TOWNSHIP, new_claim


def _server_claim(cid: str, version: int, **fields):
    base = {"report_no": "DZ-20260701-SRV1-0001", "coverage": "fire_explosion", "status": "registered",
            "township_code": TOWNSHIP, "loss_types": ["house"], "created_at": "2026-07-01T01:00:00.000000+00:00",
            "updated_at": "2026-07-01T02:00:00.000000+00:00", "is_draft": False, "claimed_amount_fen": 5000}
    base.update(fields)
    return {"entity": "claim", "id": cid, "version": version, "op": "upsert", "fields": base}


def test_new_records_from_server_are_inserted_with_version_and_cursor(store):
    cid, pid = str(uuid.uuid4()), str(uuid.uuid4())
    # person first: a page may carry a child before its claim
    result = store.apply_remote_changes([
        {"entity": "person", "id": pid, "version": 3, "op": "upsert",
         "fields": {"claim_id": cid, "role_in_claim": "victim", "name": "李四", "id_number": ID_NUMBER}},
        _server_claim(cid, 5),
        {"entity": "photo", "id": str(uuid.uuid4()), "version": 1, "op": "upsert",
         "fields": {"claim_id": cid, "sha256": "a" * 64, "flags": ["no_fix"], "width": 10, "height": 10}},
    ], "cursor-1")
    assert result.applied == 3 and result.kept_local == [] and result.skipped == []
    detail = store.claims.get(cid)
    assert detail.version == 5 and detail.status == "registered" and detail.township_name == "龙岗街道"
    assert detail.persons[0].id_number == ID_NUMBER and detail.persons[0].version == 3
    assert detail.photos[0].upload_state == "original"  # the server holds it: nothing to upload
    assert store.photos.pending_upload() == []
    assert store.sync_state.get().cursor == "cursor-1"
    assert store.outbox.count() == 0  # pulled data is not pushed back
    with store.engine.connect() as conn:
        blob = conn.exec_driver_sql("SELECT id_number_enc FROM persons").scalar()
    assert ID_NUMBER.encode() not in blob


def test_unsent_local_field_is_kept_other_fields_take_server_values(store):
    cid = new_claim(store)
    store.outbox.ack(10**6)
    store.claims.update(cid, description="本机修改：屋顶塌陷")
    result = store.apply_remote_changes([
        _server_claim(cid, 9, description="服务器上的描述", claimed_amount_fen=777, address="宝顶镇")], "c2")
    detail = store.claims.get(cid)
    assert detail.description == "本机修改：屋顶塌陷"  # local edit waits in the outbox: kept
    assert detail.claimed_amount_fen == 777 and detail.address == "宝顶镇"  # others: server's
    assert detail.version == 9
    assert result.kept_local == [("claim", cid, "description")]
    (m,) = store.outbox.pending()
    assert m["fields"] == {"description": "本机修改：屋顶塌陷"}  # still going to the server
    # once the server acknowledged the push, its value is accepted again
    store.outbox.ack(m["seq"])
    store.apply_remote_changes([_server_claim(cid, 10, description="服务器合并后的描述")], "c3")
    assert store.claims.get(cid).description == "服务器合并后的描述"


def test_unsent_personal_field_is_kept(store):
    cid = new_claim(store)
    pid = store.persons.add(cid, role_in_claim="payee", name="王五", bank_card="6222020200112233446")
    store.outbox.ack(10**6)
    store.persons.update(pid, bank_card="6228480402564890018")
    store.apply_remote_changes([{"entity": "person", "id": pid, "version": 4, "op": "upsert",
                                 "fields": {"claim_id": cid, "role_in_claim": "payee", "name": "王五",
                                            "bank_card": "6222020200112233446", "bank_name": "建设银行"}}], "c")
    p = store.persons.get(pid)
    assert p.bank_card == "6228480402564890018" and p.bank_name == "建设银行" and p.version == 4


def test_server_delete_waits_for_unsent_local_edits(store):
    cid = new_claim(store)
    pid = store.persons.add(cid, role_in_claim="agent", name="赵六")
    result = store.apply_remote_changes([{"entity": "person", "id": pid, "version": 2, "op": "delete",
                                          "fields": {}}], "c")
    assert result.kept_local == [("person", pid, "*")]
    assert store.persons.get(pid).name == "赵六"
    store.outbox.ack(10**6)
    store.apply_remote_changes([{"entity": "person", "id": pid, "version": 3, "op": "delete", "fields": {}}], "c2")
    assert store.persons.list_for_claim(cid) == []


def test_a_bad_change_rolls_back_the_whole_page_and_the_cursor(store):
    cid = str(uuid.uuid4())
    store.sync_state.set(cursor="before")
    with pytest.raises(StoreValidationError):
        store.apply_remote_changes([_server_claim(cid, 1), {"entity": "claim", "fields": {}}], "after")
    assert store.sync_state.get().cursor == "before"
    assert store.claims.count() == 0


def test_orphan_child_is_refused_at_commit(store):
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError):
        store.apply_remote_changes([{"entity": "note", "id": str(uuid.uuid4()), "version": 1, "op": "upsert",
                                     "fields": {"claim_id": str(uuid.uuid4()), "text": "x",
                                                "created_at": "2026-07-01T00:00:00+00:00"}}], "x")
    assert store.sync_state.get().cursor is None


def test_unknown_entities_are_skipped_and_listed(store):
    oid = str(uuid.uuid4())
    result = store.apply_remote_changes([
        {"entity": "hologram", "id": "h1", "version": 1, "op": "upsert", "fields": {}},
        {"entity": "opinion", "id": oid, "version": 1, "op": "upsert", "fields": {"vote": "yes"}},
    ], "c")
    assert result.skipped == [("hologram", "h1"), ("opinion", oid)] and result.applied == 0
    assert store.sync_state.get().cursor == "c"


@pytest.mark.parametrize("bad", [
    {"entity": "claim", "id": "not-a-uuid", "version": 1, "op": "upsert", "fields": {}},
    {"entity": "claim", "id": "0f8fad5b-d9cb-469f-a165-70867728950e", "version": 1, "op": "upsert",
     "fields": {"claimed_amount_fen": 1.5}},
    {"entity": "note", "id": "0f8fad5b-d9cb-469f-a165-70867728950e", "op": "upsert", "fields": {}},
    "not a change",
])
def test_malformed_change_rolls_back_page(store, bad):
    cid = str(uuid.uuid4())
    with pytest.raises(StoreValidationError):
        store.apply_remote_changes([_server_claim(cid, 1), bad], "after")
    assert store.claims.count() == 0 and store.sync_state.get().cursor is None


def test_assignments_and_conflict_notes_arrive(store):
    cid = new_claim(store)
    aid, k1, k2 = (str(uuid.uuid4()) for _ in range(3))
    store.apply_remote_changes([
        {"entity": "assignment", "id": aid, "version": 1, "op": "upsert",
         "fields": {"claim_id": cid, "insurer_code": "cpic", "status": "offered", "due": "2026-07-02"}},
        {"entity": "conflict", "id": k1, "version": 1, "op": "upsert",
         "fields": {"claim_id": cid, "entity": "claim", "entity_id": cid, "field": "place",
                    "kept_value": "宝顶镇", "other_value": "龙岗街道", "at": "2026-07-01T00:00:00+00:00"}},
        {"entity": "conflict", "id": k2, "version": 1, "op": "upsert",
         "fields": {"claim_id": cid, "entity": "person", "entity_id": "p", "field": "id_number",
                    "kept_value": ID_NUMBER, "other_value": "500111198001011115"}},
    ], "c")
    (a,) = store.assignments.list()
    assert a.status == "offered" and a.fields == {"due": "2026-07-02"}
    assert store.assignments.set_status(aid, "accepted", user="s1") is True
    assert store.outbox.pending()[-1]["entity"] == "assignment"
    notes = {n.id: n for n in store.conflicts.list(claim_id=cid)}
    assert notes[k1].other_value == "龙岗街道" and notes[k2].kept_value == ID_NUMBER
    with store.engine.connect() as conn:
        raw = " ".join(str(r) for r in conn.exec_driver_sql("SELECT kept_value, other_value FROM conflict_notes"))
    assert ID_NUMBER not in raw  # a conflict over an ID number is sealed too
    store.conflicts.mark_seen(k1)
    assert [n.id for n in store.conflicts.list(unseen_only=True)] == [k2]


def test_sync_state_token_is_sealed_and_survives_reopen(data_dir):
    s = open_store(data_dir)
    s.sync_state.set(device_id="dev-1", token="tok-secret-123456", server_url="https://x", cursor="c9",
                     last_sync_at="2026-07-01T08:00:00+08:00")
    s.close()
    s = open_store(data_dir)
    st = s.sync_state.get()
    assert (st.device_id, st.token, st.cursor, st.last_sync_at) == (
        "dev-1", "tok-secret-123456", "c9", "2026-07-01T00:00:00.000000+00:00")
    s.close()
    assert b"tok-secret-123456" not in (data_dir / "store.db").read_bytes()


def test_push_receipts_raise_versions_and_never_lower_them(store):
    """The versions a push's receipts give the phone's own writes: a record takes a higher one, a
    newer one it pulled meanwhile stays, and a receipt for a record or kind the phone does not hold
    changes nothing."""
    mine, pulled = new_claim(store), str(uuid.uuid4())
    store.apply_remote_changes([_server_claim(pulled, 7)], "cursor-1")
    store.take_versions([("claim", mine, 3), ("claim", pulled, 5), ("claim", str(uuid.uuid4()), 9),
                         ("no_such_kind", mine, 99)])
    assert store.claims.get(mine).version == 3
    assert store.claims.get(pulled).version == 7
    store.take_versions([("claim", mine, 2)])
    assert store.claims.get(mine).version == 3
