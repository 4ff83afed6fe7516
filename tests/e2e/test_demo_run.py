"""`python3 dev.py run` as a new user meets it: the server and one phone per demo role on their own
ports and data folders, a table of who is who with working enrollment codes, the surveyor it names
holds the demo survey, the phones keep running while `dev.py server stop|start` takes the server
away and back, and stopping the run stops everything."""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time

import httpx

from tests.e2e.conftest import ROOT, Screen, free_port


def _free_block(n: int) -> int:
    """A first port of n consecutive ports nothing listens on."""
    for _ in range(50):
        base = free_port()
        if base + n < 65535 and all(_closed(base + i) for i in range(n)):
            return base
    raise RuntimeError("no block of free ports")


def _closed(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) != 0


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


def test_the_run_command_starts_every_role_and_survives_the_server_going_away(tmp_path, browser):
    server_port, app_port = free_port(), _free_block(5)
    env = dict(os.environ, DAZU_DEMO_DIR=str(tmp_path), DAZU_SERVER_PORT=str(server_port),
               DAZU_APP_PORT=str(app_port))
    run = subprocess.Popen([sys.executable, "dev.py", "run"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, start_new_session=True)
    server = f"http://127.0.0.1:{server_port}"
    try:
        lines, deadline = [], time.monotonic() + 180
        while time.monotonic() < deadline:
            line = run.stdout.readline()
            assert line or run.poll() is None, "dev.py run stopped:\n" + "".join(lines)
            lines.append(line)
            if line.startswith("Ctrl+C stops"):
                break
        out = "".join(lines)
        rows = [cells for cells in (re.split(r"\s{2,}", line.strip()) for line in lines)
                if len(cells) == 5 and cells[2].startswith("http://127.0.0.1:")]
        assert len(rows) == 5, out
        roles = [r[0] for r in rows]
        assert roles == ["联络员 liaison", "理赔员 adjuster", "查勘员 surveyor", "查勘员 surveyor",
                         "区金融中心 coordinator"], out
        urls = [r[2] for r in rows]
        assert len(set(urls)) == 5 and all(re.fullmatch(r"[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}", r[3]) for r in rows)
        assert all(_answers(u) for u in urls), out
        # Each phone its own data folder.
        assert len({p.name for p in (tmp_path / "phones").iterdir()}) == 5

        # The surveyor the table says holds the demo survey finds it on its home screen.
        holder = [r for r in rows if "接受演示查勘" in r[4]]
        assert len(holder) == 1, out
        phone = Screen(browser, holder[0][2] + "/", "demo-run-surveyor")
        try:
            phone.opened(phone.button("登记"))
            phone.type_into("登记码", holder[0][3])
            phone.tap(phone.button("登记", exact=True), then=holder[0][1])
            phone.see(holder[0][1])
            phone.tap(phone.button("确认并开始"))
            phone.see("接受", timeout=60_000)
            phone.shot("home-with-the-demo-survey")
        except Exception:
            phone.failed()
            raise
        finally:
            phone.close()

        # The server goes away and comes back; the phones stay.
        stop = subprocess.run([sys.executable, "dev.py", "server", "stop"], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=60)
        assert stop.returncode == 0, stop.stdout + stop.stderr
        assert not _answers(server + "/healthz")
        assert all(_answers(u) for u in urls)
        start = subprocess.run([sys.executable, "dev.py", "server", "start"], cwd=ROOT, env=env,
                               capture_output=True, text=True, timeout=90)
        assert start.returncode == 0, start.stdout + start.stderr
        assert _answers(server + "/healthz")
    finally:
        if run.poll() is None:
            run.send_signal(signal.SIGTERM)
        try:
            run.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(run.pid, signal.SIGKILL)
            raise
    # Stopping the run stopped the phones and the server it runs.
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not all(_closed(p) for p in [server_port, *range(app_port, app_port + 5)]):
        time.sleep(0.5)
    assert all(_closed(p) for p in [server_port, *range(app_port, app_port + 5)])
