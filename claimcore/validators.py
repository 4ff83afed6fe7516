"""Validators for identity document numbers, mobile numbers and bank card numbers.

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
  numbers and are rejected here: they have a document type of their own (below).

Other identity documents (the person's ``id_type``; the notice insures visitors too: "临时来大足出差、
旅游、务工、途经等流动人员"). :func:`validate_identity_number` checks a number by its type; each type
has its own message keys, named after it.
- ``resident_id`` 居民身份证 (also the HK/Macao/Taiwan residents' residence permits): as above.
- ``passport`` 护照: 5 to 17 letters and digits (ICAO Doc 9303 allows up to 9 in the machine-readable
  zone, some states print longer numbers), upper-cased. No check digit: the printed number has none.
- ``foreign_permanent_resident`` 外国人永久居留身份证, two formats in use side by side:
  2023 card (issued since 2023-12-01; 国家移民管理局《新版外国人永久居留身份证适配性改造要点》): 18
  characters modelled on GB 11643: ``9``, 2-digit province-level code of the issuing office (GB/T
  2260), 3-digit nationality code (GB/T 2659 numeric), birth date YYYYMMDD, 3-digit sequence, and a
  check character computed exactly as a resident ID's (ISO 7064 MOD 11-2, ``0``-``9`` or ``X``).
  2004/2017 card: 15 characters, 3 letters (nationality, GB/T 2659 alpha-3) and 12 digits: a 4-digit
  code of the issuing office (province + city, GB/T 2260), birth date YYMMDD, 1 sequence digit and
  1 check digit computed as in ICAO Doc 9303 part 3 (weights 7-3-1, letters A=10 … Z=35, mod 10)
  over the first 14 characters. The published examples (``KAZ110090123105``,
  ``932682198501010017``) pass these checks. Only the province of the issuing office is checked
  (as for resident IDs), and the nationality code only for its shape.
- ``residence_permit`` 外国人居留许可: no public standard describes the number's layout, so the rule
  is deliberately loose: 6 to 20 letters and digits as printed, upper-cased.

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
    "passport.empty": ("请填写护照号码", "the passport number is empty"),
    "passport.length": ("护照号码应为5至17位（当前{length}位）",
                        "a passport number has 5 to 17 characters (got {length})"),
    "passport.characters": ("护照号码只能包含字母和数字", "a passport number has letters and digits only"),
    "foreign_permanent_resident.empty": ("请填写外国人永久居留身份证号码",
                                         "the permanent residence ID number is empty"),
    "foreign_permanent_resident.length": (
        "外国人永久居留身份证号码应为18位（2023年起新版）或15位（旧版）（当前{length}位）",
        "a permanent residence ID number has 18 characters (cards since 2023) or 15 (older cards) "
        "(got {length})"),
    "foreign_permanent_resident.characters": (
        "外国人永久居留身份证号码应为9开头的17位数字加1位数字或X（新版），或3位字母加12位数字（旧版）",
        "a permanent residence ID number is 9 and 16 more digits followed by a digit or X (cards since "
        "2023), or 3 letters followed by 12 digits (older cards)"),
    "foreign_permanent_resident.region": ("外国人永久居留身份证号码中的受理地代码不是有效的省级行政区划代码",
                                          "the issuing office's region code is not a province-level code"),
    "foreign_permanent_resident.birth_date": ("外国人永久居留身份证号码中的出生日期无效",
                                              "the birth date in the permanent residence ID number is not a real date"),
    "foreign_permanent_resident.birth_future": ("外国人永久居留身份证号码中的出生日期晚于今天",
                                                "the birth date in the permanent residence ID number is in the future"),
    "foreign_permanent_resident.birth_too_early": ("外国人永久居留身份证号码中的出生日期早于1900年",
                                                   "the birth date in the permanent residence ID number is before 1900"),
    "foreign_permanent_resident.check_digit": ("外国人永久居留身份证号码校验位不正确，请核对是否输错",
                                               "the permanent residence ID number's check character does not "
                                               "match; check for a typo"),
    "residence_permit.empty": ("请填写居留许可号码", "the residence permit number is empty"),
    "residence_permit.length": ("居留许可号码应为6至20位（当前{length}位）",
                                "a residence permit number has 6 to 20 characters (got {length})"),
    "residence_permit.characters": ("居留许可号码只能包含字母和数字",
                                    "a residence permit number has letters and digits only"),
    "id_type.unknown": ("证件类型不是可选的值", "not a known kind of identity document"),
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


# ---- other identity documents ------------------------------------------------------------------

# The type a person without ``id_type`` has: every record made before other documents were accepted.
DEFAULT_ID_TYPE = "resident_id"

_ALNUM = re.compile(r"[0-9A-Z]+")
_PR_2023 = re.compile(r"9[0-9]{16}[0-9X]")
_PR_OLD = re.compile(r"[A-Z]{3}[0-9]{12}")
_MRZ_WEIGHTS = (7, 3, 1)


def mrz_check_digit(text: str) -> str:
    """The ICAO Doc 9303 check digit (weights 7-3-1, A=10 … Z=35, ``<`` = 0, mod 10)."""
    total = 0
    for i, ch in enumerate(text):
        if ch.isascii() and ch.isdigit():
            value = ord(ch) - 48
        elif "A" <= ch <= "Z":
            value = ord(ch) - 55
        elif ch == "<":
            value = 0
        else:
            raise ValueError("only 0-9, A-Z and < have a check value")
        total += value * _MRZ_WEIGHTS[i % 3]
    return str(total % 10)


# The shortest and longest number of each identity document (the phone's field length and its
# "still typing" hint read them here).
ID_NUMBER_LENGTHS: dict[str, tuple[int, int]] = {"resident_id": (18, 18), "passport": (5, 17),
                                                 "foreign_permanent_resident": (15, 18),
                                                 "residence_permit": (6, 20)}


def shortest_id_number(id_type: str, typed: str = "") -> int:
    """How long a number of this type must at least be, given what is typed so far: a permanent
    residence card starting with 9 is the 18-character 2023 card, otherwise the 15-character one."""
    if id_type == "foreign_permanent_resident":
        return 18 if typed.strip()[:1] == "9" else 15
    return ID_NUMBER_LENGTHS[id_type][0]


def _alphanumeric(value: object, kind: str, shortest: int, longest: int) -> str:
    s = _clean(value, "id_number").upper()
    if not s:
        raise ValidationError(f"{kind}.empty", "id_number")
    if not _ALNUM.fullmatch(s):
        raise ValidationError(f"{kind}.characters", "id_number")
    if not shortest <= len(s) <= longest:
        raise ValidationError(f"{kind}.length", "id_number", length=len(s))
    return s


def validate_passport(value: str) -> str:
    """A passport number: 5–17 letters and digits (separators removed), upper-case."""
    return _alphanumeric(value, "passport", *ID_NUMBER_LENGTHS["passport"])


def validate_residence_permit(value: str) -> str:
    """A foreigner's residence permit number as printed: 6–20 letters and digits, upper-case."""
    return _alphanumeric(value, "residence_permit", *ID_NUMBER_LENGTHS["residence_permit"])


@dataclass(frozen=True)
class PermanentResidenceInfo:
    number: str          # normalised, upper case
    issued_format: str   # "2023" (18 characters) | "2004" (15 characters, the older cards)
    province: str        # the issuing office's province (PROVINCE_CODES)
    nationality: str     # GB/T 2659: 3 digits (2023 cards) or 3 letters (older cards)
    birth_date: _dt.date


def _birth(year: int, month: int, day: int) -> _dt.date | None:
    try:
        return _dt.date(year, month, day)
    except ValueError:
        return None


def parse_permanent_residence(value: str, *, today: _dt.date | None = None) -> PermanentResidenceInfo:
    """Validate a foreigner's permanent residence ID number (either format); see the module's notes."""
    kind, field = "foreign_permanent_resident", "id_number"
    s = _clean(value, field).upper()
    today = today or _dt.date.today()
    if not s:
        raise ValidationError(f"{kind}.empty", field)
    if len(s) not in (15, 18):
        raise ValidationError(f"{kind}.length", field, length=len(s))
    if len(s) == 18:
        if not _PR_2023.fullmatch(s):
            raise ValidationError(f"{kind}.characters", field)
        province, nationality = s[1:3], s[3:6]
        born = _birth(int(s[6:10]), int(s[10:12]), int(s[12:14]))
    else:
        if not _PR_OLD.fullmatch(s):
            raise ValidationError(f"{kind}.characters", field)
        province, nationality = s[3:5], s[:3]
        yy, month, day = int(s[7:9]), int(s[9:11]), int(s[11:13])
        # Two-digit years: the latest century that is not in the future (a card holder born in
        # 1925 and one born in 2025 both exist; a date valid only in one century decides it).
        born = next((d for d in (_birth(2000 + yy, month, day), _birth(1900 + yy, month, day))
                     if d is not None and d <= today), None) \
            or _birth(2000 + yy, month, day) or _birth(1900 + yy, month, day)
    # The issuing office is on the mainland (the National Immigration Administration).
    if province not in PROVINCE_CODES or province in ("81", "82", "83"):
        raise ValidationError(f"{kind}.region", field)
    if born is None:
        raise ValidationError(f"{kind}.birth_date", field)
    if born < _EARLIEST_BIRTH:
        raise ValidationError(f"{kind}.birth_too_early", field)
    if born > today:
        raise ValidationError(f"{kind}.birth_future", field)
    check = id_check_character(s[:17]) if len(s) == 18 else mrz_check_digit(s[:14])
    if check != s[-1]:
        raise ValidationError(f"{kind}.check_digit", field)
    return PermanentResidenceInfo(s, "2023" if len(s) == 18 else "2004", PROVINCE_CODES[province],
                                  nationality, born)


def validate_permanent_residence(value: str, *, today: _dt.date | None = None) -> str:
    """The normalised permanent residence ID number, or :class:`ValidationError`."""
    return parse_permanent_residence(value, today=today).number


# One rule per document type; the types themselves are the record contract's word list
# (claimcore.entities.ID_TYPES), which a test holds equal to these keys.
ID_NUMBER_RULES = {
    "resident_id": validate_id_number,
    "passport": validate_passport,
    "foreign_permanent_resident": validate_permanent_residence,
    "residence_permit": validate_residence_permit,
}


def validate_identity_number(value: str, id_type: str | None = None) -> str:
    """The normalised number of an identity document of type ``id_type`` (None: a resident ID),
    or :class:`ValidationError` with that type's message."""
    rule = ID_NUMBER_RULES.get(id_type or DEFAULT_ID_TYPE)
    if rule is None:
        raise ValidationError("id_type.unknown", "id_type")
    return rule(value)


def is_valid_identity_number(value: object, id_type: str | None = None) -> bool:
    try:
        validate_identity_number(value, id_type)  # type: ignore[arg-type]
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
