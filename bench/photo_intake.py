"""Benchmark: photo intake (stamp + hash + preview + thumbnail) vs one full decode of the same photo.

    python -m bench.photo_intake [--quick] [--rounds N] [--out PATH]

Photos: generated 12-MP (4000x3000) and 3-MP (2000x1500) JPEGs with camera-like content (smooth
gradients, coarse and fine noise, hard-edged shapes; quality 90, 4:2:0) and camera-like EXIF
(Make/Model/dates/exposure, an embedded thumbnail; half of them orientation 6), plus every real
sample in ../shared/corpus/photos (or the copy in tests/media/photos). For each photo, rounds
alternate the two measurements in the same process: the baseline is ``Image.open`` + ``load()``
(one full decode), the candidate is ``intake_photo`` with a device fix. Per group: median and p95
milliseconds of each; ``ratio`` = the median, over every round of every photo in the group, of
(intake time / decode time of the same photo measured right next to it), which cancels most of the
load other processes put on a shared machine; ``ratio_of_medians`` is also given. Goal: ratio <= 1.2
for 12-MP.

The benchmark also asserts, outside the timed part, that every stamped photo decodes to exactly
the same pixels as its original. One JSON line goes to stdout and to bench/results/photo_intake.json.
``--quick`` uses small stand-ins (a smoke run, not a measurement).
"""
from __future__ import annotations

import argparse
import io
import json
import random
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import piexif
from PIL import Image, ImageDraw, ImageFilter

from fieldapp.media import GpsFix, IntakeRefused, IntakeSettings, intake_photo

ROOT = Path(__file__).resolve().parents[1]
CORPUS_DIRS = [ROOT.parent / "shared" / "corpus" / "photos", ROOT / "tests" / "media" / "photos"]
GOAL_RATIO_12MP = 1.2
EXACT_1600 = IntakeSettings(preview_max_oversize=1.0)


def synthetic_photo(size: tuple[int, int], seed: int, orientation: int = 1) -> bytes:
    """A JPEG that compresses like a real photo (not a flat colour) with camera-like EXIF."""
    rng = random.Random(seed)
    w, h = size
    small = (max(8, w // 16), max(8, h // 16))
    channels = []
    for c in range(3):
        grad = Image.linear_gradient("L").rotate(rng.uniform(0, 360)).resize(small)
        blotches = Image.effect_noise(small, 60 + 20 * c).filter(ImageFilter.GaussianBlur(2))
        channels.append(Image.blend(grad, blotches, 0.5).resize(size, Image.Resampling.BICUBIC))
    im = Image.merge("RGB", channels)
    draw = ImageDraw.Draw(im)
    for _ in range(120):  # edges: buildings, debris, people
        x0, y0 = rng.randrange(w), rng.randrange(h)
        x1, y1 = x0 + rng.randrange(w // 40 + 1, w // 6 + 2), y0 + rng.randrange(h // 40 + 1, h // 6 + 2)
        colour = tuple(rng.randrange(256) for _ in range(3))
        if rng.random() < 0.5:
            draw.rectangle((x0, y0, x1, y1), fill=colour)
        else:
            draw.line((x0, y0, x1, y1), fill=colour, width=rng.randrange(1, 12))
    grain = Image.effect_noise(size, 18).convert("RGB")  # sensor noise and fine texture
    im = Image.blend(im, grain, 0.25)
    thumb = im.resize((160, 120))
    tbuf = io.BytesIO()
    thumb.save(tbuf, "JPEG", quality=75)
    exif = {
        "0th": {
            piexif.ImageIFD.Make: b"BenchCam",
            piexif.ImageIFD.Model: b"Field 12",
            piexif.ImageIFD.Orientation: orientation,
            piexif.ImageIFD.DateTime: b"2025:07:03 09:30:00",
            piexif.ImageIFD.Software: b"bench 1.0",
        },
        "Exif": {
            piexif.ExifIFD.DateTimeOriginal: b"2025:07:03 09:30:00",
            piexif.ExifIFD.ExposureTime: (1, 250),
            piexif.ExifIFD.FNumber: (18, 10),
            piexif.ExifIFD.ISOSpeedRatings: 100,
            piexif.ExifIFD.FocalLength: (4700, 1000),
        },
        "1st": {piexif.ImageIFD.Compression: 6},
        "thumbnail": tbuf.getvalue(),
    }
    out = io.BytesIO()
    im.save(out, "JPEG", quality=90, exif=piexif.dump(exif))
    return out.getvalue()


def full_decode(data: bytes) -> None:
    with Image.open(io.BytesIO(data)) as im:
        im.load()


def heic_full_decode(data: bytes) -> None:
    import pillow_heif

    pillow_heif.open_heif(io.BytesIO(data)).to_pillow()


def pixels(data: bytes) -> bytes:
    with Image.open(io.BytesIO(data)) as im:
        return im.tobytes()


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.photo_intake")
    ap.add_argument("--quick", action="store_true", help="tiny smoke run")
    ap.add_argument("--rounds", type=int, default=None)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "photo_intake.json")
    args = ap.parse_args(argv)
    rounds = args.rounds or (2 if args.quick else 9)
    per_group = 1 if args.quick else 3
    sizes = {"12mp": (4000, 3000), "3mp": (2000, 1500)}
    if args.quick:
        sizes = {"12mp": (800, 600), "3mp": (400, 300)}

    captured = datetime.now(timezone.utc)
    fix = GpsFix(lat=29.70, lon=105.72, altitude=380.0, accuracy_m=6.0, fix_time=captured - timedelta(seconds=3))

    groups: dict[str, list[tuple[str, bytes]]] = {}
    for name, size in sizes.items():
        groups[name] = [(f"{name}-{i}", synthetic_photo(size, seed=i, orientation=6 if i % 2 else 1)) for i in range(per_group)]
    corpus_dir = next((d for d in CORPUS_DIRS if d.is_dir()), None)
    if corpus_dir is not None and not args.quick:
        files = sorted(p for p in corpus_dir.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".heic"))
        groups["corpus_jpeg"] = [(p.name, p.read_bytes()) for p in files if p.suffix.lower() != ".heic"]
        groups["corpus_heic"] = [(p.name, p.read_bytes()) for p in files if p.suffix.lower() == ".heic"]

    report: dict = {"bench": "photo_intake", "quick": args.quick, "rounds": rounds, "groups": {}}
    pixels_identical = True
    refused: list[str] = []
    for gname, photos in groups.items():
        intake_ms: list[float] = []
        decode_ms: list[float] = []
        ratios: list[float] = []
        exact_ms: list[float] = []
        pooled: list[float] = []
        for label, data in photos:
            heic = data[4:8] == b"ftyp"
            decode = heic_full_decode if heic else full_decode
            try:
                result = intake_photo(data, fix, captured)  # warm-up, and the pixel check below
            except IntakeRefused as e:
                refused.append(f"{label}: {e.code}")
                continue
            if not heic and pixels(result.jpeg_bytes) != pixels(data):
                pixels_identical = False
            photo_i, photo_d, paired = [], [], []
            if gname == "12mp":  # the same photo with the preview resampled to exactly 1600 px
                exact = []
                for _ in range(rounds):
                    t = time.perf_counter()
                    intake_photo(data, fix, captured, EXACT_1600)
                    exact.append((time.perf_counter() - t) * 1000)
                exact_ms += exact
            for r in range(rounds):
                order = (0, 1) if r % 2 == 0 else (1, 0)
                for which in order:
                    t = time.perf_counter()
                    if which == 0:
                        decode(data)
                    else:
                        intake_photo(data, fix, captured)
                    elapsed = (time.perf_counter() - t) * 1000
                    (photo_d if which == 0 else photo_i).append(elapsed)
                paired.append(photo_i[-1] / photo_d[-1])  # neighbours in time share the machine's load
            intake_ms += photo_i
            decode_ms += photo_d
            pooled += paired
            ratios.append(statistics.median(paired))
        if not intake_ms:
            continue
        report["groups"][gname] = {
            "photos": len(ratios),
            "intake_ms": {"median": round(statistics.median(intake_ms), 2), "p95": round(pct(intake_ms, 0.95), 2)},
            "decode_ms": {"median": round(statistics.median(decode_ms), 2), "p95": round(pct(decode_ms, 0.95), 2)},
            "ratio": round(statistics.median(pooled), 3),
            "ratio_of_medians": round(statistics.median(intake_ms) / statistics.median(decode_ms), 3),
            "ratio_per_photo_max": round(max(ratios), 3),
        }
        if exact_ms:
            report["groups"][gname]["intake_exact_1600_ms"] = {
                "median": round(statistics.median(exact_ms), 2),
                "p95": round(pct(exact_ms, 0.95), 2),
                "ratio_of_medians": round(statistics.median(exact_ms) / statistics.median(decode_ms), 3),
            }
    report["pixels_identical"] = pixels_identical
    report["refused"] = refused
    ratio_12 = report["groups"].get("12mp", {}).get("ratio")
    report["goal"] = {"ratio_12mp_max": GOAL_RATIO_12MP, "met": ratio_12 is not None and ratio_12 <= GOAL_RATIO_12MP}
    line = json.dumps(report, sort_keys=True)
    print(line)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(line + "\n", encoding="utf-8")
    assert pixels_identical, "a stamped photo decodes to different pixels than its original"
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
