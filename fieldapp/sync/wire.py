"""The phone's outbox and tables against the server's HTTP contract (docs/api.md).

The phone's store and the server use the same field names (the record contract,
claimcore.entities), so translating a mutation on the way out is only dropping what never
travels: the contract's local-only fields (the draft flag, who created a record and when: the
server keeps those itself). On the way in, the server's bookkeeping names of who wrote a note or a
timeline entry (``created_by``) land in the phone's ``author`` / ``by_user``.

Timeline entries (``transition``) travel as their own append-only entity; the user who made
them is the pushing device's user on the server (``by_user`` is not taken from the phone).
``medical`` is text on the server: structured values are sent as JSON text.
"""
from __future__ import annotations

import json
from typing import Any, Callable

from claimcore import entities
from fieldapp.store import contract

# Server bookkeeping name -> phone column, for pulled changes.
_IN_RENAMES: dict[str, dict[str, str]] = {
    "note": {"created_by": "author"},
    "transition": {"created_by": "by_user", "created_by_name": "by_name"},
}

# Phone fields that do not travel: the contract's local-only fields.
LOCAL_ONLY: dict[str, frozenset[str]] = {e: contract.local_only(e) for e in entities.ENTITIES}


def to_server(mutation: dict[str, Any], *, preview_sha: Callable[[str], str | None] | None = None) -> dict[str, Any]:
    """One outbox mutation -> one push mutation: local-only fields dropped."""
    entity = mutation["entity"]
    fields = dict(mutation.get("fields") or {})
    out = {"seq": mutation["seq"], "entity": entity, "id": mutation["id"], "op": mutation["op"],
           "base_version": mutation.get("base_version")}
    drop = LOCAL_ONLY.get(entity, frozenset())
    # The store writes creation-only columns (report_no, created_at) into a record's first
    # mutation: there a None means "not filled in", never "clear it", and sending it would make
    # the server check a field the role may not set at all (e.g. a liaison's adjusted amount).
    creating = mutation["op"] == "upsert" and ("report_no" in fields or "created_at" in fields)
    wire = {name: value for name, value in fields.items()
            if name not in drop and not (value is None and creating)}
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
    """One pulled change -> the shape ``store.apply_remote_changes`` expects."""
    entity = change.get("entity")
    fields = dict(change.get("fields") or {})
    renames = _IN_RENAMES.get(entity or "", {})
    out = {"entity": entity, "id": change.get("id"), "version": change.get("version"),
           "op": change.get("op", "upsert"), "fields": {renames.get(k, k): v for k, v in fields.items()}}
    if entity == "claim" and "report_no" not in out["fields"]:
        # The server contract has no report number; a claim first seen from the server gets a
        # label derived from its UUID (clearly not a DZ- number made on a phone).
        out["fields"]["report_no_fallback"] = "ID-" + str(change.get("id", ""))[:8].upper()
    return out
