"""Smoke run of bench.sync_burst (--quick): it runs end to end and its invariants hold.
Timing goals are NOT asserted here (benchmarks compare against a baseline; see bench/README.md)."""
from __future__ import annotations

import json

import pytest

from bench import sync_burst


def test_sync_burst_quick(tmp_path):
    out = tmp_path / "result.json"
    result = sync_burst.main(["--quick", "--out", str(out)])
    assert json.loads(out.read_text()) == json.loads(json.dumps(result))
    assert "error" not in result
    _invariants(result)


def _invariants(result: dict) -> None:
    assert result["lost"] == 0 and result["duplicated"] == 0
    assert result["receipts_ok"] and result["replays_all_duplicate"] and result["first_push_all_applied"]
    assert result["server_claims"] == result["mutations"]
    # The server's CPU is read for each phase (its process and its workers): a push applies
    # claims, so it costs more than a few clock ticks; a supervisor alone would show about none.
    assert result["ping_server_cpu_ms_per_request"] > 0
    assert result["push_server_cpu_ms_per_request"] > 2


@pytest.mark.postgres
def test_sync_burst_quick_with_two_workers_on_postgres(postgres_url, tmp_path):
    """The same burst against `serve --workers 2` on the embedded PostgreSQL."""
    result = sync_burst.run(tmp_path, postgres_url, devices=20, claims=5, workers=2)
    _invariants(result)
    assert result["push_requests"] == 22 and result["replayed_batches"] == 2


def test_sync_burst_refuses_workers_on_sqlite(capsys):
    with pytest.raises(SystemExit) as exc:
        sync_burst.main(["--quick", "--workers", "2"])
    assert exc.value.code == 2 and "needs --db postgres" in capsys.readouterr().err
