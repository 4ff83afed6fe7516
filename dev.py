#!/usr/bin/env python3
"""The project's two entry points (see README):

    python3 dev.py run    set up, then run the sync server and the field app with demo data
    python3 dev.py test   set up, then run every test

Set-up is idempotent: a virtual environment in .venv, re-installed only when pyproject.toml changes.
Only the standard library is used here, because this runs before anything is installed.
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PY = VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
STAMP = VENV / ".installed-pyproject.sha256"


def setup() -> None:
    if sys.version_info < (3, 11):
        sys.exit(f"Python 3.11 or newer is needed; this is {sys.version.split()[0]}")
    if not PY.exists():
        print("dev.py: creating .venv", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text().strip() == digest:
        return
    print("dev.py: installing dependencies into .venv", flush=True)
    subprocess.run([str(PY), "-m", "pip", "install", "-q", "--upgrade", "pip"], check=True)
    subprocess.run([str(PY), "-m", "pip", "install", "-q", "-e", f"{ROOT}[dev]"], check=True)
    STAMP.write_text(digest)


SERVER_PORT = int(os.environ.get("DAZU_SERVER_PORT", "8700"))
APP_PORT = int(os.environ.get("DAZU_APP_PORT", "8550"))


def run_system() -> int:
    """Demo data into an embedded SQLite server database, then the server and the web app."""
    data = ROOT / "data"
    env = dict(os.environ, DAZU_DATA_DIR=str(data / "server"))
    seed = subprocess.run(
        [str(PY), "-m", "sync_server", "admin", "demo-seed"], env=env, text=True
    )
    if seed.returncode != 0:
        return seed.returncode
    server_url = f"http://127.0.0.1:{SERVER_PORT}"
    server = subprocess.Popen(
        [str(PY), "-m", "sync_server", "serve", "--host", "127.0.0.1", "--port", str(SERVER_PORT)],
        env=env,
    )
    app = subprocess.Popen(
        [str(PY), "-m", "fieldapp", "--web", "--port", str(APP_PORT),
         "--data", str(data / "phone"), "--server", server_url],
    )
    print(f"\nSync server: {server_url}   (API docs: {server_url}/docs)")
    print(f"Field app:   http://127.0.0.1:{APP_PORT}   (open in a browser; Ctrl+C stops both)")
    print("Demo enrollment codes are listed above (admin demo-seed).\n", flush=True)
    try:
        while server.poll() is None and app.poll() is None:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        for proc in (app, server):
            if proc.poll() is None:
                proc.terminate()
        for proc in (app, server):
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
    return 0


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("run", "test"):
        print(__doc__)
        return 2
    setup()
    os.chdir(ROOT)
    if argv[0] == "run":
        return run_system()
    return subprocess.call([str(PY), "-m", "tests.run_all", *argv[1:]])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
