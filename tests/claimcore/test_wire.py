"""The sync wire format: well-formed mutations and changes pass (normalised), malformed ones are
refused with a message naming the key, and nothing about the input is changed in place."""
from __future__ import annotations

import copy
import datetime as dt
import json
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from claimcore import wire
from claimcore.wire import WireError, validate_change, validate_mutation

CLAIM = "6f1c2a9e-3b7d-4c1e-9a55-0d2f8e7b1c44"
PERSON = "0b8e0f6a-2d1c-4f7e-8a3b-5c6d7e8f9a0b"
SHA = "a" * 64


def m(**over):
    base = {"seq": 1, "entity": "person", "id": PERSON, "op": "upsert",
            "fields": {"claim_id": CLAIM, "name": "张三"}, "base_version": None}
    base.update(over)
    return base


def refused(obj, code, where=None):
    with pytest.raises(WireError) as e:
        validate_mutation(obj)
    assert e.value.code == code, str(e.value)
    if where:
        assert e.value.where == where
        assert str(e.value).startswith(where)
    return e.value


def test_well_formed_mutations_pass_and_are_json_round_trippable():
    cases = [
        m(),
        {"seq": 2, "entity": "claim", "id": CLAIM, "op": "upsert",
         "fields": {"coverage": "natural_disaster", "loss_types": ["death", "house"],
                    "claimed_fen": 10_000_000, "lat": 29.7, "lon": 105.7}, "base_version": 4},
        {"seq": 3, "entity": "photo", "id": str(uuid.uuid4()), "op": "upsert",
         "fields": {"claim_id": CLAIM, "sha256": SHA, "exif_gps": {"lat": 29.7}, "flags": []},
         "base_version": None},
        m(seq=4, op="delete", fields={"claim_id": CLAIM}, base_version=2),
        {"seq": 5, "entity": "assignment", "id": str(uuid.uuid4()), "op": "upsert",
         "fields": {"status": "accepted"}, "base_version": 1},
        {"seq": 6, "entity": "transition", "id": str(uuid.uuid4()), "op": "upsert",
         "fields": {"claim_id": CLAIM, "from_status": "reported", "to_status": "registered",
                    "at": "2026-07-03T14:05:09+08:00", "reason": None}, "base_version": None},
        {"seq": 7, "entity": "opinion", "id": str(uuid.uuid4()), "op": "upsert",
         "fields": {"claim_id": CLAIM, "vote": "approve"}, "base_version": None},
        {"seq": 8, "entity": "cost", "id": str(uuid.uuid4()), "op": "upsert",
         "fields": {"assignment_id": str(uuid.uuid4()), "vehicle_fen": 8000, "meals_fen": None},
         "base_version": None},
    ]
    for obj in cases:
        before = copy.deepcopy(obj)
        out = validate_mutation(obj)
        assert obj == before  # the input is not modified
        assert out == obj
        assert validate_mutation(json.loads(json.dumps(out, ensure_ascii=False))) == out


def test_normalisation_of_ids_and_hashes():
    out = validate_mutation(m(id=PERSON.upper(), fields={"claim_id": CLAIM.upper(), "x": 1}))
    assert out["id"] == PERSON and out["fields"]["claim_id"] == CLAIM
    out = validate_mutation({"seq": 1, "entity": "photo", "id": PERSON, "op": "upsert",
                             "fields": {"claim_id": CLAIM, "sha256": SHA.upper()},
                             "base_version": None})
    assert out["fields"]["sha256"] == SHA


def test_entities_and_ops_are_the_documented_ones():
    assert wire.ENTITIES == ("claim", "person", "document", "photo", "note", "transition",
                             "assignment", "cost", "opinion")
    assert wire.OPS == ("upsert", "delete")
    assert "conflict" in wire.CHANGE_ENTITIES and "conflict" not in wire.ENTITIES


@pytest.mark.parametrize("obj,code,where", [
    ([], "not_an_object", "mutation"),
    ({k: v for k, v in m().items() if k != "base_version"}, "missing_key", "mutation"),
    (m(extra=1), "unknown_key", "mutation"),
    (m(seq=0), "bad_int", "seq"),
    (m(seq=-3), "bad_int", "seq"),
    (m(seq=True), "bad_int", "seq"),
    (m(seq="1"), "bad_int", "seq"),
    (m(seq=1.0), "bad_int", "seq"),
    (m(entity="victim"), "unknown_entity", "entity"),
    (m(entity="conflict"), "unknown_entity", "entity"),
    (m(entity=None), "unknown_entity", "entity"),
    (m(id="not-a-uuid"), "bad_uuid", "id"),
    (m(id=PERSON.replace("-", "")), "bad_uuid", "id"),
    (m(id="{" + PERSON + "}"), "bad_uuid", "id"),
    (m(id="00000000-0000-0000-0000-000000000000"), "bad_uuid", "id"),
    (m(id=12345), "bad_uuid", "id"),
    (m(op="insert"), "unknown_op", "op"),
    (m(fields=[("claim_id", CLAIM)]), "bad_fields", "fields"),
    (m(fields=None), "bad_fields", "fields"),
    (m(fields={"claim_id": CLAIM, "Name": "x"}), "bad_field_name", "fields"),
    (m(fields={"claim_id": CLAIM, "": "x"}), "bad_field_name", "fields"),
    (m(fields={"claim_id": CLAIM, 1: "x"}), "bad_field_name", "fields"),
    (m(fields={"claim_id": CLAIM, "id": PERSON}), "reserved_field", "fields.id"),
    (m(fields={"claim_id": CLAIM, "version": 3}), "reserved_field", "fields.version"),
    (m(fields={"name": "张三"}), "missing_claim_id", "fields.claim_id"),
    (m(fields={"claim_id": None}), "missing_claim_id", "fields.claim_id"),
    (m(fields={"claim_id": "claim-1"}), "bad_uuid", "fields.claim_id"),
    (m(fields={"claim_id": CLAIM, "paid_fen": 12.5}), "bad_money", "fields.paid_fen"),
    (m(fields={"claim_id": CLAIM, "paid_fen": True}), "bad_money", "fields.paid_fen"),
    (m(fields={"claim_id": CLAIM, "paid_fen": "1200"}), "bad_money", "fields.paid_fen"),
    (m(fields={"claim_id": CLAIM, "lat": float("nan")}), "bad_value", "fields.lat"),
    (m(fields={"claim_id": CLAIM, "lat": float("inf")}), "bad_value", "fields.lat"),
    (m(fields={"claim_id": CLAIM, "at": dt.datetime.now(dt.timezone.utc)}), "bad_value",
     "fields.at"),
    (m(fields={"claim_id": CLAIM, "blob": b"\xff"}), "bad_value", "fields.blob"),
    (m(fields={"claim_id": CLAIM, "tags": {1: "x"}}), "bad_value", "fields.tags"),
    (m(base_version=-1), "bad_int", "base_version"),
    (m(base_version="3"), "bad_int", "base_version"),
    (m(base_version=False), "bad_int", "base_version"),
    ({"seq": 1, "entity": "claim", "id": CLAIM, "op": "upsert", "fields": {},
      "base_version": None}, "empty_upsert", "fields"),
    ({"seq": 1, "entity": "photo", "id": PERSON, "op": "upsert", "fields": {"claim_id": CLAIM},
      "base_version": None}, "required", "fields.sha256"),
    ({"seq": 1, "entity": "photo", "id": PERSON, "op": "upsert",
      "fields": {"claim_id": CLAIM, "sha256": "g" * 64}, "base_version": None},
     "bad_sha256", "fields.sha256"),
    ({"seq": 1, "entity": "photo", "id": PERSON, "op": "upsert",
      "fields": {"claim_id": CLAIM, "sha256": "a" * 63}, "base_version": None},
     "bad_sha256", "fields.sha256"),
    ({"seq": 1, "entity": "photo", "id": PERSON, "op": "delete", "fields": {"claim_id": CLAIM},
      "base_version": 1}, "append_only", "op"),
    ({"seq": 1, "entity": "note", "id": PERSON, "op": "delete", "fields": {"claim_id": CLAIM},
      "base_version": 1}, "append_only", "op"),
    ({"seq": 1, "entity": "transition", "id": PERSON, "op": "delete",
      "fields": {"claim_id": CLAIM}, "base_version": 1}, "append_only", "op"),
])
def test_malformed_mutations_are_refused_naming_the_key(obj, code, where):
    before = copy.deepcopy(obj)
    refused(obj, code, where)
    assert obj == before


def test_deep_nesting_is_refused():
    deep: object = "x"
    for _ in range(wire.MAX_FIELD_DEPTH + 2):
        deep = [deep]
    refused(m(fields={"claim_id": CLAIM, "x": deep}), "too_deep")


def test_messages_do_not_echo_long_personal_values():
    secret = "500111199001011234" * 5
    err = refused(m(id=secret), "bad_uuid", "id")
    assert secret not in str(err)


def test_batches_need_strictly_increasing_seq():
    a, b = m(seq=1), m(seq=2, id=str(uuid.uuid4()))
    assert [x["seq"] for x in wire.validate_mutations([a, b])] == [1, 2]
    with pytest.raises(WireError) as e:
        wire.validate_mutations([b, a])
    assert e.value.code == "seq_order" and e.value.where == "mutations[1].seq"
    with pytest.raises(WireError) as e:
        wire.validate_mutations([a, a])
    assert e.value.code == "seq_order"
    with pytest.raises(WireError) as e:
        wire.validate_mutations([a, m(seq=2, entity="victim")])
    assert e.value.where == "mutations[1].entity"
    with pytest.raises(WireError) as e:
        wire.validate_mutations([a, b], max_count=1)
    assert e.value.code == "too_many"
    with pytest.raises(WireError):
        wire.validate_mutations({"mutations": []})
    assert wire.validate_mutations([]) == []


def test_make_mutation_and_new_id():
    rid = wire.new_id()
    assert wire.is_uuid(rid) and uuid.UUID(rid).version == 4
    out = wire.make_mutation(9, "note", rid, {"claim_id": CLAIM, "text": "现场已查勘"})
    assert out["op"] == "upsert" and out["base_version"] is None and out["seq"] == 9
    assert not wire.is_uuid("x") and not wire.is_uuid(None)


# ---- changes --------------------------------------------------------------------------------

def c(**over):
    base = {"entity": "claim", "id": CLAIM, "version": 7, "op": "upsert",
            "fields": {"status": "registered", "id": CLAIM}}
    base.update(over)
    return base


def test_changes():
    assert validate_change(c()) == c()
    # A newer server's extra keys are dropped, not fatal for an older phone.
    assert validate_change(c(cursor="abc")) == c()
    assert validate_change(c(entity="conflict", fields={"field": "name"}))["entity"] == "conflict"
    assert validate_change(c(op="delete", fields={}))["op"] == "delete"
    photo = validate_change(c(entity="photo", fields={"claim_id": CLAIM, "sha256": SHA.upper()}))
    assert photo["fields"]["sha256"] == SHA
    for bad, code in ((c(version=0), "bad_int"), (c(version=None), "bad_int"),
                      (c(entity="victim"), "unknown_entity"), (c(op="merge"), "unknown_op"),
                      (c(id="x"), "bad_uuid"), ({"entity": "claim"}, "missing_key"),
                      ("change", "not_an_object"),
                      (c(entity="photo", fields={"claim_id": CLAIM}), "bad_sha256")):
        with pytest.raises(WireError) as e:
            validate_change(bad)
        assert e.value.code == code


# ---- times ----------------------------------------------------------------------------------

def test_datetimes_keep_their_offset_and_naive_ones_are_refused():
    cst = dt.timezone(dt.timedelta(hours=8))
    moment = dt.datetime(2026, 7, 3, 14, 5, 9, 120000, tzinfo=cst)
    text = wire.format_datetime(moment)
    assert text == "2026-07-03T14:05:09.120000+08:00"
    assert wire.parse_datetime(text) == moment
    assert wire.parse_datetime("2026-07-03T06:05:09Z") == moment.replace(microsecond=0)
    assert wire.to_utc(moment).utcoffset() == dt.timedelta(0)
    assert wire.to_utc(moment) == moment
    with pytest.raises(ValueError):
        wire.format_datetime(dt.datetime(2026, 7, 3, 14, 5))
    with pytest.raises(TypeError):
        wire.format_datetime("2026-07-03")
    for bad in ("2026-07-03T14:05:09", "yesterday", 1751522709, None):
        with pytest.raises(WireError) as e:
            wire.parse_datetime(bad, "fields.at")
        assert e.value.code == "bad_time" and e.value.where == "fields.at"
    now = wire.parse_datetime(wire.now_iso())
    assert now.utcoffset() == dt.timedelta(0)


@settings(max_examples=200)
@given(st.datetimes(timezones=st.timezones()))
def test_datetime_round_trip_is_the_same_instant(moment):
    back = wire.parse_datetime(wire.format_datetime(moment))
    # Compare instants and offsets: PEP 495 makes times in a DST gap or fold compare unequal
    # across zones even when they are the same instant.
    assert back.timestamp() == moment.timestamp()
    assert back.utcoffset() == moment.utcoffset()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20)
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=10)


@settings(max_examples=200)
@given(st.dictionaries(st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True).filter(
    lambda k: k not in wire.RESERVED_FIELDS and k not in wire.REFERENCE_FIELDS
    and not k.endswith("_fen")), json_values, min_size=1, max_size=5))
def test_any_json_fields_survive_validation_and_json_unchanged(fields):
    obj = {"seq": 1, "entity": "claim", "id": CLAIM, "op": "upsert", "fields": fields,
           "base_version": None}
    out = validate_mutation(obj)
    assert out["fields"] == fields
    assert json.loads(json.dumps(out)) == out
