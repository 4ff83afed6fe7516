"""Slowing down the guessing of device tokens and enrollment codes.

    client_address(request) -> str
    blocked(db, scope, key, limit, window_s) -> seconds to wait, or None
    failed(db, [(scope, key), ...], window_s)    count one failure under each key

Failures are rows of ``auth_failures`` (scope, key, moment) in the database, so every server
process sees the same count. A key is over its limit when it has ``limit`` failures within the
last ``window_s`` seconds; it is free again once the oldest of them is older than the window
(the answer's ``Retry-After``). Two processes failing at the same instant may both pass the last
free slot: the count can overshoot by the number of processes, never more.
"""
from __future__ import annotations

import datetime as dt
import math
from typing import Any

from sqlalchemy import delete, func, select

from ..audit.models import AuthFailure

# Scopes: a wrong or revoked token, by address; a wrong enrollment code, by address and by the
# code's first four characters (guessing spread over many addresses still meets that count).
TOKEN = "token"
ENROLL_ADDRESS = "enroll_addr"
ENROLL_PREFIX = "enroll_prefix"


def client_address(request: Any) -> str:
    """The client's address as uvicorn saw it (behind a local reverse proxy: X-Forwarded-For,
    which uvicorn honours for proxies listed in --forwarded-allow-ips)."""
    client = getattr(request, "client", None)
    return (client.host if client and client.host else "unknown")[:128]


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.timezone.utc)


def blocked(db: Any, scope: str, key: str, limit: int, window_s: int, now: dt.datetime) -> int | None:
    """Seconds to wait when ``key`` failed ``limit`` times within the window before ``now`` (the
    server's clock: changelog.server_now), else None."""
    if limit <= 0:
        return None
    since = now - dt.timedelta(seconds=window_s)
    with db.read() as session:
        recent = session.execute(
            select(AuthFailure.at).where(AuthFailure.scope == scope, AuthFailure.key == key[:128],
                                         AuthFailure.at > since)
            .order_by(AuthFailure.at.desc()).limit(limit)
        ).scalars().all()
    if len(recent) < limit:
        return None
    # The limit-th newest failure leaves the window first among those that keep the key blocked.
    free_at = _aware(recent[-1]) + dt.timedelta(seconds=window_s)
    return max(1, math.ceil((free_at - now).total_seconds()))


def failed(db: Any, keys: list[tuple[str, str]], window_s: int, now: dt.datetime) -> None:
    with db.write() as session:
        session.add_all([AuthFailure(scope=scope, key=key[:128], at=now) for scope, key in keys])
        # What is older than the window no longer counts: keep the table small.
        session.execute(delete(AuthFailure).where(AuthFailure.at < now - dt.timedelta(seconds=window_s)))


def count(db: Any, scope: str, key: str) -> int:
    with db.read() as session:
        return session.execute(
            select(func.count()).select_from(AuthFailure).where(AuthFailure.scope == scope, AuthFailure.key == key)
        ).scalar_one()
