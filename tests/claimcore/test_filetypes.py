"""claimcore.filetypes: a scan's type comes from its bytes, never from its name."""
from __future__ import annotations

from pathlib import Path

import pytest

from claimcore.filetypes import (
    MAX_SCAN_BYTES,
    ScanTooLargeError,
    ScanTypeError,
    check_scan,
    sniff_scan,
)

PHOTOS = Path(__file__).resolve().parents[1] / "media" / "photos"
JPEGS = sorted(PHOTOS.glob("*.jpg"))


def test_the_corpus_is_there():
    assert len(JPEGS) >= 10 and (PHOTOS / "heic__IMG_5195.HEIC").is_file()


@pytest.mark.parametrize("path", JPEGS, ids=lambda p: p.name)
def test_corpus_jpegs_are_jpeg(path):
    # Damaged and odd JPEGs too: the header says JPEG, the photo pipeline judges the rest.
    assert sniff_scan(path.read_bytes()) == "image/jpeg"


def test_corpus_heic_is_heic():
    assert sniff_scan((PHOTOS / "heic__IMG_5195.HEIC").read_bytes()) == "image/heic"


def test_png_and_pdf():
    assert sniff_scan(b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR") == "image/png"
    assert sniff_scan(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj") == "application/pdf"


@pytest.mark.parametrize("brand", [b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"])
def test_heif_brands(brand):
    box = b"\x00\x00\x00\x18ftyp" + brand + b"\x00\x00\x00\x00" + b"isommp42"
    assert sniff_scan(box + b"\x00" * 64) == "image/heic"


def test_heif_brand_among_the_compatible_brands():
    box = b"\x00\x00\x00\x1cftypXXXX\x00\x00\x00\x00isommp42mif1"
    assert sniff_scan(box) == "image/heic"


@pytest.mark.parametrize("data", [
    "营业执照\n这是一个文本文件，不是扫描件".encode(),  # a text file
    b"hello, this is plain text\n",
    b"<html><body>not a scan</body></html>",
    b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00isomavc1",  # an MP4 video: ftyp, but no HEIF brand
    b"\x00\x00\x00\x18ftypqt  ",  # QuickTime
    b"GIF89a\x01\x00\x01\x00",
    b"PK\x03\x04",  # a zip / docx
], ids=["text-zh", "text-en", "html", "mp4", "quicktime", "gif", "zip"])
def test_other_files_are_refused(data):
    with pytest.raises(ScanTypeError) as exc:
        sniff_scan(data)
    assert exc.value.zh == "扫描件只能是图片（JPEG、PNG、HEIC）或 PDF 文件"
    assert exc.value.en == "A scan must be an image (JPEG, PNG, HEIC) or a PDF"
    assert exc.value.message("zh") == exc.value.zh and exc.value.message("en") == exc.value.en
    assert exc.value.code == "unsupported_scan_type"
    assert isinstance(exc.value, ValueError)


def test_the_corpus_readme_is_refused():
    with pytest.raises(ScanTypeError):
        sniff_scan((PHOTOS / "README.md").read_bytes())


@pytest.mark.parametrize("data", [
    b"\xff\xd8",  # JPEG cut after two bytes
    b"\x89PNG\r\n",  # PNG signature cut short
    b"%PDF",  # no dash
    b"\x00\x00\x00\x18ftyp",  # ftyp box without its brand
    b"\x00\x00\x00\x18ftyphei",
    b"\x00\x00\x00\x08ftypheic",  # a box too small to be an ftyp box
], ids=["jpeg2", "png6", "pdf4", "ftyp-no-brand", "ftyp-short-brand", "ftyp-tiny-box"])
def test_truncated_headers_are_refused(data):
    with pytest.raises(ScanTypeError):
        sniff_scan(data)


def test_empty_file_is_refused():
    with pytest.raises(ScanTypeError) as exc:
        sniff_scan(b"")
    assert exc.value.zh and exc.value.en and exc.value.code == "unsupported_scan_type"


def test_not_bytes_is_refused():
    with pytest.raises(ScanTypeError):
        sniff_scan("%PDF-1.7")  # type: ignore[arg-type]


def test_size_cap():
    assert MAX_SCAN_BYTES == 20 * 1024 * 1024
    at_cap = b"%PDF-" + b"\x00" * (MAX_SCAN_BYTES - 5)
    assert check_scan(at_cap) == "application/pdf"
    with pytest.raises(ScanTooLargeError) as exc:
        check_scan(at_cap + b"\x00")
    assert exc.value.code == "scan_too_large" and "20" in exc.value.zh and "20" in exc.value.en
    assert isinstance(exc.value, ValueError)
    with pytest.raises(ScanTypeError):
        check_scan(b"just text")
