"""Smoke run of bench.sync_resume (--quick): it runs end to end and its invariants hold.
Timing goals are NOT asserted here (benchmarks compare against a baseline; see bench/README.md)."""
from __future__ import annotations

import json

from bench import sync_resume


def test_sync_resume_quick(tmp_path):
    out = tmp_path / "result.json"
    result = sync_resume.main(["--quick", "--out", str(out)])
    assert json.loads(out.read_text()) == json.loads(json.dumps(result))
    assert "error" not in result
    assert result["complete"] and result["cuts"] >= 1
    assert result["bytes_sent"] >= result["photo_bytes"]
    restart = result["restart"]
    assert {"cuts", "resent_bytes_per_cut", "goal_bytes", "goal_met"} <= set(restart)
    # The server really died and came back: one start more than kills at least.
    assert restart["complete"] and restart["cuts"] >= 1 and restart["server_starts"] >= restart["cuts"] + 1
    assert restart["bytes_sent"] >= result["photo_bytes"] and restart["goal_bytes"] == 1024 * 1024
