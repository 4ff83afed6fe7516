"""Photo intake: validate, stamp the device's GPS fix into the original bytes, hash, preview, flag.

See ``fieldapp.media`` for the public API and ``fieldapp.media.exif`` for where each piece of
evidence is written in the file.
"""
from __future__ import annotations

import asyncio
import hashlib
import io
import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Any, Callable

from PIL import Image

from . import exif as exifmod
from .errors import IntakeRefused
from .jpeg import JpegStructureError, exif_payload, frame_size, splice_exif, walk

MiB = 1024 * 1024

# Flag codes recorded with a photo (evidence quality, never a refusal).
FLAG_NO_GPS_FIX = "no_gps_fix"
FLAG_FIX_STALE = "fix_stale"
FLAG_FIX_INACCURATE = "fix_inaccurate"
FLAG_OUTSIDE_DISTRICT = "outside_district"
FLAG_CAPTURE_IN_FUTURE = "capture_in_future"
FLAG_CAPTURE_FAR_FROM_FIX = "capture_far_from_fix"
FLAG_OWN_GPS_FAR_FROM_FIX = "own_gps_far_from_fix"
FLAG_EXIF_REPLACED = "exif_replaced"
FLAG_EXIF_REPAIRED = "exif_repaired"
FLAG_EXIF_THUMBNAIL_DROPPED = "exif_thumbnail_dropped"
FLAG_CONVERTED_FROM_HEIC = "converted_from_heic"
FLAG_DAMAGED = "damaged"

# Every flag a photo can carry; what the user reads about each is ``photos.flag.<flag>`` in the
# phone's catalogues (fieldapp/i18n).
FLAGS: tuple[str, ...] = (
    FLAG_NO_GPS_FIX, FLAG_FIX_STALE, FLAG_FIX_INACCURATE, FLAG_OUTSIDE_DISTRICT, FLAG_CAPTURE_IN_FUTURE,
    FLAG_CAPTURE_FAR_FROM_FIX, FLAG_OWN_GPS_FAR_FROM_FIX, FLAG_EXIF_REPLACED, FLAG_EXIF_REPAIRED,
    FLAG_EXIF_THUMBNAIL_DROPPED, FLAG_CONVERTED_FROM_HEIC, FLAG_DAMAGED,
)


@dataclass(frozen=True)
class GpsFix:
    """The phone's location fix used for a photo (WGS-84)."""

    lat: float
    lon: float
    altitude: float | None = None
    accuracy_m: float | None = None
    fix_time: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    def __post_init__(self) -> None:
        for name in ("lat", "lon"):
            v = getattr(self, name)
            if not isinstance(v, (int, float)) or not math.isfinite(v):
                raise ValueError(f"GpsFix.{name} must be a finite number")
        if not -90 <= self.lat <= 90 or not -180 <= self.lon <= 180:
            raise ValueError("GpsFix latitude/longitude out of range")
        for name in ("altitude", "accuracy_m"):
            v = getattr(self, name)
            if v is not None and (not isinstance(v, (int, float)) or not math.isfinite(v)):
                raise ValueError(f"GpsFix.{name} must be a finite number or None")
        if self.accuracy_m is not None and self.accuracy_m < 0:
            raise ValueError("GpsFix.accuracy_m must not be negative")
        if self.fix_time.tzinfo is None:
            raise ValueError("GpsFix.fix_time must be timezone-aware")


@dataclass(frozen=True)
class IntakeSettings:
    max_bytes: int = 40 * MiB
    max_pixels: int = 60_000_000
    fix_max_age: timedelta = timedelta(seconds=120)
    accuracy_max_m: float = 50.0
    district_padding_deg: float = 0.05
    capture_fix_skew_max: timedelta = timedelta(minutes=10)
    capture_future_tolerance: timedelta = timedelta(minutes=5)
    own_gps_max_distance_m: float = 500.0
    preview_px: int = 1600
    # The reduced decode (1/2, 1/4, 1/8 scale) already lands near preview_px; resampling the
    # last <30% costs about a third of the intake, so a draft result up to preview_px * 1.3 is
    # kept as it is (a 12-MP 4:3 photo gives a 2000 x 1500 preview). 1.0 means exactly preview_px.
    preview_max_oversize: float = 1.3
    thumb_px: int = 256
    preview_quality: int = 85
    thumb_quality: int = 80
    heic_jpeg_quality: int = 92
    # A truncated photo is kept (flag ``damaged``) when at most this share of it is lost.
    max_lost_fraction: float = 0.5


@dataclass
class IntakeResult:
    sha256: str
    jpeg_bytes: bytes
    preview_jpeg: bytes
    thumb_jpeg: bytes
    width: int
    height: int
    orientation: int
    exif_gps: dict | None
    flags: list[str]
    exif_replaced: bool
    converted_from: str | None = None
    original_bytes: bytes | None = None
    captured_at: datetime | None = None
    fix: GpsFix | None = None
    preview_size: tuple[int, int] = (0, 0)
    thumb_size: tuple[int, int] = (0, 0)

    def as_json(self) -> dict[str, Any]:
        """The row fields a store keeps (everything except the bytes)."""
        return {
            "sha256": self.sha256,
            "width": self.width,
            "height": self.height,
            "orientation": self.orientation,
            "exif_gps": self.exif_gps,
            "flags": list(self.flags),
            "exif_replaced": self.exif_replaced,
            "converted_from": self.converted_from,
            "bytes": len(self.jpeg_bytes),
            "captured_at": self.captured_at.isoformat() if self.captured_at else None,
            "fix": None
            if self.fix is None
            else {
                "lat": self.fix.lat,
                "lon": self.fix.lon,
                "altitude": self.fix.altitude,
                "accuracy_m": self.fix.accuracy_m,
                "fix_time": self.fix.fix_time.isoformat(),
            },
        }


Progress = Callable[[str, float], None]

# Orientation -> the transpose that makes the picture upright (same table as ImageOps.exif_transpose).
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}

_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs", b"mif1", b"msf1"}


# ---------------------------------------------------------------- district extent
@lru_cache(maxsize=1)
def default_district_extent() -> dict[str, float]:
    """Dazu's approximate extent (unpadded) from the divisions data."""
    from claimcore.divisions import load_divisions

    extent = load_divisions().approx_extent
    return {k: float(extent[k]) for k in ("lat_min", "lat_max", "lon_min", "lon_max")}


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine, mean Earth radius)."""
    r = 6_371_008.8
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(min(1.0, math.sqrt(a)))


def evidence_flags(
    fix: GpsFix | None,
    captured_at: datetime,
    exif_gps: dict | None,
    settings: IntakeSettings,
    district_extent: dict[str, float] | None,
    now: datetime,
) -> list[str]:
    """Flags about where and when (the file-level ones are added by ``intake_photo``)."""
    flags: list[str] = []
    if captured_at > now + settings.capture_future_tolerance:
        flags.append(FLAG_CAPTURE_IN_FUTURE)
    if fix is None:
        flags.append(FLAG_NO_GPS_FIX)
        return flags
    if captured_at - fix.fix_time > settings.fix_max_age:
        flags.append(FLAG_FIX_STALE)
    # Unknown accuracy proves nothing about the position, so it counts as inaccurate.
    if fix.accuracy_m is None or fix.accuracy_m > settings.accuracy_max_m:
        flags.append(FLAG_FIX_INACCURATE)
    ext = district_extent if district_extent is not None else default_district_extent()
    pad = settings.district_padding_deg
    if not (ext["lat_min"] - pad <= fix.lat <= ext["lat_max"] + pad and ext["lon_min"] - pad <= fix.lon <= ext["lon_max"] + pad):
        flags.append(FLAG_OUTSIDE_DISTRICT)
    if abs(captured_at - fix.fix_time) > settings.capture_fix_skew_max:
        flags.append(FLAG_CAPTURE_FAR_FROM_FIX)
    if exif_gps is not None and distance_m(exif_gps["lat"], exif_gps["lon"], fix.lat, fix.lon) > settings.own_gps_max_distance_m:
        flags.append(FLAG_OWN_GPS_FAR_FROM_FIX)
    return flags


# ---------------------------------------------------------------- format sniffing
def _sniff(data: bytes) -> str:
    if data[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if len(data) >= 12 and data[4:8] == b"ftyp":
        brand = data[8:12]
        if brand in _HEIF_BRANDS:
            return "heif"
        if brand in (b"avif", b"avis"):
            return "other_image"
        return "not_image"  # MP4/MOV and other ISO-BMFF files
    if data[:8] == b"\x89PNG\r\n\x1a\n" or data[:6] in (b"GIF87a", b"GIF89a"):
        return "other_image"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "other_image"
    if data[:4] in (b"II*\x00", b"MM\x00*") or data[:2] == b"BM":
        return "other_image"
    if data[:2] == b"\xff\xd8":  # SOI without a marker after it: a JPEG that is not one
        return "jpeg"
    return "not_image"


def _convert_heif(data: bytes, settings: IntakeSettings) -> tuple[bytes, bytes | None]:
    """HEIC/HEIF -> (JPEG bytes carrying the HEIC's EXIF, that EXIF)."""
    try:
        import pillow_heif  # type: ignore[import-untyped]
    except ImportError:
        raise IntakeRefused("heic_unsupported") from None
    try:
        heif = pillow_heif.open_heif(io.BytesIO(data), convert_hdr_to_8bit=True)
        w, h = heif.size
    except Exception:
        raise IntakeRefused("heic_unreadable") from None
    if w * h > settings.max_pixels:
        raise IntakeRefused("too_many_pixels", pixels=w * h, limit=settings.max_pixels)
    try:
        # pillow-heif applies the HEIF rotation/mirroring and removes the EXIF orientation, so
        # the pixels come out upright and the JPEG needs no orientation tag.
        im = heif.to_pillow()
        heif_exif = heif.info.get("exif")
        icc = heif.info.get("icc_profile")
        if im.mode not in ("RGB", "L"):
            im = im.convert("RGB")
        out = io.BytesIO()
        kwargs: dict[str, Any] = {"quality": settings.heic_jpeg_quality}
        if icc:
            kwargs["icc_profile"] = icc
        im.save(out, "JPEG", **kwargs)
    except IntakeRefused:
        raise
    except Exception:
        raise IntakeRefused("heic_unreadable") from None
    if heif_exif and not heif_exif.startswith(b"Exif\x00\x00"):
        heif_exif = b"Exif\x00\x00" + heif_exif
    return out.getvalue(), heif_exif or None


# ---------------------------------------------------------------- decoding the derived copies
def _draft_box(stored_w: int, stored_h: int, orientation: int, target: int) -> tuple[int, int]:
    """The draft box in the stored (not yet rotated) frame, matching the photo's aspect ratio.

    ``Image.draft`` only reduces by a scale that keeps both sides at least as large as the box,
    so a square or wrongly oriented box would make libjpeg decode at full size."""
    up_w, up_h = (stored_h, stored_w) if orientation in (5, 6, 7, 8) else (stored_w, stored_h)
    scale = min(1.0, target / max(up_w, up_h))
    box_up = (max(1, math.ceil(up_w * scale)), max(1, math.ceil(up_h * scale)))
    return (box_up[1], box_up[0]) if orientation in (5, 6, 7, 8) else box_up


def _lost_fraction(im: Image.Image) -> float:
    """Share of rows at the bottom that libjpeg filled with flat grey for missing data."""
    w, h = im.size

    def grey(row: int) -> bool:
        ext = im.crop((0, row, w, row + 1)).getextrema()
        if im.mode == "L":
            return ext == (128, 128)
        return all(e == (128, 128) for e in ext)

    if not grey(h - 1):
        return 0.0
    lo, hi = 0, h - 1  # find the first grey row of the grey tail
    while lo < hi:
        mid = (lo + hi) // 2
        if grey(mid):
            hi = mid
        else:
            lo = mid + 1
    return (h - lo) / h


def _decode_preview(data: bytes, orientation: int, settings: IntakeSettings, repair: bool) -> tuple[Image.Image, float]:
    source = data + b"\xff\xd9" if repair else data
    im = Image.open(io.BytesIO(source), formats=["JPEG"])
    im.draft("RGB", _draft_box(im.size[0], im.size[1], orientation, settings.preview_px))
    im.load()
    lost = _lost_fraction(im) if repair else 0.0
    if im.mode not in ("RGB", "L"):
        im = im.convert("RGB")
    if max(im.size) > settings.preview_px * max(1.0, settings.preview_max_oversize):
        # BOX (area averaging) is the proper filter for the small (<2x) reduction left after
        # the draft, and the cheapest one.
        im.thumbnail((settings.preview_px, settings.preview_px), Image.Resampling.BOX, reducing_gap=None)
    if orientation in _TRANSPOSE:
        im = im.transpose(_TRANSPOSE[orientation])
    return im, lost


def _encode(im: Image.Image, quality: int, icc: bytes | None) -> bytes:
    out = io.BytesIO()
    if icc:  # wide-gamut phone photos (Display P3) keep their colours in the derived copies
        im.save(out, "JPEG", quality=quality, icc_profile=icc)
    else:
        im.save(out, "JPEG", quality=quality)
    return out.getvalue()


# ---------------------------------------------------------------- the intake
def intake_photo(
    data: bytes,
    fix: GpsFix | None,
    captured_at: datetime,
    settings: IntakeSettings = IntakeSettings(),
    *,
    district_extent: dict[str, float] | None = None,
    now: datetime | None = None,
    progress: Progress | None = None,
) -> IntakeResult:
    """Validate and stamp one photo. Raises ``IntakeRefused`` (nothing to store) or returns the
    stamped bytes, the derived copies and the evidence flags. Pure function of its inputs: the
    same photo, fix and capture time give the same bytes and hash."""
    if captured_at.tzinfo is None:
        raise ValueError("captured_at must be timezone-aware")
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError("data must be bytes")
    data = bytes(data)
    report = progress or (lambda stage, fraction: None)
    if len(data) == 0:
        raise IntakeRefused("empty")
    if len(data) > settings.max_bytes:
        raise IntakeRefused("too_large", limit_mib=settings.max_bytes // MiB)

    flags: list[str] = []
    kind = _sniff(data)
    converted_from = None
    original_bytes = None
    heif_exif = None
    if kind == "heif":
        original_bytes = data
        data, heif_exif = _convert_heif(data, settings)
        converted_from = "heic"
        flags.append(FLAG_CONVERTED_FROM_HEIC)
    elif kind == "other_image":
        raise IntakeRefused("not_jpeg")
    elif kind == "not_image":
        raise IntakeRefused("not_an_image")
    report("validated", 0.1)

    # Structure first (cheap, no decoding): where the Exif segment is, whether the scan is whole.
    try:
        layout = walk(data)
    except JpegStructureError as e:
        raise IntakeRefused("truncated" if e.truncated else "corrupt") from None

    # Header only: the pixel cap is enforced before a single pixel is decoded.
    declared = frame_size(data, layout)
    if declared is None:
        raise IntakeRefused("corrupt")
    if declared[0] * declared[1] > settings.max_pixels:
        raise IntakeRefused("too_many_pixels", pixels=declared[0] * declared[1], limit=settings.max_pixels)
    # (Pillow itself raises DecompressionBombError far above our cap and only warns between.)
    try:
        header = Image.open(io.BytesIO(data), formats=["JPEG"])
        stored_w, stored_h = header.size
        header.close()
    except Image.DecompressionBombError:
        raise IntakeRefused("too_many_pixels", pixels="?", limit=settings.max_pixels) from None
    except Exception:
        raise IntakeRefused("corrupt") from None
    if stored_w * stored_h > settings.max_pixels:
        raise IntakeRefused("too_many_pixels", pixels=stored_w * stored_h, limit=settings.max_pixels)
    if stored_w == 0 or stored_h == 0:
        raise IntakeRefused("corrupt")

    # EXIF: the camera's block as piexif sees it, repaired or rebuilt when it must be.
    exif_replaced = False
    if heif_exif is not None:
        exif = exifmod.load_exif(heif_exif)
        if exif is not None:
            exif["0th"].pop(274, None)  # pixels were already made upright by the conversion
    else:
        exif = exifmod.load_exif(exif_payload(data, layout))
    if exif is None:
        exif = exifmod.salvage_exif(data)
        exif_replaced = True
        dropped: list[str] = []
    else:
        dropped = exifmod.drop_unwritable(exif)
    orientation = exif["0th"].get(274, 1)
    if not isinstance(orientation, int) or not 1 <= orientation <= 8:
        orientation = 1  # viewers ignore a nonsense value too; the camera's tag is left as it is
    exif_gps = exifmod.gps_position(exif["GPS"])
    try:
        block, notes = exifmod.build_exif(exif, fix=fix, captured_at=captured_at, exif_replaced=exif_replaced, dropped=dropped)
    except Exception:
        # The repaired block still would not write (or fit): rebuild from the salvage.
        exif = exifmod.salvage_exif(data)
        if orientation != 1:
            exif["0th"][274] = orientation
        exif_replaced = True
        block, notes = exifmod.build_exif(exif, fix=fix, captured_at=captured_at, exif_replaced=True, dropped=[])
    stamped = splice_exif(data, layout, block)
    report("stamped", 0.3)
    sha = hashlib.sha256(stamped).hexdigest()

    # Derived copies: a reduced decode (Image.draft), never the full-size one.
    repair = layout.truncated
    try:
        preview, lost = _decode_preview(data, orientation, settings, repair)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise IntakeRefused("truncated" if layout.truncated else "corrupt") from None
    if lost > settings.max_lost_fraction:
        raise IntakeRefused("truncated")
    icc = preview.info.get("icc_profile")
    preview_jpeg = _encode(preview, settings.preview_quality, icc)
    preview_size = preview.size
    report("preview", 0.8)
    thumb = preview  # the preview is encoded already: shrink it in place, no copy
    thumb.thumbnail((settings.thumb_px, settings.thumb_px), Image.Resampling.BICUBIC, reducing_gap=2.0)
    thumb_jpeg = _encode(thumb, settings.thumb_quality, icc)

    if exif_replaced:
        flags.append(FLAG_EXIF_REPLACED)
    elif dropped:
        flags.append(FLAG_EXIF_REPAIRED)
    flags.extend(notes)
    if layout.damaged:
        flags.append(FLAG_DAMAGED)
    now = now or datetime.now(timezone.utc)
    flags.extend(evidence_flags(fix, captured_at, exif_gps, settings, district_extent, now))
    up_w, up_h = (stored_h, stored_w) if orientation in (5, 6, 7, 8) else (stored_w, stored_h)
    report("done", 1.0)
    return IntakeResult(
        sha256=sha,
        jpeg_bytes=stamped,
        preview_jpeg=preview_jpeg,
        thumb_jpeg=thumb_jpeg,
        width=up_w,
        height=up_h,
        orientation=orientation,
        exif_gps=exif_gps,
        flags=flags,
        exif_replaced=exif_replaced,
        converted_from=converted_from,
        original_bytes=original_bytes,
        captured_at=captured_at,
        fix=fix,
        preview_size=preview_size,
        thumb_size=thumb.size,
    )


async def intake_photo_async(
    data: bytes,
    fix: GpsFix | None,
    captured_at: datetime,
    settings: IntakeSettings = IntakeSettings(),
    *,
    district_extent: dict[str, float] | None = None,
    now: datetime | None = None,
    progress: Progress | None = None,
    files: Any = None,
) -> IntakeResult:
    """``intake_photo`` in a worker thread (Pillow and hashlib release the GIL), so the UI stays
    responsive. ``progress(stage, fraction)`` is called on the event loop's thread. With
    ``files`` (a ``PhotoFiles``) the result is also saved there in the same worker."""
    loop = asyncio.get_running_loop()

    def report(stage: str, fraction: float) -> None:
        if progress is not None:
            loop.call_soon_threadsafe(progress, stage, fraction)

    def work() -> IntakeResult:
        result = intake_photo(data, fix, captured_at, settings, district_extent=district_extent, now=now, progress=report)
        if files is not None:
            files.save(result)
            report("saved", 1.0)
        return result

    return await asyncio.to_thread(work)
