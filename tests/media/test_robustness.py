"""Odd but legal files, oversized EXIF, and random damage: a result or a refusal, never a crash."""
from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone
from pathlib import Path

import piexif
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from fieldapp.media import GpsFix, IntakeRefused, intake_photo, read_gps, read_intake_record
from fieldapp.media.jpeg import walk

PHOTOS = Path(__file__).parent / "photos"
T0 = datetime(2025, 7, 3, 1, 30, tzinfo=timezone.utc)
FIX = GpsFix(lat=29.7, lon=105.72, altitude=400.0, accuracy_m=5.0, fix_time=T0 - timedelta(seconds=2))


def small_jpeg(exif: bytes | None = None) -> bytes:
    out = io.BytesIO()
    im = Image.effect_noise((96, 64), 50).convert("RGB")
    if exif is None:
        im.save(out, "JPEG", quality=85)
    else:
        im.save(out, "JPEG", quality=85, exif=exif)
    return out.getvalue()


def pixels(data: bytes) -> bytes:
    return Image.open(io.BytesIO(data)).tobytes()


def test_fill_bytes_before_a_marker_are_kept_and_stamping_still_works():
    data = small_jpeg(piexif.dump({"0th": {271: b"Cam"}}))
    dqt = data.index(b"\xff\xdb")
    padded = data[:dqt] + b"\xff\xff\xff" + data[dqt:]  # legal padding piexif's parser trips over
    assert pixels(padded) == pixels(data)
    r = intake_photo(padded, FIX, T0, now=T0)
    assert pixels(r.jpeg_bytes) == pixels(data)
    assert read_gps(r.jpeg_bytes)["lat"] == FIX.lat
    assert r.jpeg_bytes.count(b"Exif\x00\x00") == 1
    assert b"\xff\xff\xff\xff\xdb" in r.jpeg_bytes


def test_an_exif_block_that_no_longer_fits_loses_its_thumbnail_first():
    thumb = io.BytesIO()
    Image.effect_noise((160, 120), 80).convert("RGB").save(thumb, "JPEG", quality=95)
    exif = {
        "0th": {271: b"Cam", 272: b"Big"},
        "Exif": {piexif.ExifIFD.MakerNote: b""},
        "1st": {piexif.ImageIFD.Compression: 6},
        "thumbnail": thumb.getvalue(),
    }
    # The camera's block fits one segment with 100 bytes to spare; the stamp needs more.
    exif["Exif"][piexif.ExifIFD.MakerNote] = b"M" * (65533 - 100 - len(piexif.dump(exif)))
    assert len(piexif.dump(exif)) == 65533 - 100
    data = small_jpeg(piexif.dump(exif))
    r = intake_photo(data, FIX, T0, now=T0)
    assert "exif_thumbnail_dropped" in r.flags and not r.exif_replaced
    stamped = piexif.load(r.jpeg_bytes)
    assert stamped["thumbnail"] is None
    assert stamped["Exif"][piexif.ExifIFD.MakerNote] == exif["Exif"][piexif.ExifIFD.MakerNote]
    assert pixels(r.jpeg_bytes) == pixels(data)


def test_an_existing_user_comment_is_kept_inside_the_record():
    comment = b"ASCII\x00\x00\x00roof of house 3 collapsed"
    data = small_jpeg(piexif.dump({"Exif": {piexif.ExifIFD.UserComment: comment}}))
    r = intake_photo(data, FIX, T0, now=T0)
    import base64

    assert base64.b64decode(read_intake_record(r.jpeg_bytes)["camera_user_comment_b64"]) == comment


SEED = small_jpeg(piexif.dump({"0th": {271: b"Cam", 274: 6}, "GPS": {1: b"N", 2: ((29, 1), (40, 1), (0, 1)), 3: b"E", 4: ((105, 1), (43, 1), (0, 1))}}))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    edits=st.lists(st.tuples(st.integers(0, len(SEED) - 1), st.integers(0, 255)), min_size=1, max_size=8),
    cut=st.one_of(st.none(), st.integers(1, len(SEED))),
)
def test_random_damage_gives_a_result_or_a_refusal(edits, cut):
    data = bytearray(SEED)
    for pos, value in edits:
        data[pos] = value
    if cut is not None:
        data = data[:cut]
    try:
        r = intake_photo(bytes(data), FIX, T0, now=T0)
    except IntakeRefused as e:
        assert e.message("zh") and e.message("en")
        return
    # Accepted: still a JPEG whose scan data is byte-for-byte the input's, stamped with the fix.
    assert r.jpeg_bytes[:2] == b"\xff\xd8"
    assert r.jpeg_bytes[walk(r.jpeg_bytes).sos_offset :] == bytes(data)[walk(bytes(data)).sos_offset :]
    assert read_gps(r.jpeg_bytes)["lat"] == FIX.lat
    Image.open(io.BytesIO(r.preview_jpeg)).load()


def _variants() -> dict[str, bytes]:
    from PIL import ImageCms

    base = Image.effect_noise((480, 320), 40).convert("RGB")
    out: dict[str, bytes] = {}

    def save(name, im, fmt="JPEG", **kw):
        b = io.BytesIO()
        im.save(b, fmt, **kw)
        out[name] = b.getvalue()

    save("progressive", base, progressive=True, quality=90)
    save("grey", base.convert("L"))
    save("cmyk", base.convert("CMYK"))
    save("mpo", base, "MPO", save_all=True, append_images=[base.rotate(90)])
    save("icc", base, icc_profile=ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    return out


def test_other_real_world_jpeg_kinds_are_stamped_without_touching_pixels():
    for name, data in _variants().items():
        r = intake_photo(data, FIX, T0, now=T0)
        assert pixels(r.jpeg_bytes) == pixels(data), name
        assert read_gps(r.jpeg_bytes)["lon"] == FIX.lon, name
        preview = Image.open(io.BytesIO(r.preview_jpeg))
        assert preview.size == (480, 320) and preview.mode in ("RGB", "L"), name
        if name == "mpo":  # the second picture is still reachable through the (relative) MPF index
            stamped = Image.open(io.BytesIO(r.jpeg_bytes))
            assert stamped.n_frames == 2
            stamped.seek(1)
            stamped.load()
            assert stamped.size == (320, 480) or stamped.size == (480, 320)
        if name == "icc":
            assert preview.info.get("icc_profile") == Image.open(io.BytesIO(data)).info["icc_profile"]
