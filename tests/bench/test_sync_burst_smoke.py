"""Smoke run of bench.sync_burst (--quick): it runs end to end and its invariants hold.
Timing goals are NOT asserted here (benchmarks compare against a baseline; see bench/README.md)."""
from __future__ import annotations

import json

from bench import sync_burst


def test_sync_burst_quick(tmp_path):
    out = tmp_path / "result.json"
    result = sync_burst.main(["--quick", "--out", str(out)])
    assert json.loads(out.read_text()) == json.loads(json.dumps(result))
    assert "error" not in result
    assert result["lost"] == 0 and result["duplicated"] == 0
    assert result["receipts_ok"] and result["replays_all_duplicate"] and result["first_push_all_applied"]
    assert result["server_claims"] == result["mutations"]
