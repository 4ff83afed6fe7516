"""Past document collection the phone's store and the server refuse the same checklist changes
(claimcore.document_rules): a liaison cannot set an item back to 缺 on an adjusted claim; the
adjuster still can; a repeat of what is stored is not a change."""
from __future__ import annotations

import itertools

import httpx
import pytest

from fieldapp.store import StoreValidationError

from .conftest import BASE, TOWNSHIP_A, server_records


def _move_on_server(server, claim_id: str, status: str) -> None:
    from sync_server.core.models import Claim
    from sync_server.sync.claims import server_change

    with server.harness.db.write() as s:
        server_change(s, s.get(Claim, claim_id), {"status": status})


_SEQ = itertools.count(1)


def _push(server, actor, claim_id: str, doc_id: str, fields: dict, base_version: int | None = None) -> dict:
    with httpx.Client(transport=server.transport(), base_url=BASE) as http:
        r = http.post("/api/v1/sync/push", headers=actor.headers, json={
            "device_id": actor.device_id,
            "mutations": [{"seq": next(_SEQ), "entity": "document", "id": doc_id, "op": "upsert",
                           "fields": {"claim_id": claim_id, **fields}, "base_version": base_version}]})
    assert r.status_code == 200, r.text
    return r.json()["results"][0]


@pytest.fixture
def adjusted_claim(server, phones):
    """A liaison's claim with its application collected, moved to 已理算 on the server and pulled."""
    liaison = phones("liaison")
    liaison.enroll("liaison", township_code=TOWNSHIP_A)
    cid = liaison.new_claim()
    liaison.store.documents.set_status(cid, "claim_application", "collected")
    liaison.sync_until_quiet()
    _move_on_server(server, cid, "adjusted")
    liaison.client.sync_once()
    assert liaison.store.claims.get(cid).status == "adjusted"
    doc_id = next(r["id"] for r in server_records(server, "document") if r["claim_id"] == cid)
    return liaison, cid, doc_id


def test_liaison_phone_refuses_to_change_the_checklist_of_an_adjusted_claim(adjusted_claim):
    liaison, cid, _ = adjusted_claim
    liaison.store.writer_role = "liaison"
    with pytest.raises(StoreValidationError) as caught:
        liaison.store.documents.set_status(cid, "claim_application", "missing")
    assert "理赔员" in caught.value.message("zh") and "adjuster" in caught.value.message("en")
    with pytest.raises(StoreValidationError):
        liaison.store.documents.attach_scan(cid, "claimant_id_card", b"%PDF-1.4\n%%EOF\n")
    assert {d.code: d.status for d in liaison.store.claims.get(cid).documents} == {"claim_application": "collected"}
    assert liaison.store.outbox.count() == 0  # nothing waits to be refused by the server
    assert list((liaison.root / "data").glob("scans/*")) == []  # the refused scan left no file
    # Setting what is already stored is no change, and is not refused.
    liaison.store.documents.set_status(cid, "claim_application", "collected")


def test_server_refuses_the_same_change_from_a_liaison_and_takes_it_from_the_adjuster(server, adjusted_claim):
    _, cid, doc_id = adjusted_claim
    other_liaison = server.actor("liaison", township_code=TOWNSHIP_A)
    refused = _push(server, other_liaison, cid, doc_id, {"code": "claim_application", "status": "missing"})
    assert (refused["status"], refused["error"].split(":")[0], refused["field"]) == (
        "rejected", "not_allowed_for_role", "status")
    assert "理赔员" in refused["error"]
    new_item = _push(server, other_liaison, cid, "0d5c6a3e-4a8f-4b8a-9d6e-3f1f2a7b9c01",
                     {"code": "claimant_id_card", "status": "collected"})
    assert new_item["status"] == "rejected"
    # A phone re-sending what is stored (a retried push) is not a change.
    same = _push(server, other_liaison, cid, doc_id, {"code": "claim_application", "status": "collected"})
    assert same["status"] == "applied"

    adjuster = server.actor("adjuster")
    version = next(r["version"] for r in server_records(server, "document") if r["id"] == doc_id)
    taken = _push(server, adjuster, cid, doc_id, {"code": "claim_application", "status": "missing"},
                  base_version=version)
    assert taken["status"] == "applied"
    doc = next(r for r in server_records(server, "document") if r["id"] == doc_id)
    assert doc["fields"]["status"] == "missing"


def test_collection_reopened_lets_the_liaison_change_the_checklist_again(server, adjusted_claim):
    liaison, cid, doc_id = adjusted_claim
    liaison.store.writer_role = "liaison"
    _move_on_server(server, cid, "incomplete")
    liaison.client.sync_once()
    liaison.store.documents.set_status(cid, "claim_application", "missing")
    liaison.client.sync_once()
    assert liaison.client.rejections() == []
    doc = next(r for r in server_records(server, "document") if r["id"] == doc_id)
    assert doc["fields"]["status"] == "missing"
