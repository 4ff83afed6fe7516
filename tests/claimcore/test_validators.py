"""Validators: resident ID (GB 11643), mobile, bank card (Luhn)."""
from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from claimcore import validators as v
from claimcore.validators import ValidationError

TODAY = dt.date(2026, 5, 1)


def make_id(region: str, birth: str, seq: str) -> str:
    """A valid ID number, check digit computed here from the standard's definition
    (weights 2^(i) mod 11 for positions 18..2, check = (12 - sum mod 11) mod 11, 10 → X),
    independently of claimcore's table."""
    body = region + birth + seq
    assert len(body) == 17
    total = sum(int(d) * (2 ** (17 - i) % 11) for i, d in enumerate(body))
    check = (12 - total % 11) % 11
    return body + ("X" if check == 10 else str(check))


DAZU_MAN = make_id("500111", "19900101", "123")
X_IDS = [make_id("500111", f"1985{m:02d}{d:02d}", f"{s:03d}")
         for m in (1, 2) for d in range(1, 28) for s in range(1, 20)]
X_ID = next(i for i in X_IDS if i.endswith("X"))


def test_valid_id_and_what_it_encodes():
    info = v.parse_id_number(DAZU_MAN, today=TODAY)
    assert info.number == DAZU_MAN
    assert info.region_code == "500111" and info.province == "重庆市"
    assert info.birth_date == dt.date(1990, 1, 1)
    assert info.sex == "male"  # sequence 123 is odd
    assert v.parse_id_number(make_id("110101", "20000229", "124"), today=TODAY).sex == "female"
    assert v.validate_id_number(DAZU_MAN) == DAZU_MAN
    assert v.is_valid_id_number(DAZU_MAN)


def test_check_character_matches_independent_helper():
    for number in X_IDS[:200]:
        assert v.id_check_character(number[:17]) == number[17]
    with pytest.raises(ValueError):
        v.id_check_character("123")


def test_lower_case_x_is_accepted_and_normalised():
    assert v.validate_id_number(X_ID.lower()) == X_ID
    assert v.validate_id_number(X_ID) == X_ID


def test_spaces_dashes_and_full_width_digits_are_tolerated():
    spaced = f"{DAZU_MAN[:6]} {DAZU_MAN[6:14]}-{DAZU_MAN[14:]}"
    assert v.validate_id_number(spaced) == DAZU_MAN
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in X_ID.lower())  # ５００…ｘ
    assert v.validate_id_number(full_width) == X_ID


def _why(value, **kw):
    with pytest.raises(ValidationError) as e:
        v.validate_id_number(value, **kw)
    return e.value


def test_bad_check_digit():
    wrong = DAZU_MAN[:17] + ("0" if DAZU_MAN[17] != "0" else "1")
    err = _why(wrong)
    assert err.key == "id_number.check_digit" and err.field == "id_number"
    assert not v.is_valid_id_number(wrong)


def test_30_february_and_other_impossible_dates():
    for birth in ("19900230", "19900229", "19901301", "19900001", "19900132"):
        assert _why(make_id("500111", birth, "123")).key == "id_number.birth_date"
    # 2000 was a leap year, 1900 was not.
    assert v.is_valid_id_number(make_id("500111", "20000229", "123"))


def test_birth_date_in_the_future_or_before_1900():
    assert _why(make_id("500111", "20260502", "123"), today=TODAY).key == "id_number.birth_future"
    assert v.is_valid_id_number(make_id("500111", "20260501", "123"), today=TODAY)
    assert _why(make_id("500111", "18991231", "123")).key == "id_number.birth_too_early"


def test_wrong_length():
    for bad in (DAZU_MAN[:17], DAZU_MAN + "1", DAZU_MAN[:15]):
        err = _why(bad)
        assert err.key == "id_number.length"
        assert str(len(bad)) in err.message("zh") and str(len(bad)) in err.message("en")


def test_characters_region_and_empty():
    assert _why("50011119900101X234").key == "id_number.characters"
    assert _why("5001111990010112A4").key == "id_number.characters"
    assert _why(make_id("990111", "19900101", "123")).key == "id_number.region"
    assert _why(make_id("000000", "19900101", "123")).key == "id_number.region"
    assert _why(make_id("912345", "19900101", "123")).key == "id_number.region"  # foreigner card
    assert v.is_valid_id_number(make_id("810000", "19900101", "123"))  # HK residence permit
    assert _why("").key == "id_number.empty"
    assert _why("   ").key == "id_number.empty"
    with pytest.raises(ValidationError) as e:
        v.validate_id_number(500111199001011234)
    assert e.value.key == "text.type"
    assert not v.is_valid_id_number(None)


def test_messages_have_both_languages_and_never_echo_the_number():
    for key, (zh, en) in v.MESSAGES.items():
        assert zh and en
    wrong = DAZU_MAN[:17] + ("0" if DAZU_MAN[17] != "0" else "1")
    err = _why(wrong)
    for text in (str(err), err.message("zh"), err.message("en"), err.message_zh, err.message_en):
        assert wrong not in text and DAZU_MAN[6:14] not in text
    assert "校验" in err.message_zh
    assert isinstance(err, ValueError)


digits17 = st.tuples(
    st.sampled_from(sorted(v.PROVINCE_CODES)), st.from_regex(r"[0-9]{4}", fullmatch=True),
    st.dates(min_value=dt.date(1900, 1, 1), max_value=TODAY),
    st.from_regex(r"[0-9]{3}", fullmatch=True),
).map(lambda t: t[0] + t[1] + t[2].strftime("%Y%m%d") + t[3])


@settings(max_examples=300)
@given(digits17, st.integers(min_value=0, max_value=16), st.integers(min_value=1, max_value=9))
def test_every_single_digit_typo_is_caught(body, pos, delta):
    good = make_id(body[:6], body[6:14], body[14:])
    assert v.validate_id_number(good, today=TODAY) == good
    typo = good[:pos] + str((int(good[pos]) + delta) % 10) + good[pos + 1:]
    assert not v.is_valid_id_number(typo, today=TODAY)


# ---- mobile ---------------------------------------------------------------------------------

@pytest.mark.parametrize("raw", [
    "13812345678", "138 1234 5678", "138-1234-5678", "+86 138 1234 5678", "+8613812345678",
    "0086 13812345678", "8613812345678", "(+86) 138-1234-5678", "１３８１２３４５６７８",
])
def test_mobile_accepted_forms(raw):
    assert v.validate_mobile(raw) == "13812345678"
    assert v.is_valid_mobile(raw)


@pytest.mark.parametrize("raw,key", [
    ("", "mobile.empty"), ("1381234567", "mobile.invalid"), ("138123456789", "mobile.invalid"),
    ("12812345678", "mobile.invalid"), ("23812345678", "mobile.invalid"),
    ("023-43721234", "mobile.invalid"), ("+1 138 1234 5678", "mobile.invalid"),
    ("1381234567a", "mobile.invalid"), ("+86 1381234567", "mobile.invalid"),
])
def test_mobile_rejected(raw, key):
    with pytest.raises(ValidationError) as e:
        v.validate_mobile(raw)
    assert e.value.key == key and e.value.field == "mobile"
    assert not v.is_valid_mobile(raw)


# ---- bank card ------------------------------------------------------------------------------

def make_card(prefix: str) -> str:
    """Append the Luhn check digit (computed here, independently)."""
    for check in "0123456789":
        digits = [int(c) for c in prefix + check]
        s = sum(d if i % 2 == 0 else (d * 2 - 9 if d * 2 > 9 else d * 2)
                for i, d in enumerate(reversed(digits)))
        if s % 10 == 0:
            return prefix + check
    raise AssertionError


def test_bank_card_valid_lengths_16_to_19():
    for n in (16, 17, 18, 19):
        card = make_card("6222" + "0" * (n - 6) + "7")
        assert len(card) == n
        assert v.validate_bank_card(card) == card
    card = make_card("622202123456789012")
    assert v.validate_bank_card(f"{card[:4]} {card[4:8]}-{card[8:12]} {card[12:]}") == card


def test_bank_card_rejected():
    card = make_card("622202123456789012")
    typo = card[:-1] + str((int(card[-1]) + 1) % 10)
    cases = [(typo, "bank_card.check_digit"), (make_card("62220212345678"), "bank_card.length"),
             (make_card("62220212345678901234"), "bank_card.length"), ("", "bank_card.empty"),
             ("6222abcd12345678", "bank_card.characters")]
    for raw, key in cases:
        with pytest.raises(ValidationError) as e:
            v.validate_bank_card(raw)
        assert e.value.key == key, raw
        assert not v.is_valid_bank_card(raw)
    assert not v.is_valid_bank_card(None)


@settings(max_examples=300)
@given(st.from_regex(r"[0-9]{15,18}", fullmatch=True), st.data())
def test_luhn_catches_every_single_digit_typo(prefix, data):
    card = make_card(prefix)
    assert v.luhn_ok(card)
    pos = data.draw(st.integers(min_value=0, max_value=len(card) - 1))
    delta = data.draw(st.integers(min_value=1, max_value=9))
    typo = card[:pos] + str((int(card[pos]) + delta) % 10) + card[pos + 1:]
    assert not v.is_valid_bank_card(typo)
