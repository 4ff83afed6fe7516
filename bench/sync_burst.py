"""Benchmark: 200 devices push at once (the hour after a flood), 10 % of batches replayed.

    python -m bench.sync_burst [--quick] [--devices N] [--claims N] [--db sqlite|postgres] [--workers N]
                               [--out PATH]

A fresh server (``python -m sync_server serve`` in a subprocess on 127.0.0.1; SQLite, or an
embedded PostgreSQL with ``--db postgres``; ``--workers N`` server processes on the one port,
PostgreSQL only, as ``serve --workers`` allows) and N enrolled liaison devices spread over the 27 townships. Each device has
one batch of 25 new claims (the wire format the phone's client sends). All devices start
together (a barrier) and push their batch once, each on its own connection; every tenth device
then sends the same batch again (a lost reply). Latency is measured per push request.

Baseline in the same run, same devices and threads: each device calls ``GET /api/v1/ping`` (the
server's cheapest authenticated endpoint) 5 times. Throughput is given two ways:
``ratio_requests`` = push requests/s / ping requests/s, and ``ratio_items`` = mutations applied/s
/ ping requests/s (a ping is the smallest unit of work the server does; a push does 25). Goal:
>= 0.5 (see bench/README.md for which reading is met). p99 push latency goal: < 1 s.

Counts proving nothing lost or duplicated: claims on the server == devices x 25; every replay
answered all ``duplicate``; every device's receipts == 25 seqs.
"""
from __future__ import annotations

import argparse
import os
import statistics
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx

from ._sync_common import Postgres, now, python_info, running_server, tree_cpu_seconds, workdir, write_result

PINGS_PER_DEVICE = 5


def _townships() -> list[str]:
    from claimcore.divisions import load_divisions

    return [t.code for t in load_divisions().townships]


def _batch(township: str, n: int) -> list[dict]:
    return [{"seq": i + 1, "entity": "claim", "id": str(uuid.uuid4()), "op": "upsert", "base_version": None,
             "fields": {"coverage": "natural_disaster", "township_code": township,
                        "incident_at": "2026-07-01T08:00:00+08:00", "description": f"洪水 第 {i} 户 房屋进水",
                        "loss_types": ["house"], "address": f"第 {i} 户", "status": "reported"}}
            for i in range(n)]


def _p(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def run(base, database_url, devices: int, claims: int, workers: int = 1) -> dict:  # noqa: ANN001
    towns = _townships()
    with running_server(base / "server", database_url, workers=workers) as server:
        devs = []
        for i in range(devices):
            town = towns[i % len(towns)]
            user = server.harness.add_user("liaison", f"联络员 {i}", town)
            devs.append((server.harness.enroll(user["id"]), town))
        batches = [_batch(town, claims) for _, town in devs]
        # A generous timeout: a slow push is a measurement (push_p99_ms), not a reason to stop.
        clients = [httpx.Client(base_url=server.url, timeout=900,
                                limits=httpx.Limits(max_connections=1)) for _ in devs]
        # Warm the connections (TCP accept is not what is measured).
        for c, (d, _) in zip(clients, devs):
            c.get("/api/v1/ping", headers=d.headers).raise_for_status()

        def ping_all(i: int) -> list[float]:
            lat = []
            barrier.wait()
            for _ in range(PINGS_PER_DEVICE):
                t0 = now()
                r = clients[i].get("/api/v1/ping", headers=devs[i][0].headers)
                lat.append(now() - t0)
                assert r.status_code == 200
            return lat

        def push_all(i: int) -> tuple[list[float], list[dict]]:
            d = devs[i][0]
            body = {"device_id": d.device_id, "mutations": batches[i]}
            lat, replies = [], []
            barrier.wait()
            for _attempt in range(2 if i % 10 == 0 else 1):
                t0 = now()
                r = clients[i].post("/api/v1/sync/push", json=body, headers=d.headers)
                lat.append(now() - t0)
                assert r.status_code == 200, r.text
                replies.append(r.json())
            return lat, replies

        with ThreadPoolExecutor(devices) as pool:
            barrier = threading.Barrier(devices)
            cpu0 = tree_cpu_seconds(server.process.proc.pid)
            t0 = now()
            ping_lat = [x for lat in pool.map(ping_all, range(devices)) for x in lat]
            ping_s = now() - t0
            ping_cpu_s = tree_cpu_seconds(server.process.proc.pid) - cpu0
            barrier = threading.Barrier(devices)
            cpu0 = tree_cpu_seconds(server.process.proc.pid)
            t0 = now()
            pushed = list(pool.map(push_all, range(devices)))
            push_s = now() - t0
            push_cpu_s = tree_cpu_seconds(server.process.proc.pid) - cpu0
        for c in clients:
            c.close()

        push_lat = [x for lat, _ in pushed for x in lat]
        push_requests = len(push_lat)
        replays = sum(1 for _, replies in pushed if len(replies) == 2)
        replay_all_duplicate = all(
            all(r["status"] == "duplicate" for r in replies[1]["results"]) for _, replies in pushed if len(replies) == 2)
        first_all_applied = all(all(r["status"] == "applied" for r in replies[0]["results"]) for _, replies in pushed)

        from sqlalchemy import func, select

        from sync_server.core.models import Claim
        from sync_server.sync.models import PushReceipt

        with server.harness.db.read() as s:
            server_claims = s.scalar(select(func.count()).select_from(Claim))
            receipts = dict(s.execute(select(PushReceipt.device_id, func.count()).group_by(PushReceipt.device_id)).all())
            expected_ids = {m["id"] for b in batches for m in b}
            found_ids = set(s.scalars(select(Claim.id)))
    mutations = devices * claims
    ping_rps = devices * PINGS_PER_DEVICE / ping_s
    push_rps = push_requests / push_s
    items_ps = mutations / push_s
    return {
        "devices": devices,
        "claims_per_device": claims,
        "mutations": mutations,
        "replayed_batches": replays,
        "ping_requests": devices * PINGS_PER_DEVICE,
        "ping_s": round(ping_s, 3),
        "ping_rps": round(ping_rps, 1),
        "ping_p99_ms": round(_p(ping_lat, 0.99) * 1000, 1),
        "ping_server_cpu_ms_per_request": round(ping_cpu_s / (devices * PINGS_PER_DEVICE) * 1000, 3),
        "push_requests": push_requests,
        "push_s": round(push_s, 3),
        "push_rps": round(push_rps, 1),
        "push_server_cpu_s": round(push_cpu_s, 2),
        "push_server_cpu_ms_per_request": round(push_cpu_s / push_requests * 1000, 3),
        "mutations_per_s": round(items_ps, 1),
        "ratio_requests": round(push_rps / ping_rps, 3),
        "ratio_items": round(items_ps / ping_rps, 3),
        "ratio_goal": 0.5,
        "push_p50_ms": round(statistics.median(push_lat) * 1000, 1),
        "push_p99_ms": round(_p(push_lat, 0.99) * 1000, 1),
        "p99_goal_ms": 1000,
        "p99_ok": _p(push_lat, 0.99) < 1.0,
        "server_claims": server_claims,
        "lost": len(expected_ids - found_ids),
        "duplicated": server_claims - len(found_ids & expected_ids) + sum(max(0, n - claims) for n in receipts.values()),
        "receipts_ok": all(n == claims for n in receipts.values()) and len(receipts) == devices,
        "first_push_all_applied": first_all_applied,
        "replays_all_duplicate": replay_all_duplicate,
    }


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--devices", type=int, default=200)
    ap.add_argument("--claims", type=int, default=25)
    ap.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    ap.add_argument("--workers", type=int, default=1, help="server processes (serve --workers); >1: postgres only")
    ap.add_argument("--out")
    args = ap.parse_args(argv)
    if args.workers > 1 and args.db != "postgres":
        ap.error("--workers above 1 needs --db postgres (the server refuses several processes on SQLite)")
    if args.quick:
        args.devices, args.claims = 20, 5
    # The host's load around the run: on shared cores the latencies say as much about the
    # neighbours as about the server.
    load_before = os.getloadavg()[0]
    with workdir("bench-sync-burst-") as base:
        url = None
        if args.db == "postgres":
            url = Postgres(base / "pg").new_database()
        result = {"bench": "sync_burst", "quick": args.quick, "db": args.db, "workers": args.workers,
                  **run(base, url, args.devices, args.claims, args.workers), **python_info(),
                  "loadavg_1m_before": round(load_before, 2), "loadavg_1m_after": round(os.getloadavg()[0], 2)}
    name = "sync_burst" if args.db == "sqlite" else "sync_burst_postgres"
    if args.workers > 1:
        name += f"_workers{args.workers}"
    write_result(name, result, args.out)
    return result


if __name__ == "__main__":
    main()
