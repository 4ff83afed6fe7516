"""Smoke run of bench.sync_noop (--quick): it runs end to end and its invariants hold.
Timing goals are NOT asserted here (benchmarks compare against a baseline; see bench/README.md)."""
from __future__ import annotations

import json

from bench import sync_noop


def test_sync_noop_quick(tmp_path):
    out = tmp_path / "result.json"
    result = sync_noop.main(["--quick", "--out", str(out)])
    assert json.loads(out.read_text()) == json.loads(json.dumps(result))
    assert "error" not in result
    assert result["requests_small"] == result["requests_large"] == 1
    assert result["bytes_ok"]
