"""Every local change leaves exactly one wire mutation with the changed fields only."""
from __future__ import annotations

import threading

import pytest

from claimcore.workflow import WorkflowError
from fieldapp.store import NotFoundError, StoreValidationError

from .conftest import BANK_ACCOUNT, ID_NUMBER, PHONE, intake, new_claim


def test_create_writes_claim_and_first_timeline_entry(store):
    cid = new_claim(store)
    batch = store.outbox.pending()
    assert [(m["entity"], m["op"]) for m in batch] == [("claim", "upsert"), ("transition", "upsert")]
    claim_m, step_m = batch
    assert claim_m["id"] == cid and claim_m["base_version"] is None
    assert claim_m["fields"]["status"] == "reported"
    assert claim_m["fields"]["report_no"].startswith("DZ-")
    assert claim_m["fields"]["claimed_amount_fen"] == 100000
    assert step_m["fields"] == {**step_m["fields"], "claim_id": cid, "from_status": None,
                                "to_status": "reported", "role": "liaison"}
    assert [m["seq"] for m in batch] == sorted(m["seq"] for m in batch)
    assert all(set(m) == {"seq", "entity", "id", "op", "fields", "base_version"} for m in batch)


def test_update_sends_only_changed_fields(store):
    cid = new_claim(store)
    store.outbox.ack(store.outbox.pending()[-1]["seq"])
    changed = store.claims.update(cid, description="房屋倒塌", address="龙岗街道学坝社区", claimed_amount_fen=100000)
    assert changed == {"description"}
    (m,) = store.outbox.pending()
    assert m["entity"] == "claim" and m["id"] == cid
    assert m["fields"] == {"description": "房屋倒塌"}


def test_no_op_update_writes_nothing(store):
    cid = new_claim(store)
    before = store.outbox.count()
    updated_at = store.claims.get(cid).updated_at
    assert store.claims.update(cid, address="龙岗街道学坝社区") == frozenset()
    assert store.outbox.count() == before
    assert store.claims.get(cid).updated_at == updated_at


def test_base_version_is_the_server_version_the_edit_was_made_on(store):
    cid = new_claim(store)
    store.outbox.ack(10**6)
    store.apply_remote_changes([{"entity": "claim", "id": cid, "version": 7, "op": "upsert",
                                 "fields": {"status": "reported"}}], "c1")
    store.claims.update(cid, claimed_amount_fen=2_000_00)
    (m,) = store.outbox.pending()
    assert m["base_version"] == 7 and m["fields"] == {"claimed_amount_fen": 200000}


def test_bad_input_changes_nothing(store):
    cid = new_claim(store)
    before_count, before = store.outbox.count(), store.claims.get(cid)
    for bad in ({"claimed_amount_fen": 12.5}, {"claimed_amount_fen": -1}, {"claimed_amount_fen": True},
                {"loss_types": ["flood"]}, {"township_code": "110101001"},
                {"village_code": "500111002001"}, {"status": "paid"}, {"report_no": "X"},
                {"incident_at": "2026-07-01T08:00:00"}, {"coverage": "alien_invasion"}):
        with pytest.raises(StoreValidationError) as info:
            store.claims.update(cid, **bad)
        assert info.value.message("zh") and info.value.message("en")
    assert store.outbox.count() == before_count
    assert store.claims.get(cid) == before
    with pytest.raises(NotFoundError):
        store.claims.update("00000000-0000-4000-8000-000000000000", description="x")


def test_refused_transition_changes_nothing(store):
    cid = new_claim(store)
    before = store.outbox.count()
    with pytest.raises(WorkflowError):
        store.claims.transition(cid, "paid", role="adjuster", user="a1")
    with pytest.raises(WorkflowError):
        store.claims.transition(cid, "registered", role="liaison", user="l1")
    assert store.outbox.count() == before
    assert store.claims.get(cid).status == "reported"
    assert len(store.claims.timeline(cid)) == 1


def test_transition_records_timeline_and_two_mutations(store):
    cid = new_claim(store)
    store.outbox.ack(10**6)
    rec = store.claims.transition(cid, "registered", role="adjuster", user="adj-1", lat=29.7, lon=105.7)
    claim_m, step_m = store.outbox.pending()
    assert claim_m["entity"] == "claim" and claim_m["fields"] == {"status": "registered"}
    assert step_m["entity"] == "transition" and step_m["id"] == rec.id
    assert step_m["fields"]["by_user"] == "adj-1" and step_m["fields"]["lat"] == 29.7
    assert [t.to_status for t in store.claims.timeline(cid)] == ["reported", "registered"]


def test_person_mutation_carries_personal_fields_but_outbox_seals_them(store):
    cid = new_claim(store)
    store.outbox.ack(10**6)
    pid = store.persons.add(cid, role_in_claim="victim", name="张三", relation="self", id_number=ID_NUMBER,
                            phone=PHONE, bank_card=BANK_ACCOUNT, bank_name="农业银行大足支行")
    (m,) = store.outbox.pending()
    assert m["entity"] == "person" and m["id"] == pid
    assert m["fields"]["id_number"] == ID_NUMBER and m["fields"]["phone"] == PHONE
    with store.engine.connect() as conn:
        raw = conn.exec_driver_sql("SELECT fields, sealed FROM outbox").one()
    assert ID_NUMBER not in raw[0] and PHONE not in raw[0] and raw[1] is not None
    store.outbox.ack(10**6)
    assert store.persons.update(pid, phone="13900001111", name="张三") == {"phone"}
    (m,) = store.outbox.pending()
    assert m["fields"] == {"claim_id": cid, "phone": "13900001111"}


def test_each_repository_write_has_its_mutation(store):
    cid = new_claim(store)
    store.outbox.ack(10**6)
    store.documents.set_status(cid, "claimant_id_card", "collected", user="l1")
    store.documents.set_status(cid, "claimant_id_card", "collected", user="l1")  # no change
    store.photos.add(cid, intake(1))
    store.photos.add(cid, intake(1))  # identical bytes: one photo
    store.notes.add(cid, "村委会已确认受灾情况", author="l1")
    batch = store.outbox.pending()
    assert [m["entity"] for m in batch] == ["document", "photo", "note"]
    assert batch[0]["fields"]["status"] == "collected" and batch[0]["fields"]["code"] == "claimant_id_card"
    assert batch[1]["fields"]["sha256"] == intake(1).sha256 and "upload_state" not in batch[1]["fields"]


def test_ack_removes_only_up_to_seq(store):
    cid = new_claim(store)
    for i in range(5):
        store.notes.add(cid, f"note {i}")
    seqs = [m["seq"] for m in store.outbox.pending(100)]
    assert len(seqs) == 7
    assert store.outbox.ack(seqs[3]) == 4
    assert [m["seq"] for m in store.outbox.pending()] == seqs[4:]
    assert store.outbox.ack(seqs[3]) == 0  # an acknowledgement replayed removes nothing more
    assert store.sync_state.get().last_acked_seq == seqs[3]
    store.notes.add(cid, "after ack")
    assert store.outbox.pending()[-1]["seq"] > seqs[-1]  # never reused
    assert store.outbox.pending(limit=2) == store.outbox.pending()[:2]


def test_two_threads_writing_lose_nothing(store):
    cid = new_claim(store)
    store.outbox.ack(10**6)
    errors = []

    def writer(tag):
        try:
            for i in range(40):
                store.notes.add(cid, f"{tag}-{i}")
                store.claims.update(cid, description=f"{tag}-{i}")
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(t,)) for t in "ab"]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    notes = {n.text for n in store.notes.list_for_claim(cid)}
    assert notes == {f"{t}-{i}" for t in "ab" for i in range(40)}
    batch = store.outbox.pending(1000)
    assert sum(m["entity"] == "note" for m in batch) == 80
    assert sum(m["entity"] == "claim" and "description" in m["fields"] for m in batch) == 80


def test_invalid_personal_numbers_are_refused_and_nothing_written(store):
    cid = new_claim(store)
    before = store.outbox.count()
    for bad in ({"id_number": "500111199001011234"}, {"id_number": "12345"}, {"phone": "1380000123"},
                {"bank_card": "6222020200112233445"}):
        with pytest.raises(StoreValidationError) as info:
            store.persons.add(cid, role_in_claim="victim", name="张三", **bad)
        assert "校验" in info.value.message("zh") or "应为" in info.value.message("zh")
    assert store.persons.list_for_claim(cid) == [] and store.outbox.count() == before
    # normalised on the way in: separators, +86, lower-case x
    pid = store.persons.add(cid, role_in_claim="payee", name="张三", phone="+86 138-0000-1234",
                            bank_card="6222 0202 0011 2233 446", id_number="50011119900101123x"[:-1] + "2")
    p = store.persons.get(pid)
    assert (p.phone, p.bank_card) == ("13800001234", "6222020200112233446")
    passbook = store.persons.add(cid, role_in_claim="payee", name="李四", bank_card="0102 3456 7890 12")
    assert store.persons.get(passbook).bank_card == "01023456789012"  # passbook: no check digit


def test_every_mutation_is_valid_on_the_wire(store):
    from claimcore.wire import validate_mutations

    cid = new_claim(store, event_id="0f8fad5b-d9cb-469f-a165-70867728950e")
    pid = store.persons.add(cid, role_in_claim="victim", name="张三", id_number=ID_NUMBER, phone=PHONE,
                            bank_card=BANK_ACCOUNT, medical={"diagnosis": "骨折"})
    store.persons.update(pid, relation="self")
    store.claims.update(cid, claimed_amount_fen=5, lat=29.7, lon=105.8, incident_at="2026-07-01T08:00:00+08:00")
    store.claims.transition(cid, "registered", role="adjuster", user="a1")
    store.documents.set_status(cid, "weather_certificate", "not_applicable", note="非自然灾害")
    store.documents.attach_scan(cid, "claimant_id_card", b"%PDF-1.4 scan-bytes", user="l1")
    store.photos.add(cid, intake(7))
    store.notes.add(cid, "note")
    store.persons.remove(pid)
    batch = store.outbox.pending(1000)
    assert validate_mutations(batch) == batch
    with pytest.raises(StoreValidationError):
        store.claims.update(cid, event_id="flood-2026")


def test_surveyor_answers_and_costs_go_out_with_what_the_server_needs(store):
    """An assignment answered offline carries the decline reason or the arrival fix; a survey
    cost carries its receipt hash; bad amounts and a missing receipt write nothing."""
    import uuid as _uuid

    from fieldapp.store import NotFoundError, StoreValidationError

    aid, cid = str(_uuid.uuid4()), str(_uuid.uuid4())
    store.apply_remote_changes([{"entity": "assignment", "id": aid, "version": 1, "op": "upsert",
                                 "fields": {"claim_id": cid, "insurer_code": "cpic", "status": "assigned"}}],
                               "c1")
    before = store.outbox.count()
    assert store.assignments.set_status(aid, "arrived", user="u1", lat=29.6, lon=105.75)
    cost = store.assignments.log_cost(aid, on="2026-07-12", amount_fen=12_050, note="车辆使用费",
                                      receipt_sha256="ab" * 32)
    for bad in ({"amount_fen": 0}, {"amount_fen": 12.5}, {"receipt_sha256": ""}):
        args = {"on": "2026-07-12", "amount_fen": 100, "note": "误餐", "receipt_sha256": "cd" * 32, **bad}
        with pytest.raises(StoreValidationError):
            store.assignments.log_cost(aid, **args)
    with pytest.raises(NotFoundError):
        store.assignments.log_cost(str(_uuid.uuid4()), on="2026-07-12", amount_fen=1, note="",
                                   receipt_sha256="ab" * 32)
    pending = store.outbox.pending(100)[before:]
    assert [(m["entity"], m["fields"].get("status")) for m in pending] == [("assignment", "arrived"), ("cost", None)]
    assert pending[0]["fields"]["lat"] == 29.6 and pending[0]["fields"]["lon"] == 105.75
    assert pending[1]["id"] == cost
    assert pending[1]["fields"] == {"assignment_id": aid, "on": "2026-07-12", "amount_fen": 12_050,
                                    "category": "survey", "note": "车辆使用费", "receipt_sha256": "ab" * 32}
