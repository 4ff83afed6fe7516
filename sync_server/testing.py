"""Helpers to start the server in tests and benchmarks (real database, real HTTP).

    prepare_database(url)                 migrate a fresh database to head
    Harness(settings)                     direct set-up of insurers, users, devices, assignments
        .add_insurer(code, name) / .add_user(role, ...) / .enroll(user_id) -> Enrolled
        .actor(role, ...) -> Enrolled     user + enrolled device in one call
        .assign(claim_id, insurer_code)   an assignment row + its change (surveyor scope)
    run_server(settings, port=None, workers=1) -> ServerProcess   uvicorn in a subprocess on a free port
                                          (``serve --workers N`` when workers > 1)
        .url, .kill() (SIGKILL), .stop(), .start(), .restart(); also a context manager
    free_port()

``Enrolled`` has ``device_id``, ``token``, ``user`` (dict) and ``headers`` (the Authorization
header). The subprocess gets the settings through the same environment variables as production.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx

from .core.changelog import record_change
from .core.db import Database
from .core.models import Assignment, Insurer
from .core.settings import Settings
from .devices import service as accounts
from .migrate import upgrade

ROOT = Path(__file__).resolve().parent.parent


def prepare_database(database_url: str) -> None:
    upgrade(database_url)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Enrolled:
    device_id: str
    token: str
    user: dict

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


class Harness:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.db = Database(settings)

    def close(self) -> None:
        self.db.dispose()

    def add_insurer(self, code: str, name: str | None = None) -> None:
        with self.db.write() as s:
            if s.get(Insurer, code) is None:
                s.add(Insurer(code=code, name=name or code))

    def add_user(self, role: str, name: str | None = None, township_code: str | None = None,
                 insurer_code: str | None = None) -> dict:
        with self.db.write() as s:
            user = accounts.create_user(s, name=name or f"test {role}", role=role,
                                        township_code=township_code, insurer_code=insurer_code)
            return accounts.user_dict(user)

    def enrollment_code(self, user_id: str) -> str:
        with self.db.write() as s:
            code, _ = accounts.new_enrollment_code(s, user_id, self.settings.enroll_code_ttl_hours)
        return code

    def enroll(self, user_id: str, device_name: str = "test device") -> Enrolled:
        code = self.enrollment_code(user_id)
        with self.db.write() as s:
            got = accounts.enroll(s, code, device_name)
            assert got is not None
            return Enrolled(got.device.id, got.token, accounts.user_dict(got.user))

    def actor(self, role: str, *, township_code: str | None = None, insurer_code: str | None = None,
              name: str | None = None) -> Enrolled:
        if insurer_code:
            self.add_insurer(insurer_code)
        user = self.add_user(role, name, township_code, insurer_code)
        return self.enroll(user["id"])

    def assign(self, claim_id: str, insurer_code: str, status: str = "assigned", kind: str = "ordinary") -> str:
        aid = str(uuid.uuid4())
        with self.db.write() as s:
            s.add(Assignment(id=aid, claim_id=claim_id, insurer_code=insurer_code, status=status, kind=kind))
            s.flush()
            record_change(s, "assignment", aid,
                          {"claim_id": claim_id, "insurer_code": insurer_code, "status": status, "kind": kind,
                           "surveyor_id": None},
                          version=1, claim_id=claim_id, insurer_code=insurer_code)
        return aid


def settings_env(settings: Settings) -> dict[str, str]:
    return {
        "DAZU_DATA_DIR": str(settings.data_dir),
        "DATABASE_URL": settings.database_url,
        "BLOB_DIR": str(settings.blob_dir),
        "DAZU_MAX_JSON_BYTES": str(settings.max_json_bytes),
        "DAZU_MAX_BLOB_BYTES": str(settings.max_blob_bytes),
        "DAZU_MAX_PUSH_MUTATIONS": str(settings.max_push_mutations),
        "DAZU_PULL_LIMIT_MAX": str(settings.pull_limit_max),
        "DAZU_PUBLIC_URL": settings.public_url,
        "DAZU_AUTH_FAIL_LIMIT": str(settings.auth_fail_limit),
        "DAZU_ENROLL_FAIL_LIMIT": str(settings.enroll_fail_limit),
        "DAZU_ENROLL_PREFIX_FAIL_LIMIT": str(settings.enroll_prefix_fail_limit),
        "DAZU_AUTH_FAIL_WINDOW_SECONDS": str(settings.auth_fail_window_seconds),
        # The same seal key as the test's own Database (sync_server.core.sealing).
        "DAZU_SEAL_KEY_FILE": str(settings.seal_key_file or settings.data_dir / "keys" / "server.key"),
        "DAZU_SEAL_KEY": settings.seal_key,
        **({"DAZU_TLS_CERT": str(settings.tls_cert), "DAZU_TLS_KEY": str(settings.tls_key)}
           if settings.tls_cert else {}),
    }


class ServerProcess:
    def __init__(self, settings: Settings, port: int | None = None, log_path: Path | None = None,
                 workers: int = 1, serve_args: tuple[str, ...] = ("--log-level", "warning", "--no-access-log")):
        self.settings = settings
        self.workers = workers  # `serve --workers N`: N processes on the port (PostgreSQL only)
        self.serve_args = tuple(serve_args)
        self.port = port or free_port()
        self.url = f"{'https' if settings.tls_cert else 'http'}://127.0.0.1:{self.port}"
        self.log_path = log_path or (Path(settings.data_dir) / f"server-{self.port}.log")
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 30.0) -> "ServerProcess":
        Path(self.settings.data_dir).mkdir(parents=True, exist_ok=True)
        env = dict(os.environ, **settings_env(self.settings), PYTHONPATH=str(ROOT))
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "sync_server", "serve", "--host", "127.0.0.1", "--port", str(self.port),
             *self.serve_args, *(["--workers", str(self.workers)] if self.workers != 1 else [])],
            env=env, stdout=log, stderr=subprocess.STDOUT, cwd=str(ROOT),
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}; log: {self.log_path}\n"
                                   + self.log_path.read_text(errors="replace")[-3000:])
            try:
                if httpx.get(self.url + "/healthz", timeout=1.0, verify=self.verify).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"server did not answer /healthz within {timeout}s; log: {self.log_path}")

    @property
    def verify(self):  # noqa: ANN201 - what httpx takes: trust this server's own certificate
        if not self.settings.tls_cert:
            return True
        import ssl

        return ssl.create_default_context(cafile=str(self.settings.tls_cert))

    def kill(self) -> None:
        """SIGKILL: no shutdown handlers, like a power cut for the process."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def restart(self) -> "ServerProcess":
        self.stop()
        return self.start()

    def __enter__(self) -> "ServerProcess":
        if self.proc is None:
            self.start()
        return self

    def __exit__(self, *exc) -> None:  # noqa: ANN002
        self.stop()


def run_server(settings: Settings, port: int | None = None, workers: int = 1) -> ServerProcess:
    return ServerProcess(settings, port, workers=workers).start()
