"""Money on paper: fen printed as yuan with two decimals, and the Chinese capital form (大写)
that financial forms carry next to every total so that a figure cannot be altered by hand."""
from __future__ import annotations

from claimcore.money import format_fen

_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_SMALL_UNITS = ("", "拾", "佰", "仟")
_GROUP_UNITS = ("", "万", "亿", "万亿")


def yuan(fen: int) -> str:
    """1234567 -> the project's yuan notation for 12,345.67 yuan (claimcore.money.format_fen)."""
    return format_fen(fen)


def _group_words(group: int) -> str:
    """Words for 0 < group < 10000, with 零 for inner zeros and none trailing."""
    out = []
    pending_zero = False
    for position in range(3, -1, -1):
        digit = group // 10**position % 10
        if digit == 0:
            pending_zero = bool(out)
            continue
        if pending_zero:
            out.append("零")
            pending_zero = False
        out.append(_DIGITS[digit] + _SMALL_UNITS[position])
    return "".join(out)


def _integer_words(number: int) -> str:
    groups = []
    while number:
        groups.append(number % 10000)
        number //= 10000
    if len(groups) > len(_GROUP_UNITS):
        raise ValueError("amount too large to write in words")
    out = []
    zero_pending = False
    for index in range(len(groups) - 1, -1, -1):
        group = groups[index]
        if group == 0:
            zero_pending = bool(out)
            continue
        if out and (zero_pending or group < 1000):
            out.append("零")
        out.append(_group_words(group) + _GROUP_UNITS[index])
        zero_pending = False
    return "".join(out)


def amount_in_words(fen: int) -> str:
    """Chinese capital amount: 1234567 fen -> 壹万贰仟叁佰肆拾伍元陆角柒分; 10000000 -> 壹拾万元整."""
    if isinstance(fen, bool) or not isinstance(fen, int):
        raise TypeError("amounts are int fen")
    if fen < 0:
        return "负" + amount_in_words(-fen)
    whole, cents = divmod(fen, 100)
    jiao, fen_digit = divmod(cents, 10)
    if whole == 0 and cents == 0:
        return "零元整"
    out = _integer_words(whole) + "元" if whole else ""
    if cents == 0:
        return out + "整"
    if jiao:
        out += _DIGITS[jiao] + "角"
    elif whole:
        out += "零"
    if fen_digit:
        out += _DIGITS[fen_digit] + "分"
    else:
        out += "整"
    return out
