"""Photo capture: bytes from the camera or the file picker, the GPS fix taken at the shutter,
intake in the background with progress, refusals shown in the user's words.

The camera and the GPS are behind `PhotoSource`/`FixSource`-like callables so tests can stand in
for a phone's hardware; everything after them (intake, storage, the store record) is real.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable

from fieldapp.media import IntakeRefused, PhotoFiles, intake_photo
from fieldapp.media.intake import FLAG_LABELS, GpsFix


@dataclass
class CaptureItem:
    name: str
    state: str = "waiting"  # waiting | working | stored | refused | failed
    stage: str = ""
    fraction: float = 0.0
    message: str = ""  # refusal or failure, in the user's language
    sha256: str | None = None
    flags: list[str] = field(default_factory=list)


@dataclass
class CaptureBatch:
    items: list[CaptureItem]

    @property
    def done(self) -> bool:
        return all(i.state in ("stored", "refused", "failed") for i in self.items)

    @property
    def stored(self) -> int:
        return sum(1 for i in self.items if i.state == "stored")

    @property
    def refused(self) -> list[CaptureItem]:
        return [i for i in self.items if i.state in ("refused", "failed")]

    @property
    def fraction(self) -> float:
        if not self.items:
            return 1.0
        return sum(1.0 if i.state in ("stored", "refused", "failed") else i.fraction
                   for i in self.items) / len(self.items)


def fix_from_dict(fix: dict | None) -> GpsFix | None:
    """The GPS fix as the views get it from the platform ({lat, lon, alt, accuracy_m, at})."""
    if not fix or fix.get("lat") is None or fix.get("lon") is None:
        return None
    at = fix.get("at")
    when = datetime.now(timezone.utc)
    if isinstance(at, str):
        try:
            when = datetime.fromisoformat(at)
            if when.tzinfo is None:
                when = when.replace(tzinfo=timezone.utc)
        except ValueError:
            pass
    return GpsFix(lat=float(fix["lat"]), lon=float(fix["lon"]), altitude=fix.get("alt"),
                  accuracy_m=fix.get("accuracy_m"), fix_time=when)


def flag_label(flag: str, lang: str) -> str:
    zh_en = FLAG_LABELS.get(flag)
    if not zh_en:
        return flag
    return zh_en[0] if lang == "zh" else zh_en[1]


class PhotoCapture:
    """Takes photos into one claim. `add(files, fix)` returns at once; the work runs in a thread.

    `on_change()` is called after each step so the screen can redraw progress. Photos already in
    the claim (identical bytes) are stored once: the store answers with the existing record.
    """

    def __init__(self, store: Any, files: PhotoFiles, claim_id: str, user_id: str | None,
                 lang: str, on_change: Callable[[], None] = lambda: None):
        self.store = store
        self.files = files
        self.claim_id = claim_id
        self.user_id = user_id
        self.lang = lang
        self.on_change = on_change
        self.batch: CaptureBatch | None = None
        self._thread: threading.Thread | None = None

    def add(self, photos: list[tuple[str, bytes]], fix: dict | GpsFix | None,
            captured_at: datetime | None = None, wait: bool = False) -> CaptureBatch:
        gps = fix if isinstance(fix, GpsFix) or fix is None else fix_from_dict(fix)
        shutter = captured_at or datetime.now(timezone.utc)
        batch = CaptureBatch([CaptureItem(name) for name, _ in photos])
        self.batch = batch
        worker = threading.Thread(target=self._run, args=(batch, photos, gps, shutter),
                                  name="photo-intake", daemon=True)
        self._thread = worker
        worker.start()
        if wait:
            worker.join()
        return batch

    def wait(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self, batch: CaptureBatch, photos: list[tuple[str, bytes]], gps: GpsFix | None,
             shutter: datetime) -> None:
        for item, (_name, data) in zip(batch.items, photos):
            item.state = "working"
            self._changed()

            def progress(stage: str, fraction: float, item: CaptureItem = item) -> None:
                item.stage, item.fraction = stage, fraction
                self._changed()

            try:
                result = intake_photo(data, gps, shutter, progress=progress)
                self.files.save(result)
                self.store.photos.add(self.claim_id, result, fix=gps, taken_at=shutter,
                                      user=self.user_id)
                item.sha256 = result.sha256
                item.flags = list(result.flags)
                item.state = "stored"
            except IntakeRefused as refusal:
                item.state = "refused"
                item.message = refusal.message(self.lang)
            except Exception as exc:  # the store refusing (e.g. photo of another claim), disk full
                item.state = "failed"
                message = getattr(exc, "message", None)
                item.message = message(self.lang) if callable(message) else str(exc)
            item.fraction = 1.0
            self._changed()

    def _changed(self) -> None:
        try:
            self.on_change()
        except Exception:  # a closed screen must not stop the intake
            pass
