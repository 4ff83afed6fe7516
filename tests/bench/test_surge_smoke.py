"""Smoke run of bench.surge with a tiny input: the replay runs end to end (CLI set-up, event
declared and dispatched over HTTP, phones syncing on the curve) and nothing is lost or
duplicated. Timing goals are NOT asserted here (see bench/README.md)."""
from __future__ import annotations

import json

from bench import surge


def test_hourly_counts_keep_the_total_and_the_peak():
    counts = surge.hourly_counts(surge.IN_FA_REPORTS)
    assert len(counts) == 48 and sum(counts) == surge.IN_FA_REPORTS
    day1 = counts[:24]
    assert day1.index(max(day1)) == 12 and round(max(day1) / sum(day1), 2) == 0.12


def test_surge_tiny(tmp_path):
    out = tmp_path / "result.json"
    result = surge.main(["--quick", "--reports", "60", "--devices", "3", "--photo-kb", "16",
                         "--hour-seconds", "0", "--out", str(out)])
    assert json.loads(out.read_text()) == json.loads(json.dumps(result))
    assert "error" not in result
    assert result["lost"] == 0 and result["duplicated"] == 0 and result["unsent_after_replay"] == 0
    assert result["server_reports"] == result["event_reports"] == 60
    assert result["photos_sent"] == result["photos_on_server"] == 60 * surge.PHOTOS_PER_REPORT
    assert result["assignments"] == 60  # every report of the event dispatched once
    assert set(result["phases"]) == {p[0] for p in surge.PHASES}
    assert result["server_cpu_s"] > 0 and {"cpu", "push_p99", "none_lost"} <= set(result["goal_met"])
