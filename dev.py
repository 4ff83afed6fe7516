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


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("run", "test"):
        print(__doc__)
        return 2
    setup()
    os.chdir(ROOT)
    if argv[0] == "run":
        return subprocess.call([str(PY), "-m", "sync_server.demo", *argv[1:]])
    return subprocess.call([str(PY), "-m", "tests.run_all", *argv[1:]])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
