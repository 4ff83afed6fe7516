"""JPEG structure at the byte level: header segments, damage in the scan data, Exif splicing.

Nothing here decodes pixels. The walker reads the marker segments up to the first SOS (start of
scan) so that the Exif segment can be swapped without touching a single byte of anything else,
and a regular-expression pass over the entropy-coded data finds markers that may not be there
(a damaged file) or the missing end-of-image marker (a truncated one).
"""
from __future__ import annotations

import re
import struct
from dataclasses import dataclass, field

import piexif

SOI = b"\xff\xd8"
EOI = b"\xff\xd9"
EXIF_HEADER = b"Exif\x00\x00"
MAX_SEGMENT_PAYLOAD = 65533  # 65535 minus the two length bytes

# Markers without a length field: TEM, RST0-7, SOI, EOI.
_STANDALONE = {0x01, *range(0xD0, 0xD8), 0xD8, 0xD9}
# Markers that legitimately appear between scans (progressive and multi-scan files).
_BETWEEN_SCANS = {0xC4, 0xCC, 0xDA, 0xDB, 0xDC, 0xDD, 0xFE, *range(0xE0, 0xF0)}
# Inside entropy-coded data only FF00 (stuffing), FFD0-D7 (restart) and fill FFs are allowed;
# anything else is a marker that ends the scan.
_SCAN_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")


class JpegStructureError(ValueError):
    """The bytes are not a JPEG whose headers can be walked (``truncated`` says whether the data
    simply ended too early)."""

    def __init__(self, message: str, *, truncated: bool) -> None:
        super().__init__(message)
        self.truncated = truncated


@dataclass
class Segment:
    marker: int
    start: int  # offset of the 0xFF of the marker
    end: int  # offset just past the segment

    def payload(self, data: bytes) -> bytes:
        return data[self.start + 4 : self.end]


@dataclass
class JpegLayout:
    segments: list[Segment]  # header segments between SOI and the first SOS (SOS excluded)
    sos_offset: int
    eoi_offset: int | None  # end of the main image; None when the file was cut short
    bad_markers: list[int] = field(default_factory=list)  # offsets of impossible markers in scans

    @property
    def truncated(self) -> bool:
        return self.eoi_offset is None

    @property
    def damaged(self) -> bool:
        return self.truncated or bool(self.bad_markers)

    def exif_segments(self, data: bytes) -> list[Segment]:
        return [s for s in self.segments if s.marker == 0xE1 and data[s.start + 4 : s.start + 10] == EXIF_HEADER]


def _read_marker(data: bytes, pos: int) -> tuple[int, int]:
    """Return (marker, offset of its 0xFF) at ``pos``, skipping fill bytes (0xFF padding)."""
    n = len(data)
    if pos >= n:
        raise JpegStructureError("data ends before the image data", truncated=True)
    if data[pos] != 0xFF:
        raise JpegStructureError(f"expected a marker at offset {pos}", truncated=False)
    while pos < n and data[pos] == 0xFF:
        pos += 1
    if pos >= n:
        raise JpegStructureError("data ends inside a marker", truncated=True)
    return data[pos], pos - 1


def walk(data: bytes) -> JpegLayout:
    """Walk the header segments and scan the entropy-coded data of the main image."""
    if data[:2] != SOI:
        raise JpegStructureError("no JPEG start-of-image marker", truncated=False)
    n = len(data)
    pos = 2
    segments: list[Segment] = []
    while True:
        marker, mpos = _read_marker(data, pos)
        if marker in _STANDALONE:
            if marker in (0xD8, 0xD9):
                raise JpegStructureError("image ends before its first scan", truncated=False)
            pos = mpos + 2
            continue
        if mpos + 4 > n:
            raise JpegStructureError("data ends inside a segment header", truncated=True)
        length = struct.unpack(">H", data[mpos + 2 : mpos + 4])[0]
        if length < 2:
            raise JpegStructureError(f"segment length {length} at offset {mpos}", truncated=False)
        end = mpos + 2 + length
        if end > n:
            raise JpegStructureError("data ends inside a header segment", truncated=True)
        if marker == 0xDA:
            sos_offset = mpos
            pos = end
            break
        segments.append(Segment(marker, mpos, end))
        pos = end
    # Entropy-coded data: follow scans (and the segments between them) until EOI.
    bad: list[int] = []
    eoi: int | None = None
    while True:
        m = _SCAN_MARKER.search(data, pos)
        if m is None:
            break
        mpos = m.start()
        marker = data[mpos + 1]
        if marker == 0xD9:
            eoi = mpos
            break
        if marker in _BETWEEN_SCANS:
            if mpos + 4 > n:
                break
            length = struct.unpack(">H", data[mpos + 2 : mpos + 4])[0]
            if length < 2 or mpos + 2 + length > n:
                bad.append(mpos)
                pos = mpos + 2
                continue
            pos = mpos + 2 + length
            continue
        # A marker that cannot occur here: bit errors in the scan data. Decoders resynchronise at
        # the next restart marker, so the picture may still be mostly fine; it is recorded.
        bad.append(mpos)
        pos = mpos + 2
    return JpegLayout(segments=segments, sos_offset=sos_offset, eoi_offset=eoi, bad_markers=bad)


def exif_payload(data: bytes, layout: JpegLayout) -> bytes | None:
    """The first Exif APP1 payload (starting with ``Exif\\0\\0``), as readers see it."""
    segs = layout.exif_segments(data)
    return segs[0].payload(data) if segs else None


def splice_exif(data: bytes, layout: JpegLayout, exif_bytes: bytes) -> bytes:
    """Put ``exif_bytes`` (``Exif\\0\\0`` + TIFF block) into the JPEG, changing nothing else.

    The Exif segment goes where the old one was (so offsets that other segments, such as an MPF
    index, keep relative to themselves stay valid), or after a leading JFIF APP0 when there was
    none. Every other Exif segment is dropped so that no reader can see a stale copy.

    The write itself is ``piexif.insert``. Called on the whole file its merge step would replace a
    leading JFIF APP0 with the Exif segment (losing the JFIF header) and would leave a second,
    stale Exif segment when the old one is not among the first two segments; so it is given
    only SOI plus the tail that follows the insertion point, where it inserts right after SOI.
    """
    if not exif_bytes.startswith(EXIF_HEADER):
        raise ValueError("exif_bytes must start with Exif\\0\\0")
    if len(exif_bytes) > MAX_SEGMENT_PAYLOAD:
        raise ValueError("Exif block larger than one APP1 segment")
    exif_segs = layout.exif_segments(data)
    if exif_segs:
        insert_at = exif_segs[0].start
    else:
        insert_at = 2
        first = layout.segments[0] if layout.segments else None
        if first is not None and first.marker == 0xE0 and first.start == 2:
            insert_at = first.end
    # Header bytes (between SOI and SOS) before and after the insertion point, old Exif left out.
    sos = layout.sos_offset
    drop = [(seg.start, seg.end) for seg in exif_segs]
    head: list[bytes] = []
    tail: list[bytes] = []
    pos = 2
    for start, end in [*drop, (sos, sos)]:
        if start > pos:
            if start <= insert_at:
                head.append(data[pos:start])
            elif pos >= insert_at:
                tail.append(data[pos:start])
            else:
                head.append(data[pos:insert_at])
                tail.append(data[insert_at:start])
        pos = end
    # piexif.insert sees only the header and a bare SOS marker: the megabytes of scan data are
    # appended once, at the end, instead of being copied through piexif's segment list.
    header = piexif_insert_after_soi(exif_bytes, b"".join(tail) + b"\xff\xda")
    return b"".join([SOI, *head, memoryview(header)[2:-2], memoryview(data)[sos:]])


def piexif_insert_after_soi(exif_bytes: bytes, tail: bytes) -> bytes:
    """``piexif.insert`` on SOI + ``tail``; falls back to the same splice by hand when piexif's
    own segment parser cannot follow the tail (fill bytes between markers, for instance)."""
    if tail[:2] == b"\xff\xe0" or (tail[:2] == b"\xff\xe1" and tail[4:10] == EXIF_HEADER):
        # piexif would replace that segment instead of inserting before it.
        return SOI + _app1(exif_bytes) + tail
    import io

    out = io.BytesIO()
    try:
        piexif.insert(exif_bytes, SOI + tail, out)
    except Exception:  # piexif's parser is stricter than the JPEG standard
        return SOI + _app1(exif_bytes) + tail
    result = out.getvalue()
    expected_len = 2 + 4 + len(exif_bytes) + len(tail)
    if len(result) != expected_len:  # defensive: never accept a merge that changed other bytes
        return SOI + _app1(exif_bytes) + tail
    return result


def _app1(exif_bytes: bytes) -> bytes:
    return b"\xff\xe1" + struct.pack(">H", len(exif_bytes) + 2) + exif_bytes


_SOF_MARKERS = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def frame_size(data: bytes, layout: JpegLayout) -> tuple[int, int] | None:
    """(width, height) from the first start-of-frame header, without decoding anything."""
    for seg in layout.segments:
        if seg.marker in _SOF_MARKERS and seg.end - seg.start >= 9:
            height, width = struct.unpack(">HH", data[seg.start + 5 : seg.start + 9])
            return width, height
    return None
