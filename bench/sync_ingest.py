"""Benchmark: the server's CPU per pushed change, against plain SQLAlchemy Core writing the same rows.

    python -m bench.sync_ingest [--quick] [--db sqlite|postgres|both] [--phones N] [--claims N] [--profile] [--out PATH]

A real server (``python -m sync_server serve`` as a subprocess on 127.0.0.1; SQLite, or an
embedded PostgreSQL) and N enrolled liaison phones (real store files, SyncClient), one per
township. Each phone records ``--claims`` reports: the claim (and the "reported" timeline entry the
store writes with it), the victim (ID number and phone sealed), one checklist document marked
collected, and 3 photo records: 7 changes per report, in the phone's outbox. A warm-up phone
pushes first (the server compiles its statements then); then all phones push at once, each in
the client's own batches (100 changes per request).

``cpu_ms_per_change`` = the server process's user + system CPU time over the measured pushes
(/proc/PID/stat, read before and after) / changes applied.

Baseline in the same run: every row the measured pushes added to the server's database (claims,
records, change feed, receipts, audit, whatever the server wrote: read back from the database,
tables reflected, never the server's models) is inserted again into a fresh database of the same
schema (migrated by the server's own CLI, holding the same accounts) with SQLAlchemy Core
``executemany``, one statement per table, one transaction; ``time.process_time()`` of that part
-> ``baseline_cpu_ms_per_change``. ``ratio`` = server / baseline. On PostgreSQL both figures
leave out the database server's own CPU. Goals: <= 0.3 ms per change, ratio <= 2
(``goal_met``; not asserted).

``--profile``: once more on SQLite, with the server under cProfile in every thread
(bench/_profile_server.py, CPU time per thread); the 25 most expensive functions on the push
path go to bench/results/sync_ingest_profile.txt.
"""
from __future__ import annotations

import argparse
import io
import pstats
import random
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ._sync_common import (
    RESULTS, CliServer, Postgres, add_raw_photo, enrolled_phone, fill_claims, python_info, workdir, write_result,
)

PHOTOS_PER_REPORT = 3
GOAL_MS = 0.3
GOAL_RATIO = 2.0


def _townships() -> list[str]:
    from claimcore.divisions import load_divisions

    return [t.code for t in load_divisions().townships]


def fill_reports(phone, n: int, township: str, seed: int) -> int:  # noqa: ANN001
    """``n`` reports on the phone (claim, victim, document, 3 photo records); changes queued."""
    rng = random.Random(seed)
    for cid in fill_claims(phone, n, seed=seed, township=township):
        for _ in range(PHOTOS_PER_REPORT):
            add_raw_photo(phone, cid, 1024, rng)  # only the record is pushed here, never the bytes
    return phone.store.outbox.count()


def _key(table, row: dict) -> tuple:  # noqa: ANN001
    pk = [c.name for c in table.primary_key.columns]
    return tuple(row[c] for c in pk) if pk else tuple(repr(row[c]) for c in sorted(row))


def snapshot(url: str) -> tuple:
    """Every table of the database (reflected) and its rows keyed by primary key."""
    from sqlalchemy import MetaData, create_engine, select

    engine = create_engine(url)
    try:
        meta = MetaData()
        meta.reflect(engine)
        with engine.connect() as conn:
            rows = {t.name: {_key(t, r): r for r in (dict(m) for m in conn.execute(select(t)).mappings())}
                    for t in meta.sorted_tables}
    finally:
        engine.dispose()
    return meta, rows


def baseline(fresh: CliServer, before: dict, after: dict) -> dict:
    """Insert what the pushes added (``after`` - ``before``) into ``fresh`` (migrated, then given
    the same accounts untimed) with Core executemany; CPU of the timed part."""
    from sqlalchemy import MetaData, create_engine, select

    fresh.migrate()
    engine = create_engine(fresh.database_url)
    try:
        meta = MetaData()
        meta.reflect(engine)
        tables = meta.sorted_tables
        with engine.begin() as conn:
            for t in tables:
                present = {_key(t, dict(r)) for r in conn.execute(select(t)).mappings()}
                rows = [r for k, r in before.get(t.name, {}).items() if k not in present]
                if rows:
                    conn.execute(t.insert(), rows)
        added = {t.name: [r for k, r in after.get(t.name, {}).items() if k not in before.get(t.name, {})]
                 for t in tables}
        t0 = time.process_time()
        with engine.begin() as conn:
            for t in tables:
                if added[t.name]:
                    conn.execute(t.insert(), added[t.name])
        cpu = time.process_time() - t0
    finally:
        engine.dispose()
    return {"cpu_s": cpu, "rows": {k: len(v) for k, v in added.items() if v}}


def _push_all(phones: list) -> list[float]:
    def one(phone) -> float:  # noqa: ANN001
        t = time.perf_counter()
        phone.client.push()
        return time.perf_counter() - t

    with ThreadPoolExecutor(len(phones)) as pool:
        return list(pool.map(one, phones))


def _phones(base: Path, server: CliServer, n: int, claims: int) -> tuple:
    towns = _townships()
    people = [("liaison", f"联络员 {i}", towns[i % len(towns)]) for i in range(n + 1)]
    accounts = server.accounts(people)
    phones = [enrolled_phone(base / f"phone{i}", server.url, user, code) for i, (user, code) in enumerate(accounts)]
    warm, measured = phones[0], phones[1:]
    fill_reports(warm, max(2, claims // 10), people[0][2], seed=999)
    changes = sum(fill_reports(p, claims, people[i + 1][2], seed=i) for i, p in enumerate(measured))
    return warm, measured, changes


def _close(phones: list) -> None:
    for p in phones:
        p.http.close()
        p.store.close()


def run_one(base: Path, db: str, phones: int, claims: int, pg: Postgres | None) -> dict:
    url = pg.new_database() if db == "postgres" else None
    fresh_url = pg.new_database() if db == "postgres" else None
    server = CliServer(base / f"server-{db}", url)
    server.migrate()
    with server.start():
        warm, measured, changes = _phones(base / f"phones-{db}", server, phones, claims)
        warm.client.push()
        before_meta, before = snapshot(server.database_url)
        del before_meta
        cpu0 = server.cpu_seconds()
        t0 = time.perf_counter()
        push_s = _push_all(measured)
        wall = time.perf_counter() - t0
        cpu = server.cpu_seconds() - cpu0
        left = sum(p.store.outbox.count() for p in measured)
        _, after = snapshot(server.database_url)
        requests = sum(p.counter.by_kind.get("POST /api/v1/sync/push", 0) for p in measured)
        _close([warm, *measured])
    base_part = baseline(CliServer(base / f"baseline-{db}", fresh_url), before, after)
    claims_added = len(after.get("claims", {})) - len(before.get("claims", {}))
    cpu_ms = cpu * 1000 / changes
    base_ms = base_part["cpu_s"] * 1000 / changes
    ratio = cpu_ms / base_ms if base_ms else None
    return {
        "phones": phones,
        "reports_per_phone": claims,
        "changes": changes,
        "push_requests": requests,
        "unsent_after_push": left,
        "claims_added": claims_added,
        "server_cpu_s": round(cpu, 3),
        "push_wall_s": round(wall, 3),
        "slowest_phone_push_s": round(max(push_s), 3),
        "cpu_ms_per_change": round(cpu_ms, 4),
        "baseline_cpu_s": round(base_part["cpu_s"], 3),
        "baseline_cpu_ms_per_change": round(base_ms, 4),
        "baseline_rows": base_part["rows"],
        "ratio": round(ratio, 2) if ratio is not None else None,
        "goal_ms_per_change": GOAL_MS,
        "goal_ratio": GOAL_RATIO,
        "goal_met": {"ms_per_change": cpu_ms <= GOAL_MS, "ratio": ratio is not None and ratio <= GOAL_RATIO},
    }


def push_path(stats: pstats.Stats, top: int) -> list[dict]:
    """The ``top`` functions by the time spent in them on behalf of the server's push handler (the
    most expensive function named ``push`` in sync_server). The profiles of all threads are
    merged, so generic functions (exec, Context.run) link the push to everything else; a
    function's share of the push is bounded by every call edge on its way from the push (the
    widest path), which keeps unrelated work out."""
    import heapq

    stats.calc_callees()
    entries = stats.stats  # type: ignore[attr-defined]
    callees = stats.all_callees  # type: ignore[attr-defined]
    roots = [f for f in entries if f[2] == "push" and "sync_server" in f[0]]
    if not roots:
        return []
    root = max(roots, key=lambda f: entries[f][3])
    share = {root: entries[root][3]}
    heap = [(-share[root], root)]
    while heap:
        neg, f = heapq.heappop(heap)
        if -neg < share.get(f, 0):
            continue
        for callee, edge in callees.get(f, {}).items():
            width = min(-neg, edge[3])
            if width > share.get(callee, 0):
                share[callee] = width
                heapq.heappush(heap, (-width, callee))
    ranked = sorted(share, key=share.get, reverse=True)[:top]
    return [{"function": f"{Path(f[0]).name if f[0] != '~' else ''}:{f[1]}({f[2]})", "calls": entries[f][1],
             "tottime_s": round(entries[f][2], 4), "cumtime_s": round(share[f], 4)} for f in ranked]


def run_profile(base: Path, phones: int, claims: int) -> dict:
    prof = base / "server.pstats"
    server = CliServer(base / "server-profile", profile=prof)
    server.migrate()
    with server.start():
        warm, measured, changes = _phones(base / "phones-profile", server, phones, claims)
        warm.client.push()
        _push_all(measured)
        _close([warm, *measured])
    stats = pstats.Stats(str(prof), stream=io.StringIO())
    rows = push_path(stats, 25)
    out = RESULTS / "sync_ingest_profile.txt"
    out.parent.mkdir(parents=True, exist_ok=True)
    lines = [f"sync_ingest --profile: {changes} changes from {phones} phones; the push path, by CPU time spent "
             "on the push's behalf (cumtime_s; tottime_s: the function's own CPU time in all threads)",
             f"{'cumtime_s':>10} {'tottime_s':>10} {'calls':>8}  function"]
    lines += [f"{r['cumtime_s']:>10.3f} {r['tottime_s']:>10.3f} {r['calls']:>8}  {r['function']}" for r in rows]
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return {"changes": changes, "file": str(out.relative_to(RESULTS.parent.parent)), "push_path_entries": len(rows)}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    ap.add_argument("--phones", type=int, help="measured phones (default 10, --quick 2)")
    ap.add_argument("--claims", type=int, help="reports per phone, 7 changes each (default 200, --quick 15)")
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--out")
    args = ap.parse_args(argv)
    args.phones = args.phones or (2 if args.quick else 10)
    args.claims = args.claims or (15 if args.quick else 200)
    dbs = ("sqlite", "postgres") if args.db == "both" else (args.db,)
    result: dict = {"bench": "sync_ingest", "quick": args.quick}
    with workdir("bench-sync-ingest-") as base:
        pg = Postgres(base / "pg") if "postgres" in dbs else None
        for db in dbs:
            result[db] = run_one(base, db, args.phones, args.claims, pg)
        if args.profile:
            result["profile"] = run_profile(base, args.phones, args.claims)
    result["versions"] = python_info()  # its "sqlite" (the library's version) would clash with the results'
    write_result("sync_ingest", result, args.out)
    return result


if __name__ == "__main__":
    main()
