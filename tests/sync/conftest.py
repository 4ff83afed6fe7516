"""Phones (real SQLite store files + photo folders) syncing with the real server.

In-process: ``Server`` wraps ``create_app`` on the ``db_url`` database behind Starlette's
TestClient (an ``httpx.Client``), so SyncClient talks real HTTP semantics to the real app.
``server.restart()`` builds a new app instance on the same database and blob folder.
Where a process must die (SIGKILL) the tests use sync_server.testing.run_server instead.
"""
from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from starlette.testclient import TestClient

from claimcore.validators import id_check_character
from fieldapp.media import PhotoFiles
from fieldapp.store import open_store
from fieldapp.sync import SyncClient
from sync_server.app import create_app
from sync_server.core.settings import Settings
from sync_server.testing import Harness

TOWNSHIP_A = "500111001"  # 龙岗街道
TOWNSHIP_B = "500111002"  # 棠香街道
BASE = "http://127.0.0.1"  # loopback: the phone speaks plain HTTP to nothing else (fieldapp.sync.tls)


def valid_id_number(rng: random.Random | None = None) -> str:
    rng = rng or random.Random()
    body = f"500111{rng.randint(1950, 2005)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{rng.randint(0, 999):03d}"
    return body + id_check_character(body)


class Server:
    """The real app in-process on a real database; restart = new app instance, same data."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.harness = Harness(settings)
        self.app = None
        self.http: TestClient | None = None
        self.start()

    def start(self) -> None:
        self.app = create_app(self.settings)
        self.http = TestClient(self.app, base_url=BASE)

    def restart(self) -> None:
        self.close_app()
        self.start()

    def close_app(self) -> None:
        if self.http is not None:
            self.http.close()
        if self.app is not None:
            self.app.state.db.dispose()

    def close(self) -> None:
        self.close_app()
        self.harness.close()

    def actor(self, role: str, **kw):  # noqa: ANN003, ANN201
        return self.harness.actor(role, **kw)

    def transport(self) -> httpx.BaseTransport:
        return self.http._transport


class LoopbackServer(Server):
    """The real server as a uvicorn subprocess on 127.0.0.1 (for SIGKILL and real sockets)."""

    def start(self) -> None:
        from sync_server.testing import ServerProcess

        if getattr(self, "process", None) is None:
            self.process = ServerProcess(self.settings)
        self.process.start()
        self.url = self.process.url

    def restart(self) -> None:
        self.process.kill()
        self.process.start()

    def kill(self) -> None:
        self.process.kill()

    def close_app(self) -> None:
        self.process.stop()

    def transport(self) -> httpx.BaseTransport:
        return httpx.HTTPTransport()


class FlakyTransport(httpx.BaseTransport):
    """Wraps a transport: ``fail_next`` requests raise ConnectError BEFORE reaching the server;
    ``lose_reply_next`` requests reach the server and commit, then the reply is lost."""

    def __init__(self, inner: httpx.BaseTransport):
        self.inner = inner
        self.fail_next = 0
        self.lose_reply_next = 0
        self.offline = False
        self.requests = 0
        self.fail_after: int | None = None  # let this many requests through, then fail one
        self.lose_after: int | None = None  # ... then lose the reply of one (after it committed)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        if self.fail_after is not None:
            if self.fail_after == 0:
                self.fail_after = None
                self.fail_next += 1
            else:
                self.fail_after -= 1
        if self.lose_after is not None:
            if self.lose_after == 0:
                self.lose_after = None
                self.lose_reply_next += 1
            else:
                self.lose_after -= 1
        if self.offline or self.fail_next > 0:
            if self.fail_next > 0:
                self.fail_next -= 1
            raise httpx.ConnectError("network unreachable", request=request)
        response = self.inner.handle_request(request)
        if self.lose_reply_next > 0:
            self.lose_reply_next -= 1
            response.read()
            response.close()
            raise httpx.ReadError("connection reset after the server answered", request=request)
        return response


@dataclass(eq=False)
class Phone:
    name: str
    root: Path
    server: Server
    store: object = None
    files: PhotoFiles = None
    transport: FlakyTransport = None
    http: httpx.Client = None
    client: SyncClient = None
    user: dict = field(default_factory=dict)

    base: str = BASE

    def open(self) -> "Phone":
        self.store = open_store(self.root / "data")
        self.files = PhotoFiles(self.root / "data" / "photos")
        self.transport = FlakyTransport(self.server.transport())
        self.http = httpx.Client(transport=self.transport, base_url=self.base, timeout=30)
        self.client = SyncClient(self.store, self.files, self.http, base_url=self.base)
        return self

    def rebind(self) -> None:
        """Point at the server's current app instance (after a restart)."""
        self.transport.inner = self.server.transport()

    def enroll(self, role: str, **kw) -> dict:  # noqa: ANN003
        if kw.get("insurer_code"):
            self.server.harness.add_insurer(kw["insurer_code"])
        user = self.server.harness.add_user(role, f"{self.name} {role}", kw.get("township_code"),
                                            kw.get("insurer_code"))
        code = self.server.harness.enrollment_code(user["id"])
        self.user = self.client.enroll(self.base, code, self.name)
        return self.user

    @property
    def role(self) -> str:
        return self.user["role"]

    def new_claim(self, township: str = TOWNSHIP_A, description: str = "房屋被洪水冲毁", **kw) -> str:
        return self.store.claims.create(
            coverage=kw.pop("coverage", "natural_disaster"), role=self.role, created_by=self.user["id"],
            township_code=township, incident_at=kw.pop("incident_at", "2026-07-01T08:00:00+08:00"),
            description=description, loss_types=kw.pop("loss_types", ["house"]), **kw)

    def add_photo(self, claim_id: str, size: int = 40_000, seed: int | None = None) -> str:
        rng = random.Random(seed)
        original = b"\xff\xd8\xff\xe0" + rng.randbytes(size) + b"\xff\xd9"
        preview = b"\xff\xd8\xff\xe0" + rng.randbytes(size // 8) + b"\xff\xd9"
        sha = hashlib.sha256(original).hexdigest()
        intake = SimpleNamespace(sha256=sha, jpeg_bytes=original, preview_jpeg=preview, thumb_jpeg=preview[:500],
                                 original_bytes=None, converted_from=None, width=4000, height=3000, flags=[],
                                 exif_gps=None, exif_replaced=False, fix=None,
                                 captured_at="2026-07-01T09:00:00+08:00")
        self.files.save(intake)
        self.store.photos.add(claim_id, intake, fix={"lat": 29.7, "lon": 105.7, "accuracy_m": 5,
                                                     "fix_time": "2026-07-01T09:00:00+08:00"})
        return sha

    def sync_until_quiet(self, rounds: int = 10) -> None:
        for _ in range(rounds):
            self.client.sync_once()
            if not self.client.has_work():
                return
        raise AssertionError(f"{self.name} still has work after {rounds} syncs")

    def close(self) -> None:
        self.http.close()
        self.store.close()


@pytest.fixture
def server(db_url, tmp_path):
    srv = Server(Settings(data_dir=tmp_path / "server", database_url=db_url))
    yield srv
    srv.close()


@pytest.fixture
def loopback(db_url, tmp_path):
    srv = LoopbackServer(Settings(data_dir=tmp_path / "server", database_url=db_url))
    yield srv
    srv.close()


@pytest.fixture
def phones(request, tmp_path):
    made: list[Phone] = []
    srv = request.getfixturevalue("loopback" if "loopback" in request.fixturenames else "server")

    def make(name: str | None = None) -> Phone:
        name = name or f"phone{len(made) + 1}"
        p = Phone(name, tmp_path / name, srv, base=getattr(srv, "url", BASE)).open()
        made.append(p)
        return p

    yield make
    for p in made:
        p.close()


def server_claim(server: Server, claim_id: str) -> dict | None:
    from sync_server.core.models import Claim
    from sync_server.sync.claims import claim_fields

    with server.harness.db.read() as s:
        c = s.get(Claim, claim_id)
        return dict(claim_fields(c), version=c.version) if c else None


def server_records(server: Server, entity: str | None = None) -> list[dict]:
    from sqlalchemy import select

    from sync_server.core.models import Record

    with server.harness.db.read() as s:
        q = select(Record)
        if entity:
            q = q.where(Record.entity == entity)
        return [{"id": r.id, "entity": r.entity, "claim_id": r.claim_id, "version": r.version,
                 "deleted": r.deleted, "fields": dict(r.fields or {})} for r in s.scalars(q)]


def server_counts(server: Server) -> dict[str, int]:
    from sqlalchemy import func, select

    from sync_server.core.models import Claim, Record

    with server.harness.db.read() as s:
        out = {"claim": s.scalar(select(func.count()).select_from(Claim))}
        for entity, n in s.execute(select(Record.entity, func.count()).group_by(Record.entity)):
            out[entity] = n
        return out


def server_conflicts(server: Server) -> list[dict]:
    from sqlalchemy import select

    from sync_server.sync.models import Conflict

    with server.harness.db.read() as s:
        return [{"entity_id": c.entity_id, "field": c.field, "kept": c.kept_value, "other": c.other_value,
                 "kept_device": c.kept_device_id, "other_device": c.other_device_id}
                for c in s.scalars(select(Conflict).order_by(Conflict.id))]


def blob_exists(server: Server, sha: str) -> bool:
    from sync_server.blobs.store import BlobStore

    return BlobStore(server.settings.blob_dir).exists(sha)


__all__ = ["BASE", "FlakyTransport", "Phone", "Server", "TOWNSHIP_A", "TOWNSHIP_B", "blob_exists",
           "server_claim", "server_conflicts", "server_counts", "server_records", "valid_id_number"]
