"""The record contract (claimcore.entities) applied to the phone's own writes.

The store checks every value with the contract's rules before it writes, so that what a phone
saves is exactly what the server accepts. The store's columns still carry some older names
(``place`` for the contract's ``address``, ``body`` for ``text``, …); :data:`STORE_NAMES` is the
one table between the two, used here and by the sync wire (fieldapp/sync/wire.py).
"""
from __future__ import annotations

import json
from typing import Any, Mapping

from claimcore import entities

from ._base import StoreValidationError

# contract (server) name -> store column, per entity, where they differ
STORE_NAMES: dict[str, dict[str, str]] = {
    "claim": {
        "address": "place",
        "claimed_amount_fen": "claimed_fen",
        "adjusted_amount_fen": "adjusted_fen",
        "paid_amount_fen": "paid_fen",
    },
    "person": {"role_in_claim": "role", "bank_card": "bank_account"},
    "document": {"code": "doc_code"},
    "photo": {"taken_at": "captured_at", "lat": "fix_lat", "lon": "fix_lon"},
    "note": {"text": "body", "written_at": "created_at"},
}
CONTRACT_NAMES: dict[str, dict[str, str]] = {e: {v: k for k, v in m.items()} for e, m in STORE_NAMES.items()}


def contract_name(entity: str, store_name: str) -> str:
    return CONTRACT_NAMES.get(entity, {}).get(store_name, store_name)


def store_name(entity: str, name: str) -> str:
    return STORE_NAMES.get(entity, {}).get(name, name)


def local_only(entity: str) -> frozenset[str]:
    """Store columns that never travel (the contract's local-only fields)."""
    return frozenset(store_name(entity, n) for n in entities.ENTITIES[entity].local_only())


def refusal(exc: entities.ContractError) -> StoreValidationError:
    return StoreValidationError(exc.message("zh"), exc.message("en"))


def check(entity: str, fields: Mapping[str, Any], *, creating: bool = False) -> dict[str, Any]:
    """Store-named fields checked against the contract; normalised values, store names.

    Structured values the contract carries as text (a person's ``medical``) are checked in the
    form they travel (JSON text), and kept structured."""
    wire: dict[str, Any] = {}
    for name, value in fields.items():
        cname = contract_name(entity, name)
        if entity == "person" and cname == "medical" and value is not None and not isinstance(value, str):
            value = json.dumps(value, ensure_ascii=False, sort_keys=True)
        wire[cname] = value
    try:
        checked = entities.check_fields(entity, wire, creating=creating, allow_local=True)
    except entities.ContractError as exc:
        raise refusal(exc) from None
    out = {store_name(entity, k): v for k, v in checked.items()}
    if entity == "person" and "medical" in fields:
        out["medical"] = fields["medical"]
    return out
