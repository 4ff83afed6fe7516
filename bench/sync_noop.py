"""Benchmark: a sync with nothing new, with 100 and with 5,000 claims stored.

    python -m bench.sync_noop [--quick] [--small N] [--large N] [--rounds N] [--out PATH]

Two phones (real store files), each enrolled as a liaison with its own fresh server (uvicorn on
127.0.0.1, SQLite), hold N claims with a victim and a checklist document each, fully synced.
Then ``sync_once()`` runs again and again with nothing new, alternating between the two phones
so both see the same machine noise. Counted with httpx event hooks: requests per empty sync
(goal 1), bytes on the wire both ways (request line + headers + body, status line + headers +
body; goal < 1 KB). Time: median per empty sync; ``ratio`` = large / small (goal <= 1.2).
"""
from __future__ import annotations

import argparse
import statistics
from contextlib import ExitStack

from ._sync_common import fill_claims, make_phone, now, python_info, running_server, workdir, write_result


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--small", type=int, default=100)
    ap.add_argument("--large", type=int, default=5000)
    ap.add_argument("--rounds", type=int, default=41)
    ap.add_argument("--out")
    args = ap.parse_args(argv)
    if args.quick:
        args.small, args.large, args.rounds = 10, 60, 7

    with workdir("bench-sync-noop-") as base, ExitStack() as stack:
        phones = {}
        setup = {}
        for label, n in (("small", args.small), ("large", args.large)):
            server = stack.enter_context(running_server(base / f"server-{label}"))
            phone = make_phone(base / f"phone-{label}", server)
            t0 = now()
            fill_claims(phone, n)
            while phone.client.has_work():
                phone.client.sync_once()
            phone.client.sync_once()
            setup[label] = round(now() - t0, 1)
            phones[label] = phone
        times = {"small": [], "large": []}
        requests = {"small": [], "large": []}
        wire_bytes = {"small": [], "large": []}
        for i in range(args.rounds):
            order = ("small", "large") if i % 2 == 0 else ("large", "small")
            for label in order:
                phone = phones[label]
                phone.counter.reset()
                t0 = now()
                report = phone.client.sync_once()
                times[label].append(now() - t0)
                requests[label].append(phone.counter.requests)
                wire_bytes[label].append(phone.counter.bytes_out + phone.counter.bytes_in)
                assert report.pushed == 0 and report.pulled == 0 and report.blobs_uploaded == 0
        for phone in phones.values():
            phone.http.close()
            phone.store.close()

    med = {k: statistics.median(v) for k, v in times.items()}
    result = {
        "bench": "sync_noop",
        "quick": args.quick,
        "claims_small": args.small,
        "claims_large": args.large,
        "rounds": args.rounds,
        "setup_s": setup,
        "requests_small": max(requests["small"]),
        "requests_large": max(requests["large"]),
        "requests_goal": 1,
        "requests_ok": max(requests["small"] + requests["large"]) == 1,
        "bytes_small": max(wire_bytes["small"]),
        "bytes_large": max(wire_bytes["large"]),
        "bytes_goal": "< 1024",
        "bytes_ok": max(wire_bytes["small"] + wire_bytes["large"]) < 1024,
        "median_ms_small": round(med["small"] * 1000, 2),
        "median_ms_large": round(med["large"] * 1000, 2),
        "ratio": round(med["large"] / med["small"], 3),
        "ratio_goal": 1.2,
        "ratio_ok": med["large"] / med["small"] <= 1.2,
        **python_info(),
    }
    write_result("sync_noop", result, args.out)
    return result


if __name__ == "__main__":
    main()
