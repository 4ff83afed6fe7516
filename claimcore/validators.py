"""Validators for resident ID numbers, mobile numbers and bank card numbers.

Each ``validate_*`` returns the normalised value or raises :class:`ValidationError`, which carries a
stable message key (for translation), the field, and Chinese and English text. Messages never echo
the number itself: they end up in logs and on screens, and the number is personal data.

Input typed on a phone may carry spaces, dashes or full-width digits (Chinese input methods); those
are normalised before checking (Unicode NFKC, then separators removed).

Resident ID number (居民身份证号码, GB 11643-1999)
- 18 characters: 6-digit address code, 8-digit birth date (YYYYMMDD), 3-digit sequence (odd for
  men, even for women), 1 check character computed with ISO 7064 MOD 11-2 (``0``–``9`` or ``X``).
  A lower-case ``x`` is accepted and normalised to ``X``.
- The first two digits must be a real province-level code of GB/T 2260, or 81/82/83 (residence
  permits for residents of Hong Kong, Macao and Taiwan, which use the same format). Region codes
  below province level change over the years and old cards keep old codes, so only the province is
  checked.
- The birth date must be a real date, not before 1900-01-01 and not after today.
- The old 15-digit card (no check digit, expired since 2013) is not accepted.
- Foreigners' permanent residence ID cards (2023 format: first digit ``9``) are not resident ID
  numbers and are rejected here.

Mobile (mainland China): 11 digits ``1[3-9]xxxxxxxxx``; a ``+86``, ``0086`` or ``86`` prefix is
dropped. Bank card: 16–19 digits passing the Luhn check. Passbook (存折) account numbers are not
cards and are not checked here.
"""
from __future__ import annotations

import datetime as _dt
import re
import unicodedata
from dataclasses import dataclass

# key: (zh, en). Templates may use {field}-independent params given to ValidationError.
MESSAGES: dict[str, tuple[str, str]] = {
    "id_number.empty": ("请填写身份证号码", "the ID number is empty"),
    "id_number.length": ("身份证号码应为18位（当前{length}位）",
                         "an ID number has 18 characters (got {length})"),
    "id_number.characters": ("身份证号码只能是17位数字加1位数字或X",
                             "an ID number is 17 digits followed by a digit or X"),
    "id_number.region": ("身份证号码前两位不是有效的省级行政区划代码",
                         "the first two digits are not a province-level region code"),
    "id_number.birth_date": ("身份证号码中的出生日期无效", "the birth date in the ID number is not a real date"),
    "id_number.birth_future": ("身份证号码中的出生日期晚于今天",
                               "the birth date in the ID number is in the future"),
    "id_number.birth_too_early": ("身份证号码中的出生日期早于1900年",
                                  "the birth date in the ID number is before 1900"),
    "id_number.check_digit": ("身份证号码校验位不正确，请核对是否输错",
                              "the ID number's check digit does not match; check for a typo"),
    "mobile.empty": ("请填写手机号码", "the mobile number is empty"),
    "mobile.invalid": ("手机号码应为以1开头的11位数字", "a mobile number is 11 digits starting with 1[3-9]"),
    "bank_card.empty": ("请填写银行卡号", "the bank card number is empty"),
    "bank_card.characters": ("银行卡号只能包含数字", "a bank card number has digits only"),
    "bank_card.length": ("银行卡号应为16至19位数字（当前{length}位）",
                         "a bank card number has 16 to 19 digits (got {length})"),
    "bank_card.check_digit": ("银行卡号校验不通过，请核对是否输错",
                              "the bank card number fails the Luhn check; check for a typo"),
    "text.type": ("输入内容应为文字", "the value must be text"),
}


class ValidationError(ValueError):
    """Bad input, with a translatable key. ``str(e)`` is English (logs); screens use
    ``e.message("zh")`` (the default language) or ``e.message("en")``."""

    def __init__(self, key: str, field: str, **params: object) -> None:
        if key not in MESSAGES:
            raise KeyError(f"no message for {key!r}")
        self.key = key
        self.field = field
        self.params = params
        super().__init__(self.message("en"))

    def message(self, lang: str = "zh") -> str:
        zh, en = MESSAGES[self.key]
        return (zh if lang == "zh" else en).format(**self.params)

    @property
    def message_zh(self) -> str:
        return self.message("zh")

    @property
    def message_en(self) -> str:
        return self.message("en")


_SEPARATORS = re.compile(r"[\s\-‐‑‒–—]+")


def _clean(value: object, field: str) -> str:
    if not isinstance(value, str):
        raise ValidationError("text.type", field)
    return _SEPARATORS.sub("", unicodedata.normalize("NFKC", value))


# GB/T 2260 province-level codes (mainland), plus 81/82/83 for the residence permits of residents
# of Hong Kong, Macao and Taiwan (GB 11643 format, codes 810000/820000/830000).
PROVINCE_CODES: dict[str, str] = {
    "11": "北京市", "12": "天津市", "13": "河北省", "14": "山西省", "15": "内蒙古自治区",
    "21": "辽宁省", "22": "吉林省", "23": "黑龙江省",
    "31": "上海市", "32": "江苏省", "33": "浙江省", "34": "安徽省", "35": "福建省", "36": "江西省",
    "37": "山东省",
    "41": "河南省", "42": "湖北省", "43": "湖南省", "44": "广东省", "45": "广西壮族自治区",
    "46": "海南省",
    "50": "重庆市", "51": "四川省", "52": "贵州省", "53": "云南省", "54": "西藏自治区",
    "61": "陕西省", "62": "甘肃省", "63": "青海省", "64": "宁夏回族自治区", "65": "新疆维吾尔自治区",
    "81": "香港特别行政区（居住证）", "82": "澳门特别行政区（居住证）", "83": "台湾地区（居住证）",
}

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_ID_SHAPE = re.compile(r"[0-9]{17}[0-9X]")
_EARLIEST_BIRTH = _dt.date(1900, 1, 1)


def id_check_character(first17: str) -> str:
    """The GB 11643 (ISO 7064 MOD 11-2) check character for the first 17 digits."""
    if len(first17) != 17 or not first17.isascii() or not first17.isdigit():
        raise ValueError("need exactly 17 ASCII digits")
    total = sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS))
    return _ID_CHECK[total % 11]


@dataclass(frozen=True)
class IdNumberInfo:
    number: str          # normalised, upper-case X
    region_code: str     # the 6-digit address code
    province: str        # province-level name from PROVINCE_CODES
    birth_date: _dt.date
    sex: str             # "male" | "female" (the sequence's parity)


def parse_id_number(value: str, *, today: _dt.date | None = None) -> IdNumberInfo:
    """Validate a resident ID number and return what it encodes. Raises :class:`ValidationError`."""
    field = "id_number"
    s = _clean(value, field).upper()
    if not s:
        raise ValidationError("id_number.empty", field)
    if len(s) != 18:
        raise ValidationError("id_number.length", field, length=len(s))
    if not _ID_SHAPE.fullmatch(s):
        raise ValidationError("id_number.characters", field)
    if s[:2] not in PROVINCE_CODES:
        raise ValidationError("id_number.region", field)
    try:
        born = _dt.date(int(s[6:10]), int(s[10:12]), int(s[12:14]))
    except ValueError:
        raise ValidationError("id_number.birth_date", field) from None
    if born < _EARLIEST_BIRTH:
        raise ValidationError("id_number.birth_too_early", field)
    if born > (today or _dt.date.today()):
        raise ValidationError("id_number.birth_future", field)
    if id_check_character(s[:17]) != s[17]:
        raise ValidationError("id_number.check_digit", field)
    return IdNumberInfo(s, s[:6], PROVINCE_CODES[s[:2]], born,
                        "male" if int(s[16]) % 2 else "female")


def validate_id_number(value: str, *, today: _dt.date | None = None) -> str:
    """The normalised resident ID number (upper-case X), or :class:`ValidationError`."""
    return parse_id_number(value, today=today).number


def is_valid_id_number(value: object, *, today: _dt.date | None = None) -> bool:
    try:
        parse_id_number(value, today=today)  # type: ignore[arg-type]
    except ValidationError:
        return False
    return True


_MOBILE = re.compile(r"1[3-9][0-9]{9}")


def validate_mobile(value: str) -> str:
    """The 11-digit mainland mobile number, country prefix and separators removed."""
    field = "mobile"
    s = _clean(value, field).replace("(", "").replace(")", "")
    if not s:
        raise ValidationError("mobile.empty", field)
    for prefix in ("+86", "0086", "86"):
        if s.startswith(prefix) and len(s) == len(prefix) + 11:
            s = s[len(prefix):]
            break
    if not _MOBILE.fullmatch(s):
        raise ValidationError("mobile.invalid", field)
    return s


def is_valid_mobile(value: object) -> bool:
    try:
        validate_mobile(value)  # type: ignore[arg-type]
    except ValidationError:
        return False
    return True


def luhn_ok(digits: str) -> bool:
    """The Luhn (mod 10) check over a string of ASCII digits."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def validate_bank_card(value: str) -> str:
    """The bank card number as digits only (16–19, Luhn), or :class:`ValidationError`."""
    field = "bank_card"
    s = _clean(value, field)
    if not s:
        raise ValidationError("bank_card.empty", field)
    if not (s.isascii() and s.isdigit()):
        raise ValidationError("bank_card.characters", field)
    if not 16 <= len(s) <= 19:
        raise ValidationError("bank_card.length", field, length=len(s))
    if not luhn_ok(s):
        raise ValidationError("bank_card.check_digit", field)
    return s


def is_valid_bank_card(value: object) -> bool:
    try:
        validate_bank_card(value)  # type: ignore[arg-type]
    except ValidationError:
        return False
    return True


def validate_bank_account(value: str) -> str:
    """A payee's account as digits only: a 16–19 digit number is a card and must pass Luhn; other
    lengths of 8–30 digits are passbook accounts (存折), which carry no check digit."""
    digits = _clean(value, "bank_card")
    if digits.isascii() and digits.isdigit() and not 16 <= len(digits) <= 19 and 8 <= len(digits) <= 30:
        return digits
    return validate_bank_card(value)
