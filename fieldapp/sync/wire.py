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

# phone name -> server name, per entity
_OUT_RENAMES: dict[str, dict[str, str]] = {
    "claim": {
        "place": "address",
        "claimed_fen": "claimed_amount_fen",
        "adjusted_fen": "adjusted_amount_fen",
        "paid_fen": "paid_amount_fen",
    },
    "person": {"role": "role_in_claim", "bank_account": "bank_card"},
    "document": {"doc_code": "code"},
    "photo": {"captured_at": "taken_at", "fix_lat": "lat", "fix_lon": "lon"},
    "note": {"body": "text", "created_at": "written_at"},
}
_IN_RENAMES: dict[str, dict[str, str]] = {e: {v: k for k, v in m.items()} for e, m in _OUT_RENAMES.items()}
_IN_RENAMES["note"]["created_by"] = "author"
_IN_RENAMES["transition"] = {"created_by": "by_user"}

# Phone fields that do not travel: server-side bookkeeping and local-only flags.
LOCAL_ONLY: dict[str, frozenset[str]] = {
    "claim": frozenset({"created_by", "created_at", "updated_at", "is_draft"}),
    "person": frozenset({"created_at", "updated_at"}),
    "document": frozenset({"updated_by", "updated_at"}),
    "photo": frozenset({"created_by", "created_at"}),
    "note": frozenset({"author"}),
    "transition": frozenset({"by_user"}),
}
# Required-on-create claim fields: None means "not filled in yet", never "clear it" (the server
# refuses None for them), so a None is left out rather than sent.
_NONE_DROPPED: dict[str, frozenset[str]] = {
    "claim": frozenset({"coverage", "township_code", "incident_at", "description", "status"}),
}
# Entities the server of issue 4 accepts directly.
SERVER_ENTITIES = frozenset({"claim", "person", "document", "photo", "note", "transition"})


def to_server(mutation: dict[str, Any], *, preview_sha: Callable[[str], str | None] | None = None) -> dict[str, Any]:
    """One outbox mutation (store names) -> one push mutation (server names).

    Entities the server does not know (e.g. ``assignment`` without the co-insurance module) go
    unchanged: the server answers ``rejected`` and the client shows that to the user.
    """
    entity = mutation["entity"]
    fields = dict(mutation.get("fields") or {})
    out = {"seq": mutation["seq"], "entity": entity, "id": mutation["id"], "op": mutation["op"],
           "base_version": mutation.get("base_version")}
    if entity not in SERVER_ENTITIES:
        out["fields"] = fields
        return out
    renames = _OUT_RENAMES.get(entity, {})
    drop = LOCAL_ONLY.get(entity, frozenset())
    none_drop = _NONE_DROPPED.get(entity, frozenset())
    # The store writes creation-only columns (report_no, created_at) into a record's first
    # mutation: there a None means "not filled in", never "clear it", and sending it would make
    # the server check a field the role may not set at all (e.g. a liaison's adjusted amount).
    creating = mutation["op"] == "upsert" and ("report_no" in fields or "created_at" in fields)
    wire: dict[str, Any] = {}
    for name, value in fields.items():
        if name in drop:
            continue
        if value is None and (creating or name in none_drop):
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
