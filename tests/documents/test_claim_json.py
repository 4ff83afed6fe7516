"""validate_claim_json: every problem found at once, each named by its path; nothing rendered from a
claim that fails."""
from __future__ import annotations

import copy

import pytest

from fieldapp.documents import ClaimJsonError, render, validate_claim_json
from tests.documents.conftest import load_worked_claim


def problems(claim) -> list[str]:
    with pytest.raises(ClaimJsonError) as caught:
        validate_claim_json(claim)
    assert caught.value.problems
    # The message lists every problem, so a person at the printer sees them all at once.
    for problem in caught.value.problems:
        assert problem in str(caught.value)
    return caught.value.problems


def has(found: list[str], path: str, words: str) -> bool:
    return any(p.startswith(path + ":") and words in p for p in found)


def test_the_worked_claim_is_valid_and_returned_as_a_copy(claim):
    checked = validate_claim_json(claim)
    assert checked == {**claim, "other_compensation_fen": claim["other_compensation_fen"]}
    assert checked is not claim and checked["persons"] is not claim["persons"]


def test_numbers_are_normalised_and_the_input_left_alone(claim):
    claim["household"]["head_id_number"] = " 500111 1958 0312 0029 "
    claim["persons"][2]["bank_account"] = "6222 0231 0000 1234 561"
    original = copy.deepcopy(claim)
    checked = validate_claim_json(claim)
    assert claim == original
    assert checked["household"]["head_id_number"] == "500111195803120029"
    assert checked["persons"][2]["bank_account"] == "6222023100001234561"


def test_lower_case_x_check_character_is_accepted(claim):
    # 11010519491231002X is the standard's example number
    claim["persons"][1]["id_number"] = "11010519491231002x"
    assert validate_claim_json(claim)["persons"][1]["id_number"] == "11010519491231002X"


def test_unknown_coverage_township_and_village(claim):
    claim["coverage"] = "earthquake_only"
    claim["township_code"] = "500111999"
    claim["village_code"] = "500111102200"  # exists, in 宝顶镇
    found = problems(claim)
    assert has(found, "coverage", "unknown coverage 'earthquake_only'")
    assert has(found, "township_code", "unknown township code")
    assert has(found, "village_code", "belongs to township 500111102")


def test_village_outside_the_claims_township(claim):
    claim["village_code"] = "500111102200"
    assert has(problems(claim), "village_code", "belongs to township 500111102, not 500111100")


@pytest.mark.parametrize("bad", [
    "500111195803120028",  # wrong check digit
    "500111195802300024",  # 30 February
    "50011119580312002",   # 17 characters
])
def test_bad_id_numbers(claim, bad):
    claim["persons"][0]["id_number"] = bad
    found = problems(claim)
    assert any(p.startswith("persons[0].id_number:") for p in found), found


def test_bad_bank_card_phone_and_passbook(claim):
    claim["persons"][2]["bank_account"] = "6222023100001234562"  # Luhn fails
    claim["persons"][0]["phone"] = "12345"
    found = problems(claim)
    assert any(p.startswith("persons[2].bank_account:") for p in found)
    assert any(p.startswith("persons[0].phone:") for p in found)
    # A passbook has no check digit: only its form is checked.
    claim = load_worked_claim()
    claim["persons"][2].update(account_type="passbook", bank_account="1002 3300 4455 667")
    assert validate_claim_json(claim)["persons"][2]["bank_account"] == "100233004455667"


@pytest.mark.parametrize("value", [1863457.0, "18634.57", True, -5, None])
def test_amounts_must_be_integer_fen(claim, value):
    claim["losses"][0]["amount_fen"] = value
    found = problems(claim)
    assert any(p.startswith("losses[0].amount_fen:") for p in found), found


def test_other_amounts_must_be_integer_fen(claim):
    claim["other_compensation_fen"] = 22115.43
    claim["losses"][2]["unit_price_fen"] = "15800"
    claim["household"]["contents_loss_fen"] = 4008.99
    found = problems(claim)
    assert has(found, "other_compensation_fen", "integer fen")
    assert has(found, "losses[2].unit_price_fen", "integer fen")
    assert has(found, "household.contents_loss_fen", "integer fen")


def test_line_amount_must_equal_quantity_times_unit_price(claim):
    claim["losses"][3]["amount_fen"] = 592924  # 18.5 x 32050 = 592925
    assert has(problems(claim), "losses[3].amount_fen", "quantity x unit_price_fen = 592925")


def test_every_problem_is_reported_at_once(claim):
    claim["coverage"] = "nope"
    claim["persons"][0]["id_number"] = "123"
    claim["losses"][1]["amount_fen"] = 1.5
    claim["document_statuses"]["weather_certificate"] = "lost"
    claim["document_statuses"]["no_such_document"] = "missing"
    claim["surprise"] = 1
    claim["persons"][3]["favourite_colour"] = "red"
    found = problems(claim)
    assert len(found) >= 7
    assert has(found, "surprise", "unknown field")
    assert has(found, "persons[3].favourite_colour", "unknown field")
    assert has(found, "document_statuses.weather_certificate", "status must be one of")
    assert has(found, "document_statuses.no_such_document", "unknown document code")


def test_people_roles(claim):
    claim["persons"] = [p for p in claim["persons"] if p["role"] != "victim"]
    claim["persons"].append({"role": "agent", "name": "第二位受托人"})
    claim["persons"].append({"role": "heir", "name": "某人"})
    found = problems(claim)
    assert has(found, "persons", "exactly one person with role victim (found 0)")
    assert has(found, "persons", "at most one agent (found 2)")
    assert any(p.startswith("persons[4].role:") for p in found)


def test_loss_types_follow_the_catalogue(claim):
    claim["loss_types"] = ["medical", "house", "resettlement", "flood"]
    found = problems(claim)
    assert has(found, "loss_types[2]", "does not cover 'resettlement'")
    assert has(found, "loss_types[3]", "unknown loss type 'flood'")
    claim = load_worked_claim()
    claim["losses"][0]["loss_type"] = "death"
    assert has(problems(claim), "losses[0].loss_type", "not one of the claim's loss_types")


def test_rider_needs_its_main_coverage(claim):
    claim.update(coverage="resettlement", loss_types=["resettlement"], losses=[])
    assert has(problems(claim), "attached_to", "required for the rider resettlement")
    claim["attached_to"] = "good_samaritan"
    assert has(problems(claim), "attached_to", "attaches to")
    claim["attached_to"] = "natural_disaster"
    assert validate_claim_json(claim)["attached_to"] == "natural_disaster"
    assert b"%PDF" in render("checklist", claim)[:8]


def test_unknown_catalogue_version(claim):
    claim["catalogue_version"] = "1999.9"
    assert has(problems(claim), "catalogue_version", "not found")


def test_times_and_household(claim):
    claim["incident_at"] = "14/07/2026 03:10"
    claim["household"]["rooms"][0]["severity"] = "terrible"
    claim["household"]["size"] = 0
    claim["household"]["relocated"] = "yes"
    claim["power_of_attorney"]["scope"] = ["everything"]
    found = problems(claim)
    assert has(found, "incident_at", "ISO 8601")
    assert has(found, "household.rooms[0].severity", "must be one of")
    assert has(found, "household.size", ">= 1")
    assert has(found, "household.relocated", "true or false")
    assert has(found, "power_of_attorney.scope[0]", "must be one of")


@pytest.mark.parametrize("value", [None, [], "claim", 42])
def test_not_an_object(value):
    with pytest.raises(ClaimJsonError, match="must be a JSON object"):
        validate_claim_json(value)


def test_invalid_claim_renders_nothing(claim):
    claim["losses"][0]["amount_fen"] = 186.34
    with pytest.raises(ClaimJsonError):
        render("claim_application", claim)
