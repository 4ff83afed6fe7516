"""Benchmark: bytes sent again per connection cut during a photo upload.

    python -m bench.sync_resume [--quick] [--mib N] [--cuts N] [--out PATH]

One phone (real store, SyncClient) uploads one N-MiB photo to a fresh server (uvicorn on
127.0.0.1) through a transport that breaks the connection after a random number of bytes
(uniform 64 KiB .. 4 MiB of body bytes since the previous cut, across PATCHes) until ``--cuts``
cuts have happened; then the upload completes. Every byte the client hands to the socket is counted.

``resent_per_cut`` = (bytes sent - photo size) / cuts: bytes that were in flight when the
connection died (or held by the server but not yet flushed) and had to go again. Goal: <= 1 MiB.
Baseline in the same run: what a client without resume would have re-sent (every cut restarts
at 0: the sum of bytes sent before each cut) -> ``restart_resent_per_cut``.
"""
from __future__ import annotations

import argparse
import random

import httpx

from ._sync_common import add_raw_photo, make_phone, now, python_info, running_server, workdir, write_result

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


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--mib", type=int, default=48)
    ap.add_argument("--cuts", type=int, default=20)
    ap.add_argument("--out")
    args = ap.parse_args(argv)
    if args.quick:
        args.mib, args.cuts = 4, 5
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
        from sync_server.blobs import BlobStore

        complete = BlobStore(server.settings.blob_dir).exists(sha)
        phone.http.close()
        phone.store.close()
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
        **python_info(),
    }
    if not complete:
        result["error"] = "upload did not complete"
    write_result("sync_resume", result, args.out)
    return result


if __name__ == "__main__":
    main()
