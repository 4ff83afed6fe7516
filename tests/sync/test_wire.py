"""The client's mapping stays inside the server's contract (sync_server/policy.py): every field
name the phone sends is one the server accepts, and pulled changes map back to store columns."""
from __future__ import annotations

from fieldapp.sync import wire
from sync_server import policy


def test_every_sent_field_is_in_the_server_contract():
    specs = {"claim": policy.CLAIM_FIELDS, **policy.RECORD_ENTITIES}
    for entity, renames in wire._OUT_RENAMES.items():
        for server_name in renames.values():
            assert server_name in specs[entity], (entity, server_name)


def test_store_mutations_map_into_the_contract(tmp_path):
    from fieldapp.store import open_store

    store = open_store(tmp_path)
    cid = store.claims.create(coverage="natural_disaster", role="liaison", township_code="500111001",
                              incident_at="2026-07-01T08:00:00+08:00", description="x", place="p",
                              claimed_fen=100, loss_types=["house"])
    store.persons.add(cid, role="victim", name="n", phone="13812345678", bank_account="6222020200000000006")
    store.documents.set_status(cid, "claimant_id_card", "collected")
    store.notes.add(cid, "note")
    specs = {"claim": policy.CLAIM_FIELDS, **policy.RECORD_ENTITIES}
    for m in store.outbox.pending(100):
        out = wire.to_server(m)
        assert out["entity"] in specs
        extra = set(out["fields"]) - set(specs[out["entity"]]) - {"claim_id"}
        assert not extra, (m["entity"], extra)
    store.close()


def test_transition_travels_as_a_note_and_comes_back_as_a_transition():
    m = {"seq": 3, "entity": "transition", "id": "t1", "op": "upsert", "base_version": None,
         "fields": {"claim_id": "c1", "from_status": "reported", "to_status": "registered", "by_user": "u",
                    "role": "adjuster", "at": "2026-07-01T00:00:00+00:00", "lat": 29.7, "lon": 105.7,
                    "reason": "已登记"}}
    out = wire.to_server(m)
    assert out["entity"] == "note" and "reported → registered" in out["fields"]["text"]
    back = wire.to_store({"entity": "note", "id": "t1", "version": 1, "op": "upsert",
                          "fields": {"claim_id": "c1", "text": out["fields"]["text"]}})
    assert back["entity"] == "transition"
    assert {k: back["fields"][k] for k in m["fields"]} == m["fields"]


def test_pulled_claim_maps_back_to_store_names():
    back = wire.to_store({"entity": "claim", "id": "abcdef12-0000-4000-8000-000000000000", "version": 2,
                          "op": "upsert", "fields": {"address": "a", "claimed_amount_fen": 5, "status": "reported"}})
    assert back["fields"]["place"] == "a" and back["fields"]["claimed_fen"] == 5
    assert back["fields"]["report_no_fallback"] == "ID-ABCDEF12"
