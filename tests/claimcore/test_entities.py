"""The record contract: its shape (a promise to other programs), its rules, and one copy of each
word list in the whole tree."""
from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from claimcore import entities, wire, workflow
from claimcore.entities import ContractError, check_fields

ROOT = Path(__file__).resolve().parents[2]
FIELD_KEYS = {"kind", "required_on_create", "writable_by", "sealed", "local_only"}


def test_contract_command_prints_the_documented_shape():
    out = subprocess.run([sys.executable, "-m", "claimcore", "contract", "--json"], capture_output=True,
                         text=True, check=True, cwd=ROOT)
    doc = json.loads(out.stdout)
    assert set(doc) == {"version", "entities", "vocab"}
    assert set(doc["entities"]) == set(wire.ENTITIES)
    for name, ent in doc["entities"].items():
        assert set(ent) == {"fields"}
        for field, spec in ent["fields"].items():
            assert FIELD_KEYS <= set(spec) <= FIELD_KEYS | {"max_length", "min", "max", "vocab"}, (name, field)
            assert set(spec["writable_by"]) <= set(entities.USER_ROLES)
            assert not (spec["local_only"] and spec["writable_by"]), (name, field)
            if spec["kind"] == "text" and not spec["local_only"]:
                assert isinstance(spec["max_length"], int), (name, field)
    assert doc["vocab"]["user_roles"] == list(workflow.ROLES)
    assert doc["vocab"]["claim_states"] == list(workflow.STATES)
    assert doc["entities"]["claim"]["fields"]["description"]["max_length"] == 5000
    assert doc["entities"]["note"]["fields"]["text"]["max_length"] == 4000
    assert doc["entities"]["person"]["fields"]["id_number"]["sealed"] is True
    assert doc["entities"]["claim"]["fields"]["is_draft"]["local_only"] is True
    text = subprocess.run([sys.executable, "-m", "claimcore", "contract"], capture_output=True, text=True,
                          check=True, cwd=ROOT).stdout
    assert "description" in text and "person_roles" in text


@pytest.mark.parametrize("fields,role,code,field", [
    ({"description": "字" * 5001}, "liaison", "too_long", "description"),
    ({"claimed_amount_fen": -1}, "liaison", "out_of_range", "claimed_amount_fen"),
    ({"claimed_amount_fen": entities.MAX_FEN + 1}, "liaison", "out_of_range", "claimed_amount_fen"),
    ({"claimed_amount_fen": 12.5}, "liaison", "wrong_kind", "claimed_amount_fen"),
    ({"adjusted_amount_fen": 100}, "liaison", "not_allowed_for_role", "adjusted_amount_fen"),
    ({"event_id": None}, "liaison", "not_allowed_for_role", "event_id"),
    ({"colour": "red"}, "adjuster", "unknown_field", "colour"),
    ({"description": "   "}, "adjuster", "required", "description"),
    ({"status": "approvedd"}, "adjuster", "not_in_list", "status"),
    ({"loss_types": ["house", "flood"]}, "adjuster", "not_in_list", "loss_types"),
    ({"description": "a\x00b"}, "adjuster", "wrong_kind", "description"),
])
def test_claim_rules_name_the_rule_and_the_field(fields, role, code, field):
    with pytest.raises(ContractError) as caught:
        check_fields("claim", fields, role=role)
    assert (caught.value.code, caught.value.field) == (code, field)
    zh, en = caught.value.message("zh"), caught.value.message("en")
    assert zh and en and zh != en
    assert "字" not in en and all(ord(ch) < 0x3000 for ch in en)  # no Chinese in the English text


def test_local_only_fields_never_travel_and_an_older_phone_is_not_refused_for_them():
    assert check_fields("claim", {"is_draft": True, "description": "x"}, role="liaison") == {"description": "x"}
    assert check_fields("claim", {"is_draft": True}, allow_local=True) == {"is_draft": True}


def test_bounds_are_inclusive_and_a_new_claim_needs_its_required_fields():
    ok = check_fields("claim", {"description": "字" * 5000, "claimed_amount_fen": entities.MAX_FEN}, role="liaison")
    assert ok["claimed_amount_fen"] == entities.MAX_FEN
    with pytest.raises(ContractError) as caught:
        check_fields("claim", {"description": "x"}, role="liaison", creating=True)
    assert caught.value.code == "required" and caught.value.field == "coverage"
    assert caught.value.message("zh") == "请填写险种"


def test_only_the_office_verifies_and_surveyors_add_no_persons():
    with pytest.raises(ContractError) as caught:
        check_fields("document", {"code": "claim_application", "status": "verified"}, role="liaison")
    assert caught.value.code == "not_allowed_for_role"
    check_fields("document", {"code": "claim_application", "status": "verified"}, role="adjuster")
    assert "surveyor" not in entities.PERSON.create_roles
    assert all("surveyor" not in f.writable_by for f in entities.PERSON.fields.values())


def test_personal_numbers_use_the_shared_validators():
    assert check_fields("person", {"id_number": "11010519491231002x"})["id_number"] == "11010519491231002X"
    assert check_fields("person", {"bank_card": "6222 0202 0000 0000 006"})["bank_card"] == "6222020200000000006"
    assert check_fields("person", {"bank_card": "12345678"})["bank_card"] == "12345678"  # a passbook
    with pytest.raises(ContractError) as caught:
        check_fields("person", {"phone": "12812345678"})
    assert caught.value.code == "wrong_kind" and "手机" in caught.value.message("zh")


# ---- one copy of each word list ------------------------------------------------------------------

def _literal_sequences(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            words = [e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
            if len(words) >= 3:
                yield node.lineno, set(words)


def test_no_word_list_is_written_out_twice():
    """The contract's word lists appear as literals in claimcore/entities.py only: a literal holding a
    whole vocabulary anywhere else in the product code is a second copy. Rule tables naming some
    states or roles (workflow edges) are rules, not lists."""
    vocab = {name: set(words) for name, words in entities.VOCAB.items() if len(words) >= 3}
    found = []
    for package in ("claimcore", "fieldapp", "sync_server", "bench"):
        for path in sorted((ROOT / package).rglob("*.py")):
            if path == ROOT / "claimcore" / "entities.py":
                continue
            for line, words in _literal_sequences(path):
                for name, vocabulary in vocab.items():
                    if words >= vocabulary:
                        found.append(f"{path.relative_to(ROOT)}:{line} copies {name}")
    assert found == []
