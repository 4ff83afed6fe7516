"""SyncService: syncs by itself when there is work, backs off while offline, drains when the
server is back, tells observers; 401 stops it until enrolment."""
from __future__ import annotations

import random
import threading

from fieldapp.sync import Backoff, SyncService

from .conftest import TOWNSHIP_A


def _wait(cond, timeout: float = 30.0) -> bool:  # noqa: ANN001
    event = threading.Event()
    for _ in range(int(timeout / 0.02)):
        if cond():
            return True
        event.wait(0.02)
    return cond()


def test_backoff_grows_with_jitter_and_is_capped():
    b = Backoff(base=1.0, cap=8.0, rng=random.Random(1))
    delays = [b.next_delay() for _ in range(8)]
    steps = [1, 2, 4, 8, 8, 8, 8, 8]
    assert all(s / 2 <= d <= s for d, s in zip(delays, steps))
    assert len(set(delays)) == len(delays), "jitter: no two phones (or retries) in lockstep"
    b.reset()
    assert b.next_delay() <= 1.0


def test_service_drains_when_the_server_comes_back(server, phones):
    phone = phones()
    phone.enroll("liaison", township_code=TOWNSHIP_A)
    seen = []
    service = SyncService(phone.client, interval=3600, poll=0.05, backoff=Backoff(base=0.05, cap=0.2))
    service.add_observer(seen.append)
    phone.transport.offline = True
    service.start()
    try:
        for i in range(3):
            phone.new_claim(description=f"离线 {i}")
        service.notify_changed()
        assert _wait(lambda: any(s.online is False for s in seen))
        attempts_offline = phone.transport.requests
        assert phone.store.outbox.count() == 6 and service.status().last_error == "offline"
        phone.transport.offline = False  # the network is back: no user action needed
        assert _wait(lambda: phone.store.outbox.count() == 0)
        assert _wait(lambda: service.status().last_error is None and service.status().last_sync_at)
        assert attempts_offline >= 2, "it retried while offline"
        assert seen[-1].online is True
    finally:
        service.stop()


def test_sync_now_and_revocation_stop(server, phones):
    phone = phones()
    phone.enroll("liaison", township_code=TOWNSHIP_A)
    service = SyncService(phone.client, interval=3600, poll=0.05).start()
    try:
        st = service.sync_now(wait=True)
        assert st.last_sync_at and st.pending_changes == 0
        from sync_server.devices import service as accounts
        with server.harness.db.write() as s:
            accounts.revoke_device(s, phone.store.sync_state.get().device_id)
        phone.new_claim()
        st = service.sync_now(wait=True)
        assert st.needs_reenroll and st.last_error == "token_revoked" and st.pending_changes == 2
        n = phone.transport.requests
        service.notify_changed()
        threading.Event().wait(0.3)
        assert phone.transport.requests == n, "no requests with a revoked token"
    finally:
        service.stop()


def test_sync_now_waits_for_an_attempt_that_starts_after_the_tap(server, phones):
    """A sync already running when the user taps "sync now" began before the tap and may miss what
    was saved since; sync_now(wait=True) returns the outcome of an attempt that starts after it."""
    phone = phones()
    phone.enroll("liaison", township_code=TOWNSHIP_A)
    inner = phone.transport.inner
    held, release = threading.Event(), threading.Event()

    class HoldFirstRequest:
        def handle_request(self, request):  # noqa: ANN001, ANN201
            if not held.is_set():
                held.set()
                release.wait(10)
            return inner.handle_request(request)

    phone.transport.inner = HoldFirstRequest()
    service = SyncService(phone.client, interval=3600, poll=0.05).start()  # its first attempt starts now
    try:
        assert held.wait(10), "the first attempt did not start"
        phone.new_claim()  # saved while that attempt is under way, after its push
        result: list = []
        tap = threading.Thread(target=lambda: result.append(service.sync_now(wait=True)))
        tap.start()
        assert _wait(lambda: service._forced), "the tap was not registered"  # noqa: SLF001
        release.set()
        tap.join(30)
        assert result and result[0].pending_changes == 0, result
    finally:
        release.set()
        service.stop()
        phone.transport.inner = inner
