"""Smoke run of bench.sync_ingest (tiny input, SQLite and PostgreSQL): it runs end to end and its
invariants hold. Timing goals are NOT asserted here (see bench/README.md)."""
from __future__ import annotations

import json

from bench import sync_ingest


def test_sync_ingest_quick(tmp_path):
    out = tmp_path / "result.json"
    result = sync_ingest.main(["--quick", "--db", "both", "--phones", "2", "--claims", "4", "--out", str(out)])
    assert json.loads(out.read_text()) == json.loads(json.dumps(result))
    for db in ("sqlite", "postgres"):
        part = result[db]
        assert {"cpu_ms_per_change", "baseline_cpu_ms_per_change", "ratio", "goal_met", "changes"} <= set(part)
        # 2 phones x 4 reports x (claim, timeline entry, victim, document, 3 photos)
        assert part["changes"] == 2 * 4 * 7
        assert part["unsent_after_push"] == 0 and part["claims_added"] == 8
        assert part["baseline_rows"]["claims"] == 8 and part["baseline_rows"]["push_receipts"] == part["changes"]
        assert part["cpu_ms_per_change"] > 0 and part["baseline_cpu_ms_per_change"] > 0
        assert set(part["goal_met"]) == {"ms_per_change", "ratio"}
