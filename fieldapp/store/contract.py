"""The record contract (claimcore.entities) applied to the phone's own writes.

The store checks every value with the contract's rules before it writes, so that what a phone
saves is exactly what the server accepts. Store columns carry the contract's field names.
"""
from __future__ import annotations

import json
from typing import Any, Mapping

from claimcore import entities

from ._base import StoreValidationError


def local_only(entity: str) -> frozenset[str]:
    """Columns that never travel (the contract's local-only fields)."""
    return entities.ENTITIES[entity].local_only()


def refusal(exc: entities.ContractError) -> StoreValidationError:
    return StoreValidationError.refused_by(exc)


def check(entity: str, fields: Mapping[str, Any], *, creating: bool = False,
          role: str | None = None, current: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Fields checked against the contract; normalised values.

    ``role``: the phone's user's role (``Store.writer_role``); a field that role may not write is
    refused here as the server would refuse it. ``current``: the record as stored, for the rules
    spanning fields (a person's ID number is checked by its document type). Structured values the
    contract carries as text (a person's ``medical``) are checked in the form they travel (JSON
    text), and kept structured."""
    wire = dict(fields)
    if entity == "person" and wire.get("medical") is not None and not isinstance(wire["medical"], str):
        wire["medical"] = json.dumps(wire["medical"], ensure_ascii=False, sort_keys=True)
    try:
        out = entities.check_fields(entity, wire, role=role, creating=creating, allow_local=True, current=current)
    except entities.ContractError as exc:
        raise refusal(exc) from None
    if entity == "person" and "medical" in fields:
        out["medical"] = fields["medical"]
    return out
