"""Benchmark: a full first sync of one phone vs a raw upload of the same bytes.

    python -m bench.sync_full [--quick] [--claims N] [--photos N] [--photo-kb N] [--out PATH]

A phone (real store file) holds N claims, each with a victim (ID number sealed) and a checklist
document, and M photos of ~256 KB spread over the claims. It syncs with a fresh server (uvicorn
subprocess on 127.0.0.1, SQLite): push, pull, blobs/missing, one PATCH per photo.
Baseline in the same run: a plain httpx client PATCHes the same photo files (one request per
blob, the same endpoint, same keep-alive) to another fresh server; measured before AND after the
sync (the mean is the baseline, both are reported). Goals: ratio <= 1.2;
requests <= photos + ceil(mutations/100) + ceil(photos/1000) + 3 (counted with httpx hooks).
"""
from __future__ import annotations

import argparse
import math
import random
import shutil

import httpx

from ._sync_common import (
    Counter,
    add_raw_photo,
    fill_claims,
    now,
    python_info,
    running_server,
    workdir,
    write_result,
)

GOAL_RATIO = 1.2


class _Phone:
    pass


def build_phone(base, claims: int, photos: int, size: int):  # noqa: ANN001, ANN201
    from fieldapp.media import PhotoFiles
    from fieldapp.store import open_store

    phone = _Phone()
    phone.store = open_store(base / "phone")
    phone.files = PhotoFiles(base / "phone" / "photos")
    phone.user = {"role": "liaison", "id": "bench-liaison"}
    ids = fill_claims(phone, claims)
    rng = random.Random(2)
    shas = [add_raw_photo(phone, ids[i % len(ids)], size, rng) for i in range(photos)]
    return phone, shas


def raw_upload(base, phone, shas) -> float:  # noqa: ANN001
    with running_server(base) as server:
        user = server.harness.add_user("liaison", "raw", "500111001")
        dev = server.harness.enroll(user["id"])
        auth = {"Authorization": f"Bearer {dev.token}"}
        with httpx.Client(base_url=server.url, timeout=120) as http:
            t0 = now()
            for sha in shas:
                path = phone.files.path(sha, "original")
                size = path.stat().st_size
                with open(path, "rb") as f:
                    r = http.patch(f"/api/v1/blobs/{sha}", content=f, headers={
                        **auth, "Upload-Offset": "0", "Upload-Length": str(size), "Content-Length": str(size),
                        "Content-Type": "application/offset+octet-stream"})
                if r.status_code != 204:
                    raise SystemExit(f"raw upload failed: {r.status_code} {r.text}")
            elapsed = now() - t0
    shutil.rmtree(base, ignore_errors=True)
    return elapsed


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="tiny smoke run (not a measurement)")
    ap.add_argument("--claims", type=int, default=2000)
    ap.add_argument("--photos", type=int, default=6000)
    ap.add_argument("--photo-kb", type=int, default=256)
    ap.add_argument("--out")
    args = ap.parse_args(argv)
    if args.quick:
        args.claims, args.photos, args.photo_kb = 30, 45, 32

    from fieldapp.sync import SyncClient

    with workdir("bench-sync-full-") as base:
        t_setup = now()
        phone, shas = build_phone(base, args.claims, args.photos, args.photo_kb * 1024)
        setup_s = now() - t_setup
        mutations = phone.store.outbox.count()
        total_bytes = sum(phone.files.path(s, "original").stat().st_size for s in shas)

        raw_before = raw_upload(base / "raw1", phone, shas)

        counter = Counter()
        with running_server(base / "sync") as server:
            user = server.harness.add_user("liaison", "bench liaison", "500111001")
            http = counter.client(timeout=120)
            client = SyncClient(phone.store, phone.files, http, base_url=server.url)
            client.enroll(server.url, server.harness.enrollment_code(user["id"]), "bench phone")
            counter.reset()
            t0 = now()
            report = client.sync_once()
            sync_s = now() - t0
            requests = counter.requests
            by_kind = dict(counter.by_kind)
            left = phone.store.outbox.count() + len(phone.store.photos.pending_upload())
            # Invariant check outside the timed part: everything arrived, once.
            from sqlalchemy import func, select

            from sync_server.blobs.store import BlobStore
            from sync_server.core.models import Claim, Record

            with server.harness.db.read() as s:
                server_claims = s.scalar(select(func.count()).select_from(Claim))
                server_records = s.scalar(select(func.count()).select_from(Record))
            blobs = BlobStore(server.settings.blob_dir)
            blobs_ok = all(blobs.exists(sha) for sha in shas)
            http.close()
        shutil.rmtree(base / "sync", ignore_errors=True)

        raw_after = raw_upload(base / "raw2", phone, shas)
        phone.store.close()

    raw_s = (raw_before + raw_after) / 2
    goal_requests = args.photos + math.ceil(mutations / 100) + math.ceil(args.photos / 1000) + 3
    result = {
        "bench": "sync_full",
        "quick": args.quick,
        "claims": args.claims,
        "photos": args.photos,
        "photo_bytes_total": total_bytes,
        "mutations": mutations,
        "setup_s": round(setup_s, 2),
        "sync_s": round(sync_s, 3),
        "raw_upload_before_s": round(raw_before, 3),
        "raw_upload_after_s": round(raw_after, 3),
        "raw_upload_s": round(raw_s, 3),
        "ratio": round(sync_s / raw_s, 3),
        "ratio_goal": GOAL_RATIO,
        "ratio_ok": sync_s / raw_s <= GOAL_RATIO,
        "requests": requests,
        "requests_goal": goal_requests,
        "requests_ok": requests <= goal_requests,
        "requests_by_kind": by_kind,
        "pull_pages": report.pull_pages,
        "phase_s": {"push": report.push_s, "pull": report.pull_s, "photos": report.photos_s},
        "pulled_changes": report.pulled,
        "left_unsynced": left,
        "server_claims": server_claims,
        "server_records": server_records,
        "all_blobs_on_server": blobs_ok,
        "upload_mb_per_s_sync": round(total_bytes / sync_s / 1e6, 1),
        "upload_mb_per_s_raw": round(total_bytes / raw_s / 1e6, 1),
        **python_info(),
    }
    if left or not blobs_ok or server_claims != args.claims:
        result["error"] = "sync incomplete"
    write_result("sync_full", result, args.out)
    return result


if __name__ == "__main__":
    main()
