"""The app factory.

    create_app(settings=None) -> FastAPI

``settings`` defaults to ``Settings.from_env()``. The database schema must already be at head
(``python -m sync_server serve`` and the admin commands run the migrations; tests call
``sync_server.migrate.upgrade``). Routers included: this package's ``api.router`` and
``scans.router`` (document scans), then
``sync_server.api_coinsurance.router`` when that module exists (the co-insurance rules), then any
router registered with ``hooks.register_router``.
"""
from __future__ import annotations

import importlib
import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import api, errors, hooks, scans
from .blobs import BlobStore
from .db import Database
from .settings import Settings

log = logging.getLogger("sync_server")
__version__ = "1.0"

# Optional modules that plug routers into the app; each must expose ``router``.
PLUGIN_MODULES = ("sync_server.api_coinsurance",)


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
        body = (
            b'{"error":"body_too_large","message":"request body exceeds '
            + str(self.max_bytes).encode()
            + b' bytes"}'
        )
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
    errors.install(app)
    app.include_router(api.router)
    app.include_router(scans.router)  # document scans (personal data): sync_server/scans.py
    for name in PLUGIN_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise  # the plug-in exists but is broken: fail loudly
            continue
        app.include_router(module.router)
    for router in hooks.extra_routers:
        app.include_router(router)
    app.add_middleware(BodyCapMiddleware, max_bytes=settings.max_json_bytes)
    return app
