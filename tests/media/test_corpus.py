"""Every real-world sample in tests/media/photos/ (copied from ../shared/corpus/photos, CC BY-SA 4.0)
goes through the intake; each gets the outcome the corpus README asks for."""
from __future__ import annotations

import hashlib
import io
from datetime import datetime, timedelta, timezone
from pathlib import Path

import piexif
import pillow_heif
import pytest
from PIL import Image, ImageChops, ImageOps, ImageStat

from fieldapp.media import GpsFix, PhotoFiles, intake_photo, read_gps, read_intake_record
from fieldapp.media.exif import gps_ifd_from_json
from fieldapp.media.jpeg import walk

PHOTOS = Path(__file__).parent / "photos"
SAMPLES = sorted(p for p in PHOTOS.iterdir() if p.name != "README.md")
CAPTURED = datetime(2025, 7, 3, 9, 30, tzinfo=timezone(timedelta(hours=8)))
FIX = GpsFix(lat=29.6961, lon=105.7214, altitude=372.5, accuracy_m=6.0, fix_time=CAPTURED - timedelta(seconds=4))
NOW = CAPTURED + timedelta(minutes=1)

# What each sample must produce beyond the invariants every accepted photo satisfies.
EXPECTED_FLAGS = {
    "heic__IMG_5195.HEIC": {"converted_from_heic", "own_gps_far_from_fix"},
    "jpg__corrupted.jpg": {"damaged"},
    "jpg_tests__30-type_error.jpg": {"exif_replaced"},
    "jpg_tests__45-gps_ifd.jpg": {"exif_replaced"},
    **{p.name: {"own_gps_far_from_fix"} for p in SAMPLES if p.name.startswith("jpg_gps__")},
}


def pillow_gps(im: Image.Image) -> dict | None:
    """The photo's GPS as Pillow (an independent EXIF reader) sees it."""
    gps = im.getexif().get_ifd(0x8825)
    if 2 not in gps or 4 not in gps:
        return None
    lat = sum(float(v) / 60**i for i, v in enumerate(gps[2]))
    lon = sum(float(v) / 60**i for i, v in enumerate(gps[4]))
    lat = -lat if str(gps.get(1, "N")).startswith("S") else lat
    lon = -lon if str(gps.get(3, "E")).startswith("W") else lon
    return {"lat": lat, "lon": lon}


def mean_diff(im: Image.Image, reference: Image.Image) -> float:
    ref = reference.resize(im.size, Image.Resampling.BICUBIC)
    return max(ImageStat.Stat(ImageChops.difference(im.convert("RGB"), ref)).mean)


def open_any(data: bytes) -> Image.Image:
    if data[4:8] == b"ftyp":
        return pillow_heif.open_heif(io.BytesIO(data)).to_pillow()
    return Image.open(io.BytesIO(data))


@pytest.fixture(scope="module")
def results():
    out = {}
    for path in SAMPLES:
        out[path.name] = intake_photo(path.read_bytes(), FIX, CAPTURED, now=NOW)
    return out


def test_the_corpus_is_all_here():
    names = {p.name for p in SAMPLES}
    assert len(names) == 19
    assert {"heic__IMG_5195.HEIC", "jpg__corrupted.jpg", "jpg_xmp__no_exif.jpg"} <= names


@pytest.mark.parametrize("name", [p.name for p in SAMPLES])
def test_sample_is_ingested_with_its_evidence(name, results):
    original = (PHOTOS / name).read_bytes()
    r = results[name]
    assert r.jpeg_bytes[:3] == b"\xff\xd8\xff", "stored photo must be a JPEG"
    assert r.sha256 == hashlib.sha256(r.jpeg_bytes).hexdigest()
    assert set(r.flags) == EXPECTED_FLAGS.get(name, set()), r.flags

    # The device fix is what the GPS IFD records; the record keeps the capture time and the fix.
    stamped_gps = read_gps(r.jpeg_bytes)
    assert stamped_gps["lat"] == pytest.approx(FIX.lat, abs=1e-7)
    assert stamped_gps["lon"] == pytest.approx(FIX.lon, abs=1e-7)
    assert stamped_gps["alt"] == pytest.approx(FIX.altitude, abs=0.01)
    record = read_intake_record(r.jpeg_bytes)
    assert record["captured_at"] == CAPTURED.isoformat()
    assert record["device_fix"]["accuracy_m"] == FIX.accuracy_m

    # The photo's own GPS (read independently by Pillow) is what exif_gps reports.
    src = open_any(original)
    own = pillow_gps(src)
    if own is None:
        assert r.exif_gps is None
    else:
        assert r.exif_gps["lat"] == pytest.approx(own["lat"], abs=1e-9)
        assert r.exif_gps["lon"] == pytest.approx(own["lon"], abs=1e-9)

    stamped = Image.open(io.BytesIO(r.jpeg_bytes))
    assert stamped.format == "JPEG"
    if name.endswith(".HEIC"):
        assert r.converted_from == "heic" and r.original_bytes == original
        assert stamped.size == src.size  # pillow-heif already made it upright
        # the conversion keeps the pixels to within JPEG quantisation
        diff = ImageStat.Stat(ImageChops.difference(stamped.convert("RGB"), src.convert("RGB"))).mean
        assert max(diff) < 4
    else:
        assert r.converted_from is None and r.original_bytes is None
        # Not one byte outside the Exif segment changed: same scan data, same other segments.
        a, b = walk(original), walk(r.jpeg_bytes)
        assert original[a.sos_offset :] == r.jpeg_bytes[b.sos_offset :]
        def others(data, lay):
            return [data[s.start : s.end] for s in lay.segments if s not in lay.exif_segments(data)]
        assert others(original, a) == others(r.jpeg_bytes, b)
        assert len(b.exif_segments(r.jpeg_bytes)) == 1
        # ...so the decoded pixels are identical.
        assert stamped.tobytes() == src.tobytes()
        # Camera tags Pillow can read in the original survive stamping.
        before, after = src.getexif(), stamped.getexif()
        for tag in (271, 272, 274, 306):  # Make, Model, Orientation, DateTime
            if tag in before:
                assert after.get(tag) == before[tag], tag


@pytest.mark.parametrize("name", [p.name for p in SAMPLES])
def test_preview_and_thumbnail_are_upright(name, results):
    r = results[name]
    reference = ImageOps.exif_transpose(open_any((PHOTOS / name).read_bytes())).convert("RGB")
    assert (r.width, r.height) == reference.size
    longest = max(reference.size)
    # preview: ~1600 px (a reduced decode landing within 1600..2080 is kept as it is)
    for data, lo, hi in ((r.preview_jpeg, min(1600, longest), min(2080, longest)), (r.thumb_jpeg, min(256, longest), min(256, longest))):
        im = Image.open(io.BytesIO(data))
        assert im.format == "JPEG"
        assert 274 not in im.getexif()  # upright pixels; no tag that would rotate them again
        assert lo <= max(im.size) <= hi, (im.size, lo, hi)
        assert (im.width >= im.height) == (reference.width >= reference.height)
        upright = mean_diff(im, reference)
        assert upright < 16, upright  # the same picture...
        for turn in (Image.Transpose.ROTATE_90, Image.Transpose.ROTATE_180, Image.Transpose.ROTATE_270):
            wrong = mean_diff(im, reference.transpose(turn))
            assert upright < 0.6 * wrong, (turn, upright, wrong)  # ...and clearly not turned


def test_orientation_samples_all_show_the_same_upright_landscape(results):
    previews = {
        n: Image.open(io.BytesIO(results[n].preview_jpeg)).convert("RGB")
        for n in results
        if n.startswith("jpg_orientation__")
    }
    assert {im.size for im in previews.values()} == {(600, 450)}
    base = previews["jpg_orientation__landscape_1.jpg"]
    # The four files are separate encodes of one scene (even full decodes differ by ~15 on
    # average), so "upright" means: far closer to the orientation-1 picture than to any turn of it.
    for n, im in previews.items():
        same = mean_diff(im, base)
        for turn in (Image.Transpose.ROTATE_180, Image.Transpose.FLIP_LEFT_RIGHT, Image.Transpose.FLIP_TOP_BOTTOM):
            assert same < 0.5 * mean_diff(im, base.transpose(turn)), (n, turn)
    # The stored originals are not rotated: orientation 6 stays a 450x600 frame with its tag.
    r6 = results["jpg_orientation__landscape_6.jpg"]
    stored = Image.open(io.BytesIO(r6.jpeg_bytes))
    assert stored.size == (450, 600) and stored.getexif()[274] == 6


@pytest.mark.parametrize("name", [p.name for p in SAMPLES if p.name.startswith("jpg_gps__")])
def test_gps_photos_keep_their_own_gps_in_the_record(name, results):
    original = (PHOTOS / name).read_bytes()
    r = results[name]
    camera = piexif.load(original)["GPS"]
    record = read_intake_record(r.jpeg_bytes)
    assert gps_ifd_from_json(record["camera_gps"]) == camera  # exact rationals, every tag
    stamped = piexif.load(r.jpeg_bytes)
    assert stamped["0th"][piexif.ImageIFD.Make] == b"NIKON"
    assert stamped["0th"][piexif.ImageIFD.Model] == b"COOLPIX P6000"
    assert stamped["Exif"][piexif.ExifIFD.MakerNote] == piexif.load(original)["Exif"][piexif.ExifIFD.MakerNote]


def test_broken_exif_is_replaced_but_what_can_be_read_is_kept(results):
    r = results["jpg_tests__45-gps_ifd.jpg"]
    assert r.exif_replaced
    after = Image.open(io.BytesIO(r.jpeg_bytes)).getexif()
    assert after[271] == "Polyphony Digital Inc." and after[272] == "Gran Turismo 5"
    assert read_intake_record(r.jpeg_bytes)["exif_replaced"] is True


def test_without_a_fix_the_cameras_gps_ifd_stays_in_place():
    original = (PHOTOS / "jpg_gps__DSCN0010.jpg").read_bytes()
    r = intake_photo(original, None, CAPTURED, now=NOW)
    assert r.flags == ["no_gps_fix"]
    assert piexif.load(r.jpeg_bytes)["GPS"] == piexif.load(original)["GPS"]
    assert read_intake_record(r.jpeg_bytes)["device_fix"] is None


def test_heic_original_is_kept_beside_the_converted_photo(tmp_path, results):
    r = results["heic__IMG_5195.HEIC"]
    files = PhotoFiles(tmp_path)
    paths = files.save(r)
    assert paths["source"].read_bytes() == (PHOTOS / "heic__IMG_5195.HEIC").read_bytes()
    assert paths["source"].suffix == ".heic"
    assert files.open_original(r.sha256).read(3) == b"\xff\xd8\xff"
    # Nothing stored under the JPEG name is HEIC.
    for p in (tmp_path / "originals").rglob("*"):
        if p.is_file():
            assert p.read_bytes()[:3] == b"\xff\xd8\xff"
