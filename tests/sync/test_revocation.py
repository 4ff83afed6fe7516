"""A token revoked while a batch is in flight: the next request is 401, each batch all or nothing,
and after enrolling again everything still arrives exactly once."""
from __future__ import annotations

import random
import threading

import httpx
import pytest
from sqlalchemy import select

from fieldapp.sync import Offline, TokenRevoked
from sync_server.devices import service as accounts
from sync_server.sync.models import PushReceipt

from .conftest import TOWNSHIP_A, server_counts, valid_id_number


def _revoke(server, device_id: str) -> None:
    with server.harness.db.write() as s:
        accounts.revoke_device(s, device_id)


def _fill(phone, claims: int) -> None:
    rng = random.Random(claims)
    for i in range(claims):
        cid = phone.new_claim(description=f"户 {i}")
        phone.store.persons.add(cid, role_in_claim="victim", name=f"户主{i}", id_number=valid_id_number(rng))
        phone.store.documents.set_status(cid, "claimant_id_card", "collected")


def _receipts(server, device_id: str) -> list[int]:
    with server.harness.db.read() as s:
        return sorted(s.scalars(select(PushReceipt.seq).where(PushReceipt.device_id == device_id)))


def _reenroll_and_finish(phone, server, claims: int) -> None:
    code = server.harness.enrollment_code(phone.user["id"])
    phone.client.enroll(phone.base, code, phone.name + " again")
    assert phone.client.status().needs_reenroll is False
    phone.sync_until_quiet()
    assert phone.store.outbox.count() == 0
    assert server_counts(server) == {"claim": claims, "person": claims, "document": claims, "transition": claims}


def test_revoked_just_before_the_batch_arrives(server, phones):
    phone = phones()
    phone.enroll("liaison", township_code=TOWNSHIP_A)
    _fill(phone, 5)
    device = phone.store.sync_state.get().device_id
    before = phone.store.outbox.pending(1000)

    class RevokeOnPush(httpx.BaseTransport):
        def __init__(self, inner):  # noqa: ANN001
            self.inner = inner

        def handle_request(self, request):  # noqa: ANN001, ANN201
            if request.url.path.endswith("/sync/push"):
                _revoke(server, device)
            return self.inner.handle_request(request)

    phone.transport.inner = RevokeOnPush(phone.transport.inner)
    with pytest.raises(TokenRevoked) as caught:
        phone.client.sync_once()
    assert "重新登记" in caught.value.message("zh")
    assert phone.store.outbox.pending(1000) == before, "a refused batch is kept whole"
    assert server_counts(server)["claim"] == 0 and _receipts(server, device) == []
    st = phone.client.status()
    assert st.needs_reenroll and st.last_error == "token_revoked"
    # No more requests with a dead token.
    n = phone.transport.requests
    with pytest.raises(TokenRevoked):
        phone.client.sync_once()
    assert phone.transport.requests == n
    phone.transport.inner = phone.transport.inner.inner
    _reenroll_and_finish(phone, server, 5)


@pytest.mark.parametrize("delay_ms", [0, 10])
def test_revoked_while_a_batch_is_in_flight(loopback, phones, delay_ms):
    phone = phones()
    phone.enroll("liaison", township_code=TOWNSHIP_A)
    _fill(phone, 60)  # 240 mutations
    phone.client.push_batch = 20
    device = phone.store.sync_state.get().device_id
    timers: list[threading.Timer] = []
    revoked = threading.Event()

    def revoke() -> None:
        _revoke(loopback, device)
        revoked.set()

    class RevokeDuringThirdPush(httpx.BaseTransport):
        """Sends the 3rd batch and revokes the device from another thread while it travels:
        before the server authenticates, while it waits for the device lock, or after commit.
        Later batches leave only once the revocation is committed: SQLite's writer lock is not
        fair, and back-to-back pushes could otherwise starve the revoking write until the end."""

        def __init__(self, inner):  # noqa: ANN001
            self.inner = inner
            self.pushes = 0

        def handle_request(self, request):  # noqa: ANN001, ANN201
            if request.url.path.endswith("/sync/push"):
                self.pushes += 1
                if self.pushes == 3:
                    t = threading.Timer(delay_ms / 1000, revoke)
                    timers.append(t)
                    t.start()
                elif self.pushes > 3:
                    assert revoked.wait(30), "the revocation never committed"
            return self.inner.handle_request(request)

    phone.transport.inner = RevokeDuringThirdPush(phone.transport.inner)
    with pytest.raises((TokenRevoked, Offline)):
        phone.sync_until_quiet()
    for t in timers:
        t.join()
    phone.transport.inner = phone.transport.inner.inner
    seqs = _receipts(loopback, device)
    # All or nothing per batch: the server applied whole batches of 20, a prefix of the outbox.
    assert len(seqs) % 20 == 0 and seqs == list(range(1, len(seqs) + 1)), seqs[-5:]
    left = [m["seq"] for m in phone.store.outbox.pending(1000)]
    assert left == list(range(len(seqs) + 1, 241)), "the phone cleared exactly what the server acked"
    assert len(left) > 0, "the revocation landed after the push ended; the test proved nothing"
    with httpx.Client(base_url=loopback.url) as c:
        token = phone.store.sync_state.get().token
        r = c.get("/api/v1/sync/pull", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401
    _reenroll_and_finish(phone, loopback, 60)


def test_a_sync_run_reads_the_sealed_token_once_whatever_its_number_of_requests(server, phones):
    """The header is read at the run's start and kept for it: a run with five times the uploads
    reads the sync state as often as a small one (it used to read it, and open the sealed token,
    for every request). The next run reads it again (a new enrolment's token is used: above)."""
    phone = phones()
    phone.enroll("liaison", township_code=TOWNSHIP_A)
    phone.new_claim()
    phone.client.sync_once()  # the first run also pulls before its push (no cursor yet)
    real_get = phone.store.sync_state.get
    reads = []

    def counted_get():  # noqa: ANN202
        reads.append(1)
        return real_get()

    phone.store.sync_state.get = counted_get
    per_run = []
    for photos in (1, 5):
        cid = phone.new_claim()
        for seed in range(photos):
            phone.add_photo(cid, seed=100 * photos + seed)
        reads.clear()
        sent = phone.transport.requests
        phone.client.sync_once()
        per_run.append((len(reads), phone.transport.requests - sent))
    (small_reads, small_requests), (large_reads, large_requests) = per_run
    assert large_requests == small_requests + 8, per_run  # a photo and its preview: two uploads each
    assert large_reads == small_reads, per_run
    assert not phone.client.has_work()
