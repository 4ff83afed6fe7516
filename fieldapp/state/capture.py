"""Photo capture: bytes from the camera or the file picker, the GPS fix taken at the shutter,
intake in the background with progress, refusals shown in the user's words.

The camera and the GPS are behind `PhotoSource`/`FixSource`-like callables so tests can stand in
for a phone's hardware; everything after them (intake, storage, the store record) is real.
"""
from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable

from fieldapp.i18n import t
from fieldapp.media import IntakeRefused, PhotoFiles, intake_photo
from fieldapp.media.intake import FLAGS, GpsFix


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


# Why the in-app camera is not showing a preview, from the platform's error text: the browser
# (getUserMedia: NotAllowedError, NotFoundError) and the phone plugins (CameraAccessDenied,
# cameraPermission, ...) word it differently; anything else is a plain failure.
_CAMERA_DENIED = ("denied", "notallowed", "permission")
_CAMERA_MISSING = ("notfound", "no camera", "nocamera", "not found", "devicesnotfound")


def camera_problem(error: str) -> str:
    """`denied` (permission refused), `no_camera` or `failed`, for an error of the camera."""
    text = error.lower()
    if any(word in text for word in _CAMERA_DENIED):
        return "denied"
    if any(word in text for word in _CAMERA_MISSING):
        return "no_camera"
    return "failed"


@dataclass
class CameraVisit:
    """One visit to the camera screen for a claim: where it returns to, the camera's state and the
    photos taken (or picked) there, in order."""

    claim_id: str
    return_route: str
    status: str = "starting"  # starting | ready | no_camera | denied | unsupported | failed
    shots: list[CaptureItem] = field(default_factory=list)
    taking: int = 0  # shutters pressed whose picture has not arrived yet
    last_fix: dict | None = None  # the fix read at the last shutter (None: none was available)
    # Opened by a report's photo step: submits the report (given the shell); None elsewhere.
    submit: Callable[[Any], None] | None = None

    @property
    def count(self) -> int:
        return len(self.shots) + self.taking

    @property
    def stored(self) -> int:
        return sum(1 for s in self.shots if s.state == "stored")

    @property
    def refused(self) -> list[CaptureItem]:
        return [s for s in self.shots if s.state in ("refused", "failed")]

    @property
    def can_shoot(self) -> bool:
        return self.status == "ready"


def flag_label(flag: str, lang: str) -> str:
    """A photo's evidence flag as the user reads it; a flag this phone does not know (recorded by a
    newer app on another phone) shows as its code."""
    return t(f"photos.flag.{flag}", lang) if flag in FLAGS else flag


class PhotoCapture:
    """Takes photos into one claim. `add(files, fix)` returns at once; the work runs in a thread.

    `on_change()` is called after each step so the screen can redraw progress. Photos already in
    the claim (identical bytes) are stored once: the store answers with the existing record.
    Photos added while earlier ones are still being taken in (the camera's burst: one shutter
    after another) join the running batch and are taken in one after another by the same
    worker, in the order of the shutter, never two at once into the store.
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
        self._lock = threading.RLock()  # `shot` holds it around `add`
        self._queue: deque[tuple[CaptureItem, bytes, GpsFix | None, datetime]] = deque()

    def add(self, photos: list[tuple[str, bytes]], fix: dict | GpsFix | None,
            captured_at: datetime | None = None, wait: bool = False) -> CaptureBatch:
        gps = fix if isinstance(fix, GpsFix) or fix is None else fix_from_dict(fix)
        shutter = captured_at or datetime.now(timezone.utc)
        items = [CaptureItem(name) for name, _ in photos]
        with self._lock:
            batch = self.batch if self.batch is not None and not self.batch.done else CaptureBatch([])
            batch.items.extend(items)
            self.batch = batch
            self._queue.extend((item, data, gps, shutter) for item, (_name, data) in zip(items, photos))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="photo-intake", daemon=True)
                self._thread.start()
            worker = self._thread
        if wait:
            worker.join()
        return batch

    def add_tracked(self, photos: list[tuple[str, bytes]], fix: dict | GpsFix | None,
                    captured_at: datetime | None = None) -> list[CaptureItem]:
        """Like `add`; answers the items that follow these photos (a camera screen lists its own
        shots, whatever else the batch holds)."""
        with self._lock:  # the batch's last items are these even if the worker finishes meanwhile
            batch = self.add(photos, fix, captured_at)
            return batch.items[len(batch.items) - len(photos):]

    def wait(self, timeout: float | None = None) -> None:
        worker = self._thread
        if worker is not None:
            worker.join(timeout)

    def _run(self) -> None:
        while True:
            with self._lock:
                if not self._queue:
                    self._thread = None  # the next add starts a new worker
                    return
                item, data, gps, shutter = self._queue.popleft()
            self._take_in(item, data, gps, shutter)

    def _take_in(self, item: CaptureItem, data: bytes, gps: GpsFix | None, shutter: datetime) -> None:
        item.state = "working"
        self._changed()

        def progress(stage: str, fraction: float) -> None:
            item.stage, item.fraction = stage, fraction
            self._changed()

        try:
            result = intake_photo(data, gps, shutter, progress=progress)
            self.files.save(result)
            self.store.photos.add(self.claim_id, result, fix=gps, taken_at=shutter, user=self.user_id)
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
