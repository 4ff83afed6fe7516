"""The client's mapping stays inside the record contract (claimcore.entities), which the server
applies: every field name the phone sends is one the server accepts, and pulled changes map back
to store columns."""
from __future__ import annotations

from claimcore import entities
from fieldapp.sync import wire

SPECS = {name: e.wire_fields() for name, e in entities.ENTITIES.items()}


def test_every_sent_field_is_in_the_server_contract():
    specs = SPECS
    for entity, renames in wire._OUT_RENAMES.items():
        for server_name in renames.values():
            assert server_name in specs[entity], (entity, server_name)


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
                              incident_at="2026-07-01T08:00:00+08:00", description="x", place="p",
                              claimed_fen=100, loss_types=["house"])
    store.persons.add(cid, role="victim", name="n", phone="13812345678", bank_account="6222020200000000006")
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
    synced tables is sent (under the server's name) or listed in LOCAL_ONLY with a reason."""
    from fieldapp.store import schema

    specs = SPECS
    tables = {"claim": schema.Claim, "person": schema.Person, "document": schema.Document,
              "photo": schema.Photo, "note": schema.Note, "transition": schema.Transition}
    sealed = {"id_number_enc": "id_number", "phone_enc": "phone", "bank_account_enc": "bank_account",
              "medical_enc": "medical"}
    for entity, model in tables.items():
        for col in model.__table__.columns:
            name = sealed.get(col.key, col.key)
            if name in ("id", "version", "upload_state", "claim_id"):
                continue  # identity, server version, local upload bookkeeping, parent reference
            if name in wire.LOCAL_ONLY.get(entity, ()):
                assert entities.ENTITIES[entity].fields[name].local_only
                continue
            server_name = wire._OUT_RENAMES.get(entity, {}).get(name, name)
            assert server_name in specs[entity], f"{entity}.{name} is neither sent nor listed as local"


def test_pulled_claim_maps_back_to_store_names():
    back = wire.to_store({"entity": "claim", "id": "abcdef12-0000-4000-8000-000000000000", "version": 2,
                          "op": "upsert", "fields": {"address": "a", "claimed_amount_fen": 5, "status": "reported"}})
    assert back["fields"]["place"] == "a" and back["fields"]["claimed_fen"] == 5
    assert back["fields"]["report_no_fallback"] == "ID-ABCDEF12"
