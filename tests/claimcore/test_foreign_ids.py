"""Visitors are insured too: passports, foreigners' permanent residence IDs (both card formats) and
residence permits, each with its own rule, message and mask; a person without a type has a
resident ID, as every record made before."""
from __future__ import annotations

import datetime as dt

import pytest

from claimcore import entities, masking, validators
from claimcore.entities import ContractError, check_fields
from claimcore.validators import ValidationError, validate_identity_number

TODAY = dt.date(2026, 7, 1)
RESIDENT = "11010519491231002X"
# The published examples of the two permanent residence card formats.
PR_2023 = "932682198501010017"   # 9, 江苏 (32), nationality 682, born 1985-01-01, sequence 001, check 7
PR_OLD = "KAZ110090123105"       # KAZ, office 1100 (北京), born (19)90-12-31, sequence 0, check 5


def pr_2023(province="50", nationality="840", born="19900307", seq="123") -> str:
    body = f"9{province}{nationality}{born}{seq}"
    return body + validators.id_check_character(body)


def pr_old(country="USA", office="5001", born="880315", seq="1") -> str:
    body = f"{country}{office}{born}{seq}"
    return body + validators.mrz_check_digit(body)


def test_the_word_list_and_the_rules_are_one_set():
    assert entities.ID_TYPES[0] == validators.DEFAULT_ID_TYPE == "resident_id"
    assert set(validators.ID_NUMBER_RULES) == set(validators.ID_NUMBER_LENGTHS) == set(entities.ID_TYPES)
    assert entities.VOCAB["id_types"] == entities.ID_TYPES
    spec = entities.PERSON.fields["id_type"]
    assert (spec.kind, spec.vocab, spec.sealed, spec.required_on_create) == ("code", "id_types", False, False)


@pytest.mark.parametrize("id_type,typed,stored", [
    ("resident_id", RESIDENT.lower(), RESIDENT),
    (None, RESIDENT, RESIDENT),
    ("passport", "E1234 5678", "E12345678"),
    ("passport", "ab123", "AB123"),
    ("passport", "P" + "1" * 16, "P" + "1" * 16),
    ("passport", "ｇ１２３４５６７８", "G12345678"),  # full-width, from a Chinese input method
    ("foreign_permanent_resident", PR_2023, PR_2023),
    ("foreign_permanent_resident", PR_OLD.lower(), PR_OLD),
    ("foreign_permanent_resident", pr_2023(), pr_2023()),
    ("foreign_permanent_resident", pr_old(), pr_old()),
    ("foreign_permanent_resident", pr_old(born="000229"), pr_old(born="000229")),  # 2000 was a leap year
    ("residence_permit", "ab1234", "AB1234"),
    ("residence_permit", "X" * 20, "X" * 20),
])
def test_valid_numbers_are_normalised_by_their_type(id_type, typed, stored):
    assert validate_identity_number(typed, id_type) == stored
    assert check_fields("person", {"id_type": id_type, "id_number": typed})["id_number"] == stored


def _with_check_off_by_one(number: str, alphabet: str) -> str:
    return number[:-1] + alphabet[(alphabet.index(number[-1]) + 1) % len(alphabet)]


@pytest.mark.parametrize("id_type,typed,key", [
    ("passport", "", "passport.empty"),
    ("passport", "E123", "passport.length"),
    ("passport", "E" + "1" * 17, "passport.length"),
    ("passport", "E1234567/", "passport.characters"),
    ("passport", "护照E1234567", "passport.characters"),
    ("foreign_permanent_resident", "", "foreign_permanent_resident.empty"),
    ("foreign_permanent_resident", PR_2023[:-1], "foreign_permanent_resident.length"),
    ("foreign_permanent_resident", _with_check_off_by_one(PR_2023, "0123456789X"),
     "foreign_permanent_resident.check_digit"),
    ("foreign_permanent_resident", _with_check_off_by_one(PR_OLD, "0123456789"),
     "foreign_permanent_resident.check_digit"),
    ("foreign_permanent_resident", pr_2023()[:-1] + ("0" if pr_2023()[-1] != "0" else "1"),
     "foreign_permanent_resident.check_digit"),
    ("foreign_permanent_resident", pr_old()[:-1] + ("0" if pr_old()[-1] != "0" else "1"),
     "foreign_permanent_resident.check_digit"),
    # A resident ID is not a permanent residence number (it does not start with 9).
    ("foreign_permanent_resident", RESIDENT, "foreign_permanent_resident.characters"),
    ("foreign_permanent_resident", "KA1110090123105", "foreign_permanent_resident.characters"),
    ("foreign_permanent_resident", pr_2023(province="81"), "foreign_permanent_resident.region"),
    ("foreign_permanent_resident", pr_2023(province="99"), "foreign_permanent_resident.region"),
    ("foreign_permanent_resident", pr_old(office="9901"), "foreign_permanent_resident.region"),
    ("foreign_permanent_resident", pr_2023(born="19900230"), "foreign_permanent_resident.birth_date"),
    ("foreign_permanent_resident", pr_old(born="881315"), "foreign_permanent_resident.birth_date"),
    ("foreign_permanent_resident", pr_2023(born="18991231"), "foreign_permanent_resident.birth_too_early"),
    ("foreign_permanent_resident", pr_2023(born="20991231"), "foreign_permanent_resident.birth_future"),
    ("residence_permit", "AB123", "residence_permit.length"),
    ("residence_permit", "A" * 21, "residence_permit.length"),
    ("residence_permit", "AB12_34", "residence_permit.characters"),
    # A passport number is not a resident ID.
    ("resident_id", "E12345678", "id_number.length"),
])
def test_each_type_refuses_with_its_own_reason(id_type, typed, key):
    with pytest.raises(ValidationError) as caught:
        validators.validate_identity_number(typed, id_type)
    assert caught.value.key == key and caught.value.field == "id_number"
    zh, en = caught.value.message("zh"), caught.value.message("en")
    assert zh and en and zh != en and all(ord(ch) < 0x3000 for ch in en)
    if len(typed) >= 5:
        assert typed not in zh and typed not in en  # personal data is never echoed
    with pytest.raises(ContractError) as refused:
        check_fields("person", {"id_type": id_type, "id_number": typed})
    assert (refused.value.code, refused.value.field) == ("wrong_kind", "id_number")
    assert zh in refused.value.message("zh")


def test_both_permanent_residence_formats_check_their_own_check_character():
    good_new, good_old = pr_2023(), pr_old()
    assert validators.is_valid_identity_number(good_new, "foreign_permanent_resident")
    assert validators.is_valid_identity_number(good_old, "foreign_permanent_resident")
    # Every other check character is refused, in either format.
    for ch in "0123456789X":
        if ch != good_new[-1]:
            assert not validators.is_valid_identity_number(good_new[:-1] + ch, "foreign_permanent_resident")
    for ch in "0123456789":
        if ch != good_old[-1]:
            assert not validators.is_valid_identity_number(good_old[:-1] + ch, "foreign_permanent_resident")
    info = validators.parse_permanent_residence(PR_2023, today=TODAY)
    assert (info.issued_format, info.province, info.nationality, info.birth_date) == (
        "2023", "江苏省", "682", dt.date(1985, 1, 1))
    info = validators.parse_permanent_residence(PR_OLD, today=TODAY)
    assert (info.issued_format, info.province, info.nationality, info.birth_date) == (
        "2004", "北京市", "KAZ", dt.date(1990, 12, 31))
    # A two-digit year takes the latest century not in the future.
    assert validators.parse_permanent_residence(pr_old(born="100101"), today=TODAY).birth_date == dt.date(2010, 1, 1)
    assert validators.parse_permanent_residence(pr_old(born="300101"), today=TODAY).birth_date == dt.date(1930, 1, 1)


def test_the_same_characters_are_judged_by_the_type_they_are_stated_as():
    assert check_fields("person", {"id_type": "residence_permit", "id_number": RESIDENT})["id_number"] == RESIDENT
    with pytest.raises(ContractError):
        check_fields("person", {"id_type": "passport", "id_number": RESIDENT})  # 18 > 17 characters
    with pytest.raises(ContractError) as caught:
        check_fields("person", {"id_type": "visa", "id_number": "E12345678"})
    assert (caught.value.code, caught.value.field) == ("not_in_list", "id_type")


def test_a_write_changing_one_of_type_and_number_is_checked_against_the_other_on_file():
    passport_holder = {"id_type": "passport", "id_number": "E12345678"}
    assert check_fields("person", {"id_number": "G7654321"}, current=passport_holder) == {"id_number": "G7654321"}
    with pytest.raises(ContractError) as caught:
        check_fields("person", {"id_number": "G7654321"})  # no type on file: a resident ID
    assert caught.value.field == "id_number"
    with pytest.raises(ContractError) as caught:
        check_fields("person", {"id_type": "resident_id"}, current=passport_holder)
    assert (caught.value.code, caught.value.field) == ("wrong_kind", "id_type")
    assert "证件号码" in caught.value.message("zh") and "number" in caught.value.message("en")
    # Both together, or a type with no number on file, are fine; so is an old record without a type.
    assert check_fields("person", {"id_type": "resident_id", "id_number": RESIDENT}, current=passport_holder)
    assert check_fields("person", {"id_type": "passport"}, current={"id_number": None}) == {"id_type": "passport"}
    assert check_fields("person", {"name": "张三"}, current={"id_number": RESIDENT}) == {"name": "张三"}
    assert check_fields("person", {"id_type": None, "id_number": RESIDENT}, current=passport_holder)


NUMBERS = {
    "resident_id": RESIDENT,
    "passport": "E12345678",
    "foreign_permanent_resident": PR_2023,
    "residence_permit": "AB1234567890",
}


@pytest.mark.parametrize("id_type,number,shown", [
    ("resident_id", RESIDENT, "110105********002X"),
    (None, RESIDENT, "110105********002X"),
    ("passport", "E12345678", "E1****678"),
    ("passport", "G1234567", "G*****67"),
    ("passport", "AB123", "*****"),
    ("foreign_permanent_resident", PR_2023, "932682********0017"),
    ("foreign_permanent_resident", PR_OLD, "KAZ**********05"),
    ("residence_permit", "AB1234567890", "********7890"),
    ("residence_permit", "AB1234", "****34"),
    ("no_such_type", "E12345678", "*********"),
])
def test_each_type_has_its_own_mask(id_type, number, shown):
    assert masking.mask_id(number, id_type) == shown


@pytest.mark.parametrize("id_type", entities.ID_TYPES)
def test_a_mask_never_shows_the_whole_number_nor_a_whole_birth_date(id_type):
    samples = [NUMBERS[id_type]]
    if id_type == "foreign_permanent_resident":
        samples += [PR_OLD, pr_old(), pr_2023()]
    for number in samples:
        for cut in range(len(number) + 1):
            shown = masking.mask_id(number[:cut], id_type)
            visible = shown.replace("*", "")
            assert len(shown) == cut
            assert cut == 0 or len(visible) < cut  # something is always hidden
            assert len(shown) - len(visible) >= min(4, cut)  # at least four hidden (all, when shorter)
        shown = masking.mask_id(number, id_type)
        if id_type == "foreign_permanent_resident":
            birth = number[6:14] if len(number) == 18 else number[7:13]
            assert birth not in shown
        if id_type == "resident_id":
            assert number[6:14] not in shown
