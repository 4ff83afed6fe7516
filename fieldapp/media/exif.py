"""EXIF for evidence: reading the photo's own GPS, writing the device's fix, the intake record.

Design (why the tags end up where they do):

* The GPS IFD of the stored photo holds the **device's fix at capture** whenever one was given:
  that is the position the app vouches for, in the place every viewer and the office look.
  GPSDateStamp/GPSTimeStamp are the fix time in UTC (their meaning in the EXIF standard),
  GPSHPositioningError is the fix accuracy in metres, GPSProcessingMethod says who wrote it.
* The photo's **own GPS** (what the camera wrote) is not lost: its GPS IFD is copied, tag by
  tag with the exact rationals, into the **intake record**, and returned as ``exif_gps``. When
  no device fix is given, the camera's GPS IFD stays exactly where it was.
* The intake record is a JSON object in the Exif IFD's UserComment (character code ``ASCII``):
  ``{"dazu_intake": 1, "captured_at": ..., "device_fix": {...} | null, "camera_gps": {...} |
  null, "camera_user_comment_b64": ... (only when the camera had written a real comment),
  "exif_replaced": bool, "exif_tags_dropped": [...]}``. ``read_intake_record`` reads it back.
  The device's capture time is recorded there; the camera's own DateTimeOriginal is left alone.
* Everything else the camera wrote (Make, Model, Orientation, DateTimeOriginal, exposure,
  MakerNote, the embedded thumbnail...) is re-written unchanged by piexif. piexif does not know
  every private tag: tags outside its tables are dropped from the Exif block (the pixels, the
  JFIF/XMP/ICC/MPF segments and the scan data are untouched).
* When piexif cannot parse the existing block, or cannot write some of its values back, the
  block is rebuilt: values piexif rejects are dropped one by one (listed in the record), and if
  the block cannot be read at all a fresh one is built from what Pillow's more tolerant reader
  can salvage (Make, Model, Orientation, dates, the camera's GPS). ``exif_replaced`` is set.
"""
from __future__ import annotations

import base64
import io
import json
import math
from datetime import datetime, timezone
from typing import Any

import piexif

from .jpeg import EXIF_HEADER, MAX_SEGMENT_PAYLOAD

RECORD_KEY = "dazu_intake"
_ASCII_PREFIX = b"ASCII\x00\x00\x00"
_PROCESSING_METHOD = _ASCII_PREFIX + b"DAZU-FIELDAPP-DEVICE-FIX"
_POINTER_TAGS = {
    "0th": {piexif.ImageIFD.ExifTag, piexif.ImageIFD.GPSTag, piexif.ImageIFD.JPEGInterchangeFormat,
            piexif.ImageIFD.JPEGInterchangeFormatLength},
    "Exif": {piexif.ExifIFD.InteroperabilityTag},
}
_IFDS = ("0th", "Exif", "GPS", "Interop", "1st")


def _empty() -> dict[str, Any]:
    return {"0th": {}, "Exif": {}, "GPS": {}, "Interop": {}, "1st": {}, "thumbnail": None}


# ---------------------------------------------------------------- reading the photo's own GPS
def _ratio(value: Any) -> float | None:
    try:
        if isinstance(value, tuple) and len(value) == 2:
            num, den = value
            if den == 0:
                return None
            return float(num) / float(den)
        f = float(value)
        return f if math.isfinite(f) else None
    except (TypeError, ValueError):
        return None


def _dms(value: Any, ref: Any, negative: bytes) -> float | None:
    if not isinstance(value, tuple) or len(value) == 0:
        return None
    parts = [_ratio(v) for v in value[:3]]
    if any(p is None for p in parts):
        return None
    deg = parts[0] + (parts[1] / 60 if len(parts) > 1 else 0) + (parts[2] / 3600 if len(parts) > 2 else 0)
    if isinstance(ref, str):
        ref = ref.encode("latin-1", "replace")
    if isinstance(ref, bytes) and ref[:1].upper() == negative:
        deg = -deg
    return deg


def gps_position(gps_ifd: dict) -> dict | None:
    """``{"lat", "lon", "alt"}`` (decimal degrees, metres; ``alt`` may be None) from a GPS IFD as
    piexif or Pillow return it; None when there is no usable position."""
    if not gps_ifd:
        return None
    lat = _dms(gps_ifd.get(2), gps_ifd.get(1), b"S")
    lon = _dms(gps_ifd.get(4), gps_ifd.get(3), b"W")
    if lat is None or lon is None or not (-90 <= lat <= 90) or not (-180 <= lon <= 180):
        return None
    alt = _ratio(gps_ifd[6]) if 6 in gps_ifd else None
    if alt is not None:
        ref = gps_ifd.get(5)
        if ref in (1, b"\x01") or (isinstance(ref, bytes) and ref[:1] == b"\x01"):
            alt = -alt
    return {"lat": lat, "lon": lon, "alt": alt}


# ---------------------------------------------------------------- writing the device fix
def _to_dms(value: float) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int]]:
    value = abs(value)
    deg = int(value)
    minutes_full = (value - deg) * 60
    minutes = int(minutes_full)
    micro_seconds = round((minutes_full - minutes) * 60 * 1_000_000)
    if micro_seconds >= 60_000_000:  # rounding carried into the next minute
        micro_seconds -= 60_000_000
        minutes += 1
        if minutes == 60:
            minutes = 0
            deg += 1
    return ((deg, 1), (minutes, 1), (micro_seconds, 1_000_000))


def device_gps_ifd(fix: Any) -> dict[int, Any]:
    """The GPS IFD (piexif form) recording a ``GpsFix``."""
    t = fix.fix_time.astimezone(timezone.utc)
    ifd: dict[int, Any] = {
        piexif.GPSIFD.GPSVersionID: (2, 3, 0, 0),
        piexif.GPSIFD.GPSLatitudeRef: b"S" if fix.lat < 0 else b"N",
        piexif.GPSIFD.GPSLatitude: _to_dms(fix.lat),
        piexif.GPSIFD.GPSLongitudeRef: b"W" if fix.lon < 0 else b"E",
        piexif.GPSIFD.GPSLongitude: _to_dms(fix.lon),
        piexif.GPSIFD.GPSMapDatum: b"WGS-84",
        piexif.GPSIFD.GPSDateStamp: t.strftime("%Y:%m:%d").encode(),
        piexif.GPSIFD.GPSTimeStamp: ((t.hour, 1), (t.minute, 1), (t.second * 1000 + t.microsecond // 1000, 1000)),
        piexif.GPSIFD.GPSProcessingMethod: _PROCESSING_METHOD,
    }
    if fix.altitude is not None:
        ifd[piexif.GPSIFD.GPSAltitudeRef] = 1 if fix.altitude < 0 else 0
        ifd[piexif.GPSIFD.GPSAltitude] = (round(abs(fix.altitude) * 100), 100)
    if fix.accuracy_m is not None:
        ifd[piexif.GPSIFD.GPSHPositioningError] = (round(fix.accuracy_m * 100), 100)
    return ifd


# ---------------------------------------------------------------- JSON-safe copies of IFD values
def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes):
        try:
            text = value.decode("ascii")
            if text.isprintable() or text == "":
                return {"ascii": text}
        except UnicodeDecodeError:
            pass
        return {"b64": base64.b64encode(value).decode()}
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    return value


def _from_jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        if "ascii" in value:
            return value["ascii"].encode("ascii")
        return base64.b64decode(value["b64"])
    if isinstance(value, list):
        return tuple(_from_jsonable(v) for v in value)
    return value


def gps_ifd_to_json(gps_ifd: dict) -> dict[str, Any]:
    return {str(tag): _jsonable(v) for tag, v in sorted(gps_ifd.items())}


def gps_ifd_from_json(obj: dict[str, Any]) -> dict[int, Any]:
    return {int(tag): _from_jsonable(v) for tag, v in obj.items()}


# ---------------------------------------------------------------- loading, repairing, dumping
def load_exif(payload: bytes | None) -> dict[str, Any] | None:
    """piexif's view of an ``Exif\\0\\0`` payload; None when piexif cannot parse it."""
    if payload is None:
        return _empty()
    try:
        exif = piexif.load(payload)
    except Exception:  # piexif raises whatever struct/bytes errors the broken block provokes
        return None
    for name in _IFDS:
        if not isinstance(exif.get(name), dict):
            exif[name] = {}
    return exif


def _dumps_alone(ifd: str, tag: int, value: Any) -> bool:
    target = "0th" if ifd == "1st" else ifd
    probe: dict[str, Any] = {"0th": {}, "Exif": {}, target: {tag: value}}
    try:
        piexif.dump(probe)
        return True
    except Exception:
        return False


def drop_unwritable(exif: dict[str, Any]) -> list[str]:
    """Remove values piexif cannot write back; return their names (``IFD.tag``)."""
    dropped: list[str] = []
    if exif.get("thumbnail") is not None and not isinstance(exif["thumbnail"], bytes):
        exif["thumbnail"] = None
        dropped.append("thumbnail")
    try:
        piexif.dump(exif)
        return dropped
    except Exception:
        pass  # find the values it chokes on
    for ifd in _IFDS:
        for tag in list(exif[ifd]):
            if tag in _POINTER_TAGS.get(ifd, ()):
                continue
            if not _dumps_alone(ifd, tag, exif[ifd][tag]):
                del exif[ifd][tag]
                dropped.append(f"{ifd}.{tag}")
    return dropped


def salvage_exif(jpeg: bytes) -> dict[str, Any]:
    """A fresh piexif dict with what Pillow's tolerant reader gets out of a block piexif rejects:
    enough to keep the photo upright and attributable."""
    from PIL import Image

    fresh = _empty()
    try:
        with Image.open(io.BytesIO(jpeg), formats=["JPEG"]) as im:
            ex = im.getexif()
            zeroth = dict(ex.items())
            try:
                exif_ifd = dict(ex.get_ifd(0x8769).items())
            except Exception:
                exif_ifd = {}
            try:
                gps = dict(ex.get_ifd(0x8825).items())
            except Exception:
                gps = {}
    except Exception:
        return fresh

    def text(v: Any) -> bytes | None:
        if isinstance(v, bytes):
            return v
        if isinstance(v, str):
            return v.encode("utf-8", "replace")
        return None

    for tag in (271, 272, 270, 305, 306, 315, 33432):  # Make, Model, description, software, date, artist, (c)
        v = text(zeroth.get(tag))
        if v is not None:
            fresh["0th"][tag] = v
    orientation = zeroth.get(274)
    if isinstance(orientation, int) and 1 <= orientation <= 8:
        fresh["0th"][274] = orientation
    for tag in (36867, 36868):  # DateTimeOriginal, DateTimeDigitized
        v = text(exif_ifd.get(tag))
        if v is not None:
            fresh["Exif"][tag] = v
    position = gps_position(gps)
    if position is not None:
        fresh["GPS"] = device_like_ifd(position)
    drop_unwritable(fresh)
    return fresh


def device_like_ifd(position: dict) -> dict[int, Any]:
    """A minimal GPS IFD for a salvaged camera position (Pillow gives floats, not rationals)."""
    ifd: dict[int, Any] = {
        piexif.GPSIFD.GPSVersionID: (2, 3, 0, 0),
        piexif.GPSIFD.GPSLatitudeRef: b"S" if position["lat"] < 0 else b"N",
        piexif.GPSIFD.GPSLatitude: _to_dms(position["lat"]),
        piexif.GPSIFD.GPSLongitudeRef: b"W" if position["lon"] < 0 else b"E",
        piexif.GPSIFD.GPSLongitude: _to_dms(position["lon"]),
    }
    if position.get("alt") is not None:
        ifd[piexif.GPSIFD.GPSAltitudeRef] = 1 if position["alt"] < 0 else 0
        ifd[piexif.GPSIFD.GPSAltitude] = (round(abs(position["alt"]) * 100), 100)
    return ifd


def _comment_is_blank(comment: Any) -> bool:
    if not isinstance(comment, bytes):
        return True
    return comment[8:].strip(b"\x00 ") == b""


def build_exif(
    exif: dict[str, Any],
    *,
    fix: Any,
    captured_at: datetime,
    exif_replaced: bool,
    dropped: list[str],
) -> tuple[bytes, list[str]]:
    """Dump the stamped Exif block (``Exif\\0\\0`` + TIFF). Returns (bytes, notes) where notes
    may contain ``exif_thumbnail_dropped`` when the block would not fit one APP1 segment."""
    notes: list[str] = []
    camera_gps = dict(exif["GPS"]) if exif["GPS"] else None
    record: dict[str, Any] = {
        RECORD_KEY: 1,
        "captured_at": captured_at.isoformat(),
        "device_fix": None,
        "camera_gps": None,
        "exif_replaced": exif_replaced,
    }
    if fix is not None:
        record["device_fix"] = {
            "lat": fix.lat,
            "lon": fix.lon,
            "altitude": fix.altitude,
            "accuracy_m": fix.accuracy_m,
            "fix_time": fix.fix_time.isoformat(),
        }
        if camera_gps:
            record["camera_gps"] = gps_ifd_to_json(camera_gps)
        exif["GPS"] = device_gps_ifd(fix)
    comment = exif["Exif"].get(piexif.ExifIFD.UserComment)
    if not _comment_is_blank(comment):
        record["camera_user_comment_b64"] = base64.b64encode(comment).decode()
    if dropped:
        record["exif_tags_dropped"] = dropped
    exif["Exif"][piexif.ExifIFD.UserComment] = _ASCII_PREFIX + json.dumps(
        record, sort_keys=True, separators=(",", ":"), ensure_ascii=True
    ).encode("ascii")
    block = piexif.dump(exif)
    if len(block) > MAX_SEGMENT_PAYLOAD and exif.get("thumbnail"):
        # The embedded thumbnail is a derived copy of the pixels, not evidence; the stamp is.
        exif["thumbnail"] = None
        exif["1st"] = {}
        notes.append("exif_thumbnail_dropped")
        block = piexif.dump(exif)
    if len(block) > MAX_SEGMENT_PAYLOAD:
        raise ValueError("Exif block does not fit one APP1 segment")
    assert block.startswith(EXIF_HEADER)
    return block, notes


def _load_from_jpeg(jpeg: bytes) -> dict[str, Any] | None:
    """piexif's view of a JPEG's Exif segment, found by our own marker walker (piexif's parser
    gives up on legal files, e.g. with fill bytes between segments)."""
    from .jpeg import JpegStructureError, exif_payload, walk

    try:
        payload = exif_payload(jpeg, walk(jpeg))
    except JpegStructureError:
        return None
    return load_exif(payload) if payload is not None else None


def read_intake_record(jpeg: bytes) -> dict[str, Any] | None:
    """The intake record of a stamped photo (see the module docstring), or None."""
    exif = _load_from_jpeg(jpeg)
    if exif is None:
        return None
    comment = exif.get("Exif", {}).get(piexif.ExifIFD.UserComment)
    if not isinstance(comment, bytes) or not comment.startswith(_ASCII_PREFIX):
        return None
    try:
        record = json.loads(comment[8:].decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        return None
    return record if isinstance(record, dict) and record.get(RECORD_KEY) == 1 else None


def read_gps(jpeg: bytes) -> dict | None:
    """The position in a JPEG's GPS IFD (for a stamped photo: the device fix)."""
    exif = _load_from_jpeg(jpeg)
    return gps_position(exif["GPS"]) if exif is not None else None
