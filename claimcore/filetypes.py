"""What a document scan is, decided from its bytes (never from a file name): the one rule the phone
and the server both apply.

    sniff_scan(data) -> "image/jpeg" | "image/png" | "image/heic" | "application/pdf"
        raises ScanTypeError for anything else (a text file, a truncated header, an empty file)
    check_scan(data) -> the same content type, after also refusing more than MAX_SCAN_BYTES
        (ScanTooLargeError)
    MAX_SCAN_BYTES   20 MiB: the largest scan a phone stores and the server accepts

Both errors are ValueErrors carrying ``.code`` (the server's error code), ``.zh`` and ``.en``
(texts for the user) and ``message(lang)``.

Magic numbers:
    JPEG  FF D8 FF
    PNG   89 50 4E 47 0D 0A 1A 0A
    HEIC  an ISO-BMFF ``ftyp`` box at offset 4 whose major brand, or one of its compatible
          brands, is heic, heix, hevc, hevx, heim, heis, mif1 or msf1
    PDF   ``%PDF-``
"""
from __future__ import annotations

MAX_SCAN_BYTES = 20 * 1024 * 1024

JPEG = "image/jpeg"
PNG = "image/png"
HEIC = "image/heic"
PDF = "application/pdf"
SCAN_TYPES: tuple[str, ...] = (JPEG, PNG, HEIC, PDF)

_JPEG_MAGIC = b"\xff\xd8\xff"
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_PDF_MAGIC = b"%PDF-"
HEIF_BRANDS = frozenset({b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"})
_MAX_FTYP_BOX = 4096  # an ftyp box lists a handful of brands; a bigger "size" is not a HEIC header


class ScanError(ValueError):
    """A scan that cannot be accepted. ``code`` is the server's error code."""

    code = "invalid_scan"

    def __init__(self, zh: str, en: str):
        self.zh = zh
        self.en = en
        super().__init__(en)

    def message(self, lang: str = "zh") -> str:
        return self.zh if lang == "zh" else self.en


class ScanTypeError(ScanError):
    """Not a JPEG, PNG, HEIC or PDF (judged by the bytes), or empty."""

    code = "unsupported_scan_type"
    ZH = "扫描件只能是图片（JPEG、PNG、HEIC）或 PDF 文件"
    EN = "A scan must be an image (JPEG, PNG, HEIC) or a PDF"

    def __init__(self, zh: str | None = None, en: str | None = None):
        super().__init__(zh or self.ZH, en or self.EN)


class ScanTooLargeError(ScanError):
    code = "scan_too_large"

    def __init__(self, size: int | None = None):
        mib = MAX_SCAN_BYTES // (1024 * 1024)
        super().__init__(f"扫描件太大，最大 {mib} MB", f"A scan may be at most {mib} MB")
        self.size = size


def _heif_brand(data: bytes) -> bool:
    if len(data) < 12 or data[4:8] != b"ftyp":
        return False
    box = int.from_bytes(data[0:4], "big")
    if box < 16 or box > _MAX_FTYP_BOX:
        # 16: size, "ftyp", major brand, minor version; anything smaller is not an ftyp box
        return False
    major = data[8:12]
    if major in HEIF_BRANDS:
        return True
    compatible = data[16:min(box, len(data))]
    return any(compatible[i:i + 4] in HEIF_BRANDS for i in range(0, len(compatible) - 3, 4))


def sniff_scan(data: bytes | bytearray | memoryview) -> str:
    """The content type of a scan from its first bytes; ScanTypeError when it is none we accept."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ScanTypeError()
    head = bytes(data[:_MAX_FTYP_BOX])
    if not head:
        raise ScanTypeError("扫描件是空文件", "The scan is an empty file")
    if head.startswith(_JPEG_MAGIC):
        return JPEG
    if head.startswith(_PNG_MAGIC):
        return PNG
    if head.startswith(_PDF_MAGIC):
        return PDF
    if _heif_brand(head):
        return HEIC
    raise ScanTypeError()


def check_scan(data: bytes | bytearray | memoryview) -> str:
    """``sniff_scan`` after the size cap: what the phone checks before it stores a scan."""
    if isinstance(data, (bytes, bytearray, memoryview)) and len(data) > MAX_SCAN_BYTES:
        raise ScanTooLargeError(len(data))
    return sniff_scan(data)


__all__ = ["HEIF_BRANDS", "MAX_SCAN_BYTES", "SCAN_TYPES", "ScanError", "ScanTooLargeError", "ScanTypeError",
           "check_scan", "sniff_scan"]
