"""The phone accepts exactly what the server accepts: one record contract (claimcore.entities).

For every field a phone writes, values are drawn around each of the contract's bounds (and off
them: wrong kinds, unknown codes, empty required text). A value the phone's store accepts is sent
by the real sync client to the real server over loopback, and the server must hold it afterwards;
a value the store refuses is forced into the outbox as an older app would have queued it, and the
server must refuse it through the same real push. Nothing else decides the verdicts.
"""
from __future__ import annotations

import datetime as dt
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from claimcore import entities, wire
from fieldapp.store import CLAIM_EDITABLE, StoreValidationError, document_id
from fieldapp.store.outbox import record_mutation

from .conftest import TOWNSHIP_A, server_claim, server_records, valid_id_number

# Text as a phone's keyboard makes it: any character but lone surrogates (not encodable).
TEXT = st.characters(blacklist_categories=("Cs",))
EXAMPLES = settings(max_examples=30, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def around(spec: entities.Field) -> st.SearchStrategy:
    """Values at, just inside and just outside the field's bounds, plus wrong kinds."""
    junk = st.sampled_from([None, True, 1.5, [], {}, "x" * 3])
    if spec.kind == "text":
        n = spec.max_length or 10
        sizes = st.sampled_from([0, 1, n - 1, n, n + 1, n + 50])
        return st.one_of(sizes.map(lambda k: "字" * k), st.text(TEXT, min_size=0, max_size=n + 2), junk)
    if spec.kind in ("int", "fen", "number"):
        lo, hi = int(spec.min), int(spec.max)
        edges = [lo - 1, lo, lo + 1, hi - 1, hi, hi + 1]
        inner = st.integers(lo, hi)
        nums = st.one_of(st.sampled_from(edges), inner)
        if spec.kind == "number":
            nums = st.one_of(nums, st.floats(lo - 1, hi + 1, allow_nan=False))
        return st.one_of(nums, junk, st.just(str(lo)))
    if spec.kind == "code":
        return st.one_of(st.sampled_from(entities.VOCAB[spec.vocab]), st.text(TEXT, max_size=12), junk)
    if spec.kind == "code_list":
        words = entities.VOCAB[spec.vocab]
        return st.one_of(st.lists(st.sampled_from(words), max_size=4),
                         st.lists(st.sampled_from(words + ("flood", "")), max_size=3), junk)
    if spec.kind == "datetime":
        return st.one_of(st.datetimes(min_value=dt.datetime(2020, 1, 1), max_value=dt.datetime(2026, 6, 30),
                                      timezones=st.sampled_from([dt.timezone.utc,
                                                                 dt.timezone(dt.timedelta(hours=8))]))
                         .map(lambda d: d.isoformat()),
                         st.sampled_from(["2026-07-01T08:00:00", "2026-13-01T00:00:00+08:00", "yesterday"]),
                         junk)
    if spec.kind == "id_number":
        return st.one_of(st.randoms(use_true_random=False).map(valid_id_number),
                         st.sampled_from(["110101199003070000", "11010119900307001X"]), st.text(TEXT, max_size=20), junk)
    if spec.kind == "mobile":
        return st.one_of(st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True),
                         st.sampled_from(["12812345678", "1381234567", "+8613812345678"]), junk)
    if spec.kind == "bank_account":
        return st.one_of(st.sampled_from(["6222020200000000006", "6222020200000000007", "12345678",
                                          "1234567", "62220202000000000000000000000000"]),
                         st.from_regex(r"[0-9]{8,30}", fullmatch=True), junk)
    if spec.kind == "coverage":
        return st.one_of(st.sampled_from(sorted(entities.coverage_codes())), st.text(TEXT, max_size=10), junk)
    if spec.kind == "document_code":
        return st.one_of(st.sampled_from(sorted(entities.document_codes())), st.text(TEXT, max_size=10))
    if spec.kind == "uuid":
        return st.one_of(st.uuids(version=4).map(str), st.text(TEXT, max_size=10), junk)
    if spec.kind == "date":
        return st.one_of(st.dates(dt.date(2020, 1, 1), dt.date(2030, 1, 1)).map(str),
                         st.sampled_from(["2026-02-30", "2026/07/01", ""]), junk)
    if spec.kind == "loss_items":
        fen = st.one_of(st.integers(-1, 12_000_000), st.sampled_from([entities.MAX_FEN, entities.MAX_FEN + 1]))
        item = st.fixed_dictionaries(
            {"category": st.sampled_from(entities.LOSS_TYPES + ("flood",)), "description": st.text(TEXT, max_size=6),
             "amount_fen": fen},
            optional={"quantity": st.sampled_from([1, 2.5, -1]), "unit_price_fen": fen,
                      "purchase_date": st.sampled_from(["2020-05-01", "May 2020"]),
                      "damage_extent": st.sampled_from(["全损", "损坏" * 30]), "person_id": st.uuids(version=4).map(str)})
        return st.one_of(st.lists(item, max_size=3), junk)
    raise AssertionError(f"no strategy for {spec.kind}")


def _field(entity: str, field_name: str) -> entities.Field:
    return entities.ENTITIES[entity].fields[field_name]


def _problem(phone, entity: str, record_id: str) -> dict | None:
    return next((p for p in phone.client.rejections() if p["entity"] == entity and p["id"] == record_id), None)


def _force(phone, entity: str, record_id: str, fields: dict, base_version) -> None:
    """Queue a write the store refused, as an older app version would have queued it."""
    with phone.store.db.write() as session:  # simulating another app version
        record_mutation(session, phone.store.db.cipher, entity, record_id, fields, base_version=base_version)


CLAIM_FIELDS = ["address", "description", "claimed_amount_fen", "adjusted_amount_fen", "paid_amount_fen", "lat", "lon",
                "accuracy_m", "incident_at", "loss_types", "coverage", "event_id", "loss_items", "adjusted_reason",
                "paid_on", "payee_person_id", "transfer_ref"]
PERSON_FIELDS = ["role_in_claim", "name", "relation", "id_number", "phone", "bank_card", "bank_name", "medical"]


@pytest.fixture
def adjuster(loopback, phones):
    phone = phones()
    phone.enroll("adjuster")
    phone.store.writer_role = "adjuster"  # as the app sets it for the enrolled user
    claim_id = phone.new_claim(TOWNSHIP_A)
    phone.sync_until_quiet()
    return loopback, phone, claim_id


def _settle(phone) -> None:
    phone.client.sync_once()
    phone.client.sync_once()  # the pull brings the server's version of what was pushed


def _refused_by_the_server(phone, entity: str, record_id: str, fields: dict, base_version) -> None:
    """What the store refused, queued anyway and pushed for real: the server must refuse it too."""
    _force(phone, entity, record_id, fields, base_version)
    _settle(phone)
    assert _problem(phone, entity, record_id) is not None, (entity, fields)
    for p in phone.client.rejections():
        phone.client.dismiss_problem(p["entity"], p["id"])


@pytest.mark.parametrize("field_name", CLAIM_FIELDS)
def test_claim_fields_phone_and_server_agree(adjuster, field_name):
    server, phone, claim_id = adjuster
    spec = _field("claim", field_name)

    @EXAMPLES
    @given(value=around(spec))
    def check(value):
        try:
            changed = phone.store.claims.update(claim_id, **{field_name: value})
        except StoreValidationError:
            before = server_claim(server, claim_id)
            _refused_by_the_server(phone, "claim", claim_id, {field_name: value},
                                   phone.store.claims.get(claim_id).version)
            assert server_claim(server, claim_id) == before
            return
        _settle(phone)
        assert _problem(phone, "claim", claim_id) is None, (field_name, value, phone.client.rejections())
        local = getattr(phone.store.claims.get(claim_id), field_name)
        held = server_claim(server, claim_id).get(spec.name)
        if spec.kind == "datetime" and held is not None:
            assert dt.datetime.fromisoformat(held) == dt.datetime.fromisoformat(local)
        else:
            assert held == local, (field_name, value, changed)

    check()


@pytest.mark.parametrize("field_name", PERSON_FIELDS)
def test_person_fields_phone_and_server_agree(adjuster, field_name):
    server, phone, claim_id = adjuster
    spec = _field("person", field_name)

    @EXAMPLES
    @given(value=around(spec))
    def check(value):
        try:
            if field_name == "role_in_claim":
                person_id = phone.store.persons.add(claim_id, role_in_claim=value, name="测试")
            else:
                person_id = phone.store.persons.add(claim_id, role_in_claim="victim", **{field_name: value})
        except StoreValidationError:
            fields = {"claim_id": claim_id, "role_in_claim": "victim", field_name: value, "created_at": "x"}
            person_id = wire.new_id()
            _refused_by_the_server(phone, "person", person_id, fields, None)
            assert person_id not in {r["id"] for r in server_records(server, "person")}
            return
        _settle(phone)
        assert _problem(phone, "person", person_id) is None, (field_name, value, phone.client.rejections())
        held = {r["id"]: r for r in server_records(server, "person")}[person_id]["fields"]
        local = getattr(phone.store.persons.get(person_id), field_name)
        if field_name == "medical" and local is not None and not isinstance(local, str):
            local = json.dumps(local, ensure_ascii=False, sort_keys=True)
        assert held.get(spec.name) == local, (field_name, value)

    check()


@pytest.mark.parametrize("field_name", ["code", "status", "note"])
def test_document_fields_phone_and_server_agree(adjuster, field_name):
    server, phone, claim_id = adjuster
    spec = _field("document", field_name)
    base = {"code": "claimant_id_card", "status": "collected", "note": None}

    @EXAMPLES
    @given(value=around(spec))
    def check(value):
        args = dict(base, **{field_name: value})
        try:
            phone.store.documents.set_status(claim_id, args["code"], args["status"], note=args["note"])
        except StoreValidationError:
            record_id = wire.new_id()
            _refused_by_the_server(phone, "document", record_id, {"claim_id": claim_id, **args}, None)
            assert record_id not in {r["id"] for r in server_records(server, "document")}
            return
        _settle(phone)
        record_id = document_id(claim_id, args["code"])
        assert _problem(phone, "document", record_id) is None, (field_name, value)
        held = {r["id"]: r for r in server_records(server, "document")}[record_id]["fields"]
        assert (held["code"], held["status"], held.get("note")) == (args["code"], args["status"], args["note"])

    check()


def test_note_text_phone_and_server_agree(adjuster):
    server, phone, claim_id = adjuster

    @EXAMPLES
    @given(value=around(_field("note", "text")))
    def check(value):
        try:
            note = phone.store.notes.add(claim_id, value)
        except StoreValidationError:
            record_id = wire.new_id()
            _refused_by_the_server(phone, "note", record_id, {"claim_id": claim_id, "text": value,
                                                              "written_at": "2026-07-01T09:00:00+00:00"}, None)
            assert record_id not in {r["id"] for r in server_records(server, "note")}
            return
        _settle(phone)
        assert _problem(phone, "note", note.id) is None, (value, phone.client.rejections())
        held = {r["id"]: r for r in server_records(server, "note")}[note.id]["fields"]
        assert held["text"] == note.text

    check()


@pytest.mark.parametrize("field_name", sorted(n for n, f in entities.CLAIM.wire_fields().items()
                                               if "liaison" not in f.writable_by and n in CLAIM_EDITABLE))
def test_a_claim_field_the_liaison_may_not_write_is_refused_on_both_sides(loopback, phones, field_name):
    server, phone = loopback, phones()
    phone.enroll("liaison", township_code=TOWNSHIP_A)
    phone.store.writer_role = "liaison"
    claim_id = phone.new_claim(TOWNSHIP_A)
    phone.sync_until_quiet()
    value = {"fen": 100, "uuid": wire.new_id(), "text": "理由", "text_list": ["claim_application"],
             "date": "2026-07-01", "loss_items": [{"category": "house", "description": "房屋", "amount_fen": 100}]}[
        entities.CLAIM.fields[field_name].kind]
    with pytest.raises(StoreValidationError) as caught:
        phone.store.claims.update(claim_id, **{field_name: value})
    assert "角色" in caught.value.message("zh")
    before = server_claim(server, claim_id)
    _refused_by_the_server(phone, "claim", claim_id, {field_name: value}, phone.store.claims.get(claim_id).version)
    assert server_claim(server, claim_id) == before


def test_every_wire_entity_is_handled_by_the_server_and_no_other(loopback):
    """claimcore.wire, the contract and the server name the same entities."""
    from sync_server.app import create_app
    from sync_server.sync import policy

    app = create_app(loopback.settings)  # the app hands the push every feature's entities
    handled = {"claim", *policy.RECORD_ENTITIES, *app.state.push_rules.handlers}
    assert set(wire.ENTITIES) == handled == set(entities.ENTITIES)
