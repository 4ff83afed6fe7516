"""Who is calling: the device token (``Authorization: Bearer TOKEN``) turned into a ``Caller``
(device and user), the throttle on wrong tokens, the role checks of the office's routes, and the
refusal of an authenticated caller (security log and audit entry). The routes reach the app's
database, settings and blob store through the dependencies here.

Every route but ``/healthz`` and ``/api/v1/enroll`` needs a device token."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ..audit import service as audit_service
from ..blobs.store import BlobStore
from ..devices import service as accounts
from ..devices.models import Device
from . import throttle
from .error_codes import ERR
from .changelog import server_now
from .db import Database
from .errors import ApiError, too_many_attempts, unauthorized
from .models import User
from .settings import Settings

log = logging.getLogger("sync_server.access")



security_log = logging.getLogger("sync_server.security")  # refusals and throttling: the security log


bearer = HTTPBearer(auto_error=False, description="Device token from POST /api/v1/enroll")


async def get_db(request: Request) -> Database:
    # async: FastAPI runs a plain ``def`` dependency in a worker thread, a hop that costs more
    # CPU than this attribute read (every request asks).
    return request.app.state.db


def get_blobs(request: Request) -> BlobStore:
    return request.app.state.blobs


@dataclass
class Caller:
    device: Device
    user: User
    db: Database | None = None  # where refuse() writes the refusal's audit entry


def _route_path(request: Request) -> str:
    """The route's template (``/api/v1/blobs/{sha256}``), else the path, cut short: it goes into
    the audit log and the security log, and a client chooses its path."""
    route = request.scope.get("route")
    return str(getattr(route, "path", None) or request.url.path)[:200]


def require_device(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Caller:
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        security_log.warning("event=refused status=401 reason=no_token path=%s", _route_path(request))
        raise unauthorized()
    db: Database = request.app.state.db
    with db.read() as session:
        found = accounts.authenticate(session, credentials.credentials)
        if found is not None:
            session.expunge_all()
    if found is None:
        # A right token always passes (256 random bits are not guessed); wrong ones are counted per
        # address and, past DAZU_AUTH_FAIL_LIMIT within the window, answered 429 without a lookup
        # being worth anything to the guesser.
        settings: Settings = request.app.state.settings
        address = throttle.client_address(request)
        now = server_now(settings)
        wait = throttle.blocked(db, throttle.TOKEN, address, settings.auth_fail_limit,
                                settings.auth_fail_window_seconds, now)
        if wait is not None:
            security_log.warning("event=throttled status=429 scope=token address=%s retry_after=%d path=%s",
                                 address, wait, _route_path(request))
            raise too_many_attempts(wait)
        throttle.failed(db, [(throttle.TOKEN, address)], settings.auth_fail_window_seconds, now)
        audit_service.append(db, "refused", None, object_kind="route", object_ids=[_route_path(request)],
                     outcome="bad_or_revoked_token")
        security_log.warning("event=refused status=401 reason=bad_or_revoked_token address=%s path=%s",
                             address, _route_path(request))
        raise unauthorized()
    device, user = found
    caller = Caller(device=device, user=user, db=db)
    request.state.caller = caller  # for the audit of office acts (sync_server.audit.middleware)
    return caller


CallerDep = Annotated[Caller, Depends(require_device)]


DbDep = Annotated[Database, Depends(get_db)]


def refuse(caller: Caller, reason: str, path: str, *, claim_id: str | None = None,
           object_kind: str | None = None, object_ids: list[str] | None = None) -> None:
    """A refusal of an authenticated caller: a line in the security log and an audit entry."""
    # Ids and role only: never names, ID numbers or other personal data.
    security_log.warning("event=refused reason=%s user=%s role=%s device=%s path=%s",
                         reason, caller.user.id, caller.user.role, caller.device.id, str(path)[:200])
    if caller.db is not None:
        audit_service.append(caller.db, "refused", caller, object_kind=object_kind or "route",
                     object_ids=object_ids or [str(path)[:200]], claim_id=claim_id, outcome=reason)


def _require(caller, roles, request: Request) -> None:
    if caller.user.role not in roles:
        refuse(caller, "role", request.url.path)
        raise ApiError(403, ERR.forbidden, f"this needs one of the roles: {', '.join(roles)}")


