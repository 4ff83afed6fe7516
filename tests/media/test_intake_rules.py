"""Refusals, evidence flags, storage and the async wrapper, on synthetic and real photos."""
from __future__ import annotations

import asyncio
import io
import os
import struct
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import piexif
import pytest
from PIL import Image

from fieldapp.media import (
    GpsFix,
    IntakeRefused,
    IntakeSettings,
    PhotoFiles,
    intake_photo,
    intake_photo_async,
)
from fieldapp.media.intake import _draft_box

PHOTOS = Path(__file__).parent / "photos"
T0 = datetime(2025, 7, 3, 1, 30, tzinfo=timezone.utc)
IN_DAZU = dict(lat=29.70, lon=105.72)
EXTENT = {"lat_min": 29.383, "lat_max": 29.867, "lon_min": 105.467, "lon_max": 106.033}


def jpeg(size=(320, 240), exif: dict | None = None, **save) -> bytes:
    im = Image.effect_noise(size, 40).convert("RGB")
    out = io.BytesIO()
    kw = {"quality": 90, **save}
    if exif is not None:
        kw["exif"] = piexif.dump(exif)
    im.save(out, "JPEG", **kw)
    return out.getvalue()


def good_fix(**kw) -> GpsFix:
    return GpsFix(**{**IN_DAZU, "altitude": 400.0, "accuracy_m": 5.0, "fix_time": T0 - timedelta(seconds=3), **kw})


def refused(data, settings=IntakeSettings(), fix=None) -> IntakeRefused:
    with pytest.raises(IntakeRefused) as e:
        intake_photo(data, fix, T0, settings, now=T0)
    return e.value


# ---------------------------------------------------------------- refusals
def test_refusals_carry_a_code_and_a_message_in_both_languages():
    e = refused(b"")
    assert e.code == "empty"
    assert any("\u4e00" <= ch <= "\u9fff" for ch in e.message())  # Chinese by default
    assert "empty" in e.message("en")


@pytest.mark.parametrize("fmt", ["PNG", "GIF", "WEBP", "BMP", "TIFF"])
def test_other_image_formats_are_not_jpeg(fmt):
    out = io.BytesIO()
    Image.new("RGB", (40, 30), "red").save(out, fmt)
    assert refused(out.getvalue()).code == "not_jpeg"


@pytest.mark.parametrize(
    "data",
    [b"hello, this is a text file\n", os.urandom(4096), b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 100, b"%PDF-1.7\n"],
)
def test_non_images_are_refused(data):
    assert refused(data).code == "not_an_image"


def test_byte_cap_is_checked_on_the_length_first():
    settings = IntakeSettings(max_bytes=10_000)
    assert refused(b"\x00" * 10_001, settings).code == "too_large"  # not even sniffed
    assert refused(jpeg((600, 400)), settings).code == "too_large"
    assert "MiB" in IntakeRefused("too_large", limit_mib=40).message("en")


def test_decompression_bomb_header_is_refused_without_decoding():
    # A 65000 x 65000 frame header followed by no image data at all: decoding it would fail
    # with "truncated"; the pixel cap answers first, from the header alone.
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 17, 8, 65000, 65000, 3) + b"\x01\x22\x00\x02\x11\x01\x03\x11\x01"
    sos = b"\xff\xda" + struct.pack(">HB", 12, 3) + b"\x01\x00\x02\x11\x03\x11\x00\x3f\x00"
    bomb = b"\xff\xd8" + sof + sos + b"\x00" * 64
    e = refused(bomb)
    assert e.code == "too_many_pixels"
    assert "4225000000" in e.message("en")


def test_pixel_cap_applies_to_real_photos():
    assert refused(jpeg((400, 300)), IntakeSettings(max_pixels=100_000)).code == "too_many_pixels"
    intake_photo(jpeg((400, 300)), None, T0, IntakeSettings(max_pixels=120_000), now=T0)


def test_truncation_is_repaired_when_most_of_the_photo_is_there_and_refused_otherwise():
    data = (PHOTOS / "jpg_mobile__jolla.jpg").read_bytes()
    nearly = intake_photo(data[: int(len(data) * 0.9)], None, T0, now=T0)
    assert "damaged" in nearly.flags
    assert nearly.jpeg_bytes.endswith(data[int(len(data) * 0.9) - 1000 : int(len(data) * 0.9)])  # not "completed"
    assert refused(data[: int(len(data) * 0.3)]).code == "truncated"
    assert refused(data[:300]).code == "truncated"  # cut inside the headers


def test_garbage_after_a_jpeg_header_is_refused_cleanly():
    data = jpeg()
    broken = data[:200] + os.urandom(2000)
    assert refused(broken).code in {"corrupt", "truncated"}


def test_heic_without_pillow_heif_tells_the_user_to_switch_to_jpeg(monkeypatch):
    monkeypatch.setitem(sys.modules, "pillow_heif", None)  # import now fails, as on a bare phone
    e = refused((PHOTOS / "heic__IMG_5195.HEIC").read_bytes())
    assert e.code == "heic_unsupported"
    assert "兼容性最佳" in e.message() and "Most Compatible" in e.message("en")


# ---------------------------------------------------------------- flags
def flags_for(fix, captured_at=T0, data=None, **settings) -> set[str]:
    data = data or (PHOTOS / "jpg_orientation__landscape_1.jpg").read_bytes()
    r = intake_photo(data, fix, captured_at, IntakeSettings(**settings), district_extent=EXTENT, now=T0)
    return set(r.flags)


def test_a_good_fix_in_dazu_raises_no_flag():
    assert flags_for(good_fix()) == set()


def test_each_evidence_flag():
    assert flags_for(None) == {"no_gps_fix"}
    assert flags_for(good_fix(fix_time=T0 - timedelta(seconds=121))) == {"fix_stale"}
    assert flags_for(good_fix(accuracy_m=51.0)) == {"fix_inaccurate"}
    assert flags_for(good_fix(accuracy_m=None)) == {"fix_inaccurate"}
    assert flags_for(good_fix(lat=29.40, lon=106.30)) == {"outside_district"}  # Tongliang, next door
    assert flags_for(good_fix(lat=29.36, lon=105.70)) == set()  # within the 0.05° padding
    assert flags_for(good_fix(fix_time=T0 + timedelta(minutes=11)), captured_at=T0) == {"capture_far_from_fix"}
    assert flags_for(good_fix(fix_time=T0 - timedelta(minutes=11))) == {"fix_stale", "capture_far_from_fix"}
    future = T0 + timedelta(hours=2)
    assert flags_for(good_fix(fix_time=future), captured_at=future) == {"capture_in_future"}


def test_own_gps_far_from_the_device_fix():
    def with_gps(lat: float, lon: float) -> bytes:
        gps = {1: b"N", 2: ((int(lat), 1), (int(lat * 60) % 60, 1), (0, 1)), 3: b"E", 4: ((int(lon), 1), (int(lon * 60) % 60, 1), (0, 1))}
        return jpeg(exif={"0th": {271: b"Cam"}, "GPS": gps})

    assert flags_for(good_fix(lat=29.70, lon=105.70), data=with_gps(29.70, 105.70)) == set()
    assert flags_for(good_fix(lat=29.70, lon=105.70), data=with_gps(29.75, 105.70)) == {"own_gps_far_from_fix"}


def test_bad_fixes_and_naive_times_are_programming_errors():
    with pytest.raises(ValueError):
        GpsFix(lat=float("nan"), lon=105.7)
    with pytest.raises(ValueError):
        GpsFix(lat=29.7, lon=105.7, fix_time=datetime(2025, 1, 1))
    with pytest.raises(ValueError):
        intake_photo(jpeg(), None, datetime(2025, 1, 1))


# ---------------------------------------------------------------- stamping details
def test_same_input_same_bytes_and_a_different_fix_a_different_photo():
    data = jpeg(exif={"0th": {271: b"Cam", 274: 6}})
    a = intake_photo(data, good_fix(), T0, now=T0)
    b = intake_photo(data, good_fix(), T0, now=T0)
    c = intake_photo(data, good_fix(lat=29.71), T0, now=T0)
    assert a.jpeg_bytes == b.jpeg_bytes and a.sha256 == b.sha256
    assert c.sha256 != a.sha256


def test_jfif_header_and_other_segments_survive_and_there_is_one_exif_segment():
    data = (PHOTOS / "jpg_orientation__landscape_3.jpg").read_bytes()
    assert data[2:4] == b"\xff\xe0"
    r = intake_photo(data, good_fix(), T0, now=T0)
    assert r.jpeg_bytes[2:4] == b"\xff\xe0" and r.jpeg_bytes[6:11] == b"JFIF\x00"
    assert r.jpeg_bytes.count(b"Exif\x00\x00") == 1
    xmp = (PHOTOS / "jpg_xmp__no_exif.jpg").read_bytes()
    rx = intake_photo(xmp, good_fix(), T0, now=T0)
    assert b"http://ns.adobe.com/xap/1.0/" in rx.jpeg_bytes


def test_preview_uses_a_reduced_decode_with_an_aspect_matched_box():
    # A 3200x2400 frame shown rotated (orientation 6): the box is computed in the stored frame,
    # so libjpeg decodes at half scale; a box in the displayed frame would force a full decode.
    box = _draft_box(3200, 2400, 6, 1600)
    assert box == (1600, 1200)
    data = jpeg((3200, 2400), exif={"0th": {274: 6}})
    im = Image.open(io.BytesIO(data))
    im.draft("RGB", box)
    assert im.size == (1600, 1200)
    naive = Image.open(io.BytesIO(data))
    naive.draft("RGB", (1200, 1600))
    assert naive.size == (3200, 2400)
    r = intake_photo(data, None, T0, now=T0)
    assert (r.width, r.height) == (2400, 3200) and r.preview_size == (1200, 1600) and r.thumb_size == (192, 256)


# ---------------------------------------------------------------- storage
def test_save_is_atomic_by_hash_and_idempotent(tmp_path):
    files = PhotoFiles(tmp_path)
    r = intake_photo((PHOTOS / "jpg_gps__DSCN0012.jpg").read_bytes(), good_fix(), T0, now=T0)
    paths = files.save(r)
    assert paths["original"] == tmp_path / "originals" / r.sha256[:2] / f"{r.sha256}.jpg"
    assert files.has(r.sha256) and files.verify(r.sha256)
    assert files.open_original(r.sha256).read() == r.jpeg_bytes
    assert files.path(r.sha256, "thumb").read_bytes() == r.thumb_jpeg
    before = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*") if p.is_file()}
    assert files.save(r) == paths
    after = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*") if p.is_file()}
    assert before == after  # nothing rewritten, nothing added, no temp files left
    assert len(after) == 3


def test_a_damaged_stored_original_is_rewritten_on_save(tmp_path):
    files = PhotoFiles(tmp_path)
    r = intake_photo(jpeg(), None, T0, now=T0)
    files.save(r)
    files.path(r.sha256).write_bytes(r.jpeg_bytes[:100])
    assert not files.verify(r.sha256)
    files.save(r)
    assert files.verify(r.sha256)


def test_save_refuses_a_result_whose_hash_does_not_match(tmp_path):
    r = intake_photo(jpeg(), None, T0, now=T0)
    r.jpeg_bytes = r.jpeg_bytes + b"x"
    with pytest.raises(ValueError):
        PhotoFiles(tmp_path).save(r)
    assert not any(p.is_file() for p in tmp_path.rglob("*"))


def test_bad_hash_names_are_rejected(tmp_path):
    with pytest.raises(ValueError):
        PhotoFiles(tmp_path).path("../../etc/passwd")


def test_async_intake_runs_off_the_loop_and_reports_progress(tmp_path):
    data = (PHOTOS / "jpg_mobile__jolla.jpg").read_bytes()
    stages: list[str] = []
    files = PhotoFiles(tmp_path)

    async def run():
        ticks = 0

        async def heartbeat():
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.001)

        hb = asyncio.create_task(heartbeat())
        result = await intake_photo_async(data, good_fix(), T0, now=T0, files=files, progress=lambda s, f: stages.append(s))
        await asyncio.sleep(0)
        hb.cancel()
        return result, ticks

    result, ticks = asyncio.run(run())
    assert result.sha256 == intake_photo(data, good_fix(), T0, now=T0).sha256
    assert files.has(result.sha256)
    assert stages[0] == "validated" and stages[-1] == "saved"
    assert ticks > 1  # the loop kept running while the photo was processed


def test_media_package_imports_neither_flet_nor_the_server():
    code = (
        "import sys, fieldapp.media, fieldapp.media.cli;"
        "bad=[m for m in sys.modules if m.split('.')[0] in ('flet','sync_server','fastapi','sqlalchemy')];"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[2])
