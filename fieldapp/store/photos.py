"""Site photos: their records (the files are fieldapp.media's) and upload progress."""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from ._base import (
    NotFoundError,
    StoreValidationError,
    check_coord,
    new_id,
    now_iso,
    utc_iso,
)
from .db import Repo
from .outbox import record_mutation
from .records import (
    PhotoRecord,
    UploadItem,
)
from .rows import wire_columns
from .schema import (
    Photo,
)

UPLOAD_STATES = ("none", "preview", "original")
_PHOTOS = Photo.__table__


def _fix_value(fix: Any, *names: str) -> Any:
    for name in names:
        if isinstance(fix, Mapping):
            if name in fix:
                return fix[name]
        elif hasattr(fix, name):
            return getattr(fix, name)
    return None


def photo_record(p: Photo) -> PhotoRecord:
    return PhotoRecord(
        p.id, p.sha256, p.claim_id, p.taken_at, p.lat, p.lon, p.fix_alt, p.fix_accuracy_m,
        p.fix_at, p.width, p.height, list(p.flags or []), p.exif_gps, bool(p.exif_replaced),
        p.converted_from, p.upload_state, p.created_by, p.created_at)


class PhotosRepo(Repo):
    """Site photos (files are stored by fieldapp.media under their sha256; here: their record)."""

    def add(self, claim_id: str, intake: Any, *, fix: Any = None, taken_at: datetime | str | None = None,
            user: str | None = None) -> str:
        """Record a photo from fieldapp.media's IntakeResult (sha256, width, height, exif_gps, flags,
        exif_replaced, converted_from) and the device's GPS fix at capture (lat, lon, altitude,
        accuracy_m, fix_time; a mapping or an object). ``fix``/``taken_at`` default to the ones
        the IntakeResult carries; no fix at all is recorded as such (the intake flagged it).

        Identical bytes are one photo: adding the same sha256 to the same claim again returns the
        existing id and writes nothing; to another claim it is refused."""
        sha = getattr(intake, "sha256", None)
        if not isinstance(sha, str) or len(sha) != 64 or any(ch not in "0123456789abcdef" for ch in sha):
            raise StoreValidationError("error.store.photo_without_sha")
        if fix is None:
            fix = getattr(intake, "fix", None)  # IntakeResult carries the fix it stamped
        if taken_at is None:
            taken_at = getattr(intake, "captured_at", None)
        lat = lon = alt = acc = fix_at = None
        if fix is not None:
            lat = check_coord(_fix_value(fix, "lat", "latitude"), "fix.lat", 90)
            lon = check_coord(_fix_value(fix, "lon", "longitude"), "fix.lon", 180)
            alt = _fix_value(fix, "altitude", "alt")
            acc = _fix_value(fix, "accuracy_m", "accuracy")
            fix_at = utc_iso(_fix_value(fix, "fix_time", "fix_at", "at"), "fix.fix_time")
        flags = list(getattr(intake, "flags", None) or [])
        photo_id = new_id()
        stamp = now_iso()
        with self._db.write() as session:
            self._claim(session, claim_id)
            existing = session.scalar(select(Photo).where(Photo.sha256 == sha))
            if existing is not None:
                if existing.claim_id == claim_id:
                    return existing.id
                raise StoreValidationError("error.store.photo_of_other_claim", sha=sha[:12],
                                           claim_id=existing.claim_id)
            photo = Photo(
                id=photo_id, sha256=sha, claim_id=claim_id,
                taken_at=utc_iso(taken_at, "taken_at"), lat=lat, lon=lon,
                fix_alt=float(alt) if alt is not None else None,
                fix_accuracy_m=float(acc) if acc is not None else None, fix_at=fix_at,
                width=getattr(intake, "width", None), height=getattr(intake, "height", None),
                flags=[str(f) for f in flags], exif_gps=getattr(intake, "exif_gps", None),
                exif_replaced=bool(getattr(intake, "exif_replaced", False)),
                converted_from=getattr(intake, "converted_from", None), upload_state="none",
                created_by=user, created_at=stamp, version=None)
            session.add(photo)
            record_mutation(session, self._c, "photo", photo_id,
                            {k: getattr(photo, k) for k in wire_columns(Photo)})
            return photo_id

    def get_by_sha(self, sha256: str) -> PhotoRecord | None:
        with self._db.read() as session:
            p = session.scalar(select(Photo).where(Photo.sha256 == sha256))
            return photo_record(p) if p else None

    def list_for_claim(self, claim_id: str) -> list[PhotoRecord]:
        with self._db.read() as session:
            rows = session.scalars(select(Photo).where(Photo.claim_id == claim_id)
                                   .order_by(Photo.taken_at, Photo.created_at)).all()
            return [photo_record(p) for p in rows]

    def pending_upload(self, limit: int | None = None) -> list[UploadItem]:
        """Photos whose original the server does not hold yet, oldest first."""
        with self._db.read() as session:
            stmt = (select(Photo.sha256, Photo.claim_id, Photo.upload_state)
                    .where(Photo.upload_state != "original").order_by(Photo.created_at))
            if limit is not None:
                stmt = stmt.limit(limit)
            return [UploadItem(*r) for r in session.execute(stmt)]

    def mark_uploaded(self, sha256: str, kind: str) -> str:
        """Record that the server durably holds the ``preview`` or the ``original``. Never moves
        backwards (a late preview acknowledgement does not undo 'original'). Returns the state."""
        with self._db.write() as session:
            _mark_uploaded(session, [(sha256, kind)])
            state = session.scalar(select(Photo.upload_state).where(Photo.sha256 == sha256))
            if state is None:
                raise NotFoundError("photo", sha256)
            return state

    def mark_all_uploaded(self, marks: list[tuple[str, str]]) -> None:
        """``mark_uploaded`` for each (sha256, kind) in ONE durable write (one fsync for a run of
        uploads). A photo no longer on the phone (its claim was forgotten meanwhile) is passed
        over."""
        with self._db.write() as session:
            _mark_uploaded(session, marks)


def _mark_uploaded(session, marks: list[tuple[str, str]]) -> None:  # noqa: ANN001 - a Session
    """Each photo ends in the furthest state of its marks and its own, as marking them one by one
    in order would leave it: one UPDATE per state, over the states below it only (never
    backwards). Not a read and an ORM write per photo: a first sync marks thousands, beside the
    next upload."""
    by_state: dict[str, list[str]] = {}
    for sha256, kind in marks:
        if kind not in UPLOAD_STATES[1:]:
            raise StoreValidationError("error.store.upload_kind")
        by_state.setdefault(kind, []).append(sha256)
    for rank, state in enumerate(UPLOAD_STATES):
        shas = sorted(set(by_state.get(state, ())))
        for start in range(0, len(shas), 500):
            session.execute(update(_PHOTOS).where(_PHOTOS.c.sha256.in_(shas[start:start + 500]),
                                                  _PHOTOS.c.upload_state.in_(UPLOAD_STATES[:rank]))
                            .values(upload_state=state))

