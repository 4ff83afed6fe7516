"""Users, enrollment codes, device tokens (shared by the HTTP API and the admin command line).

Secrets are never stored: enrollment codes and device tokens are kept as SHA-256 hashes only.
A device token is 256 random bits, so a plain hash (no salt, no stretching) is enough and lets
every request find its device with one indexed lookup.
"""
from __future__ import annotations

from claimcore import entities

import datetime as dt
import hashlib
import secrets
import uuid
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from . import domain
from .models import Device, EnrollmentCode, Insurer, User, utcnow

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
        raise AccountError("invalid_name", "a user needs a name")
    if role not in ROLES:
        raise AccountError("invalid_role", f"role must be one of {', '.join(ROLES)}")
    if role == "liaison":
        if not township_code:
            raise AccountError("township_required", "a liaison needs --township CODE (one of the 27 townships)")
        try:
            domain.check_township(township_code)
        except domain.DomainError:
            raise AccountError("unknown_township", f"unknown township code {township_code!r}") from None
    elif township_code:
        raise AccountError("township_not_applicable", "only liaisons belong to a township")
    if role == "surveyor":
        if not insurer_code:
            raise AccountError("insurer_required", "a surveyor needs --insurer CODE")
        if session.get(Insurer, insurer_code) is None:
            raise AccountError("unknown_insurer", f"unknown insurer code {insurer_code!r}")
    elif insurer_code:
        raise AccountError("insurer_not_applicable", "only surveyors belong to a co-insurer")
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
        raise AccountError("unknown_user", f"no active user {user_id!r}")
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


def enroll(session: Session, code: str, device_name: str) -> Enrolled | None:
    """Trade a code for a device token, once. None for unknown, used or expired codes."""
    code_hash = hash_secret(normalise_code(code or ""))
    now = utcnow()
    row = session.execute(select(EnrollmentCode).where(EnrollmentCode.code_hash == code_hash)).scalar_one_or_none()
    if row is None or row.used_at is not None or _aware(row.expires_at) < now:
        return None
    device_id = str(uuid.uuid4())
    # The conditional UPDATE is what makes the code single-use when two phones race with it.
    claimed = session.execute(
        update(EnrollmentCode)
        .where(EnrollmentCode.id == row.id, EnrollmentCode.used_at.is_(None))
        .values(used_at=now, device_id=device_id)
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
    return Enrolled(device=device, user=user, token=token)


def authenticate(session: Session, token: str) -> tuple[Device, User] | None:
    device = session.execute(select(Device).where(Device.token_hash == hash_secret(token))).scalar_one_or_none()
    if device is None or device.revoked_at is not None:
        return None
    user = session.get(User, device.user_id)
    if user is None or not user.active:
        return None
    return device, user


def revoke_device(session: Session, device_id: str) -> Device:
    device = session.execute(select(Device).where(Device.id == device_id).with_for_update()).scalar_one_or_none()
    if device is None:
        raise AccountError("unknown_device", f"no device {device_id!r}")
    if device.revoked_at is None:
        device.revoked_at = utcnow()
    session.flush()
    return device


def _aware(moment: dt.datetime) -> dt.datetime:
    # SQLite hands timestamps back without tzinfo; they were written in UTC.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.timezone.utc)
