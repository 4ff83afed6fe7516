"""Photo uploads under faults, over a real loopback socket to the uvicorn server.

Invariants: a blob exists on the server only with exactly the phone's bytes; a cut upload resumes
from what the server holds (only the bytes lost in flight are sent again); a photo whose bytes do
not match its hash never becomes a blob, is shown as damaged and is not retried forever.
"""
from __future__ import annotations

import hashlib
import random

import httpx
import pytest

from fieldapp.sync import Offline

from .conftest import TOWNSHIP_A, blob_exists


class CutStream(httpx.SyncByteStream):
    """Counts what really goes to the socket; raises after ``cut_after`` bytes (None: never)."""

    def __init__(self, inner, cut_after: int | None, owner):  # noqa: ANN001
        self.inner = inner
        self.cut_after = cut_after
        self.owner = owner

    def __iter__(self):  # noqa: ANN204
        sent = 0
        for chunk in self.inner:
            if self.cut_after is not None and sent + len(chunk) > self.cut_after:
                self.owner.bytes_sent += self.cut_after - sent
                yield chunk[: self.cut_after - sent]
                raise httpx.WriteError("connection cut mid-upload")
            sent += len(chunk)
            self.owner.bytes_sent += len(chunk)
            yield chunk


class CuttingTransport(httpx.BaseTransport):
    """Cuts the next PATCH bodies after the given byte counts (a list consumed in order)."""

    def __init__(self, inner: httpx.BaseTransport):
        self.inner = inner
        self.cuts: list[int] = []
        self.bytes_sent = 0
        self.heads = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "HEAD":
            self.heads += 1
        if request.method == "PATCH":
            cut = self.cuts.pop(0) if self.cuts else None
            request.stream = CutStream(request.stream, cut, self)
        return self.inner.handle_request(request)


def _server_bytes(loopback, sha: str) -> bytes:
    from sync_server.blobs.store import BlobStore

    return BlobStore(loopback.settings.blob_dir).final_path(sha).read_bytes()


def test_upload_cut_20_times_at_random_offsets_then_completed(loopback, phones):
    phone = phones()
    phone.enroll("liaison", township_code=TOWNSHIP_A)
    cid = phone.new_claim()
    size = 3 * 1024 * 1024
    sha = phone.add_photo(cid, size=size, seed=11)
    phone.client.upload_previews = False
    phone.client.max_patch_bytes = 64 * 1024 * 1024
    cutter = CuttingTransport(phone.transport.inner)
    phone.transport.inner = cutter
    rng = random.Random(5)
    phone.client.push()  # the photo record first; the cuts below hit only blob bytes
    cuts = 0
    for _ in range(20):
        cutter.cuts = [rng.randint(1, 150_000)]
        with pytest.raises(Offline):
            phone.client.sync_once()
        cuts += 1
        assert not blob_exists(loopback, sha)
    assert cuts == 20
    token = phone.store.sync_state.get().token
    held = int(httpx.head(f"{loopback.url}/api/v1/blobs/{sha}",
                          headers={"Authorization": f"Bearer {token}"}).headers["upload-offset"])
    assert held > 0, "the server kept nothing of 20 partial uploads"
    sent_before = cutter.bytes_sent
    cutter.cuts = []
    phone.client.sync_once()
    # The completing upload sends exactly the bytes the server did not hold yet.
    assert cutter.bytes_sent - sent_before == phone.files.path(sha, "original").stat().st_size - held
    assert blob_exists(loopback, sha)
    data = _server_bytes(loopback, sha)
    assert hashlib.sha256(data).hexdigest() == sha and data == phone.files.path(sha, "original").read_bytes()
    # Resumed, not restarted: all bytes sent = the file + what was in flight at each cut (each
    # cut sends at most 150 kB). Restarting from 0 each time would send 20 x the file.
    assert len(data) <= cutter.bytes_sent <= len(data) + 20 * 150_000
    assert cutter.heads >= 19, "after a cut the phone asks the server how much it holds"
    assert phone.client.status().pending_photos == 0


def test_wrong_final_hash_is_discarded_and_shown(loopback, phones):
    phone = phones()
    phone.enroll("liaison", township_code=TOWNSHIP_A)
    cid = phone.new_claim()
    good = phone.add_photo(cid, seed=21)
    bad = phone.add_photo(cid, seed=22)
    path = phone.files.path(bad, "original")
    damaged = bytearray(path.read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF  # same size, one bit flipped: the hash no longer matches
    path.write_bytes(bytes(damaged))
    phone.client.sync_once()
    assert blob_exists(loopback, good)
    assert not blob_exists(loopback, bad), "a blob must never exist with bytes that do not hash to its name"
    errors = phone.client.photo_errors()
    assert set(errors) == {bad} and errors[bad]["code"] == "photo_damaged"
    st = phone.client.status()
    assert st.photo_errors == 1 and st.pending_photos == 0
    # Not retried forever: nothing left to do, so the next sync is the single pull.
    before = phone.transport.requests
    phone.client.sync_once()
    assert phone.transport.requests - before == 1
    assert phone.store.photos.get_by_sha(bad).upload_state != "original"


def test_server_refuses_a_completed_upload_with_the_wrong_hash(loopback, phones):
    """The server side of the same invariant, byte level: 422, offset back to 0, then it works."""
    phone = phones()
    phone.enroll("liaison", township_code=TOWNSHIP_A)
    data = random.Random(3).randbytes(100_000)
    sha = hashlib.sha256(data).hexdigest()
    token = phone.store.sync_state.get().token
    auth = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=loopback.url) as c:
        wrong = data[:-1] + bytes([data[-1] ^ 1])
        r = c.patch(f"/api/v1/blobs/{sha}", content=wrong,
                    headers={**auth, "Upload-Offset": "0", "Upload-Length": str(len(data))})
        assert r.status_code == 422 and r.json()["error"] == "sha256_mismatch"
        assert c.head(f"/api/v1/blobs/{sha}", headers=auth).headers["upload-offset"] == "0"
        assert not blob_exists(loopback, sha)
        r = c.patch(f"/api/v1/blobs/{sha}", content=data,
                    headers={**auth, "Upload-Offset": "0", "Upload-Length": str(len(data))})
        assert r.status_code == 204
    assert blob_exists(loopback, sha)


def test_previews_go_before_originals(server, phones):
    phone = phones()
    phone.enroll("liaison", township_code=TOWNSHIP_A)
    cid = phone.new_claim()
    shas = [phone.add_photo(cid, seed=40 + i) for i in range(3)]
    order: list[str] = []

    class Recorder(httpx.BaseTransport):
        def __init__(self, inner):  # noqa: ANN001
            self.inner = inner

        def handle_request(self, request):  # noqa: ANN001, ANN201
            if request.method == "PATCH":
                order.append(request.url.path.rsplit("/", 1)[1])
            return self.inner.handle_request(request)

    phone.transport.inner = Recorder(phone.transport.inner)
    phone.client.sync_once()
    assert len(order) == 6
    assert set(order[3:]) == set(shas), "the three originals come after the three previews"
    assert not set(order[:3]) & set(shas)
    assert all(phone.store.photos.get_by_sha(s).upload_state == "original" for s in shas)
