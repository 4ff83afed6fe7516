"""Smoke run of `python -m bench.photo_intake --quick`: it runs, prints one JSON line, writes it,
and its built-in pixel-identity assertion holds. No timing thresholds here (noisy machines)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]


def test_photo_intake_bench_quick(tmp_path):
    out = tmp_path / "photo_intake.json"
    proc = subprocess.run(
        [sys.executable, "-m", "bench.photo_intake", "--quick", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1
    report = json.loads(lines[0])
    assert json.loads(out.read_text()) == report
    assert report["pixels_identical"] is True and report["refused"] == []
    for group in ("12mp", "3mp"):
        g = report["groups"][group]
        assert g["photos"] == 1
        assert g["intake_ms"]["median"] > 0 and g["decode_ms"]["median"] > 0
        assert g["ratio"] > 0
        assert abs(g["ratio_of_medians"] - g["intake_ms"]["median"] / g["decode_ms"]["median"]) < 0.01 * g["ratio_of_medians"] + 0.01
