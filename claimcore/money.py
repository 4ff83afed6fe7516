"""Money as integer fen (1 yuan = 100 fen). Never float.

- :func:`parse_yuan` turns what a person types (``"1,234.56"``, ``"￥1234.5"``, ``"1234.56元"``,
  full-width digits) into fen, exactly, through :class:`decimal.Decimal`. It refuses floats
  (``0.1 + 0.2`` is not money), more than two decimal places of value (``"1.234"``; ``"1.230"`` is
  exactly 123 fen and is accepted), exponents, NaN and infinities, misplaced thousands
  separators (``"12,34"``), spaces inside the number, and negative amounts unless
  ``allow_negative=True``.
- :func:`format_fen` gives ``"1,234.56"``; :func:`format_fen_zh` gives ``"1,234.56元"``;
  :func:`format_fen_capital` gives the upper-case amount written on Chinese financial forms
  (``"人民币壹仟贰佰叁拾肆元伍角陆分"``), as on the claim application.
"""
from __future__ import annotations

import re
import unicodedata
from decimal import Decimal, InvalidOperation


class MoneyError(ValueError):
    """An amount that is not exact money; the message says what is wrong (zh and en)."""

    def __init__(self, en: str, zh: str) -> None:
        self.message_en = en
        self.message_zh = zh
        super().__init__(en)

    def message(self, lang: str = "zh") -> str:
        return self.message_zh if lang == "zh" else self.message_en


_PLAIN = re.compile(r"[+-]?[0-9]+(\.[0-9]*)?|[+-]?\.[0-9]+")
_GROUPED = re.compile(r"[+-]?[0-9]{1,3}(,[0-9]{3})+(\.[0-9]*)?")


def require_fen(value: object, name: str = "amount_fen") -> int:
    """``value`` if it is an int (not bool), else TypeError: fen fields never hold floats."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int number of fen, not {type(value).__name__} "
                        f"({value!r})")
    return value


def parse_yuan(value: str | int | Decimal, *, allow_negative: bool = False) -> int:
    """An amount in yuan → int fen. ``int`` input is whole yuan; ``float`` is refused."""
    if isinstance(value, bool) or isinstance(value, float):
        raise TypeError(f"amounts must be given as text or Decimal, not {type(value).__name__} "
                        f"({value!r}): binary floats cannot hold fen exactly")
    if isinstance(value, int):
        amount = Decimal(value)
    elif isinstance(value, Decimal):
        amount = value
    elif isinstance(value, str):
        amount = _parse_text(value)
    else:
        raise TypeError(f"cannot read an amount from {type(value).__name__}")
    if not amount.is_finite():
        raise MoneyError(f"not a finite amount: {value!r}", "金额无效")
    fen = amount * 100
    if fen != fen.to_integral_value():
        raise MoneyError(f"at most two decimal places (fen): {value!r}", "金额最多保留两位小数（到分）")
    fen_int = int(fen)
    if fen_int < 0 and not allow_negative:
        raise MoneyError(f"amount must not be negative: {value!r}", "金额不能为负数")
    return fen_int


def _parse_text(text: str) -> Decimal:
    s = unicodedata.normalize("NFKC", text).strip()
    # Currency marks people type around an amount; NFKC turns ￥ into ¥.
    s = s.removeprefix("人民币").strip()
    s = s.lstrip("¥").strip()
    s = s.removesuffix("元").strip()
    if not s:
        raise MoneyError("the amount is empty", "请填写金额")
    if "," in s:
        if not _GROUPED.fullmatch(s):
            raise MoneyError(f"thousands separators in the wrong place: {text!r}",
                             "千位分隔符位置不正确")
        s = s.replace(",", "")
    elif not _PLAIN.fullmatch(s):
        raise MoneyError(f"not an amount: {text!r}", "金额格式不正确，应为数字，如 1234.56")
    try:
        return Decimal(s)
    except InvalidOperation:  # pragma: no cover - the patterns above admit only decimals
        raise MoneyError(f"not an amount: {text!r}", "金额格式不正确") from None


def format_fen(fen: int, *, grouping: bool = True) -> str:
    """``123456`` → ``"1,234.56"``; ``-5`` → ``"-0.05"``."""
    require_fen(fen, "fen")
    sign = "-" if fen < 0 else ""
    yuan, cents = divmod(abs(fen), 100)
    whole = f"{yuan:,}" if grouping else str(yuan)
    return f"{sign}{whole}.{cents:02d}"


def format_fen_zh(fen: int) -> str:
    """``123456`` → ``"1,234.56元"``."""
    return format_fen(fen) + "元"


_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_UNITS = ("", "拾", "佰", "仟")
_GROUPS = ("", "万", "亿", "万亿")


def _group_capital(g: int) -> str:
    out = ""
    zero = False
    started = False
    for pos in (3, 2, 1, 0):
        d = g // 10**pos % 10
        if d == 0:
            zero = started
            continue
        if zero:
            out += "零"
            zero = False
        out += _DIGITS[d] + _UNITS[pos]
        started = True
    return out


def _int_capital(n: int) -> str:
    groups = []
    while n:
        groups.append(n % 10000)
        n //= 10000
    out = ""
    zero_pending = False
    for i in reversed(range(len(groups))):
        g = groups[i]
        if g == 0:
            zero_pending = bool(out)
            continue
        if out and (zero_pending or g < 1000):
            out += "零"
        out += _group_capital(g) + _GROUPS[i]
        zero_pending = False
    return out


def format_fen_capital(fen: int, *, prefix: str = "人民币") -> str:
    """The upper-case amount (大写金额) for forms: ``123456`` → ``"人民币壹仟贰佰叁拾肆元伍角陆分"``,
    ``100000_00`` → ``"人民币壹拾万元整"``, ``105`` → ``"人民币壹元零伍分"``.

    Follows the usual rules of 《支付结算办法》: 整 after 元 or 角 when nothing follows, one 零 for a
    run of zeros. Negative amounts and amounts of 10^16 yuan or more are refused."""
    require_fen(fen, "fen")
    if fen < 0:
        raise MoneyError("a negative amount has no upper-case form", "负数金额不能写成大写")
    yuan, rest = divmod(fen, 100)
    if yuan >= 10**16:
        raise MoneyError("amount too large", "金额过大")
    jiao, f = divmod(rest, 10)
    if fen == 0:
        return prefix + "零元整"
    out = ""
    if yuan:
        out += _int_capital(yuan) + "元"
    if jiao == 0 and f == 0:
        return prefix + out + "整"
    if jiao:
        out += _DIGITS[jiao] + "角"
    elif yuan:
        out += "零"
    if f:
        out += _DIGITS[f] + "分"
    else:
        out += "整"
    return prefix + out
