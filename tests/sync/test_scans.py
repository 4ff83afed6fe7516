"""Document scans (personal data) from the phone's checklist to the server, with real parts only: a
real SQLite store per phone, the real server as a uvicorn process on loopback (SQLite and
PostgreSQL), real HTTP.

What users reported: scans never left the phone, so the waiting count never dropped and signing
out was refused for ever; and a text file was accepted as a scan (stored as image/jpeg).
"""
from __future__ import annotations

import hashlib
import os
import stat
import uuid
from pathlib import Path

import httpx
import pytest

from claimcore.filetypes import MAX_SCAN_BYTES
from fieldapp.state.context import AppContext, SignOutRefused
from fieldapp.store import StoreValidationError, open_store
from fieldapp.sync.errors import Offline
from tests.sync.conftest import TOWNSHIP_A, TOWNSHIP_B

PHOTOS = Path(__file__).resolve().parents[1] / "media" / "photos"
ID_CARD = (PHOTOS / "jpg_gps__DSCN0010.jpg").read_bytes()  # stands in for a photographed ID card
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n" + os.urandom(2048) + b"\n%%EOF\n"
TEXT = "这不是扫描件，只是一个文本文件\nnot a scan, just text\n".encode()
DOC = "claimant_id_card"
NOT_FOUND = {"error": "not_found", "message": "not found"}


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _ctx_for(phone) -> AppContext:
    """The app state of this phone (unsent summary, sign-out) on the phone's own open store."""
    ctx = AppContext(phone.root / "data")
    ctx.store = phone.store
    ctx.photo_files = phone.files
    return ctx


def _url(loopback, claim_id: str, scan_id: str) -> str:
    return f"{loopback.url}/api/v1/claims/{claim_id}/scans/{scan_id}"


def _get(loopback, who, claim_id: str, scan_id: str) -> httpx.Response:
    return httpx.get(_url(loopback, claim_id, scan_id), headers=who.headers, timeout=30)


def _put(loopback, who, claim_id: str, scan_id: str, data, *, ctype: str = "image/jpeg",
         doc: str = DOC, sha: str | None = None, extra: dict | None = None) -> httpx.Response:
    headers = {**who.headers, "Content-Type": ctype, "X-Document-Code": doc,
               "X-Scan-SHA256": sha if sha is not None else _sha(data if isinstance(data, bytes) else b"")}
    headers.update(extra or {})
    return httpx.put(_url(loopback, claim_id, scan_id), headers=headers, content=data, timeout=60)


def _token_of(phone):
    """The phone's own credentials as an Enrolled-like object (headers)."""
    state = phone.store.sync_state.get()
    return type("Who", (), {"headers": {"Authorization": f"Bearer {state.token}"}})()


def _liaison_with_claim(loopback, phones, township: str = TOWNSHIP_A):
    phone = phones("liaison")
    phone.enroll("liaison", township_code=township)
    claim_id = phone.new_claim(township)
    return phone, claim_id


# ------------------------------------------------------------------------------------- the path

def test_a_scan_reaches_the_server_byte_identical_and_sign_out_then_succeeds(loopback, phones):
    phone, claim_id = _liaison_with_claim(loopback, phones)
    ctx = _ctx_for(phone)
    scan_id = phone.store.documents.attach_scan(claim_id, DOC, ID_CARD, user=phone.user["id"])
    (item,) = phone.store.documents.pending_scan_uploads()
    assert item.content_type == "image/jpeg"  # sniffed from the bytes
    assert ctx.unsent_summary()[2] == 1
    assert phone.client.status().pending_scans == 1 and phone.client.has_work()
    # what the home banner and the sync screen read
    from fieldapp.state.sync_status import from_client_status

    shown = from_client_status(phone.client.status(), "zh")
    assert shown.pending_scans == 1 and shown.has_unsent
    assert ctx.sync_status().pending_scans == 1  # the store-only status (no sync service running)
    assert ctx.t("sync.waiting_scans", changes=shown.pending_changes, photos=0, scans=1).endswith("1 份扫描件")
    with pytest.raises(SignOutRefused) as refused:
        ctx.sign_out()
    assert refused.value.scans == 1
    text = ctx.t("settings.signout_refused", changes=refused.value.changes, photos=refused.value.photos,
                 scans=refused.value.scans)
    assert "1 份扫描件" in text

    report = phone.client.sync_once()

    assert report.scans_uploaded == 1 and report.rejected == 0, phone.client.rejections()
    assert phone.store.documents.pending_scan_uploads() == []
    assert phone.client.status().pending_scans == 0 and not phone.client.has_work()
    # the liaison who sent it, the adjuster and the coordinator read back the very bytes
    adjuster = loopback.actor("adjuster")
    coordinator = loopback.actor("coordinator")
    for who in (_token_of(phone), adjuster, coordinator):
        r = _get(loopback, who, claim_id, scan_id)
        assert r.status_code == 200, r.text
        assert r.content == ID_CARD and _sha(r.content) == _sha(ID_CARD)
        assert r.headers["content-type"] == "image/jpeg"
        assert r.headers["x-scan-sha256"] == _sha(ID_CARD)
        assert "no-store" in r.headers["cache-control"]
    # stored atomically as a private file (0600) under the server's data folder, sealed under the
    # server key (it opens to the very bytes), indexed in the table
    stored = list((loopback.settings.data_dir / "scans").rglob(f"{scan_id}-*"))
    assert len(stored) == 1 and ID_CARD not in stored[0].read_bytes()
    from sync_server.core.sealing import Sealer

    assert Sealer.from_settings(loopback.settings).open_bytes(stored[0].read_bytes(), f"scan:{scan_id}") == ID_CARD
    assert stat.S_IMODE(stored[0].stat().st_mode) == 0o600
    assert not list((loopback.settings.data_dir / "scans" / "tmp").iterdir())
    from sync_server.claims.models import Scan

    with loopback.harness.db.read() as s:
        row = s.get(Scan, scan_id)
        assert (row.claim_id, row.doc_code, row.sha256, row.size, row.content_type) == (
            claim_id, DOC, _sha(ID_CARD), len(ID_CARD), "image/jpeg")

    # a second sync sends nothing more: the pull only
    sent = phone.transport.requests
    assert phone.client.sync_once().scans_uploaded == 0
    assert phone.transport.requests == sent + 1

    assert ctx.unsent_summary() == (0, 0, 0)
    assert ctx.sync_status().has_unsent is False
    ctx.sign_out()
    assert phone.store.sync_state.get().token is None


def test_scans_wait_for_their_claim_and_for_the_network(loopback, phones):
    """A 404 (the server does not have the claim yet) is "next sync", not a problem; a dead network
    is Offline like the rest of the sync; neither loses or marks anything."""
    phone, claim_id = _liaison_with_claim(loopback, phones)
    scan_id = phone.store.documents.attach_scan(claim_id, DOC, PDF, user=phone.user["id"])

    early = phone.client.scans.upload_pending()  # before the push: the server has no such claim
    assert (early.waiting_for_claim, early.uploaded, early.refused) == (1, 0, 0)
    assert phone.client.rejections() == []
    assert [s.id for s in phone.store.documents.pending_scan_uploads()] == [scan_id]

    phone.transport.offline = True
    with pytest.raises(Offline):
        phone.client.sync_once()
    assert [s.id for s in phone.store.documents.pending_scan_uploads()] == [scan_id]

    phone.transport.offline = False
    phone.sync_until_quiet()
    assert phone.store.documents.pending_scan_uploads() == []
    r = _get(loopback, loopback.actor("adjuster"), claim_id, scan_id)
    assert r.status_code == 200 and r.content == PDF and r.headers["content-type"] == "application/pdf"


def test_a_refused_scan_stays_on_the_phone_as_a_visible_problem(loopback, phones):
    phone, claim_id = _liaison_with_claim(loopback, phones)
    scan_id = phone.store.documents.attach_scan(claim_id, DOC, ID_CARD, user=phone.user["id"])
    # The phone's record says PNG but the bytes are a JPEG (an older app version, a damaged row):
    # the server refuses it for good (415), which must not be retried for ever nor lost.
    from fieldapp.store.schema import Scan as PhoneScan

    with phone.store.db.write() as s:
        s.get(PhoneScan, scan_id).content_type = "image/png"

    phone.client.sync_once()

    problems = [p for p in phone.client.rejections() if p["entity"] == "scan"]
    assert len(problems) == 1
    (p,) = problems
    assert (p["id"], p["claim_id"], p["fields"]) == (scan_id, claim_id, [DOC])
    assert p["error"].startswith("content_type_mismatch:")
    assert phone.client.status().rejections == 1
    # kept on the phone (the only copy), counted as unsent, not sent again by every sync
    assert [s.id for s in phone.store.documents.pending_scan_uploads()] == [scan_id]
    assert phone.store.documents.read_scan(scan_id) == ID_CARD
    assert _ctx_for(phone).unsent_summary() == (0, 0, 1)
    assert not phone.client.has_work()
    sent = phone.transport.requests
    phone.client.sync_once()
    assert phone.transport.requests == sent + 1  # the pull only
    assert len(phone.client.rejections()) == 1


# ------------------------------------------------------------------------------------------ scope

def test_scope_surveyors_and_other_townships_get_the_same_404_as_unknown_ids(loopback, phones):
    phone, claim_id = _liaison_with_claim(loopback, phones)
    scan_id = phone.store.documents.attach_scan(claim_id, DOC, ID_CARD, user=phone.user["id"])
    phone.sync_until_quiet()
    harness = loopback.harness
    surveyor = loopback.actor("surveyor", insurer_code="cpic")
    harness.assign(claim_id, "cpic")  # even the insurer assigned to survey this claim: no scans
    other_liaison = loopback.actor("liaison", township_code=TOWNSHIP_B)
    adjuster = loopback.actor("adjuster")
    coordinator = loopback.actor("coordinator")

    unknown_scan = _get(loopback, adjuster, claim_id, str(uuid.uuid4()))
    unknown_claim = _get(loopback, adjuster, str(uuid.uuid4()), scan_id)
    not_uuid = _get(loopback, adjuster, claim_id, "../../etc/passwd")
    assert unknown_scan.status_code == unknown_claim.status_code == 404
    reference = unknown_scan.content
    assert unknown_scan.json() == NOT_FOUND and unknown_claim.content == reference
    assert not_uuid.status_code == 404
    for who in (surveyor, other_liaison):
        r = _get(loopback, who, claim_id, scan_id)
        assert (r.status_code, r.content) == (404, reference), r.text
        assert ID_CARD[:64] not in r.content
        # the write route gives nothing away either, and stores nothing
        w = _put(loopback, who, claim_id, str(uuid.uuid4()), PDF, ctype="application/pdf")
        assert (w.status_code, w.content) == (404, reference), w.text
    for who in (adjuster, coordinator, _token_of(phone)):
        r = _get(loopback, who, claim_id, scan_id)
        assert r.status_code == 200 and r.content == ID_CARD
    # the scan of one claim is not reachable under another claim's id
    second = phone.new_claim(TOWNSHIP_A, description="另一户房屋受损")
    phone.sync_until_quiet()
    r = _get(loopback, adjuster, second, scan_id)
    assert (r.status_code, r.content) == (404, reference)
    # an adjuster and the coordinator may upload too
    for who in (adjuster, coordinator):
        sid = str(uuid.uuid4())
        assert _put(loopback, who, claim_id, sid, PDF, ctype="application/pdf").status_code == 201
    from sync_server.claims.models import Scan

    with harness.db.read() as s:
        assert s.query(Scan).count() == 3


# ------------------------------------------------------------------------------------ refusals

def test_the_phone_store_refuses_a_text_file(tmp_path):
    store = open_store(tmp_path / "data")
    claim_id = store.claims.create(coverage="natural_disaster", role="liaison", created_by="u1",
                                   township_code=TOWNSHIP_A, incident_at="2026-07-01T08:00:00+08:00",
                                   description="房屋被洪水冲毁", loss_types=["house"])
    outbox_before = store.outbox.count()
    for data in (TEXT, b"\xff\xd8", b"%PDF"):
        with pytest.raises(StoreValidationError) as exc:
            store.documents.attach_scan(claim_id, DOC, data, user="u1")
        assert exc.value.message("zh") == "扫描件只能是图片（JPEG、PNG、HEIC）或 PDF 文件"
        assert exc.value.message("en") == "A scan must be an image (JPEG, PNG, HEIC) or a PDF"
    with pytest.raises(StoreValidationError):
        store.documents.attach_scan(claim_id, DOC, b"", user="u1")
    with pytest.raises(StoreValidationError) as big:
        store.documents.attach_scan(claim_id, DOC, b"%PDF-" + bytes(MAX_SCAN_BYTES), user="u1")
    assert "20 MB" in big.value.message("en")
    # nothing written: no scan row, no file, no checklist change waiting to sync
    assert store.documents.pending_scan_uploads() == []
    assert store.documents.list_for_claim(claim_id) == []
    assert store.outbox.count() == outbox_before
    assert not (tmp_path / "data" / "scans").exists() or not list((tmp_path / "data" / "scans").iterdir())
    # each accepted type gets its own content type, whatever the caller says
    png = b"\x89PNG\r\n\x1a\n" + bytes(64)
    heic = (PHOTOS / "heic__IMG_5195.HEIC").read_bytes()
    for data, ctype in ((ID_CARD, "image/jpeg"), (png, "image/png"), (heic, "image/heic"), (PDF, "application/pdf")):
        store.documents.attach_scan(claim_id, DOC, data, user="u1")
    assert [s.content_type for s in store.documents.pending_scan_uploads()] == [
        "image/jpeg", "image/png", "image/heic", "application/pdf"]
    store.close()


def test_server_refusals_replays_and_caps(loopback, phones):
    phone, claim_id = _liaison_with_claim(loopback, phones)
    phone.sync_until_quiet()
    adjuster = loopback.actor("adjuster")
    scans_dir = loopback.settings.data_dir / "scans"

    # a text file: 415 with the clear message, whatever Content-Type claims
    for ctype in ("image/jpeg", "application/pdf"):
        r = _put(loopback, adjuster, claim_id, str(uuid.uuid4()), TEXT, ctype=ctype)
        assert r.status_code == 415, r.text
        assert r.json() == {"error": "unsupported_scan_type",
                            "message": "A scan must be an image (JPEG, PNG, HEIC) or a PDF"}
    r = _put(loopback, adjuster, claim_id, str(uuid.uuid4()), TEXT, ctype="text/plain")
    assert (r.status_code, r.json()["error"]) == (415, "unsupported_scan_type")
    r = _put(loopback, adjuster, claim_id, str(uuid.uuid4()), b"", ctype="image/jpeg")
    assert (r.status_code, r.json()["error"]) == (415, "unsupported_scan_type")
    # the bytes are a JPEG, the header says PNG
    r = _put(loopback, adjuster, claim_id, str(uuid.uuid4()), ID_CARD, ctype="image/png")
    assert (r.status_code, r.json()["error"]) == (415, "content_type_mismatch")
    # headers
    r = _put(loopback, adjuster, claim_id, str(uuid.uuid4()), ID_CARD, sha=_sha(PDF))
    assert (r.status_code, r.json()["error"]) == (422, "sha256_mismatch")
    r = _put(loopback, adjuster, claim_id, str(uuid.uuid4()), ID_CARD, sha=_sha(ID_CARD).upper()[:63])
    assert (r.status_code, r.json()["error"]) == (400, "invalid_sha256")
    r = _put(loopback, adjuster, claim_id, str(uuid.uuid4()), ID_CARD, doc="no_such_document")
    assert (r.status_code, r.json()["error"]) == (422, "unknown_document_code")
    r = httpx.put(_url(loopback, claim_id, str(uuid.uuid4())), content=ID_CARD, timeout=30,
                  headers={**adjuster.headers, "Content-Type": "image/jpeg", "X-Document-Code": DOC})
    assert (r.status_code, r.json()["error"]) == (400, "missing_header")
    r = httpx.put(_url(loopback, claim_id, str(uuid.uuid4())), content=ID_CARD, timeout=30,
                  headers={"Content-Type": "image/jpeg", "X-Document-Code": DOC, "X-Scan-SHA256": _sha(ID_CARD)})
    assert r.status_code == 401

    # idempotent: the same id and bytes again is 200 with the same record; other bytes 409
    scan_id = str(uuid.uuid4())
    first = _put(loopback, adjuster, claim_id, scan_id, ID_CARD)
    assert first.status_code == 201, first.text
    assert first.json()["sha256"] == _sha(ID_CARD) and first.json()["size"] == len(ID_CARD)
    again = _put(loopback, adjuster, claim_id, scan_id, ID_CARD)
    assert again.status_code == 200 and again.json() == first.json()
    other = _put(loopback, adjuster, claim_id, scan_id, PDF, ctype="application/pdf")
    assert (other.status_code, other.json()["error"]) == (409, "scan_id_in_use")
    second_claim = phone.new_claim(TOWNSHIP_A, description="另一户")
    phone.sync_until_quiet()
    moved = _put(loopback, adjuster, second_claim, scan_id, ID_CARD)
    assert (moved.status_code, moved.json()["error"]) == (409, "scan_id_in_use")
    assert _get(loopback, adjuster, claim_id, scan_id).content == ID_CARD  # untouched

    # the cap: over 20 MiB is 413, announced (Content-Length) or streamed (chunked), nothing kept
    files_before = sorted(p.name for p in scans_dir.rglob("*") if p.is_file())
    big = b"%PDF-" + bytes(MAX_SCAN_BYTES - 4)  # one byte over the cap
    r = _put(loopback, adjuster, claim_id, str(uuid.uuid4()), big, ctype="application/pdf")
    assert (r.status_code, r.json()["error"]) == (413, "scan_too_large")

    def stream():
        for start in range(0, len(big), 1 << 20):
            yield big[start:start + (1 << 20)]

    r = _put(loopback, adjuster, claim_id, str(uuid.uuid4()), stream(), ctype="application/pdf", sha=_sha(big))
    assert (r.status_code, r.json()["error"]) == (413, "scan_too_large")
    at_cap = big[:MAX_SCAN_BYTES]
    r = _put(loopback, adjuster, claim_id, str(uuid.uuid4()), at_cap, ctype="application/pdf")
    assert r.status_code == 201, r.text
    files_after = sorted(p.name for p in scans_dir.rglob("*") if p.is_file())
    assert len(files_after) == len(files_before) + 1  # only the one at the cap
    assert not list((scans_dir / "tmp").iterdir())


def test_a_surveyors_phone_refuses_a_scan_it_could_never_send(tmp_path):
    """The server takes scans only from the roles that handle a claim's files; a co-insurer's phone
    therefore refuses to keep one (it would wait for ever and block sign-out on a shared phone)."""
    from fieldapp.store import open_store

    store = open_store(tmp_path / "data")
    claim_id = store.claims.create(coverage="natural_disaster", role="adjuster", township_code=TOWNSHIP_A,
                                   incident_at="2026-07-01T08:00:00+08:00", description="房屋被洪水冲毁")
    store.writer_role = "surveyor"
    with pytest.raises(StoreValidationError) as refused:
        store.documents.attach_scan(claim_id, DOC, ID_CARD, user="s1")
    assert "查勘员" in refused.value.message("zh") and "Surveyors" in refused.value.message("en")
    assert store.documents.pending_scan_uploads() == []
    store.writer_role = "liaison"
    store.documents.attach_scan(claim_id, DOC, ID_CARD, user="l1")
    assert len(store.documents.pending_scan_uploads()) == 1
    store.close()
