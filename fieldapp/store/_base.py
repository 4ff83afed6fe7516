"""Shared plumbing of the store: errors, record ids, time stamps, input checks, the crash-test hook."""
from __future__ import annotations

import os
import signal
import uuid
from datetime import UTC, datetime
from typing import Any

from claimcore import wire
from claimcore.localtime import CHINA_TIME

CHINA_TZ = CHINA_TIME  # report numbers use the China date


class StoreError(Exception):
    """Base of the store's own errors."""


class StoreValidationError(StoreError, ValueError):
    """Bad input for a store method; nothing was written. ``message(lang)`` gives the user text."""

    def __init__(self, zh: str, en: str):
        self.zh = zh
        self.en = en
        super().__init__(en)

    def message(self, lang: str = "zh") -> str:
        return self.zh if lang == "zh" else self.en


class NotFoundError(StoreError, LookupError):
    """No such record on this phone."""

    def __init__(self, entity: str, record_id: str):
        self.entity = entity
        self.record_id = record_id
        super().__init__(f"no {entity} {record_id!r} in the local store")

    def message(self, lang: str = "zh") -> str:
        if lang == "zh":
            return f"本机没有该记录（{self.entity} {self.record_id}）"
        return str(self)


def new_id() -> str:
    return str(uuid.uuid4())


def check_uuid(value: Any, field: str) -> str:
    try:
        return wire.normalise_uuid(value, field)
    except wire.WireError:
        raise StoreValidationError(f"编号格式无效：{field}", f"{field}: not a UUID: {value!r}") from None


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def utc_iso(value: datetime | str | None, field: str) -> str | None:
    """Normalise a time to the store's fixed-width UTC text. Naive times are refused: a phone's
    local clock without its offset cannot be placed in time."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise StoreValidationError(f"时间格式无效：{field}={value!r}",
                                       f"{field}: not an ISO 8601 time: {value!r}") from None
    elif isinstance(value, datetime):
        parsed = value
    else:
        raise StoreValidationError(f"时间格式无效：{field}", f"{field}: expected a datetime or ISO text")
    if parsed.tzinfo is None:
        raise StoreValidationError(f"时间缺少时区：{field}", f"{field}: time needs a UTC offset")
    return parsed.astimezone(UTC).isoformat(timespec="microseconds")


def check_text(value: Any, field: str, *, max_len: int, required: bool = False) -> str | None:
    if value is None:
        if required:
            raise StoreValidationError(f"缺少必填项：{field}", f"{field} is required")
        return None
    if not isinstance(value, str):
        raise StoreValidationError(f"应为文字：{field}", f"{field}: expected text")
    value = value.strip()
    if required and not value:
        raise StoreValidationError(f"缺少必填项：{field}", f"{field} is required")
    if len(value) > max_len:
        raise StoreValidationError(f"内容过长：{field}（最多 {max_len} 字）",
                                   f"{field}: longer than {max_len} characters")
    return value


def check_coord(value: Any, field: str, limit: float) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (-limit <= value <= limit):
        raise StoreValidationError(f"坐标无效：{field}", f"{field}: not a coordinate: {value!r}")
    return float(value)


# --- crash-test hook ---------------------------------------------------------------------------
# tests/store/test_crash_safety.py runs a writer process with DAZU_STORE_KILL_BEFORE_OUTBOX=N: on
# the Nth outbox write of that process, after the domain rows were flushed to SQLite inside the open
# transaction and before the outbox row is written, the process SIGKILLs itself. That is the one
# place where a store without a shared transaction would leave a change that is never sent.
_KILL_AT = int(os.environ.get("DAZU_STORE_KILL_BEFORE_OUTBOX", "0") or 0)
_outbox_writes = 0


def crash_point_before_outbox() -> None:
    global _outbox_writes
    if not _KILL_AT:
        return
    _outbox_writes += 1
    if _outbox_writes == _KILL_AT:
        os.kill(os.getpid(), signal.SIGKILL)
