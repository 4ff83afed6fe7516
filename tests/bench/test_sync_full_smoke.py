"""Smoke run of bench.sync_full (--quick): it runs end to end and its invariants hold.
Timing goals are NOT asserted here (benchmarks compare against a baseline; see bench/README.md)."""
from __future__ import annotations

import json

from bench import sync_full


def test_sync_full_quick(tmp_path):
    out = tmp_path / "result.json"
    result = sync_full.main(["--quick", "--out", str(out)])
    assert json.loads(out.read_text()) == json.loads(json.dumps(result))
    assert "error" not in result
    assert result["left_unsynced"] == 0 and result["all_blobs_on_server"]
    assert result["server_claims"] == result["claims"]
    assert result["requests_ok"], result["requests_by_kind"]
