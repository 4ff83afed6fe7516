"""A pushed mutation, its result and its refusal, the rules a push is judged by, and the
field-level merge that claims and records share: conflicts (the later arrival wins, the replaced
value is kept for review) and the pusher's own writes (spared from its pull).

Conflicts: each stored field remembers the version and device of its last change. A mutation
based on ``base_version`` that changes a field which another device changed after that version is
still applied (the later arrival wins) and a ``conflicts`` row keeps the value it replaced. Device
clocks are never compared: only server versions and arrival order count.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from sqlalchemy.orm import Session

from ..core.models import Claim, User
from ..core.rules import RuleSettings, to_utc
from ..devices.models import Device
from .models import Conflict


class Rejected(Exception):
    """A mutation the server refuses; nothing of it is applied."""

    def __init__(self, code: str, message: str, *, field: str | None = None):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.field = field


class DeviceRevoked(Exception):
    pass


# A feature's own entity pushed by a phone (an assignment's answer, a survey cost, an opinion):
# handler(session, user, device, mutation, rules) -> (status, version); raises Rejected to refuse.
EntityHandler = Callable[[Session, User, Device, "Mutation", "PushRules"], tuple[str, int | None]]


@dataclass(frozen=True)
class PushRules:
    """What a push applies beyond the record contract, handed in by the app (sync_server.app):
    the co-insurance rules' settings and the server's clock (the same the office's routes use, so
    a phone's push and an office's request decide alike), the entities other features handle, and
    the claim-authority guard on adjusted -> approved."""

    settings: RuleSettings
    clock: Callable[[], dt.datetime]
    handlers: Mapping[str, EntityHandler]
    authority_cleared: Callable[[Session, RuleSettings, Claim, dt.datetime], bool]

    def now(self) -> dt.datetime:
        return to_utc(self.clock())


@dataclass
class Mutation:
    seq: int
    entity: Any
    id: Any
    op: Any
    fields: dict[str, Any] = field(default_factory=dict)
    base_version: int | None = None


@dataclass
class Result:
    seq: int
    status: str
    version: int | None = None
    error: str | None = None
    original_status: str | None = None
    field: str | None = None  # the field a refusal is about, when it is about one

    def as_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "status": self.status, "version": self.version, "error": self.error,
                "original_status": self.original_status, "field": self.field}


def merge(
    session: Session,
    *,
    entity: str,
    entity_id: str,
    claim_id: str | None,
    current: dict[str, Any],
    field_versions: dict[str, Any],
    changes: dict[str, Any],
    base_version: int | None,
    new_version: int,
    device_id: str,
) -> tuple[dict[str, Any], dict[str, Any], bool]:
    """Field-level merge. Returns (fields that change, new field_versions, any conflict)."""
    base = base_version or 0
    applied: dict[str, Any] = {}
    versions = dict(field_versions)
    conflict = False
    for name, value in changes.items():
        old = current.get(name)
        if old == value:
            continue
        last = field_versions.get(name)
        if last is not None and last[0] > base and last[1] != device_id:
            # The same field was changed on another device after this edit's base: the later
            # arrival (this one) wins and the replaced value is kept for review.
            conflict = True
            session.add(
                Conflict(
                    entity=entity,
                    entity_id=entity_id,
                    claim_id=claim_id,
                    field=name,
                    kept_value=value,
                    other_value=old,
                    kept_device_id=device_id,
                    other_device_id=last[1],
                    kept_version=new_version,
                )
            )
        applied[name] = value
        versions[name] = [new_version, device_id]
    return applied, versions, conflict


def as_sent(device: Device, m: Mutation, stored: dict[str, Any], previous: int,
             sent: dict[str, Any] | None = None) -> str | None:
    """The pushing device, when what it stores is exactly what the device holds: the edit was
    made on the version stored until now (``previous``; 0 for a new entity) and its fields are
    stored as sent (``stored``, after the contract's checks, equals ``sent``, the mutation's
    fields). The change feed then spares that device its own write (changelog.record_change);
    the caller drops it on a conflict. None otherwise."""
    if (m.base_version or 0) != previous:
        return None
    return device.id if stored == (m.fields if sent is None else sent) else None
