"""The app factory.

    create_app(settings=None) -> FastAPI

``settings`` defaults to ``Settings.from_env()``. The database schema must already be at head
(``python -m sync_server serve`` and the admin commands run the migrations; tests call
``sync_server.migrate.upgrade``).

Every feature is wired here and nowhere else: its router, and what the push applies on its
behalf (the entities it handles and the claim-authority guard), with this app's settings and
clock. Nothing attaches itself on import.
"""
from __future__ import annotations

import json
import logging
from contextlib import asynccontextmanager

from anyio import to_thread
from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .audit import middleware as audit_middleware
from .audit import routes as audit_routes
from .authority import routes as authority_routes
from .authority import service as authority_service
from .blobs import routes as blobs_routes
from .blobs.store import BlobStore
from .claims import routes as claims_routes
from .core import errors
from .core.db import Database
from .core.error_codes import ERR
from .core.models import utcnow
from .core.rules import rule_settings
from .core.settings import Settings
from .devices import routes as devices_routes
from .events import routes as events_routes
from .fund import routes as fund_routes
from .insurers import routes as insurers_routes
from .reports import routes as reports_routes
from .rotation import routes as rotation_routes
from .sync import routes as sync_routes
from .sync.mutations import PushRules

log = logging.getLogger("sync_server")
__version__ = "1.0"

# Every router, in the order the OpenAPI document lists their paths.
ROUTERS = (
    devices_routes.router,  # enrolment, the caller's account, health
    sync_routes.router,  # push, pull, conflicts
    blobs_routes.router,  # photo bytes
    claims_routes.router,  # document scans, the search by ID number, a claim's payable amount
    audit_routes.router,  # a claim's audit trail
    rotation_routes.router,  # surveys dispatched in turn among the co-insurers
    events_routes.router,  # events and their civil-affairs step
    authority_routes.router,  # claim authority: opinions, consultations, votes
    fund_routes.router,  # the work fund: spending, premiums, budget, recoveries
    reports_routes.router,  # the quarterly review and the annual report
    insurers_routes.router,  # the pool's insurers, their leave and names
)


def push_rules(settings: Settings) -> PushRules:
    """What a phone's push applies besides the record contract: the co-insurance rules with the
    same settings and clock as the office's routes, the entities other features handle, and the
    claim-authority guard (adjusted -> approved)."""
    return PushRules(
        settings=rule_settings(settings.extra),
        clock=settings.extra.get("clock") or utcnow,
        handlers={
            "assignment": rotation_routes.push_assignment,  # a surveyor's answer made offline
            "cost": fund_routes.push_cost,  # a survey cost logged on a surveyor's phone
            "opinion": authority_routes.push_opinion,  # an opinion or vote in a claim-authority review
        },
        authority_cleared=authority_service.authority_cleared,
    )


class BodyCapMiddleware:
    """Refuse request bodies over the cap before the app parses them (413, nothing changed).

    Blob uploads and document scans (PUT .../scans/...) are exempt: their routes stream to disk
    and enforce their own caps (Upload-Length; claimcore.filetypes.MAX_SCAN_BYTES).
    Bodies without Content-Length (chunked) are counted as they arrive.
    """

    def __init__(self, app: ASGIApp, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS") or (
            scope["method"] == "PATCH" and scope["path"].startswith("/api/v1/blobs/")
        ) or (
            scope["method"] == "PUT" and scope["path"].startswith("/api/v1/claims/") and "/scans/" in scope["path"]
        ):
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = self.max_bytes + 1
                if declared > self.max_bytes:
                    await self._too_large(send)
                    return
        # Count what actually arrives (the header may be missing or lie). JSON bodies are small
        # enough to hold under the cap; only the cap's worth is ever buffered.
        chunks: list[bytes] = []
        total = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body = message.get("body", b"")
            total += len(body)
            if total > self.max_bytes:
                await self._too_large(send)
                return
            chunks.append(body)
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _too_large(self, send: Send) -> None:
        body = json.dumps(errors.error_body(ERR.body_too_large, f"request body exceeds {self.max_bytes} bytes"),
                          separators=(",", ":")).encode()
        await send({
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                        (b"connection", b"close")],
        })
        await send({"type": "http.response.body", "body": body})


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings.from_env()
    db = Database(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        # The handlers that block run in this loop's worker threads (Starlette's thread pool);
        # anyio's default of 40 made 200 phones at once share one Python lock 40 ways.
        to_thread.current_default_thread_limiter().total_tokens = settings.request_threads
        yield
        db.dispose()

    app = FastAPI(
        title="Dazu catastrophe insurance sync server (大足区巨灾保险同步服务)",
        version=__version__,
        description="Offline-first sync for the field app. Contract: docs/api.md.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.db = db
    app.state.blobs = BlobStore(settings.blob_dir)
    app.state.push_rules = push_rules(settings)
    errors.install(app)
    for router in ROUTERS:
        app.include_router(router)
    app.add_middleware(BodyCapMiddleware, max_bytes=settings.max_json_bytes)
    app.add_middleware(audit_middleware.OfficeActs)  # every office write through the API is audited
    return app
