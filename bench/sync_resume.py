"""Benchmark: bytes sent again per connection cut during a photo upload.

    python -m bench.sync_resume [--quick] [--mib N] [--cuts N] [--restarts N] [--out PATH]

One phone (real store, SyncClient) uploads one N-MiB photo to a fresh server (uvicorn on
127.0.0.1) through a transport that breaks the connection after a random number of bytes
(uniform 64 KiB .. 4 MiB of body bytes since the previous cut, across PATCHes) until ``--cuts``
cuts have happened; then the upload completes. Every byte the client hands to the socket is counted.

``resent_per_cut`` = (bytes sent - photo size) / cuts: bytes that were in flight when the
connection died (or held by the server but not yet flushed) and had to go again. Goal: <= 1 MiB.
Baseline in the same run: what a client without resume would have re-sent (every cut restarts
at 0: the sum of bytes sent before each cut) -> ``restart_resent_per_cut``.

The restart case (``restart`` in the JSON): the server itself dies mid-upload. The server runs as
``python -m sync_server serve`` (bench._sync_common.CliServer); after a random number of body
bytes (the same uniform 64 KiB .. 4 MiB) the bench SIGKILLs it (no shutdown handler runs: what
the server had not yet written to its partial file is gone), the client keeps writing into the
dead connection until its socket fails, and the server is started again on the same database,
blob folder and port; the phone syncs again (a sync that meets the server still down, or a stale
keep-alive connection, just fails and is retried). ``resent_bytes_per_cut`` = (bytes handed to the
socket - photo size) / kills. Goal: <= 1 MiB.
"""
from __future__ import annotations

import argparse
import random

import httpx

from ._sync_common import (
    CliServer, add_raw_photo, enrolled_phone, make_phone, now, python_info, running_server, workdir, write_result,
)

MIB = 1024 * 1024


class _Cut(httpx.SyncByteStream):
    def __init__(self, inner, owner):  # noqa: ANN001
        self.inner, self.owner = inner, owner

    def __iter__(self):  # noqa: ANN204
        o = self.owner
        sent = 0
        for chunk in self.inner:
            if o.budget is not None and len(chunk) > o.budget:
                part = chunk[: o.budget]
                o.sent += len(part)
                o.sent_this_attempt.append(sent + len(part))
                o.next_budget()
                yield part
                raise httpx.WriteError("connection cut")
            if o.budget is not None:
                o.budget -= len(chunk)
            sent += len(chunk)
            o.sent += len(chunk)
            yield chunk


class Cutter(httpx.BaseTransport):
    """The connection dies after a random number of body bytes (uniform 64 KiB .. 4 MiB since
    the last cut), whatever the PATCH sizes are, until ``cuts`` cuts have happened."""

    def __init__(self, inner: httpx.BaseTransport, cuts: int, rng: random.Random):
        self.inner, self.cuts_left, self.rng = inner, cuts, rng
        self.sent = 0
        self.sent_this_attempt: list[int] = []
        self.patches = 0
        self.budget: int | None = None
        self.next_budget()

    def next_budget(self) -> None:
        if self.cuts_left <= 0:
            self.budget = None
            return
        self.cuts_left -= 1
        self.budget = self.rng.randint(64 * 1024, 4 * MIB)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "PATCH":
            self.patches += 1
            request.stream = _Cut(request.stream, self)
        return self.inner.handle_request(request)


class _Crash(httpx.SyncByteStream):
    def __init__(self, inner, owner):  # noqa: ANN001
        self.inner, self.owner = inner, owner

    def __iter__(self):  # noqa: ANN204
        o = self.owner
        for chunk in self.inner:
            if o.budget is not None and len(chunk) > o.budget:
                head, chunk = chunk[: o.budget], chunk[o.budget:]
                o.sent += len(head)
                yield head
                o.crash()
            elif o.budget is not None:
                o.budget -= len(chunk)
            o.sent += len(chunk)  # after a crash: handed to a socket whose peer is gone
            yield chunk


class Crasher(httpx.BaseTransport):
    """SIGKILLs the server after a random number of PATCH body bytes (uniform 64 KiB .. 4 MiB
    since the last kill) until ``kills`` kills have happened; counts every body byte sent."""

    def __init__(self, inner: httpx.BaseTransport, server: CliServer, kills: int, rng: random.Random):
        self.inner, self.server, self.kills_left, self.rng = inner, server, kills, rng
        self.sent = 0
        self.kills = 0
        self.patches = 0
        self.budget: int | None = None
        self.next_budget()

    def next_budget(self) -> None:
        self.budget = self.rng.randint(64 * 1024, 4 * MIB) if self.kills_left > 0 else None

    def crash(self) -> None:
        self.server.kill()
        self.kills += 1
        self.kills_left -= 1
        self.next_budget()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "PATCH":
            self.patches += 1
            request.stream = _Crash(request.stream, self)
        return self.inner.handle_request(request)


def restart_case(base, mib: int, kills: int, rng: random.Random) -> dict:  # noqa: ANN001
    from fieldapp.sync import Offline

    server = CliServer(base / "server")
    server.migrate()
    (user, code), = server.accounts([("liaison", "联络员 断电", "500111001")])
    with server.start():
        phone = enrolled_phone(base / "phone", server.url, user, code)
        phone.client.upload_previews = False
        cid = phone.store.claims.create(coverage="natural_disaster", role="liaison", created_by=user["id"],
                                        township_code="500111001", incident_at="2026-07-01T08:00:00+08:00",
                                        description="现场", loss_types=["house"])
        size = mib * MIB
        sha = add_raw_photo(phone, cid, size, rng)
        phone.client.push()
        crasher = Crasher(httpx.HTTPTransport(), server, kills, rng)
        phone.client.http._transport = crasher
        failures = 0
        done = False
        t0 = now()
        for _ in range(kills * 3 + 20):
            if server.proc is None or server.proc.poll() is not None:
                server.start()
            try:
                phone.client.sync_once()
                done = True
                break
            except Offline:
                failures += 1
        elapsed = now() - t0
        missing = phone.client.http.post(f"{server.url}/api/v1/blobs/missing", json={"sha256": [sha]},
                                         headers={"Authorization": f"Bearer {phone.store.sync_state.get().token}"})
        complete = done and missing.status_code == 200 and missing.json()["missing"] == []
        phone.http.close()
        phone.store.close()
    resent = crasher.sent - size
    per_cut = resent / max(1, crasher.kills)
    return {
        "cuts": crasher.kills,
        "server_starts": server.starts,
        "failed_syncs": failures,
        "patch_requests": crasher.patches,
        "bytes_sent": crasher.sent,
        "resent_bytes": resent,
        "resent_bytes_per_cut": round(per_cut),
        "goal_bytes": MIB,
        "goal_met": per_cut <= MIB,
        "complete": complete,
        "elapsed_s": round(elapsed, 2),
    }


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--mib", type=int, default=48)
    ap.add_argument("--cuts", type=int, default=20)
    ap.add_argument("--restarts", type=int, default=10, help="server kills in the restart case")
    ap.add_argument("--out")
    args = ap.parse_args(argv)
    if args.quick:
        args.mib, args.cuts, args.restarts = 4, 5, 2
    rng = random.Random(17)
    from fieldapp.sync import Offline

    with workdir("bench-sync-resume-") as base, running_server(base / "server") as server:
        phone = make_phone(base / "phone", server)
        phone.client.upload_previews = False
        cid = phone.store.claims.create(coverage="natural_disaster", role="liaison", created_by=phone.user["id"],
                                        township_code="500111001", incident_at="2026-07-01T08:00:00+08:00",
                                        description="现场", loss_types=["house"])
        size = args.mib * MIB
        sha = add_raw_photo(phone, cid, size, rng)
        phone.client.push()  # the photo record first; the cuts hit only photo bytes
        cutter = Cutter(httpx.HTTPTransport(), args.cuts, rng)
        phone.client.http._transport = cutter
        failures = 0
        t0 = now()
        for _ in range(args.cuts + 50):
            try:
                phone.client.sync_once()
                break
            except Offline:
                failures += 1
        elapsed = now() - t0
        from sync_server.blobs.store import BlobStore

        complete = BlobStore(server.settings.blob_dir).exists(sha)
        phone.http.close()
        phone.store.close()
    with workdir("bench-sync-resume-restart-") as base:
        restart_result = restart_case(base, args.mib, args.restarts, random.Random(29))
    resent = cutter.sent - size
    restart = sum(cutter.sent_this_attempt)
    real_cuts = len(cutter.sent_this_attempt)  # a cut past the end of a PATCH body never fired
    result = {
        "bench": "sync_resume",
        "quick": args.quick,
        "photo_bytes": size,
        "cuts": real_cuts,
        "failed_syncs": failures,
        "patch_requests": cutter.patches,
        "bytes_sent": cutter.sent,
        "resent_bytes": resent,
        "resent_per_cut": round(resent / max(1, real_cuts)),
        "resent_per_cut_goal": MIB,
        "resent_ok": resent / max(1, real_cuts) <= MIB,
        "restart_resent_per_cut": round(restart / max(1, real_cuts)),
        "complete": complete,
        "elapsed_s": round(elapsed, 2),
        "restart": restart_result,
        **python_info(),
    }
    if not complete:
        result["error"] = "upload did not complete"
    elif not restart_result["complete"]:
        result["error"] = "upload did not complete after the server restarts"
    write_result("sync_resume", result, args.out)
    return result


if __name__ == "__main__":
    main()
