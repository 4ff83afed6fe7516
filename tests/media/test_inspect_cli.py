"""``python -m fieldapp photos inspect``: one JSON line per file whatever the input, exit 0/2."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from fieldapp.media import cli

ROOT = Path(__file__).parents[2]
PHOTOS = Path(__file__).parent / "photos"
SAMPLES = sorted(str(p) for p in PHOTOS.iterdir() if p.name != "README.md")


def inspect(*args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "fieldapp", "photos", "inspect", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_every_file_gets_one_line_in_order_and_bad_input_is_just_an_error_line(tmp_path):
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    garbage = tmp_path / "garbage.jpg"
    garbage.write_bytes(os.urandom(3000))
    png = tmp_path / "shot.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    missing = tmp_path / "no-such-photo.jpg"
    files = [*SAMPLES, str(empty), str(garbage), str(png), str(missing), str(tmp_path), "/dev/zero"]
    proc = inspect(*files, "--lat", "29.70", "--lon", "105.72", "--accuracy", "5")
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [line["file"] for line in lines] == files
    by_file = {line["file"]: line for line in lines}
    for sample in SAMPLES:
        line = by_file[sample]
        assert line["ok"] is True, line
        assert len(line["sha256"]) == 64 and line["width"] > 0 and line["height"] > 0
        assert "no_gps_fix" not in line["flags"]
    gps = by_file[str(PHOTOS / "jpg_gps__DSCN0010.jpg")]
    assert gps["exif_gps"]["lat"] == 43.46744833333334 and gps["exif_gps"]["lon"] == 11.885126666663888
    assert "own_gps_far_from_fix" in gps["flags"]
    assert by_file[str(PHOTOS / "jpg_orientation__landscape_6.jpg")]["width"] == 600
    assert by_file[str(PHOTOS / "heic__IMG_5195.HEIC")]["converted_from"] == "heic"
    assert by_file[str(PHOTOS / "jpg__corrupted.jpg")]["flags"] == ["damaged"]
    expected_codes = {
        str(empty): "empty",
        str(garbage): "not_an_image",
        str(png): "not_jpeg",
        str(missing): "not_a_file",
        str(tmp_path): "not_a_file",
        "/dev/zero": "not_a_file",
    }
    for path, code in expected_codes.items():
        line = by_file[path]
        assert line["ok"] is False and line["error_code"] == code, line
        assert line["error"]  # Chinese message by default
        assert "Traceback" not in line["error"]
    assert "Traceback" not in proc.stderr


def test_without_a_device_fix_photos_are_flagged_and_english_works(tmp_path):
    empty = tmp_path / "e.jpg"
    empty.write_bytes(b"")
    proc = inspect(str(PHOTOS / "jpg_xmp__no_exif.jpg"), str(empty), "--lang", "en")
    assert proc.returncode == 0
    ok, bad = (json.loads(line) for line in proc.stdout.splitlines())
    assert ok["flags"] == ["no_gps_fix"] and ok["exif_gps"] is None
    assert bad["error"].startswith("The file is empty")


def test_bad_usage_exits_2():
    assert inspect().returncode == 2
    assert inspect("--bogus", str(PHOTOS / "jpg_xmp__no_exif.jpg")).returncode == 2
    assert inspect(str(PHOTOS / "jpg_xmp__no_exif.jpg"), "--lat", "29.7").returncode == 2
    assert inspect(str(PHOTOS / "jpg_xmp__no_exif.jpg"), "--lat", "95", "--lon", "105").returncode == 2
    no_verb = subprocess.run([sys.executable, "-m", "fieldapp", "photos"], cwd=ROOT, capture_output=True, timeout=60)
    assert no_verb.returncode == 2


def test_a_file_that_hangs_the_worker_times_out_and_the_command_goes_on(monkeypatch):
    # The worker is a forked child, so the stand-in for a decoder stuck in a loop is inherited.
    monkeypatch.setattr(cli, "inspect_file", lambda *a: time.sleep(60))
    started = time.monotonic()
    line = cli._run_isolated("stuck.jpg", None, datetime.now(timezone.utc), "/tmp", "en", timeout=1.0)
    assert time.monotonic() - started < 15
    assert line["ok"] is False and line["error_code"] == "timeout" and "1 s" in line["error"]


def test_a_worker_that_crashes_still_gives_a_line(monkeypatch):
    monkeypatch.setattr(cli, "inspect_file", lambda *a: os._exit(3))
    line = cli._run_isolated("crash.jpg", None, datetime.now(timezone.utc), "/tmp", "zh", timeout=30)
    assert line["ok"] is False and line["error_code"] == "internal_error"
