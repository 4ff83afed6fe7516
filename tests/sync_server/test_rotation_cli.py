"""`python -m sync_server admin insurer …` as a person runs it (real subprocess, real SQLite)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run(tmp_path, *args):
    env = dict(os.environ, DAZU_DATA_DIR=str(tmp_path / "data"), PYTHONPATH=str(ROOT))
    env.pop("DATABASE_URL", None)
    return subprocess.run([sys.executable, "-m", "sync_server", "admin", *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def test_insurer_commands(tmp_path):
    r = run(tmp_path, "insurer", "add", "lead", "--name", "人保财险大足支公司", "--share", "6000", "--json")
    assert r.returncode == 0, r.stderr
    assert run(tmp_path, "insurer", "set-lead", "lead").returncode == 0
    assert run(tmp_path, "insurer", "add", "co1", "--name", "太平洋财险", "--share", "3000").returncode == 0
    out = json.loads(run(tmp_path, "insurer", "list", "--json").stdout)
    assert out["total_share_bp"] == 9000 and not out["shares_complete"]
    assert "NOT 100%" in run(tmp_path, "insurer", "list").stdout
    assert run(tmp_path, "insurer", "add", "co2", "--name", "平安财险", "--share", "1000").returncode == 0
    r = run(tmp_path, "insurer", "add-contact", "co1", "--name", "张查勘", "--phone", "13800000000", "--json")
    assert json.loads(r.stdout)["insurers"][1]["contacts"][0]["name"] == "张查勘"
    r = run(tmp_path, "insurer", "leave", "co1", "--from", "2026-08-01T00:00+08:00", "--to",
            "2026-08-10T00:00+08:00", "--json")
    (window,) = [i for i in json.loads(r.stdout)["insurers"] if i["code"] == "co1"][0]["leave"]
    assert window["from"] == "2026-07-31T16:00:00+00:00"  # stored as the instant, in UTC
    out = json.loads(run(tmp_path, "insurer", "list", "--json").stdout)
    assert out["shares_complete"] and [i["code"] for i in out["insurers"]][0] == "lead"
    before = run(tmp_path, "insurer", "list", "--json").stdout
    for bad in (["set-share", "co1", "12.5"], ["set-share", "nobody", "100"], ["add", "co1", "--name", "x"],
                ["leave", "co1", "--from", "2026-08-10T00:00+08:00", "--to", "2026-08-01T00:00+08:00"],
                ["leave", "co1", "--from", "2026-08-01", "--to", "2026-08-02"]):
        r = run(tmp_path, "insurer", *bad)
        assert r.returncode == 2 and r.stderr.startswith("admin insurer:"), (bad, r.stderr)
    assert run(tmp_path, "insurer", "list", "--json").stdout == before  # bad input changed nothing


def test_demo_seed_gives_the_pool_shares(tmp_path):
    r = run(tmp_path, "demo-seed", "--json")
    assert r.returncode == 0, r.stderr
    plugin = json.loads(r.stdout)["plugins"]["coinsurance"]
    assert plugin["demo"] and sum(plugin["shares"].values()) == 10_000 and plugin["lead"] == "picc"
    again = run(tmp_path, "demo-seed", "--json")  # idempotent
    assert json.loads(again.stdout)["plugins"]["coinsurance"]["shares"] == plugin["shares"]
