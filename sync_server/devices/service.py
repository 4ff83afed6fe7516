"""Users, enrollment codes, device tokens (shared by the HTTP API and the admin command line).

Secrets are never stored: enrollment codes and device tokens are kept as SHA-256 hashes only.
A device token is 256 random bits, so a plain hash (no salt, no stretching) is enough and lets
every request find its device with one indexed lookup.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import secrets
import uuid
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.orm import Session

from claimcore import entities

from ..audit import service as audit_service
from ..core import domain, throttle
from ..core.changelog import server_now
from ..core.db import Database
from ..core.error_codes import ERR
from ..core.errors import ApiError, too_many_attempts
from ..core.models import Insurer, User, utcnow
from ..core.settings import Settings
from .models import Device, EnrollmentCode

log = logging.getLogger("sync_server.security")
ROLES = entities.USER_ROLES
# Crockford-style alphabet without look-alikes (no 0/O, 1/I/L) so codes can be read aloud and typed.
_CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


class AccountError(ValueError):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def normalise_code(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch.isalnum())


def user_dict(user: User) -> dict:
    return {
        "id": user.id,
        "name": user.name,
        "role": user.role,
        "township_code": user.township_code,
        "insurer_code": user.insurer_code,
    }


def create_user(
    session: Session,
    *,
    name: str,
    role: str,
    township_code: str | None = None,
    insurer_code: str | None = None,
    user_id: str | None = None,
) -> User:
    name = (name or "").strip()
    if not name:
        raise AccountError(ERR.invalid_name, "a user needs a name")
    if role not in ROLES:
        raise AccountError(ERR.invalid_role, f"role must be one of {', '.join(ROLES)}")
    if role == "liaison":
        if not township_code:
            raise AccountError(ERR.township_required, "a liaison needs --township CODE (one of the 27 townships)")
        try:
            domain.check_township(township_code)
        except domain.DomainError:
            raise AccountError(ERR.unknown_township, f"unknown township code {township_code!r}") from None
    elif township_code:
        raise AccountError(ERR.township_not_applicable, "only liaisons belong to a township")
    if role == "surveyor":
        if not insurer_code:
            raise AccountError(ERR.insurer_required, "a surveyor needs --insurer CODE")
        if session.get(Insurer, insurer_code) is None:
            raise AccountError(ERR.unknown_insurer, f"unknown insurer code {insurer_code!r}")
    elif insurer_code:
        raise AccountError(ERR.insurer_not_applicable, "only surveyors belong to a co-insurer")
    user = User(
        id=user_id or str(uuid.uuid4()),
        name=name,
        role=role,
        township_code=township_code,
        insurer_code=insurer_code,
        active=True,
    )
    session.add(user)
    session.flush()
    return user


def new_enrollment_code(session: Session, user_id: str, ttl_hours: int) -> tuple[str, dt.datetime]:
    """A one-time code (shown as text and QR) for one device of ``user_id``."""
    user = session.get(User, user_id)
    if user is None or not user.active:
        raise AccountError(ERR.unknown_user, f"no active user {user_id!r}")
    raw = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(12))
    expires = utcnow() + dt.timedelta(hours=ttl_hours)
    session.add(EnrollmentCode(code_hash=hash_secret(raw), user_id=user_id, expires_at=expires))
    session.flush()
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}", expires


@dataclass
class Enrolled:
    device: Device
    user: User
    token: str
    qr_path: str | None = None  # the used code's QR PNG, for the caller to remove after commit


def enroll(session: Session, code: str, device_name: str) -> Enrolled | None:
    """Trade a code for a device token, once. None for unknown, used or expired codes."""
    code_hash = hash_secret(normalise_code(code or ""))
    now = utcnow()
    row = session.execute(select(EnrollmentCode).where(EnrollmentCode.code_hash == code_hash)).scalar_one_or_none()
    if row is None or row.used_at is not None or _aware(row.expires_at) < now:
        return None
    device_id = str(uuid.uuid4())
    qr_path = row.qr_path  # (the UPDATE below clears it on the loaded row too)
    # The conditional UPDATE is what makes the code single-use when two phones race with it.
    claimed = session.execute(
        update(EnrollmentCode)
        .where(EnrollmentCode.id == row.id, EnrollmentCode.used_at.is_(None))
        .values(used_at=now, device_id=device_id, qr_path=None)
    )
    if claimed.rowcount != 1:
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        return None
    token = secrets.token_urlsafe(32)
    device = Device(
        id=device_id,
        user_id=user.id,
        name=(device_name or "").strip()[:200] or "device",
        token_hash=hash_secret(token),
        acked_seq=0,
    )
    session.add(device)
    session.flush()
    return Enrolled(device=device, user=user, token=token, qr_path=qr_path)


# Built once: every request asks, and building the statement costs more than running it.
_BY_TOKEN = select(Device, User).join(User, User.id == Device.user_id).where(Device.token_hash == bindparam("token_hash"))


def authenticate(session: Session, token: str) -> tuple[Device, User] | None:
    """The device of this token and its user (one statement: every request asks)."""
    row = session.execute(_BY_TOKEN, {"token_hash": hash_secret(token)}).one_or_none()
    if row is None:
        return None
    device, user = row
    if device.revoked_at is not None or not user.active:
        return None
    return device, user


def revoke_device(session: Session, device_id: str) -> Device:
    device = session.execute(select(Device).where(Device.id == device_id).with_for_update()).scalar_one_or_none()
    if device is None:
        raise AccountError(ERR.unknown_device, f"no device {device_id!r}")
    if device.revoked_at is None:
        device.revoked_at = utcnow()
    session.flush()
    return device


def _aware(moment: dt.datetime) -> dt.datetime:
    # SQLite hands timestamps back without tzinfo; they were written in UTC.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.timezone.utc)


# ------------------------------------------------------------------------ enrollment QR files
#
# A QR PNG is the enrollment code itself: it is written readable by the server's account only
# (file 0600, folder 0700) and removed as soon as the code is used (by the enroll route) or has
# expired (by the sweep that `serve` and every admin command run first).

def remove_qr(path: str | os.PathLike | None) -> bool:
    if not path:
        return False
    try:
        Path(path).unlink()
        return True
    except FileNotFoundError:
        return False
    except OSError as exc:
        log.warning("event=qr_not_removed reason=%s path=%s", type(exc).__name__, path)
        return False


def sweep_qr_files(session: Session, enroll_dir: Path | None = None) -> int:
    """Remove the QR PNGs of used or expired codes; in ``enroll_dir`` (the default folder) also
    any PNG no usable code names (left by older versions, which never removed them)."""
    now = utcnow()
    removed = 0
    rows = session.execute(
        select(EnrollmentCode).where(EnrollmentCode.qr_path.is_not(None))
        .where(or_(EnrollmentCode.used_at.is_not(None), EnrollmentCode.expires_at < now))
    ).scalars().all()
    for row in rows:
        removed += remove_qr(row.qr_path)
        row.qr_path = None
    session.flush()
    if enroll_dir is not None and Path(enroll_dir).is_dir():
        live = {str(Path(p).resolve()) for p in session.execute(
            select(EnrollmentCode.qr_path).where(EnrollmentCode.qr_path.is_not(None))).scalars()}
        for png in Path(enroll_dir).glob("*.png"):
            if str(png.resolve()) not in live:
                removed += remove_qr(png)
    return removed


class _WrongCode(Exception):
    pass


def enroll_device(db: Database, settings: Settings, code: str, device_name: str, address: str, path: str) -> dict:
    """POST /api/v1/enroll: trade a one-time code for a device token, throttled per client address
    and per code prefix (wrong codes are counted, audited and logged, never the code itself)."""
    prefix = normalise_code(code)[:4]
    window = settings.auth_fail_window_seconds
    now = server_now(settings)
    # Checked before the code: once an address (or a code prefix) has guessed wrong too often,
    # a right guess is refused as well, or the throttle would not slow the guessing at all.
    for scope, key, limit in ((throttle.ENROLL_ADDRESS, address, settings.enroll_fail_limit),
                              (throttle.ENROLL_PREFIX, prefix, settings.enroll_prefix_fail_limit)):
        wait = throttle.blocked(db, scope, key, limit, window, now)
        if wait is not None:
            log.warning("event=throttled status=429 scope=%s address=%s retry_after=%d path=%s",
                                 scope, address, wait, path)
            raise too_many_attempts(wait)
    try:
        with db.write() as session:
            enrolled = enroll(session, code, device_name)
            if enrolled is None:
                raise _WrongCode  # rolls back: a code claimed for an inactive user stays unused
            audit_service.record(session, "enroll", {"user_id": enrolled.user.id, "device_id": enrolled.device.id,
                                             "role": enrolled.user.role},
                         object_kind="device", object_ids=[enrolled.device.id], outcome="enrolled")
            out = {
                "device_id": enrolled.device.id,
                "token": enrolled.token,
                "user": user_dict(enrolled.user),
            }
    except _WrongCode:
        throttle.failed(db, [(throttle.ENROLL_ADDRESS, address), (throttle.ENROLL_PREFIX, prefix)], window, now)
        audit_service.append(db, "refused", None, object_kind="route", object_ids=[path],
                     outcome="bad_enrollment_code")
        log.warning("event=refused status=401 reason=bad_enrollment_code address=%s path=%s",
                             address, path)
        raise ApiError(401, ERR.invalid_code, "unknown, used or expired enrollment code") from None
    remove_qr(enrolled.qr_path)  # the code is spent: its QR picture goes too
    return out
