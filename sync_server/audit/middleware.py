"""The audit of office acts: every write an adjuster or the coordinator makes through the API
leaves an entry in the hash-chained audit log (sync_server.audit.service)."""
from __future__ import annotations

import re
from typing import Any

from fastapi.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..core.changelog import OFFICE_ROLES
from . import service
from .routes import _UUID

# Writes that are the phones' sync traffic, not office acts (each has its own trail: the records'
# versions, the blobs' provenance, the scans' uploader).
_NOT_OFFICE_ACTS = re.compile(r"^/api/v1/(sync/|blobs|enroll$|claims/\{claim_id\}/scans/)")


class OfficeActs:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        status: dict[str, int] = {}

        async def remember(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        await self.app(scope, receive, remember)
        caller = (scope.get("state") or {}).get("caller")
        route = getattr(scope.get("route"), "path", None)
        if (caller is None or caller.user.role not in OFFICE_ROLES or route is None
                or _NOT_OFFICE_ACTS.match(route) or not 200 <= status.get("code", 0) < 300):
            return
        params: dict[str, Any] = scope.get("path_params") or {}
        claim_id = params.get("claim_id")
        await run_in_threadpool(
            service.append, caller.db, f"{scope['method']} {route}", caller, object_kind="route",
            object_ids=[str(v) for v in params.values()],
            claim_id=str(claim_id) if claim_id and _UUID.match(str(claim_id)) else None,
            outcome=str(status["code"]))
