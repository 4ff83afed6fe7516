"""Masking for display: the documented forms, and never revealing more on odd input."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from claimcore.masking import mask_bank_card, mask_id, mask_name, mask_phone


def test_documented_forms():
    assert mask_id("500111199001011234") == "500111********1234"
    assert mask_id("50011119900101123x") == "500111********123x"
    assert mask_bank_card("6222021234561234") == "****1234"
    assert mask_bank_card("6222 0212 3456 7890 123") == "****0123"
    assert mask_phone("13812341234") == "138****1234"
    assert mask_phone("+86 138-1234-1234") == "138****1234"
    assert mask_phone("0086 13812341234") == "138****1234"
    assert mask_phone("023-43721234") == "023****1234"  # a landline with area code
    assert mask_name("张三丰") == "张**"
    assert mask_name("李四") == "李*"


@pytest.mark.parametrize("fn", [mask_id, mask_bank_card, mask_phone, mask_name])
def test_empty_and_none(fn):
    assert fn("") == ""
    assert fn(None) == ""


def test_short_input_reveals_less():
    assert mask_id("1234") == "****"
    assert mask_id("12345678901") == "***********"
    assert mask_id("500111900101123") == "***********1123"  # 15 chars: no address code shown
    assert mask_bank_card("1234") == "****"
    assert mask_bank_card("12345678901") == "****"
    assert mask_phone("1234567") == "*******"
    assert mask_phone("43721234") == "****1234"
    assert mask_name("王") == "*"


def test_birth_date_never_shown():
    masked = mask_id("500111199001011234")
    assert "19900101" not in masked and "1990" not in masked


def test_rejects_non_text():
    with pytest.raises(TypeError):
        mask_id(3.14)
    with pytest.raises(TypeError):
        mask_phone(True)
    assert mask_phone(13812341234) == "138****1234"


def _revealed(original: str, masked: str) -> int:
    return sum(1 for ch in masked if ch != "*")


@settings(max_examples=500)
@given(st.text(alphabet="0123456789Xx", max_size=40))
def test_never_reveals_more_than_the_rule_allows(s):
    for fn, most in ((mask_id, 10), (mask_bank_card, 4), (mask_phone, 7)):
        m = fn(s)
        shown = _revealed(s, m)
        assert shown <= most
        # At least as many characters stay hidden as are shown from the end.
        if shown:
            assert len(s) - shown >= min(shown, 4)
        # Whatever is shown is the real head and tail, nothing invented.
        tail = m.rstrip("*")[-4:] if shown else ""
        assert s.endswith(tail) or fn is mask_phone


@settings(max_examples=200)
@given(st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True))
def test_phone_mask_shape(number):
    m = mask_phone(number)
    assert m == number[:3] + "****" + number[-4:]
