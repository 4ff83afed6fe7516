"""Smoke run of `python -m bench.local_store --quick`: it runs, both paths agree, one JSON line."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_local_store_bench_quick(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "bench.local_store", "--quick", "--no-write", "--dir", str(tmp_path / "phone")],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    assert len(lines) == 1
    result = json.loads(lines[0])
    assert result["bench"] == "local_store" and result["quick"] is True
    assert result["claims"] == 200 and result["persons"] >= 200 and result["photos"] > 0
    for key in ("first_screen_cold_ms", "first_screen_warm_median_ms", "raw_first_screen_warm_median_ms",
                "first_screen_ratio", "save_edit_median_ms", "raw_save_edit_median_ms", "save_edit_ratio",
                "open_ms"):
        assert isinstance(result[key], (int, float)) and result[key] > 0, key
    assert isinstance(result["ratio_ok"], bool) and isinstance(result["first_screen_ok"], bool)
    # the store it built is a real, healthy store with the API's own edits waiting to sync
    from fieldapp.store import open_store

    store = open_store(tmp_path / "phone")
    try:
        assert store.recovery_report is None
        assert store.claims.count() == 200
        assert store.outbox.count() >= 50
    finally:
        store.close()
