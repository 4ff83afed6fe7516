"""The record contract: every synced entity, its fields and their rules (the only place for them).

The phone's store, the server's push path, the printed forms and the sync wire all derive from
this module, so that what a phone saves is exactly what the server accepts: a limit or a word
list written out anywhere else is a bug (tests/claimcore/test_entities.py greps for copies).

For each field: its ``kind`` (how a value is checked), ``max_length`` (texts) or ``min``/``max``
(numbers), ``required_on_create``, ``writable_by`` (the user roles that may set it), ``sealed``
(personal data: encrypted at rest on the phone, shown masked), ``local_only`` (bookkeeping of the
phone that never travels). :func:`check_fields` applies the rules and raises :class:`ContractError`
with a stable ``code`` naming the rule broken and the field; the server answers it in push
receipts (docs/api.md), the phone shows its zh/en message.

``python -m claimcore contract --json`` prints the contract for other programs.
"""
from __future__ import annotations

import datetime as _dt
import functools
import json
import math
import re
from dataclasses import dataclass
from typing import Any, Mapping

CONTRACT_VERSION = "1"

# ---- the word lists (defined here once; everything else imports them) ------------------------

USER_ROLES: tuple[str, ...] = ("coordinator", "adjuster", "surveyor", "liaison")
# Who works a claim's files and so may handle victims' personal data (a co-insurer's surveyor
# joins the site survey, not the victim's papers).
FILE_ROLES: tuple[str, ...] = ("coordinator", "adjuster", "liaison")
# The lead insurer's office and the district's coordinator.
OFFICE_ROLES: tuple[str, ...] = ("coordinator", "adjuster")
PERSON_ROLES: tuple[str, ...] = ("victim", "claimant", "payee", "agent", "heir", "household_head")
LOSS_TYPES: tuple[str, ...] = ("death", "disability", "medical", "house", "resettlement")
DOCUMENT_STATUSES: tuple[str, ...] = ("missing", "collected", "verified", "not_applicable")
CLAIM_STATES: tuple[str, ...] = (
    "reported", "registered", "survey_dispatched", "surveyed", "collecting", "submitted",
    "under_review", "incomplete", "declined", "adjusted", "approved", "stamped", "paid", "closed",
    "withdrawn", "reopened",
)
GENDERS: tuple[str, ...] = ("male", "female")
# A person's identity document (the notice insures visitors too). ``resident_id`` (居民身份证, and
# the HK/Macao/Taiwan residents' residence permits of the same format) is what a person without
# ``id_type`` has; each type's number rule is claimcore.validators.ID_NUMBER_RULES, its mask
# claimcore.masking.mask_id.
ID_TYPES: tuple[str, ...] = ("resident_id", "passport", "foreign_permanent_resident", "residence_permit")
# A surveyor's answers to a survey assignment as the phone records them.
ASSIGNMENT_ANSWERS: tuple[str, ...] = ("accepted", "declined", "arrived", "done", "completed")
VOTES: tuple[str, ...] = ("approve", "reject", "abstain")
# What the work fund may be spent on (the notice's 经费列支: 宣传费, 查勘费, 通讯费, 项目工作经费).
SPENDING_CATEGORIES: tuple[str, ...] = ("publicity", "survey", "communication", "project_work")
# What a township reports to the civil affairs bureau after a natural disaster, and the bureau to
# the lead insurer (受灾情况): deaths, missing, injured, households with a damaged house and, of
# those, collapsed. The event's claims can count the first kind of each (DISASTER_CLAIM_MEASURES).
DISASTER_FIGURES: tuple[str, ...] = ("deaths", "missing", "injured", "damaged_households", "collapsed_households")
DISASTER_CLAIM_MEASURES: tuple[str, ...] = ("deaths", "injured", "damaged_households")
PHOTO_MIMES: tuple[str, ...] = ("image/jpeg",)
PHOTO_CONVERSIONS: tuple[str, ...] = ("heic",)

VOCAB: dict[str, tuple[str, ...]] = {
    "user_roles": USER_ROLES,
    "person_roles": PERSON_ROLES,
    "loss_types": LOSS_TYPES,
    "document_statuses": DOCUMENT_STATUSES,
    "claim_states": CLAIM_STATES,
    "genders": GENDERS,
    "id_types": ID_TYPES,
    "assignment_answers": ASSIGNMENT_ANSWERS,
    "votes": VOTES,
    "spending_categories": SPENDING_CATEGORIES,
    "photo_mimes": PHOTO_MIMES,
    "photo_conversions": PHOTO_CONVERSIONS,
}

# Document statuses only the office may set (it checks the originals).
VERIFY_ROLES: tuple[str, ...] = OFFICE_ROLES

MAX_FEN = 10**13  # 100 billion yuan: above any claim or fund entry of the programme
# One spending of the co-insurers' work fund (a survey's vehicle or meals, a print run of leaflets):
# the fund is 2% of the pool's premiums, so no single cost comes near 1,000,000 yuan. The server's
# own caps (DAZU_FUND_*_MAX_FEN) are tighter; this one the phone checks too, before anything is queued.
MAX_COST_FEN = 10**8
# Lists (uuid_list, text_list): ``max_length`` is the number of items; a text item
# holds at most MAX_LIST_ITEM characters.
MAX_LIST = 500
MAX_LIST_ITEM = 200

KINDS = (
    "text", "int", "fen", "number", "bool", "datetime", "date", "uuid", "uuid_list", "sha256",
    "code", "code_list", "text_list", "object", "coverage", "township", "village", "document_code",
    "id_number", "mobile", "bank_account", "loss_items",
)


@dataclass(frozen=True)
class Field:
    name: str
    kind: str
    max_length: int | None = None
    min: float | None = None
    max: float | None = None
    required_on_create: bool = False
    writable_by: tuple[str, ...] = FILE_ROLES
    sealed: bool = False
    local_only: bool = False
    vocab: str | None = None  # for kinds code / code_list: a key of VOCAB
    label: tuple[str, str] | None = None  # (zh, en) for messages

    def __post_init__(self) -> None:
        if self.kind not in KINDS or (self.kind in ("code", "code_list")) != (self.vocab in VOCAB):
            raise ValueError(f"field {self.name}: kind {self.kind!r} / vocab {self.vocab!r}")

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind}
        if self.max_length is not None:
            out["max_length"] = self.max_length
        if self.min is not None:
            out["min"] = self.min
        if self.max is not None:
            out["max"] = self.max
        out.update(required_on_create=self.required_on_create, writable_by=list(self.writable_by),
                   sealed=self.sealed, local_only=self.local_only)
        if self.vocab is not None:
            out["vocab"] = self.vocab
        return out

    def title(self, lang: str) -> str:
        if self.label is None:
            return self.name
        return self.label[0] if lang == "zh" else self.label[1]


@dataclass(frozen=True)
class Entity:
    name: str
    fields: dict[str, Field]
    label: tuple[str, str]  # (zh, en): what the user calls such a record
    append_only: bool = False
    # Who may create a record of this entity at all.
    create_roles: tuple[str, ...] = USER_ROLES
    # Every mutation names its claim (scope is checked from it).
    claim_scoped: bool = True

    def wire_fields(self) -> dict[str, Field]:
        return {n: f for n, f in self.fields.items() if not f.local_only}

    def local_only(self) -> frozenset[str]:
        return frozenset(n for n, f in self.fields.items() if f.local_only)

    def required(self) -> tuple[str, ...]:
        return tuple(n for n, f in self.fields.items() if f.required_on_create)


def _fields(*items: Field) -> dict[str, Field]:
    return {f.name: f for f in items}


def _text(name: str, max_length: int, label: tuple[str, str] | None = None, **kw: Any) -> Field:
    return Field(name, "text", max_length=max_length, label=label, **kw)


def _local(name: str, kind: str = "text") -> Field:
    return Field(name, kind, writable_by=(), local_only=True)


def _lat(name: str = "lat", **kw: Any) -> Field:
    return Field(name, "number", min=-90, max=90, label=("纬度", "latitude"), **kw)


def _lon(name: str = "lon", **kw: Any) -> Field:
    return Field(name, "number", min=-180, max=180, label=("经度", "longitude"), **kw)


def _fen(name: str, label: tuple[str, str], **kw: Any) -> Field:
    return Field(name, "fen", min=0, max=MAX_FEN, label=label, **kw)


ALL = USER_ROLES
ADJUSTER = ("adjuster",)

CLAIM = Entity("claim", label=("案件", "claim"), fields=_fields(
    Field("coverage", "coverage", required_on_create=True, label=("险种", "coverage")),
    Field("township_code", "township", required_on_create=True, label=("镇街", "township")),
    Field("village_code", "village", label=("村（社区）", "village")),
    _text("address", 500, ("事故地点", "place of the incident")),
    Field("incident_at", "datetime", required_on_create=True, label=("出险时间", "time of the incident")),
    _text("description", 5000, ("事故经过", "account of events"), required_on_create=True),
    Field("loss_types", "code_list", vocab="loss_types", label=("损失类型", "loss types")),
    # A rider (resettlement) names its main coverage; conditions are the catalogue's named
    # circumstances (by_agent, frontline_worker) that change the checklist.
    Field("attached_to", "coverage", label=("主险", "main coverage")),
    Field("conditions", "text_list", max_length=MAX_LIST, label=("情形", "conditions")),
    _lat(), _lon(),
    Field("accuracy_m", "number", min=0, max=10_000_000, label=("定位精度", "GPS accuracy")),
    Field("reported_at", "datetime", label=("报案时间", "reported at")),
    _text("report_channel", 100, ("报案渠道", "report channel")),
    _text("catalogue_version", 40, ("清单版本", "catalogue version")),
    # The report number a phone made at the scene (DZ-...): what victims are told and what the
    # printed forms show, so the office must see the same one.
    _text("report_no", 40, ("报案号", "report number")),
    _fen("claimed_amount_fen", ("申请金额", "claimed amount"), writable_by=("liaison", "adjuster")),
    Field("event_id", "uuid", writable_by=OFFICE_ROLES, label=("灾害事件", "event")),
    _fen("adjusted_amount_fen", ("理算金额", "adjusted amount"), writable_by=ADJUSTER),
    # The loss inventory (损失清单) as the adjuster itemised it; see LOSS_ITEM_KEYS.
    Field("loss_items", "loss_items", max_length=MAX_LIST, writable_by=ADJUSTER,
          label=("损失清单", "loss inventory")),
    # Why the adjusted amount differs from the items' sum (claimcore.amounts insists on it).
    _text("adjusted_reason", 2000, ("理算说明", "adjustment note"), writable_by=ADJUSTER),
    # The payment as the lead insurer's payer records it.
    _fen("paid_amount_fen", ("已赔付", "paid amount"), writable_by=ADJUSTER),
    Field("paid_on", "date", writable_by=ADJUSTER, label=("赔付日期", "date paid")),
    Field("payee_person_id", "uuid", writable_by=ADJUSTER, label=("收款人", "payee")),
    _text("transfer_ref", 100, ("转账流水号", "transfer reference"), writable_by=ADJUSTER),
    Field("missing_documents", "text_list", max_length=MAX_LIST, writable_by=ADJUSTER,
          label=("缺少的资料", "missing documents")),
    _text("decline_reason", 2000, ("拒赔理由", "reason for declining"), writable_by=ADJUSTER),
    Field("status", "code", vocab="claim_states", writable_by=ALL, label=("状态", "status")),
    _text("status_reason", 2000, ("原因", "reason"), writable_by=ALL),
    # The phone's own bookkeeping: the server keeps who and when itself.
    Field("is_draft", "bool", writable_by=(), local_only=True),
    _local("created_by"), _local("created_at", "datetime"), _local("updated_at", "datetime"),
), create_roles=("liaison", "adjuster"), claim_scoped=False)

PERSON = Entity("person", label=("人员", "person"), fields=_fields(
    Field("role_in_claim", "code", vocab="person_roles", required_on_create=True,
          label=("人员类别", "role in the claim")),
    _text("name", 100, ("姓名", "name")),
    # Which document the number is of (None: a resident ID); the number is checked by its rule.
    Field("id_type", "code", vocab="id_types", label=("证件类型", "identity document type")),
    Field("id_number", "id_number", sealed=True, label=("证件号码", "ID number")),
    Field("phone", "mobile", sealed=True, label=("手机号", "mobile number")),
    _text("relation", 50, ("与受害人关系", "relation to the victim")),
    Field("gender", "code", vocab="genders", label=("性别", "gender")),
    Field("birth_date", "date", label=("出生日期", "date of birth")),
    _text("address", 500, ("住址", "address")),
    Field("household_size", "int", min=0, max=100, label=("家庭人口", "household size")),
    _text("bank_name", 100, ("开户银行", "bank")),
    _text("bank_branch", 200, ("开户网点", "bank branch")),
    Field("bank_card", "bank_account", sealed=True, label=("银行账号", "bank account")),
    Field("disability_grade", "int", min=1, max=10, label=("伤残等级", "disability grade")),
    # Structured on the phone; travels as JSON text.
    _text("medical", 4000, ("医疗情况", "medical details"), sealed=True),
    _local("created_at", "datetime"), _local("updated_at", "datetime"),
), create_roles=FILE_ROLES)

DOCUMENT = Entity("document", label=("资料", "document"), fields=_fields(
    Field("code", "document_code", required_on_create=True, writable_by=ALL, label=("资料", "document")),
    # 'verified' is further limited to VERIFY_ROLES (check_fields).
    Field("status", "code", vocab="document_statuses", required_on_create=True, writable_by=ALL,
          label=("资料状态", "document status")),
    _text("note", 2000, ("备注", "note"), writable_by=ALL),
    Field("person_id", "uuid", writable_by=ALL),
    Field("photo_ids", "uuid_list", max_length=MAX_LIST, writable_by=ALL),
    Field("scan_ref", "uuid", writable_by=ALL),
    _local("updated_by"), _local("updated_at", "datetime"),
))

PHOTO = Entity("photo", label=("照片", "photo"), fields=_fields(
    Field("sha256", "sha256", required_on_create=True, writable_by=ALL),
    Field("preview_sha256", "sha256", writable_by=ALL),
    Field("document_id", "uuid", writable_by=ALL),
    _text("kind", 40, writable_by=ALL),
    Field("mime", "code", vocab="photo_mimes", writable_by=ALL),
    Field("taken_at", "datetime", writable_by=ALL, label=("拍摄时间", "taken at")),
    _lat(writable_by=ALL), _lon(writable_by=ALL),
    Field("size", "int", min=0, max=10**12, writable_by=ALL),
    Field("width", "int", min=0, max=10**6, writable_by=ALL),
    Field("height", "int", min=0, max=10**6, writable_by=ALL),
    _text("caption", 500, ("说明", "caption"), writable_by=ALL),
    # The device's GPS fix at the shutter and the intake pipeline's evidence flags: what makes a
    # photo provable (fieldapp.media); recorded as the phone saw them, never recomputed.
    Field("fix_alt", "number", min=-10_000_000, max=10_000_000, writable_by=ALL),
    Field("fix_accuracy_m", "number", min=0, max=10_000_000, writable_by=ALL),
    Field("fix_at", "datetime", writable_by=ALL),
    Field("flags", "text_list", max_length=MAX_LIST, writable_by=ALL),
    Field("exif_gps", "object", writable_by=ALL),
    Field("exif_replaced", "bool", writable_by=ALL),
    Field("converted_from", "code", vocab="photo_conversions", writable_by=ALL),
    _local("upload_state"), _local("created_by"), _local("created_at", "datetime"),
), append_only=True)

NOTE = Entity("note", label=("备注", "note"), fields=_fields(
    _text("text", 4000, ("备注", "note"), required_on_create=True, writable_by=ALL),
    Field("written_at", "datetime", writable_by=ALL),
    _local("author"),
), append_only=True)

# A claim's timeline entry as the phone recorded it (who is the pushing user, server-side; when,
# where and why from the device). The status change itself travels as the claim's ``status``.
TRANSITION = Entity("transition", label=("进度记录", "timeline entry"), fields=_fields(
    Field("from_status", "code", vocab="claim_states", writable_by=ALL),
    Field("to_status", "code", vocab="claim_states", required_on_create=True, writable_by=ALL),
    Field("role", "code", vocab="user_roles", writable_by=ALL),
    Field("at", "datetime", writable_by=ALL),
    _lat(writable_by=ALL), _lon(writable_by=ALL),
    _text("reason", 2000, ("原因", "reason"), writable_by=ALL),
    _local("by_user"), _local("by_name"),
), append_only=True)

# A co-insurer's survey turn (from the rotation), answered on the surveyor's phone; the rotation's
# own rules (whose turn, which insurer) are the server's.
ASSIGNMENT = Entity("assignment", label=("查勘任务", "survey assignment"), fields=_fields(
    Field("status", "code", vocab="assignment_answers", required_on_create=True, writable_by=ALL,
          label=("答复", "answer")),
    _text("reason", 2000, ("拒绝原因", "reason for declining"), writable_by=ALL),
    _lat(writable_by=ALL), _lon(writable_by=ALL),
    Field("claim_id", "uuid", writable_by=ALL),
    _local("updated_by"),
), claim_scoped=False)

# A surveyor's actual survey costs (vehicle, meals), charged to the co-insurers' work fund.
COST = Entity("cost", label=("查勘费用", "survey cost"), fields=_fields(
    Field("assignment_id", "uuid", writable_by=ALL),
    Field("claim_id", "uuid", writable_by=ALL),
    Field("on", "date", required_on_create=True, writable_by=ALL, label=("日期", "date")),
    Field("amount_fen", "fen", min=0, max=MAX_COST_FEN, label=("金额", "amount"), required_on_create=True,
          writable_by=ALL),
    _text("category", 40, ("类别", "category"), writable_by=ALL),
    _text("note", 2000, ("说明", "note"), writable_by=ALL),
    Field("receipt_sha256", "sha256", writable_by=ALL, label=("票据照片", "receipt photo")),
), append_only=True, claim_scoped=False)

# A co-insurer's (or the lead's) opinion or vote in a claim-authority review.
OPINION = Entity("opinion", label=("意见", "opinion"), fields=_fields(
    Field("vote", "code", vocab="votes", required_on_create=True, writable_by=("surveyor", "adjuster"),
          label=("表决", "vote")),
    _text("opinion", 5000, ("意见", "opinion"), writable_by=("surveyor", "adjuster")),
), append_only=True, create_roles=("surveyor", "adjuster"))

ENTITIES: dict[str, Entity] = {e.name: e for e in (
    CLAIM, PERSON, DOCUMENT, PHOTO, NOTE, TRANSITION, ASSIGNMENT, COST, OPINION)}


# ---- errors ----------------------------------------------------------------------------------

_MESSAGES: dict[str, tuple[str, str]] = {
    "too_long": ("{label}过长（最多 {max_length} 字）", "{label} is too long (at most {max_length} characters)"),
    "out_of_range": ("{label}超出范围（{min}–{max}）", "{label} is out of range ({min} to {max})"),
    "not_allowed_for_role": ("您的角色不能修改{label}", "your role may not set {label}"),
    "unknown_field": ("{entity}没有此项：{field}", "{entity} has no field {field}"),
    "required": ("请填写{label}", "{label} is required"),
    "wrong_kind": ("{label}格式无效：{detail_zh}", "{label} is not valid: {detail_en}"),
    "not_in_list": ("{label}不是可选的值", "{label} is not one of the allowed values"),
}


class ContractError(ValueError):
    """A value breaks the record contract. ``code`` names the rule (too_long, out_of_range,
    not_allowed_for_role, unknown_field, required, wrong_kind, not_in_list), ``field`` the field.
    Values are never echoed: they may be personal data."""

    def __init__(self, code: str, entity: str, field: str, *, detail: tuple[str, str] = ("", ""),
                 spec: Field | None = None) -> None:
        self.code = code
        self.entity = entity
        self.field = field
        self.spec = spec
        self.detail = detail
        super().__init__(f"{code}: {entity}.{field}: {self.message('en')}")

    def message(self, lang: str = "zh") -> str:
        zh, en = _MESSAGES[self.code]
        spec = self.spec
        values = {
            "label": spec.title(lang) if spec else self.field, "field": self.field,
            "entity": self.entity,
            "max_length": spec.max_length if spec else "", "min": _num(spec.min) if spec else "",
            "max": _num(spec.max) if spec else "", "detail_zh": self.detail[0] or "格式不对",
            "detail_en": self.detail[1] or "wrong format",
        }
        if spec is not None and spec.kind == "fen":
            unit = " 元" if lang == "zh" else " yuan"
            values["min"], values["max"] = (f"{int(v) // 100:,}{unit}" for v in (spec.min, spec.max))
        return (zh if lang == "zh" else en).format(**values)


def _num(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else str(value)


# ---- checks ----------------------------------------------------------------------------------

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_SHA256 = re.compile(r"[0-9a-f]{64}")


@functools.lru_cache(maxsize=1)
def catalogue():
    """The current coverage catalogue (its codes are the contract's coverage and document codes)."""
    from .catalogue import load_catalogue

    return load_catalogue()


def coverage_codes() -> frozenset[str]:
    return frozenset(catalogue().coverages)


def document_codes() -> frozenset[str]:
    return frozenset(catalogue().documents)


@functools.lru_cache(maxsize=1)
def _divisions():
    from .divisions import load_divisions

    return load_divisions()


def _wrong(spec: Field, entity: str, zh: str, en: str) -> ContractError:
    return ContractError("wrong_kind", entity, spec.name, detail=(zh, en), spec=spec)


def _is_number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float)) and (
        not isinstance(value, float) or math.isfinite(value))


def _range(spec: Field, entity: str, value: float) -> None:
    if (spec.min is not None and value < spec.min) or (spec.max is not None and value > spec.max):
        raise ContractError("out_of_range", entity, spec.name, spec=spec)


def _check_value(entity: str, spec: Field, value: Any, *, id_type: str | None = None) -> Any:
    """One non-null value against its field's kind and bounds; returns the normalised value.
    ``id_type``: the document an ``id_number`` belongs to (None: a resident ID)."""
    kind = spec.kind
    if kind == "text":
        if not isinstance(value, str):
            raise _wrong(spec, entity, "应为文字", "expected text")
        if "\x00" in value:  # no database keeps it (PostgreSQL refuses NUL in text)
            raise _wrong(spec, entity, "含有无效字符", "contains a NUL character")
        if spec.max_length is not None and len(value) > spec.max_length:
            raise ContractError("too_long", entity, spec.name, spec=spec)
        return value
    if kind in ("int", "fen"):
        if isinstance(value, bool) or not isinstance(value, int):
            if kind == "fen":
                raise _wrong(spec, entity, "金额应为整数（分）", "amounts are integer fen")
            raise _wrong(spec, entity, "应为整数", "expected an integer")
        _range(spec, entity, value)
        return value
    if kind == "number":
        if not _is_number(value):
            raise _wrong(spec, entity, "应为数字", "expected a number")
        _range(spec, entity, value)
        return value
    if kind == "bool":
        if not isinstance(value, bool):
            raise _wrong(spec, entity, "应为是或否", "expected true or false")
        return value
    if kind == "datetime":
        if not isinstance(value, str):
            raise _wrong(spec, entity, "应为带时区的时间", "expected an ISO 8601 time with offset")
        try:
            parsed = _dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise _wrong(spec, entity, "时间格式无效", "not an ISO 8601 time") from None
        if parsed.tzinfo is None or parsed.utcoffset() is None:
            raise _wrong(spec, entity, "时间缺少时区", "the time has no offset")
        return value
    if kind == "date":
        if not isinstance(value, str):
            raise _wrong(spec, entity, "应为日期（年-月-日）", "expected a date (YYYY-MM-DD)")
        try:
            _dt.date.fromisoformat(value)
        except ValueError:
            raise _wrong(spec, entity, "日期格式无效", "not a date (YYYY-MM-DD)") from None
        return value
    if kind == "uuid":
        if not isinstance(value, str) or not _UUID.fullmatch(value.lower()):
            raise _wrong(spec, entity, "编号格式无效", "not a UUID")
        return value.lower()
    if kind == "uuid_list":
        if not isinstance(value, (list, tuple)):
            raise _wrong(spec, entity, "应为编号列表", "expected a list of UUIDs")
        if spec.max_length is not None and len(value) > spec.max_length:
            raise ContractError("too_long", entity, spec.name, spec=spec)
        if not all(isinstance(v, str) and _UUID.fullmatch(v.lower()) for v in value):
            raise _wrong(spec, entity, "编号格式无效", "not a list of UUIDs")
        return [v.lower() for v in value]
    if kind == "sha256":
        if not isinstance(value, str) or not _SHA256.fullmatch(value):
            raise _wrong(spec, entity, "应为 64 位小写十六进制", "expected 64 lower-case hex digits")
        return value
    if kind == "code":
        if not isinstance(value, str) or value not in VOCAB[spec.vocab or ""]:
            raise ContractError("not_in_list", entity, spec.name, spec=spec)
        return value
    if kind == "code_list":
        if isinstance(value, str) or not isinstance(value, (list, tuple, set, frozenset)):
            raise _wrong(spec, entity, "应为列表", "expected a list")
        words = VOCAB[spec.vocab or ""]
        if not all(isinstance(v, str) and v in words for v in value):
            raise ContractError("not_in_list", entity, spec.name, spec=spec)
        return sorted(set(value), key=words.index)
    if kind == "text_list":
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
            raise _wrong(spec, entity, "应为文字列表", "expected a list of texts")
        if len(value) > (spec.max_length or MAX_LIST) or any(len(v) > MAX_LIST_ITEM for v in value):
            raise ContractError("too_long", entity, spec.name, spec=spec)
        return list(value)
    if kind == "object":
        if not isinstance(value, Mapping) or len(value) > 16 or not all(isinstance(k, str) for k in value):
            raise _wrong(spec, entity, "应为对象", "expected an object")
        if not all(v is None or isinstance(v, str) or _is_number(v) for v in value.values()):
            raise _wrong(spec, entity, "值应为数字或文字", "values must be numbers or text")
        if len(json.dumps(value, ensure_ascii=False)) > 2000:
            raise ContractError("too_long", entity, spec.name, spec=spec)
        return dict(value)
    if kind == "coverage":
        if not isinstance(value, str) or value not in coverage_codes():
            raise ContractError("not_in_list", entity, spec.name, spec=spec)
        return value
    if kind == "document_code":
        if not isinstance(value, str) or value not in document_codes():
            raise ContractError("not_in_list", entity, spec.name, spec=spec)
        return value
    if kind == "township":
        if not isinstance(value, str) or not _divisions().is_township(value):
            raise ContractError("not_in_list", entity, spec.name, spec=spec)
        return value
    if kind == "village":
        if not isinstance(value, str) or not _divisions().is_village_in(value[:9], value):
            raise ContractError("not_in_list", entity, spec.name, spec=spec)
        return value
    if kind == "loss_items":
        return _check_loss_items(entity, spec, value)
    if kind in ("id_number", "mobile", "bank_account"):
        from . import validators

        if not isinstance(value, str):
            raise _wrong(spec, entity, "应为文字", "expected text")
        check = {"id_number": lambda v: validators.validate_identity_number(v, id_type),
                 "mobile": validators.validate_mobile, "bank_account": validators.validate_bank_account}[kind]
        try:
            return check(value)
        except validators.ValidationError as exc:
            raise _wrong(spec, entity, exc.message("zh"), exc.message("en")) from None
    raise AssertionError(f"unknown kind {kind}")


# One loss-inventory item: key -> (kind, required). Amounts are fen; ``amount_fen`` must equal
# quantity × unit price (rounded half up to the fen) when both are given.
LOSS_ITEM_KEYS: dict[str, tuple[str, bool]] = {
    "person_id": ("uuid", False), "category": ("code", True), "description": ("text", True),
    "quantity": ("number", False), "unit_price_fen": ("fen", False), "purchase_date": ("date", False),
    "damage_extent": ("text", False), "amount_fen": ("fen", True),
}
_ITEM_SPECS = {
    "person_id": Field("person_id", "uuid", label=("人员", "person")),
    "category": Field("category", "code", vocab="loss_types", label=("损失类别", "category")),
    "description": Field("description", "text", max_length=200, label=("损失项目", "item")),
    "quantity": Field("quantity", "number", min=0, max=1_000_000, label=("数量", "quantity")),
    "unit_price_fen": Field("unit_price_fen", "fen", min=0, max=MAX_FEN, label=("单价", "unit price")),
    "purchase_date": Field("purchase_date", "date", label=("购置日期", "purchase date")),
    "damage_extent": Field("damage_extent", "text", max_length=50, label=("损失程度", "extent of damage")),
    "amount_fen": Field("amount_fen", "fen", min=0, max=MAX_FEN, label=("金额", "amount")),
}


def item_amount_fen(quantity: float, unit_price_fen: int) -> int:
    """quantity × unit price in fen, rounded half up (Decimal: the float never decides money)."""
    from decimal import ROUND_HALF_UP, Decimal

    return int((Decimal(str(quantity)) * unit_price_fen).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _check_loss_items(entity: str, spec: Field, value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, (list, tuple)):
        raise _wrong(spec, entity, "应为损失项目列表", "expected a list of loss items")
    if len(value) > (spec.max_length or MAX_LIST):
        raise ContractError("too_long", entity, spec.name, spec=spec)
    out = []
    for n, item in enumerate(value, 1):
        if not isinstance(item, Mapping) or not set(item) <= set(LOSS_ITEM_KEYS):
            raise _wrong(spec, entity, f"第 {n} 项格式无效", f"item {n} is not a loss item")
        clean: dict[str, Any] = {}
        for key, (_kind, required) in LOSS_ITEM_KEYS.items():
            v = item.get(key)
            if isinstance(v, str) and not v.strip():
                v = None
            if v is None:
                if required:
                    raise _wrong(spec, entity, f"第 {n} 项缺少{_ITEM_SPECS[key].title('zh')}",
                                 f"item {n} has no {_ITEM_SPECS[key].title('en')}")
                continue
            try:
                clean[key] = _check_value(entity, _ITEM_SPECS[key], v)
            except ContractError as exc:
                sub = _ITEM_SPECS[key]
                raise _wrong(spec, entity, f"第 {n} 项的{sub.title('zh')}：{exc.message('zh')}",
                             f"item {n}, {sub.title('en')}: {exc.message('en')}") from None
        if "quantity" in clean and "unit_price_fen" in clean \
                and item_amount_fen(clean["quantity"], clean["unit_price_fen"]) != clean["amount_fen"]:
            raise _wrong(spec, entity, f"第 {n} 项金额应等于数量×单价",
                         f"item {n}: the amount must be quantity × unit price")
        out.append(clean)
    return out


def check_value(entity_name: str, field: str, value: Any, *, id_type: str | None = None) -> Any:
    """One field's value (None allowed unless the field is required); normalised. An ID number is
    checked as a number of ``id_type`` (None: a resident ID)."""
    ent = ENTITIES[entity_name]
    spec = ent.fields.get(field)
    if spec is None:
        raise ContractError("unknown_field", entity_name, field)
    if value is None or (spec.required_on_create and isinstance(value, str) and not value.strip()):
        if spec.required_on_create:
            raise ContractError("required", entity_name, field, spec=spec)
        return None
    return _check_value(entity_name, spec, value, id_type=id_type)


def _document_type(entity_name: str, fields: Mapping[str, Any], current: Mapping[str, Any] | None) -> str | None:
    """The identity document type a write's ID number is checked against: the one it sets, else the
    record's (``current``), else None (a resident ID)."""
    if "id_type" not in ENTITIES[entity_name].fields:
        return None
    if "id_type" in fields:
        return check_value(entity_name, "id_type", fields["id_type"])
    return (current or {}).get("id_type")


def check_fields(entity_name: str, fields: Mapping[str, Any], *, role: str | None = None,
                 creating: bool = False, allow_local: bool = False,
                 current: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Check the fields of one write; returns them normalised, or raises the first ContractError.

    ``role``: the writing user's role (None: not checked, e.g. the phone applying the server's
    own values). ``creating``: the record is new, so every required field must be there.
    ``allow_local``: local-only fields are kept (the phone's store). Otherwise (a push) they are
    dropped: they never travel, and an older phone that still sends one (its draft flag) is not
    refused for it. ``current``: the record as stored, for the rules that span fields: a person's
    ID number is checked by its document type, whichever of the two this write changes (a type
    changed alone must fit the number on file)."""
    ent = ENTITIES[entity_name]
    id_type = _document_type(entity_name, fields, current)
    out: dict[str, Any] = {}
    for name, value in fields.items():
        spec = ent.fields.get(name)
        if spec is None:
            raise ContractError("unknown_field", entity_name, str(name))
        if spec.local_only:
            if allow_local:
                out[name] = value
            continue
        # On a new record an empty field is not written, whoever may write it.
        if role is not None and role not in spec.writable_by and not (creating and value is None):
            raise ContractError("not_allowed_for_role", entity_name, name, spec=spec)
        out[name] = check_value(entity_name, name, value, id_type=id_type)
    if "id_type" in fields and "id_number" not in fields and (current or {}).get("id_number"):
        from . import validators

        if not validators.is_valid_identity_number(current["id_number"], id_type):
            raise _wrong(ent.fields["id_type"], entity_name, "与已填的证件号码不符，请一并修改证件号码",
                         "does not fit the ID number on file; change the number with it")
    if entity_name == "document" and out.get("status") == "verified" and role is not None \
            and role not in VERIFY_ROLES:
        raise ContractError("not_allowed_for_role", entity_name, "status", spec=ent.fields["status"])
    if creating:
        for name in ent.required():
            if out.get(name) is None:
                raise ContractError("required", entity_name, name, spec=ent.fields[name])
    return out


def sealed_fields(entity_name: str) -> frozenset[str]:
    return frozenset(n for n, f in ENTITIES[entity_name].fields.items() if f.sealed)


def contract() -> dict[str, Any]:
    """The contract as JSON data (``python -m claimcore contract --json``)."""
    return {
        "version": CONTRACT_VERSION,
        "entities": {
            name: {"fields": {f.name: f.describe() for f in ent.fields.values()}}
            for name, ent in ENTITIES.items()
        },
        "vocab": {name: list(words) for name, words in VOCAB.items()},
    }

