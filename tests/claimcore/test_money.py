"""Money in integer fen: parsing, formatting, the upper-case form for claim applications."""
from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from claimcore.money import (
    MoneyError,
    format_fen,
    format_fen_capital,
    format_fen_zh,
    parse_yuan,
    require_fen,
)


@pytest.mark.parametrize("text,fen", [
    ("1,234.56", 123456), ("1234.56", 123456), ("12.34", 1234), ("0.01", 1), ("0", 0),
    ("100000", 10000000), ("100,000.00", 10000000), ("1,234,567.8", 123456780), ("1.", 100),
    (".5", 50), ("  12.3 ", 1230), ("￥1,234.56", 123456), ("¥12", 1200), ("1234.56元", 123456),
    ("人民币 300000 元", 30000000), ("１２３４．５６", 123456), ("1.230", 123), ("+5", 500),
])
def test_parse_yuan(text, fen):
    assert parse_yuan(text) == fen


def test_parse_int_and_decimal():
    assert parse_yuan(12) == 1200
    assert parse_yuan(Decimal("12.34")) == 1234
    assert parse_yuan("-12.34", allow_negative=True) == -1234


@pytest.mark.parametrize("text", [
    "1.234", "0.001", "12,34", "1,2345.00", ",123", "1e5", "NaN", "inf", "abc", "", "  ",
    "12.34.56", "1 2 3 4", "--1", "元",
])
def test_parse_rejects_non_money_text(text):
    with pytest.raises(MoneyError) as e:
        parse_yuan(text)
    assert e.value.message("zh") and e.value.message("en")


def test_parse_rejects_negative_unless_allowed():
    with pytest.raises(MoneyError) as e:
        parse_yuan("-0.01")
    assert "负数" in e.value.message()


@pytest.mark.parametrize("bad", [12.34, 0.1 + 0.2, True, None, [1]])
def test_parse_rejects_floats_and_other_types(bad):
    with pytest.raises(TypeError):
        parse_yuan(bad)


def test_decimal_with_too_many_places_and_non_finite():
    with pytest.raises(MoneyError):
        parse_yuan(Decimal("1.001"))
    with pytest.raises(MoneyError):
        parse_yuan(Decimal("NaN"))


@pytest.mark.parametrize("fen,text", [
    (123456, "1,234.56"), (0, "0.00"), (1, "0.01"), (100, "1.00"), (-5, "-0.05"),
    (-123456, "-1,234.56"), (10000000, "100,000.00"), (123456789012, "1,234,567,890.12"),
])
def test_format_fen(fen, text):
    assert format_fen(fen) == text
    assert parse_yuan(text, allow_negative=True) == fen


def test_format_variants_and_type_checks():
    assert format_fen(123456, grouping=False) == "1234.56"
    assert format_fen_zh(123456) == "1,234.56元"
    for bad in (1.5, True, "12", None):
        with pytest.raises(TypeError):
            format_fen(bad)
    assert require_fen(5) == 5
    with pytest.raises(TypeError):
        require_fen(5.0, "limit_fen")


@settings(max_examples=500)
@given(st.integers(min_value=-10**15, max_value=10**15))
def test_format_then_parse_is_identity(fen):
    assert parse_yuan(format_fen(fen), allow_negative=True) == fen
    assert parse_yuan(format_fen(fen, grouping=False), allow_negative=True) == fen
    assert parse_yuan(format_fen_zh(fen), allow_negative=True) == fen


@pytest.mark.parametrize("fen,text", [
    (123456, "壹仟贰佰叁拾肆元伍角陆分"),
    (100_000_00, "壹拾万元整"),
    (105, "壹元零伍分"),
    (150, "壹元伍角整"),
    (50, "伍角整"),
    (5, "伍分"),
    (0, "零元整"),
    (1000_08, "壹仟元零捌分"),
    (100_500_00, "壹拾万零伍佰元整"),
    (1_0001_00, "壹万零壹元整"),
    (1_0000_0001_00, "壹亿零壹元整"),
    (1_0100_0000_00, "壹亿零壹佰万元整"),
    (1010_00, "壹仟零壹拾元整"),
    (1001_00, "壹仟零壹元整"),
    (2_0000_0000_00, "贰亿元整"),
    (1001_0000_00, "壹仟零壹万元整"),
    (3_0005_20, "叁万零伍元贰角整"),
    (10_7000_53, "壹拾万柒仟元伍角叁分"),
    (300_000_00, "叁拾万元整"),
])
def test_capital_amounts(fen, text):
    assert format_fen_capital(fen) == "人民币" + text
    assert format_fen_capital(fen, prefix="") == text


def test_capital_refuses_negative_and_huge():
    with pytest.raises(MoneyError):
        format_fen_capital(-1)
    with pytest.raises(MoneyError):
        format_fen_capital(10**18)


_D = {c: i for i, c in enumerate("零壹贰叁肆伍陆柒捌玖")}


def read_capital(text: str) -> int:
    """Read an upper-case amount back to fen: an independent oracle for the formatter."""
    text = text.removeprefix("人民币").removesuffix("整")
    yuan_part, _, small = text.partition("元") if "元" in text else ("", "", text)
    total = section = number = 0
    for ch in yuan_part:
        if ch in _D:
            number = _D[ch]
        elif ch in "拾佰仟":
            section += number * {"拾": 10, "佰": 100, "仟": 1000}[ch]
            number = 0
        elif ch == "万":
            section = (section + number) * 10_000
            number = 0
        elif ch == "亿":
            total = (total + section + number) * 10**8
            section = number = 0
    fen = (total + section + number) * 100
    number = 0
    for ch in small:
        if ch in _D:
            number = _D[ch]
        elif ch == "角":
            fen += number * 10
            number = 0
        elif ch == "分":
            fen += number
            number = 0
    return fen


@settings(max_examples=1000)
@given(st.one_of(st.integers(min_value=0, max_value=10**13),
                 st.integers(min_value=0, max_value=10**13).map(lambda n: n - n % 100),
                 st.integers(min_value=0, max_value=9999).map(lambda n: n * 10**6)))
def test_capital_reads_back_and_has_no_doubled_zero(fen):
    text = format_fen_capital(fen)
    assert read_capital(text) == fen
    assert "零零" not in text
    assert not text.removesuffix("整").endswith("零")
