"""The client's mapping stays inside the record contract (claimcore.entities), which the server
applies: every field name the phone sends is one the server accepts, and pulled changes map back
to store columns."""
from __future__ import annotations

from claimcore import entities
from fieldapp.sync import wire

SPECS = {name: e.wire_fields() for name, e in entities.ENTITIES.items()}


def test_local_only_fields_are_the_contracts():
    for entity, names in wire.LOCAL_ONLY.items():
        assert names == {n for n, f in entities.ENTITIES[entity].fields.items() if f.local_only}, entity


def test_a_finished_wizard_queues_nothing_empty(tmp_path):
    """Writes that change only local-only fields (the draft flag) queue nothing: the server would
    refuse an empty update."""
    from fieldapp.store import open_store

    store = open_store(tmp_path)
    cid = store.claims.create(coverage="natural_disaster", role="liaison", township_code="500111001",
                              incident_at="2026-07-01T08:00:00+08:00", description="x", is_draft=True)
    before = store.outbox.count()
    assert store.claims.update(cid, is_draft=False) == frozenset({"is_draft"})
    assert store.outbox.count() == before
    assert all(wire.to_server(m)["fields"] for m in store.outbox.pending(100))
    store.close()


def test_store_mutations_map_into_the_contract(tmp_path):
    from fieldapp.store import open_store

    store = open_store(tmp_path)
    cid = store.claims.create(coverage="natural_disaster", role="liaison", township_code="500111001",
                              incident_at="2026-07-01T08:00:00+08:00", description="x", address="p",
                              claimed_amount_fen=100, loss_types=["house"])
    store.persons.add(cid, role_in_claim="victim", name="n", phone="13812345678", bank_card="6222020200000000006")
    store.documents.set_status(cid, "claimant_id_card", "collected")
    store.notes.add(cid, "note")
    specs = SPECS
    for m in store.outbox.pending(100):
        out = wire.to_server(m)
        assert out["entity"] in specs
        extra = set(out["fields"]) - set(specs[out["entity"]]) - {"claim_id"}
        assert not extra, (m["entity"], extra)
    store.close()


def test_every_store_column_is_sent_or_deliberately_local():
    """Nothing of a record's content silently stays on the phone: each column of the store's
    synced tables is sent (under the same name: one vocabulary) or local-only in the contract."""
    from fieldapp.store import schema

    specs = SPECS
    tables = {"claim": schema.Claim, "person": schema.Person, "document": schema.Document,
              "photo": schema.Photo, "note": schema.Note, "transition": schema.Transition}
    sealed = {"id_number_enc": "id_number", "phone_enc": "phone", "bank_card_enc": "bank_card",
              "medical_enc": "medical"}
    for entity, model in tables.items():
        for col in model.__table__.columns:
            name = sealed.get(col.key, col.key)
            if name in ("id", "version", "upload_state", "claim_id"):
                continue  # identity, server version, local upload bookkeeping, parent reference
            if name in wire.LOCAL_ONLY.get(entity, ()):
                assert entities.ENTITIES[entity].fields[name].local_only
                continue
            assert name in specs[entity], f"{entity}.{name} is neither sent nor listed as local"


def test_pulled_records_keep_their_names():
    back = wire.to_store({"entity": "claim", "id": "abcdef12-0000-4000-8000-000000000000", "version": 2,
                          "op": "upsert", "fields": {"address": "a", "claimed_amount_fen": 5, "status": "reported"}})
    assert back["fields"]["address"] == "a" and back["fields"]["claimed_amount_fen"] == 5
    note = wire.to_store({"entity": "note", "id": "abcdef12-0000-4000-8000-000000000001", "version": 1,
                          "op": "upsert", "fields": {"text": "t", "created_by": "u1"}})
    assert note["fields"] == {"text": "t", "author": "u1"}
    assert back["fields"]["report_no_fallback"] == "ID-ABCDEF12"
