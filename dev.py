#!/usr/bin/env python3
"""The project's two entry points (see README):

    python3 dev.py run    set up, then run the sync server and one field app per demo role
    python3 dev.py test   set up, then run every test

    python3 dev.py server stop|start|restart
                          the demo's sync server only, while `run` keeps the phones running

Set-up is idempotent: a virtual environment in .venv, re-installed only when pyproject.toml changes.
Only the standard library is used here, because this runs before anything is installed.
"""
from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
import unicodedata
import urllib.request
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PY = VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
STAMP = VENV / ".installed-pyproject.sha256"


CONSTRAINTS = ROOT / "constraints.txt"
# What each command needs (pyproject.toml's extras): running the system needs the server and the
# app's web mode; the tests need everything (dev pulls web, server and postgres in).
EXTRAS = {"run": "web,server", "test": "dev"}


def _digest(extras: str) -> str:
    return hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + CONSTRAINTS.read_bytes()
                          + extras.encode()).hexdigest()


def setup(command: str) -> None:
    if sys.version_info < (3, 11):
        sys.exit(f"Python 3.11 or newer is needed; this is {sys.version.split()[0]}")
    if not PY.exists():
        print("dev.py: creating .venv", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    extras = EXTRAS[command]
    installed = STAMP.read_text().strip() if STAMP.exists() else ""
    if installed in (_digest(extras), _digest(EXTRAS["test"])):  # dev holds every other extra
        return
    print(f"dev.py: installing dependencies into .venv ([{extras}], pinned by constraints.txt)", flush=True)
    subprocess.run([str(PY), "-m", "pip", "install", "-q", "--upgrade", "pip"], check=True)
    subprocess.run([str(PY), "-m", "pip", "install", "-q", "-c", str(CONSTRAINTS), "-e", f"{ROOT}[{extras}]"],
                   check=True)
    STAMP.write_text(_digest(extras))


LINTED = ["claimcore", "fieldapp", "sync_server", "pdflayer", "bench", "tests", "dev.py"]
SERVER_PORT = int(os.environ.get("DAZU_SERVER_PORT", "8700"))
APP_PORT = int(os.environ.get("DAZU_APP_PORT", "8550"))
# Where the demo keeps the server's database, each phone's store, the logs and the server's pid.
DATA = Path(os.environ.get("DAZU_DEMO_DIR") or ROOT / "data")
SERVER_PID = DATA / "run" / "server.pid"

# One phone per demo role, each on its own port and data folder: (demo user key, role label,
# what to try first). The surveyor who holds the demo survey is found from the seed's answer.
PHONES = [
    ("liaison-longshui", "联络员 liaison", "新报案：拍 3 张现场照片，填受灾人 / report a claim with 3 photos"),
    ("adjuster", "理赔员 adjuster", "打开新报案，转为：已派查勘 / dispatch the new claim's survey"),
    ("surveyor-cpic", "查勘员 surveyor", ""),
    ("surveyor-pingan", "查勘员 surveyor", ""),
    ("coordinator", "区金融中心 coordinator", "办公台：案件总览、轮值看板 / the office console"),
]


def _server_env() -> dict:
    return dict(os.environ, DAZU_DATA_DIR=str(DATA / "server"), DAZU_PUBLIC_URL=f"http://127.0.0.1:{SERVER_PORT}")


def _running_server() -> int | None:
    """The pid of the demo server started by this script, if it still runs."""
    try:
        pid = int(SERVER_PID.read_text())
        os.kill(pid, 0)
        return pid
    except (FileNotFoundError, ValueError, ProcessLookupError, PermissionError):
        return None


def start_server() -> int:
    if (pid := _running_server()) is not None:
        print(f"dev.py: the sync server already runs (pid {pid})")
        return 0
    (DATA / "logs").mkdir(parents=True, exist_ok=True)
    SERVER_PID.parent.mkdir(parents=True, exist_ok=True)
    log = open(DATA / "logs" / "server.log", "ab")
    # Its own session: stopping the server never stops the phones, and Ctrl+C in the terminal of
    # `dev.py run` reaches this script, which stops everything in order.
    proc = subprocess.Popen([str(PY), "-m", "sync_server", "serve", "--host", "127.0.0.1", "--port", str(SERVER_PORT)],
                            env=_server_env(), cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    SERVER_PID.write_text(str(proc.pid))
    url = f"http://127.0.0.1:{SERVER_PORT}/healthz"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            print(f"dev.py: the sync server stopped at start; see {DATA / 'logs' / 'server.log'}")
            return 1
        if _answers(url):
            print(f"dev.py: sync server on http://127.0.0.1:{SERVER_PORT} (pid {proc.pid})", flush=True)
            return 0
        time.sleep(0.3)
    print(f"dev.py: the sync server did not answer within 60 s; see {DATA / 'logs' / 'server.log'}")
    return 1


def stop_server() -> int:
    pid = _running_server()
    if pid is None:
        print("dev.py: no demo sync server runs")
        return 0
    _stop(pid)
    SERVER_PID.unlink(missing_ok=True)
    print(f"dev.py: sync server stopped (pid {pid}); the phones keep working offline", flush=True)
    return 0


def _stop(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        try:  # our own child: reap it, or it stays a zombie that kill(0) still finds
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                return
        except ChildProcessError:
            pass
        time.sleep(0.2)
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def server_command(argv: list[str]) -> int:
    """`dev.py server stop|start|restart`: the demo's sync server only (the phones keep running)."""
    action = argv[0] if argv else ""
    if action == "stop":
        return stop_server()
    if action == "start":
        return start_server()
    if action == "restart":
        stop_server()
        return start_server()
    print("usage: python3 dev.py server stop|start|restart")
    return 2


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except OSError:
        return False


def _width(text: str) -> int:
    """Columns a terminal gives the text (Chinese characters take two)."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def run_system() -> int:
    """Demo data into an embedded SQLite server database, the server, and one phone per role."""
    seed = subprocess.run([str(PY), "-m", "sync_server", "admin", "demo-seed", "--json"], env=_server_env(),
                          cwd=ROOT, capture_output=True, text=True)
    if seed.returncode != 0:
        print(seed.stdout + seed.stderr)
        return seed.returncode
    demo = json.loads(seed.stdout)
    # A plain `kill` (or a test's terminate) stops everything in order too, like Ctrl+C.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    if start_server() != 0:
        return 1
    codes = {e["user"]["id"]: e["code"] for e in demo["enrollment"]}
    users = {u["id"]: u for u in demo["users"]}
    survey = demo.get("plugins", {}).get("coinsurance", {}).get("survey")  # COINSURANCE_DEMO_KEY
    phones, rows = [], []
    for i, (key, role, first) in enumerate(PHONES):
        user = next(u for u in users.values() if u.get("demo_key") == key)
        port = APP_PORT + i
        if user["role"] == "surveyor":
            holds = survey is not None and survey["insurer_code"] == user["insurer_code"]
            first = ("首页任务：接受演示查勘（龙水镇暴雨）/ accept the demo survey on the home screen" if holds else
                     "等下一次派查勘（轮值）/ wait for the next dispatch in the rotation")
        log = open(DATA / "logs" / f"phone-{key}.log", "ab")
        phones.append(subprocess.Popen(
            [str(PY), "-m", "fieldapp", "--web", "--port", str(port), "--data", str(DATA / "phones" / key),
             "--server", f"http://127.0.0.1:{SERVER_PORT}"],
            env=dict(os.environ, DAZU_SYNC_INTERVAL_S=os.environ.get("DAZU_SYNC_INTERVAL_S", "5")),
            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
        rows.append((role, user["name"], f"http://127.0.0.1:{port}", codes[user["id"]], first))
    # The table is printed once every phone answers: its links work the moment they are shown.
    deadline = time.monotonic() + 120
    for (_, _, url, _, _), proc in zip(rows, phones):
        while proc.poll() is None and time.monotonic() < deadline and not _answers(url):
            time.sleep(0.5)
    print("\nDemo data (演示数据): nine demo insurers, the users below, four claims; one survey dispatched.")
    print(f"Sync server: http://127.0.0.1:{SERVER_PORT}   (API docs: /docs; logs in {DATA / 'logs'})\n")
    head = ("role", "person", "phone (open in a browser)", "enrollment code", "try first")
    widths = [max(_width(r[c]) for r in [head, *rows]) for c in range(4)]
    for r in [head, *rows]:
        print("  ".join(v + " " * (w - _width(v)) for v, w in zip(r[:4], widths)) + "  " + r[4])
    print("\nEach phone keeps its own data; a phone enrolled on an earlier run opens without a code.")
    print("Offline work: `python3 dev.py server stop` (the phones keep running), then "
          "`python3 dev.py server start`.\nCtrl+C stops the phones and the server.\n", flush=True)
    try:
        while any(p.poll() is None for p in phones):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        for p in phones:
            _stop(p.pid)
        stop_server()
    return 0


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("run", "test", "server"):
        print(__doc__)
        return 2
    if argv[0] == "server":
        return server_command(argv[1:])
    setup(argv[0])
    os.chdir(ROOT)
    if argv[0] == "run":
        return run_system()
    # The lint rules (pyproject.toml [tool.ruff]) are part of the test command, so CI runs them.
    lint = subprocess.call([str(PY), "-m", "ruff", "check", "--quiet", *LINTED])
    if lint != 0:
        print("dev.py: ruff found the problems above; the tests were not run", flush=True)
        return lint
    return subprocess.call([str(PY), "-m", "tests.run_all", *argv[1:]])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
