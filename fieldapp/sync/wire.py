"""Translation between the phone's outbox/tables and the server's HTTP contract (docs/api.md).

The phone's store names things after its own columns (``place``, ``claimed_fen``, ``doc_code``,
``role``, ``body``); the server's contract (sync_server/policy.py) uses ``address``,
``claimed_amount_fen``, ``code``, ``role_in_claim``, ``text``. The sync client speaks the server's
contract, so every mutation goes through :func:`to_server` on the way out and every change
through :func:`to_store` on the way in. Keeping the mapping in one table here means a renamed
field is a one-line change and the round trip is tested (tests/sync/test_wire.py).

What does not travel is listed in ``LOCAL_ONLY``: bookkeeping the server keeps itself (who
created a record and when, its own timestamps) and the phone's local-only draft flag. Nothing of
the claim's content stays behind (tests/sync/test_wire.py checks every store column is either
sent or listed here).

Timeline entries (``transition``) travel as their own append-only entity; the user who made
them is the pushing device's user on the server (``by_user`` is not taken from the phone).
``medical`` is text on the server: structured values are sent as JSON text.
"""
from __future__ import annotations

import json
from typing import Any, Callable

from claimcore import entities
from fieldapp.store import contract

_OUT_RENAMES = contract.CONTRACT_NAMES
_IN_RENAMES: dict[str, dict[str, str]] = {e: dict(m) for e, m in contract.STORE_NAMES.items()}
_IN_RENAMES["note"]["created_by"] = "author"
_IN_RENAMES["transition"] = {"created_by": "by_user"}

# Phone fields that do not travel: the contract's local-only fields (bookkeeping, the draft flag).
LOCAL_ONLY: dict[str, frozenset[str]] = {e: contract.local_only(e) for e in entities.ENTITIES}


def to_server(mutation: dict[str, Any], *, preview_sha: Callable[[str], str | None] | None = None) -> dict[str, Any]:
    """One outbox mutation (store names) -> one push mutation (server names).

    Entities the server does not know (e.g. ``assignment`` without the co-insurance module) go
    unchanged: the server answers ``rejected`` and the client shows that to the user.
    """
    entity = mutation["entity"]
    fields = dict(mutation.get("fields") or {})
    out = {"seq": mutation["seq"], "entity": entity, "id": mutation["id"], "op": mutation["op"],
           "base_version": mutation.get("base_version")}
    renames = _OUT_RENAMES.get(entity, {})
    drop = LOCAL_ONLY.get(entity, frozenset())
    # The store writes creation-only columns (report_no, created_at) into a record's first
    # mutation: there a None means "not filled in", never "clear it", and sending it would make
    # the server check a field the role may not set at all (e.g. a liaison's adjusted amount).
    creating = mutation["op"] == "upsert" and ("report_no" in fields or "created_at" in fields)
    wire: dict[str, Any] = {}
    for name, value in fields.items():
        if name in drop:
            continue
        if value is None and creating:
            continue
        wire[renames.get(name, name)] = value
    if entity == "photo" and mutation["op"] == "upsert" and preview_sha is not None and "sha256" in wire:
        sha = preview_sha(wire["sha256"])
        if sha:
            wire["preview_sha256"] = sha
    if entity == "person" and wire.get("medical") is not None and not isinstance(wire["medical"], str):
        wire["medical"] = json.dumps(wire["medical"], ensure_ascii=False, sort_keys=True)
    if entity == "person" and mutation["op"] == "delete":
        wire = {"claim_id": fields.get("claim_id")} if fields.get("claim_id") else {}
    out["fields"] = wire
    return out


def to_store(change: dict[str, Any]) -> dict[str, Any]:
    """One pulled change (server names) -> the shape ``store.apply_remote_changes`` expects."""
    entity = change.get("entity")
    fields = dict(change.get("fields") or {})
    out = {"entity": entity, "id": change.get("id"), "version": change.get("version"),
           "op": change.get("op", "upsert"), "fields": fields}
    renames = _IN_RENAMES.get(entity or "", {})
    if renames:
        out["fields"] = {renames.get(k, k): v for k, v in fields.items()}
    if entity == "claim" and "report_no" not in out["fields"]:
        # The server contract has no report number; a claim first seen from the server gets a
        # label derived from its UUID (clearly not a DZ- number made on a phone).
        out["fields"]["report_no_fallback"] = "ID-" + str(change.get("id", ""))[:8].upper()
    return out
