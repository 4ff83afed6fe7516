"""Photo intake for site photos (evidence): pure Python + Pillow, piexif, pillow-heif; no Flet.

Public API::

    GpsFix(lat, lon, altitude=None, accuracy_m=None, fix_time=<aware datetime>)
    IntakeSettings(max_bytes=40 MiB, max_pixels=60_000_000, fix_max_age=120 s,
                   accuracy_max_m=50, district_padding_deg=0.05, capture_fix_skew_max=10 min,
                   capture_future_tolerance=5 min, own_gps_max_distance_m=500,
                   preview_px=1600, preview_max_oversize=1.3, thumb_px=256, ...)
    intake_photo(data, fix, captured_at, settings=IntakeSettings(), *, district_extent=None,
                 now=None, progress=None) -> IntakeResult          (raises IntakeRefused)
    async intake_photo_async(..., progress=None, files=None) -> IntakeResult   (worker thread)
    IntakeResult: sha256, jpeg_bytes (stamped), preview_jpeg, thumb_jpeg, width, height
                  (upright), orientation, exif_gps (the photo's own GPS before stamping:
                  {"lat","lon","alt"} or None), flags, exif_replaced, converted_from ("heic" or
                  None), original_bytes (the HEIC when converted), captured_at, fix, as_json()
    IntakeRefused(code): .code, .message("zh"|"en"); codes (errors.CODES): empty, not_an_image, not_jpeg,
                  heic_unsupported, heic_unreadable, truncated, corrupt, too_many_pixels,
                  too_large (and not_a_file, unreadable, timeout from the inspect command)
    PhotoFiles(root): save(result) -> {kind: Path}, has(sha), path(sha, kind),
                  open_original(sha), verify(sha), remove(sha)
    read_intake_record(jpeg_bytes) -> dict | None, read_gps(jpeg_bytes) -> dict | None

What happens to a photo:

1. Refusals (nothing stored): empty; more than ``max_bytes`` (checked on the length, first);
   PNG/GIF/WebP/TIFF/BMP/AVIF -> ``not_jpeg`` (only JPEG, and HEIC which is converted);
   anything else -> ``not_an_image``; a frame header over ``max_pixels`` -> ``too_many_pixels``
   (read from the SOF segment before any decoding: decompression bombs never reach libjpeg);
   headers that end early -> ``truncated``, that make no sense -> ``corrupt``.
2. HEIC/HEIF: converted to JPEG with pillow-heif (upright pixels, the HEIC's EXIF carried over),
   the HEIC kept as ``original_bytes``; flag ``converted_from_heic``. Without pillow-heif:
   ``heic_unsupported`` tells the user to set the iPhone camera to "Most Compatible".
3. Stamping (``fieldapp.media.exif`` explains where each value goes): the device fix goes into
   the GPS IFD; the camera's own GPS goes into the intake record (UserComment JSON) and
   ``exif_gps``; other tags are kept. The new Exif segment replaces the old one in place with
   ``piexif.insert``; no other byte changes, so the decoded pixels are identical.
4. Identity: SHA-256 of the stamped bytes (``PhotoFiles`` names files by it).
5. Preview (~1600 px) and thumbnail (256 px): upright, decoded with ``Image.draft`` and an
   aspect-matched box in the stored frame (so libjpeg decodes at 1/2..1/8 scale). A reduced
   decode whose long side is within 1600..2080 px (``preview_max_oversize``) is kept as it is
   (a 12-MP 4:3 photo gives 2000x1500); larger ones are area-averaged to 1600. Both carry the
   photo's ICC profile and no EXIF.
6. Damage: impossible markers in the scan data, or a missing end (truncation) -> flag
   ``damaged``; a truncated file is decoded from a copy with an end marker appended and refused
   as ``truncated`` when more than ``max_lost_fraction`` of the picture is missing.
7. Evidence flags: no_gps_fix, fix_stale, fix_inaccurate (accuracy unknown counts as
   inaccurate), outside_district (padded ``approx_extent``), capture_in_future,
   capture_far_from_fix, own_gps_far_from_fix, exif_replaced, exif_repaired,
   exif_thumbnail_dropped, converted_from_heic, damaged (``FLAGS``; their labels are
   ``photos.flag.<flag>`` in the phone's catalogues).
"""
from .errors import IntakeRefused
from .exif import read_gps, read_intake_record
from .files import PhotoFiles
from .intake import (
    FLAGS,
    GpsFix,
    IntakeResult,
    IntakeSettings,
    default_district_extent,
    distance_m,
    intake_photo,
    intake_photo_async,
)

__all__ = [
    "FLAGS",
    "GpsFix",
    "IntakeRefused",
    "IntakeResult",
    "IntakeSettings",
    "PhotoFiles",
    "default_district_extent",
    "distance_m",
    "intake_photo",
    "intake_photo_async",
    "read_gps",
    "read_intake_record",
]
