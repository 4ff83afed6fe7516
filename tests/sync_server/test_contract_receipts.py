"""The server against the contract it publishes, as another program would check it: read
``python -m claimcore contract --json``, push a value just past each bound over HTTP, and expect
the receipt code that names the rule and the field (a value at the bound is applied)."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from .conftest import claim_fields, new_id

CONTRACT = json.loads(subprocess.run([sys.executable, "-m", "claimcore", "contract", "--json"],
                                     capture_output=True, text=True, check=True).stdout)
# Records of one claim the adjuster may write, with the fields a new one needs.
RECORDS = {
    "person": {"role_in_claim": "victim"},
    "document": {"code": "claim_application", "status": "collected"},
    "note": {"text": "现场已查勘"},
    "transition": {"to_status": "reported"},
}


def _bounded(entity: str, kinds: tuple[str, ...], key: str) -> list[tuple[str, dict]]:
    fields = CONTRACT["entities"][entity]["fields"]
    return [(name, spec) for name, spec in fields.items()
            if spec["kind"] in kinds and key in spec and not spec["local_only"] and "adjuster" in spec["writable_by"]]


def _cases(key: str, kinds: tuple[str, ...]) -> list:
    return [pytest.param(entity, name, spec, id=f"{entity}.{name}")
            for entity in ("claim", *RECORDS) for name, spec in _bounded(entity, kinds, key)]


def _push(actors, entity: str, fields: dict) -> dict:
    """A new record of ``entity`` (on a fresh claim) with ``fields`` over what it needs."""
    adjuster = actors.adjuster
    if entity == "claim":
        return adjuster.push_one("claim", new_id(), claim_fields(**fields))
    claim_id = new_id()
    assert adjuster.push_one("claim", claim_id, claim_fields())["status"] == "applied"
    return adjuster.push_one(entity, new_id(), {"claim_id": claim_id, **RECORDS[entity], **fields})


def _text(n: int) -> str:
    return "字" * n


@pytest.mark.parametrize("entity,name,spec", _cases("max_length", ("text",)))
def test_text_one_past_max_length_is_too_long(actors, entity, name, spec):
    assert _push(actors, entity, {name: _text(spec["max_length"])})["status"] == "applied"
    result = _push(actors, entity, {name: _text(spec["max_length"] + 1)})
    assert (result["status"], result["error"].split(":")[0], result["field"]) == ("rejected", "too_long", name)


@pytest.mark.parametrize("entity,name,spec", _cases("max", ("int", "fen", "number")))
def test_number_past_its_range_is_out_of_range(actors, entity, name, spec):
    assert _push(actors, entity, {name: spec["max"]})["status"] == "applied"
    for value in (spec["max"] + 1, spec["min"] - 1):
        result = _push(actors, entity, {name: value})
        assert (result["status"], result["error"].split(":")[0], result["field"]) == (
            "rejected", "out_of_range", name), value


@pytest.mark.parametrize("entity", ["claim", *RECORDS])
def test_required_unknown_and_role_rules_name_their_field(actors, entity):
    fields = CONTRACT["entities"][entity]["fields"]
    result = _push(actors, entity, {"colour_of_the_roof": "red"})
    assert (result["error"].split(":")[0], result["field"]) == ("unknown_field", "colour_of_the_roof")
    for name, spec in fields.items():
        if spec["required_on_create"] and spec["kind"] == "text":
            result = _push(actors, entity, {name: "   "})
            assert (result["error"].split(":")[0], result["field"]) == ("required", name)
    # a field the liaison may not write, pushed by the liaison on its own township's claim
    liaison_only_not = [n for n, s in fields.items() if s["writable_by"] and "liaison" not in s["writable_by"]
                        and not s["local_only"]]
    if entity == "claim":
        for name in liaison_only_not:
            value = {"fen": 100, "uuid": new_id(), "text": "理由", "text_list": ["x"], "date": "2026-07-01",
                         "loss_items": [{"category": "house", "description": "房屋", "amount_fen": 100}]
                         }[fields[name]["kind"]]
            result = actors.liaison_a.push_one("claim", new_id(), claim_fields(**{name: value}))
            assert (result["error"].split(":")[0], result["field"]) == ("not_allowed_for_role", name)
