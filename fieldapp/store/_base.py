"""Shared plumbing of the store: errors, record ids, time stamps, input checks, the crash-test hook."""
from __future__ import annotations

import os
import signal
import uuid
from datetime import UTC, datetime
from typing import Any, Protocol

from claimcore import wire
from claimcore.localtime import CHINA_TIME
from fieldapp.i18n import t

CHINA_TZ = CHINA_TIME  # report numbers use the China date


class StoreError(Exception):
    """Base of the store's own errors."""


class Refusal(Protocol):
    """A refusal by one of claimcore's rules (the record contract, amounts, document rules, scan
    types): claimcore is shared with the server and holds its own words in both languages."""

    def message(self, lang: str = "zh") -> str: ...


class StoreValidationError(StoreError, ValueError):
    """Bad input for a store method; nothing was written. ``message(lang)`` gives the user text:
    the catalogue's ``key`` (fieldapp/i18n) with ``params``; or, for a refusal by a claimcore rule
    (:meth:`refused_by`), that rule's own words, which the server gives for the same refusal."""

    def __init__(self, key: str | None, /, *, rule: Refusal | None = None, **params: Any):
        if (key is None) == (rule is None):
            raise TypeError("a store refusal has either a catalogue key or a claimcore rule's refusal")
        self.key = key
        self.params = params
        self.rule = rule
        super().__init__(self.message("en"))

    @classmethod
    def refused_by(cls, rule: Refusal) -> StoreValidationError:
        """The one way claimcore's words reach the phone's user: as the rule gives them."""
        return cls(None, rule=rule)

    def message(self, lang: str = "zh") -> str:
        if self.rule is not None:
            return self.rule.message(lang)
        return t(self.key, lang, **self.params)


class NotFoundError(StoreError, LookupError):
    """No such record on this phone."""

    def __init__(self, entity: str, record_id: str):
        self.entity = entity
        self.record_id = record_id
        super().__init__(t("error.store.not_found", "en", entity=entity, record_id=record_id))

    def message(self, lang: str = "zh") -> str:
        return t("error.store.not_found", lang, entity=self.entity, record_id=self.record_id)


def new_id() -> str:
    return str(uuid.uuid4())


def check_uuid(value: Any, field: str) -> str:
    try:
        return wire.normalise_uuid(value, field)
    except wire.WireError:
        raise StoreValidationError("error.store.not_a_uuid", field=field, value=value) from None


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
            raise StoreValidationError("error.store.not_a_time", field=field, value=value) from None
    elif isinstance(value, datetime):
        parsed = value
    else:
        raise StoreValidationError("error.store.time_expected", field=field)
    if parsed.tzinfo is None:
        raise StoreValidationError("error.store.time_without_offset", field=field)
    return parsed.astimezone(UTC).isoformat(timespec="microseconds")


def check_text(value: Any, field: str, *, max_len: int, required: bool = False) -> str | None:
    if value is None:
        if required:
            raise StoreValidationError("error.store.required", field=field)
        return None
    if not isinstance(value, str):
        raise StoreValidationError("error.store.text_expected", field=field)
    value = value.strip()
    if required and not value:
        raise StoreValidationError("error.store.required", field=field)
    if len(value) > max_len:
        raise StoreValidationError("error.store.too_long", field=field, max_len=max_len)
    return value


def check_coord(value: Any, field: str, limit: float) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (-limit <= value <= limit):
        raise StoreValidationError("error.store.not_a_coordinate", field=field, value=value)
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
