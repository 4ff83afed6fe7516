"""Benchmark: a replay of typhoon In-Fa (2021) — 42,531 reports in two days — compressed in time.

    python -m bench.surge [--quick] [--reports N] [--devices N] [--photo-kb N] [--hour-seconds S] [--out PATH]

Ningbo's insurers took 42,531 reports in the two days of typhoon In-Fa (landfall at Zhoushan
on 25 July 2021 around 12:30, a second one at Pinghu the next morning). The replay puts that
volume on this programme's server: ``python -m sync_server serve`` (a subprocess on 127.0.0.1,
SQLite), set up with its own CLI only (users, enrollment codes, three co-insurers), and
``--devices`` enrolled phones (real store files, SyncClient): liaisons spread over the 27
townships and one adjuster in ten. A coordinator declares the event over HTTP before the first
report (``POST /api/v1/events``, every township) and dispatches it centrally at the end of each
phase (``POST /api/v1/events/{id}/dispatch``), as an office user would.

Each report: the claim (and its "reported" timeline entry), the victim (ID number and phone
sealed), the ID card checklist document marked collected, and 3 photos of ``--photo-kb`` KB
(random bytes between JPEG markers: incompressible like a JPEG; the server checks only the
SHA-256), no previews. 7 changes and 3 uploads per report.

The curve (``HOURLY``): 48 hourly shares, 58 % of the reports on the landfall day and 42 % the day
after. Day 1 rises through the morning to its peak hour 12:00-13:00 (12 % of the day's reports),
then decays; day 2 has a broader, lower peak around the second landfall (10 % at 10:00 and
11:00). Each curve hour lasts ``--hour-seconds``: the reports of the hour are dealt to random
devices; each device starts at a random moment of the hour, records its reports on the phone and
syncs (push, pull, photos on a second connection), retrying after a failure. An hour whose work
takes longer than its window delays the next one (the replay then runs slower than the curve).
Phases for the latency figures: ``PHASES``.

Measured: the server process's CPU seconds over the whole replay (/proc/PID/stat); push request
latency p50/p99 per phase; and, from the coordinator's view over HTTP afterwards (a full pull and
``POST /api/v1/blobs/missing``): ``lost`` (reports or photo records sent but not on the server),
``duplicated`` (records on the server no phone sent, or one photo recorded twice), photos on the
server vs sent, reports in the event, assignments dispatched. Goals (``goal_met``, not
asserted): CPU < 600 s for the full replay (2 cores), push p99 < 1 s in every phase, 0 lost,
0 duplicated, every photo on the server. ``--quick``: 1/100 of the reports on 5 devices.
"""
from __future__ import annotations

import argparse
import random
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from ._sync_common import CliServer, Counter, add_raw_photo, enrolled_phone, python_info, valid_id_number, workdir, \
    write_result

IN_FA_REPORTS = 42_531
DAY_SHARES = (0.58, 0.42)
# Relative weight of each hour of a day (normalised per day): the landfall day peaks at 12:00-13:00
# with 12 % of its reports; the day after is broader and lower.
DAY1 = (1, 1, 1, 1, 1, 2, 3, 4, 5, 6, 7, 9, 12, 11, 9, 7, 5, 4, 3, 3, 2, 2, 1, 1)
DAY2 = (1, 1, 1, 1, 1, 2, 4, 6, 8, 9, 10, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 1, 0.5, 0.5)
HOURLY = tuple(DAY_SHARES[0] * w / sum(DAY1) for w in DAY1) + tuple(DAY_SHARES[1] * w / sum(DAY2) for w in DAY2)
PHASES = (("d1_00-10_approach", 0, 10), ("d1_10-16_landfall_peak", 10, 16), ("d1_16-24_evening", 16, 24),
          ("d2_00-08_night", 24, 32), ("d2_08-16_second_landfall", 32, 40), ("d2_16-24_tail", 40, 48))
PHOTOS_PER_REPORT = 3
INSURERS = (("picc", "人保财险", 5000), ("cpic", "太平洋财险", 3000), ("pingan", "平安财险", 2000))
EVENT_START = "2026-06-30T00:00:00+08:00"
GOAL_CPU_S = 600
GOAL_P99_S = 1.0


def hourly_counts(total: int) -> list[int]:
    """``total`` reports over the 48 hours of HOURLY (largest remainders: they add up exactly)."""
    raw = [total * s for s in HOURLY]
    counts = [int(x) for x in raw]
    for i in sorted(range(len(raw)), key=lambda i: raw[i] - counts[i], reverse=True)[: total - sum(counts)]:
        counts[i] += 1
    return counts


def phase_of(hour: int) -> str:
    return next(name for name, start, end in PHASES if start <= hour < end)


class PushTimer(Counter):
    """Counts like Counter, and times every push request under the phase it was sent in."""

    def __init__(self, clock: dict, latencies: dict[str, list[float]], lock: threading.Lock) -> None:
        super().__init__()
        self.clock, self.latencies, self.lock = clock, latencies, lock
        self.started: dict[int, tuple[float, str]] = {}

    def on_request(self, request: httpx.Request) -> None:
        super().on_request(request)
        if request.url.path == "/api/v1/sync/push":
            self.started[id(request)] = (time.perf_counter(), self.clock["phase"])

    def on_response(self, response: httpx.Response) -> None:
        super().on_response(response)
        got = self.started.pop(id(response.request), None)
        if got is not None:
            with self.lock:
                self.latencies.setdefault(got[1], []).append(time.perf_counter() - got[0])


def record_report(phone, township: str, rng: random.Random, photo_bytes: int, n: int) -> tuple[str, list[str]]:  # noqa: ANN001
    cid = phone.store.claims.create(
        coverage="natural_disaster", role=phone.user["role"], created_by=phone.user["id"], township_code=township,
        incident_at="2026-07-01T12:30:00+08:00", description=f"台风 第 {n} 户 房屋受损 室内进水",
        loss_types=["house"], address=f"第 {n} 户")
    phone.store.persons.add(cid, role_in_claim="victim", name=f"户主{n}", id_number=valid_id_number(rng),
                            phone="13812345678")
    phone.store.documents.set_status(cid, "claimant_id_card", "collected")
    return cid, [add_raw_photo(phone, cid, photo_bytes, rng) for _ in range(PHOTOS_PER_REPORT)]


def _p(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def coordinator_view(url: str, headers: dict, shas: list[str]) -> dict:
    """Everything the coordinator sees (a full pull), and which of ``shas`` the server lacks."""
    seen: dict[str, dict[str, list[dict]]] = {}
    missing: list[str] = []
    with httpx.Client(base_url=url, headers=headers, timeout=300) as http:
        cursor = None
        while True:
            r = http.get("/api/v1/sync/pull", params={"limit": 1000, **({"cursor": cursor} if cursor else {})})
            r.raise_for_status()
            body = r.json()
            for ch in body["changes"]:
                seen.setdefault(ch["entity"], {}).setdefault(ch["id"], []).append(ch)
            cursor = body["cursor"]
            if not body["has_more"]:
                break
        for i in range(0, len(shas), 1000):
            r = http.post("/api/v1/blobs/missing", json={"sha256": shas[i:i + 1000]})
            r.raise_for_status()
            missing += r.json()["missing"]
    return {"seen": seen, "missing": missing}


def run(base: Path, reports: int, devices: int, photo_kb: int, hour_seconds: float, seed: int = 7) -> dict:
    from claimcore.divisions import load_divisions

    towns = [t.code for t in load_divisions().townships]
    rng = random.Random(seed)
    adjusters = max(1, devices // 10)
    people = [("liaison", f"联络员 {i}", towns[i % len(towns)]) for i in range(devices - adjusters)]
    people += [("adjuster", f"查勘定损员 {i}", None) for i in range(adjusters)]
    server = CliServer(base / "server")
    t_setup = time.perf_counter()
    server.admin_many([*(["insurer", "add", code, "--name", name, "--share", str(share)]
                         for code, name, share in INSURERS), ["insurer", "set-lead", INSURERS[0][0]]])
    (coord_user, coord_code), *accounts = server.accounts([("coordinator", "协调员", None), *people])
    latencies: dict[str, list[float]] = {}
    lock = threading.Lock()
    clock = {"phase": PHASES[0][0]}
    with server.start():
        enrolled = httpx.post(f"{server.url}/api/v1/enroll", json={"code": coord_code, "device_name": "office"})
        enrolled.raise_for_status()
        office = {"Authorization": f"Bearer {enrolled.json()['token']}"}
        phones = []
        for i, (user, code) in enumerate(accounts):
            phone = enrolled_phone(base / f"phone{i}", server.url, user, code, PushTimer(clock, latencies, lock))
            phone.client.upload_previews = False
            phones.append(phone)
        setup_s = time.perf_counter() - t_setup
        ev = httpx.post(f"{server.url}/api/v1/events", headers=office, timeout=120, json={
            "name": "台风“烟花” 回放", "coverage": "natural_disaster", "township_codes": towns,
            "started_at": EVENT_START})
        ev.raise_for_status()
        event_id = ev.json()["id"]

        sent_claims: set[str] = set()
        sent_shas: list[str] = []
        failures = {"syncs_failed": 0}
        dispatch: list[dict] = []
        counts = hourly_counts(reports)
        rngs = [random.Random(seed * 1000 + i) for i in range(len(phones))]
        numbering = iter(range(1, reports + 1))

        def device_hour(i: int, n: int, offset: float) -> None:
            time.sleep(offset)
            phone, own = phones[i], rngs[i]
            town = phone.user["township_code"]
            for _ in range(n):
                with lock:
                    k = next(numbering)
                cid, shas = record_report(phone, town or own.choice(towns), own, photo_kb * 1024, k)
                with lock:
                    sent_claims.add(cid)
                    sent_shas.extend(shas)
            for _attempt in range(20):
                try:
                    phone.client.sync_once()
                    return
                except Exception:  # noqa: BLE001 - counted and retried, as the phone's scheduler would
                    with lock:
                        failures["syncs_failed"] += 1
                    time.sleep(0.5)

        cpu0 = server.cpu_seconds()
        t0 = time.perf_counter()
        with ThreadPoolExecutor(len(phones)) as pool:
            for hour, total in enumerate(counts):
                clock["phase"] = phase_of(hour)
                start = time.perf_counter()
                share = [0] * len(phones)
                for _ in range(total):
                    share[rng.randrange(len(phones))] += 1
                jobs = [pool.submit(device_hour, i, n, rng.uniform(0, hour_seconds))
                        for i, n in enumerate(share) if n]
                for job in jobs:
                    job.result()
                if hour + 1 == PHASES[[p[0] for p in PHASES].index(clock["phase"])][2]:
                    d0 = time.perf_counter()
                    r = httpx.post(f"{server.url}/api/v1/events/{event_id}/dispatch", headers=office, timeout=300)
                    r.raise_for_status()
                    dispatch.append({"phase": clock["phase"], "assignments": len(r.json()["assignments"]),
                                     "ms": round((time.perf_counter() - d0) * 1000, 1)})
                time.sleep(max(0.0, hour_seconds - (time.perf_counter() - start)))
        replay_s = time.perf_counter() - t0
        cpu = server.cpu_seconds() - cpu0
        unsent = sum(p.store.outbox.count() for p in phones)
        view = coordinator_view(server.url, office, sent_shas)
        detail = httpx.get(f"{server.url}/api/v1/events/{event_id}", headers=office, timeout=120).json()
        requests = sum(p.counter.requests for p in phones)
        for p in phones:
            p.http.close()
            p.store.close()
    seen = view["seen"]
    server_claims = set(seen.get("claim", {}))
    photo_changes = [ch for chs in seen.get("photo", {}).values() for ch in chs]
    photo_keys = [(ch["fields"].get("claim_id"), ch["fields"].get("sha256")) for ch in photo_changes]
    sent_photo_keys = len(sent_shas)
    lost = len(sent_claims - server_claims) + max(0, sent_photo_keys - len(set(photo_keys)))
    duplicated = len(server_claims - sent_claims) + (len(photo_keys) - len(set(photo_keys)))
    photos_on_server = len(sent_shas) - len(set(view["missing"]))
    per_phase = {}
    for name, _s, _e in PHASES:
        lat = latencies.get(name, [])
        per_phase[name] = {"reports": sum(counts[_s:_e]), "push_requests": len(lat),
                           "push_p50_ms": round(statistics.median(lat) * 1000, 1) if lat else None,
                           "push_p99_ms": round(_p(lat, 0.99) * 1000, 1) if lat else None}
    worst = max((v["push_p99_ms"] or 0) for v in per_phase.values())
    full = reports >= IN_FA_REPORTS
    in_event = len(set(detail["claim_ids"]) & sent_claims)
    return {
        "reports": reports,
        "devices": len(phones),
        "liaisons": len(phones) - adjusters,
        "adjusters": adjusters,
        "photo_bytes": photo_kb * 1024,
        "photos_sent": len(sent_shas),
        "hour_seconds": hour_seconds,
        "peak_hour_reports": max(counts),
        "peak_hour_share_of_day": round(max(counts[:24]) / max(1, sum(counts[:24])), 3),
        "setup_s": round(setup_s, 1),
        "replay_s": round(replay_s, 1),
        "server_cpu_s": round(cpu, 1),
        "server_cpu_s_per_report": round(cpu / max(1, reports), 4),
        "server_cpu_s_scaled_to_in_fa": round(cpu / max(1, reports) * IN_FA_REPORTS, 1),
        "requests": requests,
        "syncs_failed": failures["syncs_failed"],
        "unsent_after_replay": unsent,
        "phases": per_phase,
        "push_p99_worst_ms": worst,
        "server_reports": len(server_claims),
        "lost": lost,
        "duplicated": duplicated,
        "photos_on_server": photos_on_server,
        "event_reports": in_event,
        "dispatch": dispatch,
        "assignments": sum(d["assignments"] for d in dispatch),
        "goal": {"cpu_s": GOAL_CPU_S, "push_p99_ms": GOAL_P99_S * 1000},
        "goal_met": {
            "cpu": cpu < GOAL_CPU_S if full else cpu / max(1, reports) * IN_FA_REPORTS < GOAL_CPU_S,
            "cpu_judged_on": "measured" if full else "scaled_to_in_fa",
            "push_p99": worst < GOAL_P99_S * 1000,
            "none_lost": lost == 0,
            "none_duplicated": duplicated == 0,
            "every_photo": photos_on_server == len(sent_shas),
        },
    }


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--reports", type=int, help=f"default {IN_FA_REPORTS}, --quick 1/100")
    ap.add_argument("--devices", type=int, help="default 500, --quick 5")
    ap.add_argument("--photo-kb", type=int, default=256)
    ap.add_argument("--hour-seconds", type=float, help="one hour of the curve, compressed (default 30, --quick 0.5)")
    ap.add_argument("--out")
    args = ap.parse_args(argv)
    reports = args.reports or (IN_FA_REPORTS // 100 if args.quick else IN_FA_REPORTS)
    devices = args.devices or (5 if args.quick else 500)
    hour_s = args.hour_seconds if args.hour_seconds is not None else (0.5 if args.quick else 30.0)
    with workdir("bench-surge-") as base:
        result = {"bench": "surge", "quick": args.quick, **run(base, reports, devices, args.photo_kb, hour_s),
                  **python_info()}
    errors = [k for k in ("none_lost", "none_duplicated", "every_photo") if not result["goal_met"][k]]
    if result["unsent_after_replay"] or errors:
        result["error"] = "reports or photos did not all reach the server: " + ", ".join(errors or ["unsent"])
    write_result("surge", result, args.out)
    return result


if __name__ == "__main__":
    main()
