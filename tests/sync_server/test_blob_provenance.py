"""Evidence by provenance (SQLite and PostgreSQL, real HTTP in-process): knowing a photo's SHA-256
opens nothing. A device names a blob only when it sent those bytes itself or the blob belongs to a
record its user sees; HEAD and blobs/missing answer any other blob like a missing one; a receipt
is the office's and its insurer's, never everyone's. Also: the per-device upload quota and the
clean-up of abandoned uploads and unreferenced blobs (function and admin command)."""
from __future__ import annotations

import hashlib
import json
import os
import time

from fastapi.testclient import TestClient

from sync_server.app import create_app
from sync_server.blobs import store as blobs_mod
from sync_server.blobs.models import Blob, BlobRef, BlobUpload
from sync_server.blobs.store import BlobStore
from sync_server.fund.models import FundEntryRow

from .conftest import BAODING, claim_fields, new_id
from .test_fund_api import accepted_survey, agree_budget, post, upload
from .test_rotation_api import world  # noqa: F401  (fixture)


def _photo(tag: str) -> bytes:
    return b"\xff\xd8\xff\xe0" + tag.encode() * 3000 + b"\xff\xd9"


def _patch(phone_or_client, headers, sha: str, data: bytes, offset: int, length: int):
    client = getattr(phone_or_client, "client", phone_or_client)
    return client.patch(f"/api/v1/blobs/{sha}", content=data, headers={
        **headers, "Upload-Offset": str(offset), "Upload-Length": str(length),
        "Content-Type": "application/offset+octet-stream"})


def _get(phone, sha: str):
    return phone.client.get(f"/api/v1/blobs/{sha}", headers=phone.headers)


def _head(phone, sha: str) -> dict:
    r = phone.client.head(f"/api/v1/blobs/{sha}", headers=phone.headers)
    assert r.status_code == 200
    return {k: v for k, v in r.headers.items() if k.lower().startswith("upload-")}


def _missing(phone, hashes: list[str]) -> list[str]:
    r = phone.client.post("/api/v1/blobs/missing", headers=phone.headers, json={"sha256": hashes})
    assert r.status_code == 200, r.text
    return r.json()["missing"]


def _township_a_photo(actors) -> tuple[str, str, bytes]:
    """Liaison A's claim with a photo (an ID card, say) its phone uploaded: (claim, sha, bytes)."""
    a = actors.liaison_a
    data = _photo("身份证正面")
    sha = hashlib.sha256(data).hexdigest()
    cid = new_id()
    assert a.push_one("claim", cid, claim_fields())["status"] == "applied"
    assert a.push_one("photo", new_id(), {"claim_id": cid, "sha256": sha})["status"] == "applied"
    assert _patch(a, a.headers, sha, data, 0, len(data)).status_code == 204
    assert _get(a, sha).content == data
    return cid, sha, data


def test_naming_a_foreign_hash_opens_nothing(actors):
    _, sha, data = _township_a_photo(actors)
    b = actors.liaison_b
    unknown = hashlib.sha256(b"never uploaded anywhere").hexdigest()
    # The attack: a photo record on B's own claim naming A's hash. The record is kept (a phone
    # pushes its records before their bytes), but it opens nothing.
    own = new_id()
    assert b.push_one("claim", own, claim_fields(BAODING))["status"] == "applied"
    assert b.push_one("photo", new_id(), {"claim_id": own, "sha256": sha})["status"] == "applied"
    foreign, missing = _get(b, sha), _get(b, unknown)
    assert (foreign.status_code, foreign.content) == (missing.status_code, missing.content)
    assert foreign.status_code == 404
    # HEAD and blobs/missing answer it exactly like a blob the server does not hold.
    assert _head(b, sha) == _head(b, unknown) == {"upload-offset": "0"}
    assert _missing(b, [sha, unknown]) == [sha, unknown]
    # The office is not fooled into thinking B's record holds the photo either: only A's counts.
    adj = actors.adjuster
    assert _get(adj, sha).status_code == 200
    # A's own device is told the truth.
    assert _missing(actors.liaison_a, [sha]) == []
    assert _head(actors.liaison_a, sha) == {"upload-offset": str(len(data)), "upload-length": str(len(data))}


def test_sending_the_bytes_in_full_proves_possession(actors):
    _, sha, data = _township_a_photo(actors)
    b = actors.liaison_b
    own = new_id()
    assert b.push_one("claim", own, claim_fields(BAODING))["status"] == "applied"
    assert b.push_one("photo", new_id(), {"claim_id": own, "sha256": sha})["status"] == "applied"
    other = _photo("另一张照片")
    other_sha = hashlib.sha256(other).hexdigest()
    half = len(data) // 2
    # Part of the bytes: answered exactly as for a blob the server does not hold (its own offset).
    stored, fresh = _patch(b, b.headers, sha, data[:half], 0, len(data)), \
        _patch(b, b.headers, other_sha, other[:half], 0, len(other))
    assert (stored.status_code, stored.headers.get("upload-offset"), stored.headers.get("upload-length")) == \
        (fresh.status_code, fresh.headers.get("upload-offset"), fresh.headers.get("upload-length")) == \
        (204, str(half), None)
    assert _head(b, sha) == {"upload-offset": str(half)}
    assert _get(b, sha).status_code == 404
    # Wrong bytes to the end: refused as for any upload, nothing opens.
    wrong = _patch(b, b.headers, sha, b"\x00" * (len(data) - half), half, len(data))
    assert (wrong.status_code, wrong.json()["error"]) == (422, "sha256_mismatch")
    assert _get(b, sha).status_code == 404 and _head(b, sha) == {"upload-offset": "0"}
    # The real bytes, in full: a normal completed upload; B's record now references the photo.
    done = _patch(b, b.headers, sha, data, 0, len(data))
    assert (done.status_code, done.headers["upload-offset"], done.headers["upload-length"]) == \
        (204, str(len(data)), str(len(data)))
    assert _get(b, sha).content == data
    store = BlobStore(actors.liaison_a.client.app.state.settings.blob_dir)
    # Only the unfinished upload is left: its bytes and its lock. The finished and the discarded
    # uploads took their lock files with them (every PATCH lists this folder for the quota).
    assert sorted(p.name for p in store.partial.iterdir()) == \
        [f"{other_sha}.{b.me.device_id}.lock", f"{other_sha}.{b.me.device_id}.part"]
    assert store.final_path(sha).read_bytes() == data  # one copy, unchanged


def test_an_upload_is_recorded_per_device(actors, harness):
    _, sha, data = _township_a_photo(actors)
    with harness.db.read() as s:
        rows = s.query(BlobUpload).filter(BlobUpload.sha256 == sha).all()
        assert [(r.device_id, r.user_id) for r in rows] == [
            (actors.liaison_a.me.device_id, actors.liaison_a.me.user["id"])]
        assert s.get(Blob, sha).size == len(data)


def test_out_of_scope_blobs_look_missing_to_head_and_missing(actors, harness):
    cid, sha, data = _township_a_photo(actors)
    y = actors.surveyor_y  # pingan: no assignment on A's claim
    unknown = hashlib.sha256(b"not on the server").hexdigest()
    assert _missing(y, [unknown, sha]) == [unknown, sha]
    assert _head(y, sha) == _head(y, unknown) == {"upload-offset": "0"}
    # Once its insurer works the claim, the blob belongs to a record it sees: nothing to upload.
    harness.assign(cid, "pingan")
    assert _missing(y, [unknown, sha]) == [unknown]
    assert _head(y, sha) == {"upload-offset": str(len(data)), "upload-length": str(len(data))}
    assert _get(y, sha).content == data


def test_a_receipt_with_no_insurer_is_the_offices_only(world):
    w = world
    r = post(w, "/api/v1/fund/premiums", w.p.adjuster, {"policy_year": 2026, "insurer_code": "lead",
                                                        "premium_ex_tax_fen": 40_000_000, "received_on": "2026-01-20"})
    assert r.status_code == 201, r.text
    agree_budget(w)
    data = _photo("宣传册印刷发票")
    sha = upload(w, w.p.adjuster, data)
    r = post(w, "/api/v1/fund/entries", w.p.adjuster, {"on": "2026-02-01", "amount_fen": 10_000,
                                                       "category": "publicity", "receipt_sha256": sha})
    assert r.status_code == 201, r.text

    def get(who):
        return w.client.get(f"/api/v1/blobs/{sha}", headers=who.headers)

    assert get(w.p.coordinator).content == data and get(w.p.adjuster).content == data
    unknown = w.client.get(f"/api/v1/blobs/{'7' * 64}", headers=w.p.liaison.headers)
    for who in (w.p.liaison, w.p.s1, w.p.s2):
        assert (get(who).status_code, get(who).content) == (404, unknown.content)


def test_a_surveyor_cannot_open_a_photo_by_booking_it_as_a_receipt(world):
    w = world
    r = post(w, "/api/v1/fund/premiums", w.p.adjuster, {"policy_year": 2026, "insurer_code": "lead",
                                                        "premium_ex_tax_fen": 40_000_000, "received_on": "2026-01-20"})
    assert r.status_code == 201, r.text
    # A victim's ID card on a claim of the liaison's township, uploaded by the liaison's phone.
    card = _photo("受害人身份证")
    sha = hashlib.sha256(card).hexdigest()
    cid = new_id()
    liaison = w.p.liaison

    def push(who, seq, entity, entity_id, fields):
        r = w.client.post("/api/v1/sync/push", headers=who.headers, json={"device_id": who.device_id, "mutations": [
            {"seq": seq, "entity": entity, "id": entity_id, "op": "upsert", "fields": fields, "base_version": None}]})
        assert r.status_code == 200, r.text
        return r.json()["results"][0]

    assert push(liaison, 1, "claim", cid, claim_fields())["status"] == "applied"
    assert push(liaison, 2, "photo", new_id(), {"claim_id": cid, "sha256": sha})["status"] == "applied"
    assert upload(w, liaison, card) == sha
    s4 = w.p.s4
    never = "5" * 64
    # No assignment at all: refused (before, a 0.01-yuan entry was booked and opened the photo).
    r = post(w, "/api/v1/fund/entries", s4, {"on": "2026-03-05", "amount_fen": 1, "category": "survey",
                                             "receipt_sha256": sha})
    assert r.status_code == 404 and r.json()["error"] == "not_found"
    # With an accepted survey of its own: the receipt is not its to name, refused like one never uploaded.
    survey = accepted_survey(w, w.p.s1)
    s1 = w.p.s1
    refused = [post(w, "/api/v1/fund/entries", s1, {"on": "2026-03-05", "amount_fen": 1, "category": "survey",
                                                    "receipt_sha256": h, "assignment_id": survey["id"]})
               for h in (sha, never)]
    assert [(r.status_code, r.json()["error"]) for r in refused] == [(422, "receipt_not_uploaded")] * 2
    assert refused[0].json()["message"] == refused[1].json()["message"]
    pushed = [push(s1, n, "cost", new_id(), {"on": "2026-03-05", "amount_fen": 1, "category": "survey",
                                             "receipt_sha256": h, "assignment_id": survey["id"]})
              for n, h in ((1, sha), (2, never))]
    assert [p["error"] for p in pushed] == [pushed[1]["error"]] * 2
    assert pushed[0]["error"].startswith("receipt_not_uploaded")
    for who in (s1, s4):
        assert w.client.get(f"/api/v1/blobs/{sha}", headers=who.headers).status_code == 404
    with w.harness.db.read() as s:
        assert s.query(FundEntryRow).filter(FundEntryRow.receipt_sha256 == sha).count() == 0


def test_fund_entries_show_a_surveyor_only_its_insurers_receipts(world):
    w = world
    r = post(w, "/api/v1/fund/premiums", w.p.adjuster, {"policy_year": 2026, "insurer_code": "lead",
                                                        "premium_ex_tax_fen": 40_000_000, "received_on": "2026-01-20"})
    assert r.status_code == 201, r.text
    agree_budget(w)
    survey = accepted_survey(w, w.p.s1)
    receipt = upload(w, w.p.s1, _photo("午餐发票"))
    r = post(w, "/api/v1/fund/entries", w.p.s1, {"on": "2026-03-05", "amount_fen": 3_550, "category": "survey",
                                                 "receipt_sha256": receipt, "assignment_id": survey["id"]})
    assert r.status_code == 201, r.text
    leaflet = upload(w, w.p.adjuster, _photo("宣传册发票"))
    r = post(w, "/api/v1/fund/entries", w.p.adjuster, {"on": "2026-03-06", "amount_fen": 9_000,
                                                       "category": "publicity", "receipt_sha256": leaflet})
    assert r.status_code == 201, r.text

    def receipts(who) -> list:
        r = w.client.get("/api/v1/fund/entries", headers=who.headers)
        assert r.status_code == 200, r.text
        return [(e["amount_fen"], e["receipt_sha256"]) for e in r.json()["entries"] if e["kind"] == "spending"]

    assert receipts(w.p.coordinator) == [(3_550, receipt), (9_000, leaflet)]
    assert receipts(w.p.s1) == [(3_550, receipt), (9_000, None)]
    assert receipts(w.p.s2) == [(3_550, None), (9_000, None)]  # the figures, not the keys to the photos
    assert w.client.get(f"/api/v1/blobs/{receipt}", headers=w.p.s1.headers).status_code == 200
    assert w.client.get(f"/api/v1/blobs/{receipt}", headers=w.p.s2.headers).status_code == 404


# ------------------------------------------------------------------------------ quota, clean-up

def test_a_device_holds_at_most_its_quota_in_unfinished_uploads(harness, settings):
    app = create_app(settings.with_(upload_quota_bytes=100_000))
    with TestClient(app) as c:
        me, other = harness.actor("adjuster"), harness.actor("adjuster")
        a, b = _photo("甲" * 8), _photo("乙" * 8)  # 72 kB each
        sha_a, sha_b = (hashlib.sha256(x).hexdigest() for x in (a, b))
        assert _patch(c, me.headers, sha_a, a[:50_000], 0, len(a)).status_code == 204
        # A second unfinished upload would take this device over its quota: refused, nothing held.
        r = _patch(c, me.headers, sha_b, b[:1000], 0, len(b))
        assert (r.status_code, r.json()["error"], r.headers["upload-offset"]) == (413, "upload_quota", "0")
        assert c.head(f"/api/v1/blobs/{sha_b}", headers=me.headers).headers["upload-offset"] == "0"
        # Another device has its own quota; finishing the first upload frees this one's.
        assert _patch(c, other.headers, sha_b, b, 0, len(b)).status_code == 204
        assert _patch(c, me.headers, sha_a, a[50_000:], 50_000, len(a)).status_code == 204
        assert _patch(c, me.headers, sha_b, b[:1000], 0, len(b)).status_code == 204


def _age(path, hours: float) -> None:
    then = time.time() - hours * 3600
    os.utime(path, (then, then))


def test_clean_up_removes_abandoned_uploads_and_unreferenced_blobs(actors, harness, settings, monkeypatch, capsys):
    a = actors.liaison_a
    store = BlobStore(settings.blob_dir)
    kept_photo = _photo("留存")
    kept = hashlib.sha256(kept_photo).hexdigest()
    cid = new_id()
    assert a.push_one("claim", cid, claim_fields())["status"] == "applied"
    assert a.push_one("photo", new_id(), {"claim_id": cid, "sha256": kept})["status"] == "applied"
    assert _patch(a, a.headers, kept, kept_photo, 0, len(kept_photo)).status_code == 204
    orphan_photo, fresh_photo, receipt_photo = _photo("无人引用"), _photo("刚上传"), _photo("发票")
    orphan, fresh, receipt = (hashlib.sha256(x).hexdigest() for x in (orphan_photo, fresh_photo, receipt_photo))
    for sha, data in ((orphan, orphan_photo), (fresh, fresh_photo), (receipt, receipt_photo)):
        assert _patch(a, a.headers, sha, data, 0, len(data)).status_code == 204
    with harness.db.write() as s:  # a fund receipt keeps its blob (booked by the office earlier)
        import datetime as dt
        s.add(FundEntryRow(id=new_id(), kind="spending", on=dt.date(2026, 3, 1), amount_fen=100,
                           category="publicity", note="", receipt_sha256=receipt))
    partial_photo = _photo("中断")
    partial = hashlib.sha256(partial_photo).hexdigest()
    assert _patch(a, a.headers, partial, partial_photo[:1000], 0, len(partial_photo)).status_code == 204
    stale_lock = store.partial / f"{'e' * 64}.{a.me.device_id}.lock"
    stale_lock.touch()
    for sha in (kept, orphan, receipt):
        _age(store.final_path(sha), 200)
    _age(store.partial_path(partial, a.me.device_id), 200)
    _age(stale_lock, 200)
    fresh_partial = _photo("进行中")
    fp = hashlib.sha256(fresh_partial).hexdigest()
    assert _patch(a, a.headers, fp, fresh_partial[:500], 0, len(fresh_partial)).status_code == 204

    monkeypatch.setenv("DAZU_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.delenv("BLOB_DIR", raising=False)
    from sync_server.cli import main

    capsys.readouterr()
    assert main(["admin", "clean-blobs", "--older-than-hours", "168", "--json"]) == 0
    out = capsys.readouterr().out
    got = json.loads(out)
    assert (got["blobs"], got["partial_files"]) == (1, 1) and got["lock_files"] >= 2
    assert got["blob_bytes"] == len(orphan_photo) and got["partial_bytes"] == 1000
    assert not store.exists(orphan)
    assert store.exists(kept) and store.exists(fresh) and store.exists(receipt)
    assert not store.partial_path(partial, a.me.device_id).exists() and not stale_lock.exists()
    assert store.partial_path(fp, a.me.device_id).exists()  # recent: somebody is still sending it
    with harness.db.read() as s:
        assert s.get(Blob, orphan) is None and s.query(BlobUpload).filter(BlobUpload.sha256 == orphan).count() == 0
        assert s.get(Blob, kept) is not None and s.query(BlobRef).filter(BlobRef.sha256 == kept).count() == 1
    # The phone that still holds the removed bytes is told to send them again.
    assert _missing(a, [orphan, kept]) == [orphan]
    # Nothing old enough: nothing removed.
    assert blobs_mod.clean(harness.db, store, 168)["blobs"] == 0


def test_a_push_and_the_upload_of_its_photo_at_the_same_moment_leave_the_photo_referenced(harness):
    """The phone pushes a photo record on one connection while its bytes finish uploading on
    another. Whichever commits first, the reference ends up counting: the push may find no upload
    yet and park it, and then the upload must find what was parked (it waits its turn)."""
    import threading

    from sync_server.blobs import provenance
    from sync_server.blobs.models import PendingBlobRef
    from sync_server.core.models import User

    me = harness.actor("adjuster")
    sha, record = hashlib.sha256(b"photo bytes").hexdigest(), new_id()
    referenced, uploaded = threading.Event(), threading.Event()
    failures: list[BaseException] = []

    def push() -> None:
        try:
            with harness.db.write() as s:
                assert provenance.reference(s, s.get(User, me.user["id"]), me.device_id, sha, "photo", record) is False
                referenced.set()
                # The push's transaction is still open while the upload runs.
                assert not uploaded.wait(1.5) or harness.db.engine.dialect.name == "sqlite"
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            failures.append(exc)
            referenced.set()

    def upload() -> None:
        try:
            with harness.db.write() as s:
                provenance.record_upload(s, sha, 11, me.device_id, me.user["id"])
            uploaded.set()
        except BaseException as exc:  # noqa: BLE001
            failures.append(exc)

    pusher = threading.Thread(target=push)
    pusher.start()
    assert referenced.wait(10)
    uploader = threading.Thread(target=upload)
    uploader.start()
    pusher.join(20)
    uploader.join(20)
    assert not failures, failures
    with harness.db.read() as s:
        assert [(r.entity, r.entity_id) for r in s.query(BlobRef).filter(BlobRef.sha256 == sha)] == [("photo", record)]
        assert s.query(PendingBlobRef).filter(PendingBlobRef.sha256 == sha).count() == 0
