"""Several server processes on one PostgreSQL: ``python -m sync_server serve --workers 2``.

The real command line starts two uvicorn worker processes sharing one port, on the embedded
PostgreSQL (skipped only when it cannot start, and failing then under DAZU_REQUIRE_POSTGRES=1).
Many keep-alive connections are opened and each is pinned to the worker that accepted it (the
access log names the worker's process id and the client's port), so every race below runs with
its contenders in different processes; the access log then proves both workers served each
write path. Every write path is driven concurrently through both, and each test asserts the same
invariant as its single-process counterpart: nothing lost, nothing twice, one winner, caps held.
After the module the audit chain still verifies. SQLite with --workers 2 is refused before
anything starts.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import os
import random
import re
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from sqlalchemy import func, select

from sync_server.audit import service as audit_service
from sync_server.authority.models import AuthorityReview, Opinion
from sync_server.blobs.models import Blob, BlobUpload
from sync_server.blobs.store import BlobStore
from sync_server.core.models import Assignment, Claim
from sync_server.core.settings import Settings
from sync_server.devices.models import Device
from sync_server.fund.models import FundEntryRow, RecoveryEntryRow
from sync_server.rotation.models import AssignmentLog
from sync_server.sync.models import PushReceipt
from sync_server.testing import Harness, ServerProcess

from ..conftest import _admin_exec, _pg_url
from .conftest import Phone, claim_fields, new_id
from .test_fund_governance import BUDGET, fund, spend
from .test_report_records import NARRATIVE, PARTS
from .test_rotation_api import LONGSHUI, setup_pool

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parents[2]
WORKERS = 2
# uvicorn's access line with the worker's pid in front (sync_server.cli.serve_log_config).
ACCESS = re.compile(r'^pid=(\d+) \S+\s+127\.0\.0\.1:(\d+) - "([A-Z]+) (\S+) HTTP/1\.1" (\d+)')
STARTED_PROCESS = re.compile(r"Started server process \[(\d+)\]")


def _children(pid: int) -> set[int]:
    out = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                out.add(int(entry.name))
    return out


class Live:
    """The 2-worker server, a harness on the same database, the pool's people, and the access log."""

    def __init__(self, settings: Settings, harness: Harness, server: ServerProcess, people: SimpleNamespace):
        self.settings, self.harness, self.server, self.p = settings, harness, server, people
        self.opened: list[httpx.Client] = []

    def log(self) -> str:
        return self.server.log_path.read_text(encoding="utf-8", errors="replace")

    def access(self) -> list[tuple[int, int, str, str, int]]:
        return [(int(m[1]), int(m[2]), m[3], m[4], int(m[5]))
                for m in map(ACCESS.match, self.log().splitlines()) if m]

    def workers(self) -> set[int]:
        """The worker processes: children of the `serve` process that uvicorn started serving."""
        started = {int(p) for p in STARTED_PROCESS.findall(self.log())}
        return started & _children(self.server.proc.pid)

    def served(self, method: str, path_prefix: str) -> Counter:
        return Counter(pid for pid, _, m, path, _ in self.access() if m == method and path.startswith(path_prefix))

    def assert_both_served(self, method: str, path_prefix: str) -> Counter:
        workers = self.workers()
        assert len(workers) == WORKERS, (workers, self.log()[-3000:])
        by_pid = self.served(method, path_prefix)
        assert set(by_pid) == workers, f"{method} {path_prefix}: served by {dict(by_pid)}, workers {workers}"
        assert self.server.proc.pid not in by_pid  # the supervising process serves nothing itself
        return by_pid

    def _pid_of(self, port: int, timeout: float = 30) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for pid, client_port, _, path, _ in reversed(self.access()):
                if client_port == port and path == "/healthz":
                    return pid
            time.sleep(0.05)
        raise AssertionError(f"no access line for client port {port}")

    def clients(self, per_worker: int) -> list[httpx.Client]:
        """Keep-alive connections, ``per_worker`` accepted by each worker, alternating: client k
        and client k+1 are served by different processes."""
        by_pid: dict[int, list[httpx.Client]] = {}
        for _ in range(40 * per_worker + 40):
            c = httpx.Client(base_url=self.server.url, timeout=180)
            r = c.get("/healthz")
            assert r.status_code == 200
            port = r.extensions["network_stream"].get_extra_info("client_addr")[1]
            pid = self._pid_of(port)
            mine = by_pid.setdefault(pid, [])
            if len(mine) < per_worker:
                mine.append(c)
                self.opened.append(c)
            else:
                c.close()
            if len(by_pid) == WORKERS and all(len(v) >= per_worker for v in by_pid.values()):
                break
        assert len(by_pid) == WORKERS and all(len(v) >= per_worker for v in by_pid.values()), \
            {pid: len(v) for pid, v in by_pid.items()}
        a, b = by_pid.values()
        return [c for pair in zip(a, b) for c in pair]

    def view(self, client: httpx.Client) -> SimpleNamespace:
        """What the single-process tests' helpers take as ``w`` (client, people, harness)."""
        return SimpleNamespace(client=client, p=self.p, harness=self.harness,
                               clock=SimpleNamespace(now=dt.datetime.now(dt.timezone.utc)))

    def close_clients(self) -> None:
        for c in self.opened:
            c.close()
        self.opened.clear()


def _all_at_once(jobs: list) -> list:
    """Run the callables in as many threads, released together; their results in order."""
    start = threading.Barrier(len(jobs))

    def run(job):
        start.wait()
        return job()

    with ThreadPoolExecutor(len(jobs)) as pool:
        return list(pool.map(run, jobs))


@pytest.fixture(scope="module")
def live(postgres_uri, _postgres_template, tmp_path_factory):
    name = "w_" + uuid.uuid4().hex[:16]
    _admin_exec(postgres_uri, f"CREATE DATABASE {name} TEMPLATE {_postgres_template}")
    base = tmp_path_factory.mktemp("workers")
    settings = Settings(data_dir=base / "data", database_url=_pg_url(postgres_uri, name),
                        max_json_bytes=256 * 1024, pull_limit_max=50,
                        # the enrollment races below lose on purpose: every loser counts as a wrong code
                        enroll_fail_limit=10_000, enroll_prefix_fail_limit=10_000)
    harness = Harness(settings)
    setup_pool(harness)
    people = SimpleNamespace(
        adjuster=harness.actor("adjuster"),
        coordinator=harness.actor("coordinator"),
        liaison=harness.actor("liaison", township_code=LONGSHUI),
        s1=harness.actor("surveyor", insurer_code="co1"),
        s2=harness.actor("surveyor", insurer_code="co2"),
        s3=harness.actor("surveyor", insurer_code="co3"),
        s4=harness.actor("surveyor", insurer_code="co4"),
    )
    server = ServerProcess(settings, workers=WORKERS, log_path=base / "server.log",
                           serve_args=("--log-level", "info", "--access-log"))
    # A worker imports the whole server before it answers; on a busy host that takes a while.
    server.start(timeout=240)
    w = Live(settings, harness, server, people)
    try:
        yield w
        # Every office act and refusal of every test was appended by one process or the other:
        # the hash chain is still one unbroken chain.
        verdict = audit_service.verify(harness.db)
        assert verdict.ok, verdict.as_dict()
        assert verdict.rows > 0
    finally:
        w.close_clients()
        server.stop()
        harness.close()
        try:
            _admin_exec(postgres_uri, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        except Exception:  # noqa: BLE001 - a leftover test database is harmless
            pass


# ------------------------------------------------------------------------------ the command line

def _serve(env_extra: dict, *argv: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DAZU_DATA_DIR")}
    env.update(env_extra, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "sync_server", "serve", "--port", "1", *argv], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_sqlite_with_several_workers_is_refused_before_anything_starts(tmp_path):
    data = tmp_path / "data"
    for env in ({"DAZU_DATA_DIR": str(data)},  # the default database: SQLite in the data folder
                {"DAZU_DATA_DIR": str(data), "DATABASE_URL": f"sqlite:///{tmp_path / 'other.sqlite3'}"}):
        done = _serve(env, "--workers", "2")
        assert done.returncode == 2, done.stderr
        assert "--workers 2 needs PostgreSQL" in done.stderr and "--workers 1" in done.stderr
        assert "serving on" not in done.stdout
        # nothing started: no database file, no key file, no data folder
        assert not data.exists() and not (tmp_path / "other.sqlite3").exists()
    done = _serve({"DAZU_DATA_DIR": str(data)}, "--workers", "0")
    assert done.returncode == 2 and "--workers must be 1 or more" in done.stderr and not data.exists()


def test_the_settings_reach_every_worker_unchanged():
    """What the command line resolved is what each worker's create_app() reads back."""
    resolved = Settings(data_dir=Path("/srv/dazu"), database_url="postgres://u:p@db/dazu", blob_dir=Path("/b"),
                        max_json_bytes=1, max_blob_bytes=2, max_push_mutations=3, pull_limit_max=4,
                        enroll_code_ttl_hours=5, public_url="https://dazu.example:8443", auth_fail_limit=6,
                        enroll_fail_limit=7, enroll_prefix_fail_limit=8, auth_fail_window_seconds=9,
                        upload_quota_bytes=10, blob_cleanup_hours=11, survey_access_days_after_completion=12,
                        request_threads=13, seal_key_file=Path("/k/server.key"), seal_key="a2V5", tls_cert=Path("/c.pem"),
                        tls_key=Path("/c.key"))
    assert Settings.from_env(resolved.to_env()) == resolved
    assert Settings.from_env(Settings().to_env()) == Settings()
    # every field the environment can set is compared above: the defaults differ from all of them
    assert all(getattr(resolved, f) != getattr(Settings(), f) for f in Settings.__dataclass_fields__
               if f not in ("extra", "pull_limit_default", "max_missing_query"))


def test_the_request_threads_are_what_the_settings_say(settings):
    """The pool the blocking handlers run in has DAZU_REQUEST_THREADS threads, set as the app
    starts in its own event loop; fewer than one is refused."""
    import anyio
    from anyio import to_thread

    from sync_server.app import create_app

    async def started(threads: int) -> int:
        app = create_app(settings.with_(request_threads=threads))
        async with app.router.lifespan_context(app):
            return to_thread.current_default_thread_limiter().total_tokens

    assert anyio.run(started, 3) == 3
    assert anyio.run(started, Settings().request_threads) == 8
    assert Settings.from_env({"DAZU_REQUEST_THREADS": "5"}).request_threads == 5
    with pytest.raises(ValueError, match="request_threads must be at least 1"):
        Settings(request_threads=0)


def test_both_workers_run_with_the_served_settings(live):
    """The body cap (DAZU_MAX_JSON_BYTES) and the pull page cap (DAZU_PULL_LIMIT_MAX) the command
    line was given hold in each worker process."""
    clients = live.clients(per_worker=2)
    h = live.p.coordinator.headers
    big = {"device_id": live.p.coordinator.device_id, "mutations": [], "pad": "x" * (300 * 1024)}
    replies = _all_at_once([lambda c=c: c.post("/api/v1/sync/push", headers=h, json=big) for c in clients])
    assert [r.status_code for r in replies] == [413] * len(clients)
    assert {r.json()["error"] for r in replies} == {"body_too_large"}
    live.assert_both_served("POST", "/api/v1/sync/push")


# ------------------------------------------------------------------------------------ push

def test_pushes_of_the_same_and_different_batches(live):
    """Eight devices each send their batch four times at once (two copies to each worker), all
    devices together: every mutation applied exactly once, every other copy answered duplicate,
    the receipts one per seq; a later replay is all duplicate."""
    devices, copies, size = 8, 4, 12
    clients = live.clients(per_worker=devices * copies // 2)
    phones = [live.harness.actor("liaison", township_code=LONGSHUI) for _ in range(devices)]
    bodies = [{"device_id": ph.device_id, "mutations": [
        {"seq": i + 1, "entity": "claim", "id": new_id(), "op": "upsert", "fields": claim_fields(),
         "base_version": None} for i in range(size)]} for ph in phones]

    def send(d: int, k: int):
        r = clients[d * copies + k].post("/api/v1/sync/push", headers=phones[d].headers, json=bodies[d])
        assert r.status_code == 200, r.text
        return r.json()

    replies = _all_at_once([lambda d=d, k=k: send(d, k) for d in range(devices) for k in range(copies)])
    for d in range(devices):
        mine = replies[d * copies:(d + 1) * copies]
        assert all(r["acked_seq"] == size for r in mine)
        statuses = Counter(x["status"] for r in mine for x in r["results"])
        assert statuses == {"applied": size, "duplicate": size * (copies - 1)}, statuses
        applied = [r for r in mine if r["results"][0]["status"] == "applied"]
        assert len(applied) == 1 and {x["status"] for x in applied[0]["results"]} == {"applied"}
    again = send(0, 1)
    assert {x["status"] for x in again["results"]} == {"duplicate"}
    ids = {m["id"] for b in bodies for m in b["mutations"]}
    with live.harness.db.read() as s:
        found = set(s.scalars(select(Claim.id).where(Claim.id.in_(ids))))
        receipts = dict(s.execute(select(PushReceipt.device_id, func.count())
                                  .where(PushReceipt.device_id.in_([p.device_id for p in phones]))
                                  .group_by(PushReceipt.device_id)).all())
    assert found == ids  # 0 lost
    assert receipts == {p.device_id: size for p in phones}  # 0 duplicated receipts
    live.assert_both_served("POST", "/api/v1/sync/push")


# ------------------------------------------------------------------------------------ blobs

def _patch(client, headers, sha, data, offset):
    return client.patch(f"/api/v1/blobs/{sha}", content=data[offset:offset + 128 * 1024], headers={
        **headers, "Upload-Offset": str(offset), "Upload-Length": str(len(data)),
        "Content-Type": "application/offset+octet-stream"})


def _upload_in_chunks(client, headers, sha, data) -> Counter:
    """PATCH 128 KiB at a time from the offset the server last said, until it holds it all; a 409
    (another upload of this device running, or a stale offset) names the offset to go on from."""
    seen: Counter = Counter()
    offset = int(client.head(f"/api/v1/blobs/{sha}", headers=headers).headers["upload-offset"])
    for _ in range(2000):
        if offset == len(data):
            return seen
        r = _patch(client, headers, sha, data, offset)
        seen[r.status_code] += 1
        assert r.status_code in (204, 409), r.text
        new = int(r.headers["upload-offset"])
        assert 0 <= new <= len(data)
        if r.status_code == 409:
            assert r.json()["error"] in ("upload_in_progress", "offset_mismatch"), r.text
            time.sleep(0.01)
        offset = new
    raise AssertionError(f"upload never finished: {seen}")


def test_resumable_uploads_of_one_blob_from_two_clients(live):
    """One photo sent at once by two devices (each through a different worker), and by one device
    over two connections (one per worker) racing each other's offsets: the blob is whole and
    stored once, no partial upload is left, each device's upload is recorded once."""
    rng = random.Random(7)
    data = b"\xff\xd8\xff\xe0" + rng.randbytes(1024 * 1024 + 12345) + b"\xff\xd9"
    sha = hashlib.sha256(data).hexdigest()
    a, b = live.harness.actor("adjuster"), live.harness.actor("liaison", township_code=LONGSHUI)
    clients = live.clients(per_worker=2)
    seen = _all_at_once([
        lambda: _upload_in_chunks(clients[0], a.headers, sha, data),
        lambda: _upload_in_chunks(clients[1], b.headers, sha, data),
    ])
    assert all(s[204] >= 1 for s in seen), seen
    # the same device on both workers at once
    data2 = b"\xff\xd8\xff\xe0" + rng.randbytes(1024 * 1024 + 777) + b"\xff\xd9"
    sha2 = hashlib.sha256(data2).hexdigest()
    c = live.harness.actor("adjuster")
    seen2 = _all_at_once([lambda k=k: _upload_in_chunks(clients[k], c.headers, sha2, data2) for k in range(4)])
    assert sum(s[204] for s in seen2) >= 1, seen2
    store = BlobStore(live.settings.blob_dir)
    for digest, body, devices in ((sha, data, {a.device_id, b.device_id}), (sha2, data2, {c.device_id})):
        assert store.final_path(digest).read_bytes() == body
        assert not [p for p in store.partial.iterdir() if p.name.startswith(digest) and p.name.endswith(".part")]
        for who in (a, c):
            head = clients[2].head(f"/api/v1/blobs/{digest}", headers=who.headers)
            if who.device_id in devices:
                assert head.headers["upload-offset"] == str(len(body))
        with live.harness.db.read() as s:
            assert s.get(Blob, digest).size == len(body)
            uploads = s.execute(select(BlobUpload.device_id).where(BlobUpload.sha256 == digest)).scalars().all()
        assert sorted(uploads) == sorted(devices)  # once per device, never twice
    live.assert_both_served("PATCH", "/api/v1/blobs/")


# ------------------------------------------------------------------------------- enrollment

def test_one_enrollment_code_used_twice_at_once(live):
    """Each code sent by two phones at the same moment, one through each worker: exactly one gets
    a device, the other the answer an unknown code gets."""
    n = 8
    users = [live.harness.add_user("liaison", f"联络员 {i}", LONGSHUI) for i in range(n)]
    codes = [live.harness.enrollment_code(u["id"]) for u in users]
    clients = live.clients(per_worker=n)
    replies = _all_at_once([lambda i=i, k=k: clients[2 * i + k].post(
        "/api/v1/enroll", json={"code": codes[i], "device_name": f"手机 {k}"}) for i in range(n) for k in range(2)])
    for i in range(n):
        pair = replies[2 * i:2 * i + 2]
        assert sorted(r.status_code for r in pair) == [200, 401], [r.text for r in pair]
        (won,) = [r.json() for r in pair if r.status_code == 200]
        me = clients[0].get("/api/v1/me", headers={"Authorization": f"Bearer {won['token']}"})
        assert me.status_code == 200 and me.json()["user"]["id"] == users[i]["id"]
    with live.harness.db.read() as s:
        per_user = dict(s.execute(select(Device.user_id, func.count())
                                  .where(Device.user_id.in_([u["id"] for u in users]))
                                  .group_by(Device.user_id)).all())
    assert per_user == {u["id"]: 1 for u in users}
    live.assert_both_served("POST", "/api/v1/enroll")


# --------------------------------------------------------------------------------- rotation

def test_dispatch_and_answers_race_across_workers(live):
    """Every claim dispatched by four offices at once (two per worker): dispatched once, turns
    used differ by at most one, the log gapless. Then each co-insurer's surveyor accepts through
    one worker while declining through the other: exactly one answer wins per assignment."""
    from .test_rotation_api import add_claims

    n = 24
    claims = add_claims(live.harness, n)
    clients = live.clients(per_worker=2)
    with live.harness.db.read() as s:
        seq_before = s.scalar(select(func.max(AssignmentLog.seq))) or 0

    def dispatcher(k: int):
        order = list(claims)
        random.Random(k).shuffle(order)
        out = Counter()
        for cid in order:
            r = clients[k].post(f"/api/v1/claims/{cid}/dispatch", headers=live.p.adjuster.headers)
            assert r.status_code in (200, 409), r.text
            out[r.status_code] += 1
        return out

    statuses = sum(_all_at_once([lambda k=k: dispatcher(k) for k in range(4)]), Counter())
    assert statuses[200] == n, statuses  # each claim dispatched once; the others told it is
    with live.harness.db.read() as s:
        ordinary = s.execute(select(Assignment.id, Assignment.insurer_code)
                             .where(Assignment.claim_id.in_(claims), Assignment.kind == "ordinary")).all()
        log = s.execute(select(AssignmentLog.seq).where(AssignmentLog.seq > seq_before)
                        .order_by(AssignmentLog.seq)).scalars().all()
    assert len(ordinary) == n
    turns = Counter(code for _, code in ordinary)
    assert max(turns.values()) - min(turns.values()) <= 1, turns
    assert log == list(range(seq_before + 1, seq_before + n + 1))

    surveyors = {"co1": live.p.s1, "co2": live.p.s2, "co3": live.p.s3, "co4": live.p.s4}

    def answer(aid: str, code: str, kind: str, k: int):
        body = {"reason": "查勘员外出"} if kind == "decline" else None
        return clients[k].post(f"/api/v1/assignments/{aid}/{kind}", headers=surveyors[code].headers, json=body)

    jobs = []
    for j, (aid, code) in enumerate(ordinary):
        jobs += [lambda aid=aid, code=code, j=j: answer(aid, code, "accept", j % 2),
                 lambda aid=aid, code=code, j=j: answer(aid, code, "decline", 1 - j % 2)]
    replies = _all_at_once(jobs)
    won, handed = {}, set()
    for j, (aid, _) in enumerate(ordinary):
        accept, decline = replies[2 * j], replies[2 * j + 1]
        assert sorted([accept.status_code, decline.status_code]) == [200, 409], (accept.text, decline.text)
        won[aid] = "accepted" if accept.status_code == 200 else "declined"
        if decline.status_code == 200:
            (passed_on,) = decline.json()["handed_over"]  # a decline passes the claim on, once
            handed.add(passed_on["id"])
    with live.harness.db.read() as s:
        rows = dict(s.execute(select(Assignment.id, Assignment.status).where(Assignment.id.in_(won))).all())
        answers = Counter(s.execute(select(AssignmentLog.assignment_id).where(
            AssignmentLog.assignment_id.in_(won), AssignmentLog.kind.in_(("accepted", "declined")))).scalars())
        # in turn, or out of turn once the lowest-standing co-insurers have all declined the claim
        later = set(s.scalars(select(Assignment.id).where(
            Assignment.claim_id.in_(claims), Assignment.kind.in_(("ordinary", "out_of_turn")),
            Assignment.id.not_in(won))))
        log = s.execute(select(AssignmentLog.seq).where(AssignmentLog.seq > seq_before)
                        .order_by(AssignmentLog.seq)).scalars().all()
    assert rows == won
    assert answers == Counter({aid: 1 for aid in won})  # one answer logged per assignment
    assert later == handed and len(handed) == list(won.values()).count("declined")
    assert log == list(range(seq_before + 1, seq_before + len(log) + 1))  # still gapless
    live.assert_both_served("POST", "/api/v1/claims/")
    live.assert_both_served("POST", "/api/v1/assignments/")


# ------------------------------------------------------------------------- claim authority

def test_co_insurers_give_their_opinions_at_once(live):
    """Claims in the informing tier, never looked at before: the four co-insurers' opinions and
    the lead's arrive at the same moment through both workers. One review per claim, every
    opinion kept, and once all co-insurers have spoken the claim is cleared."""
    from .test_rotation_api import add_claims

    claims = add_claims(live.harness, 6, adjusted_amount_fen=150_000 * 100)
    clients = live.clients(per_worker=3)
    who = [live.p.s1, live.p.s2, live.p.s3, live.p.s4, live.p.adjuster]
    jobs = [lambda cid=cid, k=k, u=u: clients[k % len(clients)].post(
        f"/api/v1/claims/{cid}/opinions", headers=u.headers, json={"vote": "approve", "opinion": "同意"})
        for i, cid in enumerate(claims) for k, u in enumerate(who, start=i)]
    replies = _all_at_once(jobs)
    assert [r.status_code for r in replies] == [200] * len(jobs), [r.text for r in replies if r.status_code != 200]
    for cid in claims:
        view = clients[0].get(f"/api/v1/claims/{cid}/authority", headers=live.p.adjuster.headers).json()
        assert view["missing"] == [] and view["cleared"], view
    with live.harness.db.read() as s:
        reviews = s.scalar(select(func.count()).select_from(AuthorityReview).where(AuthorityReview.claim_id.in_(claims)))
        opinions = Counter(s.execute(select(Opinion.claim_id).where(Opinion.claim_id.in_(claims))).scalars())
    assert reviews == len(claims)
    assert opinions == Counter({cid: len(who) for cid in claims})
    live.assert_both_served("POST", "/api/v1/claims/")


# ------------------------------------------------------------------------------------ fund

def test_fund_caps_hold_under_concurrency(live):
    """Receipts against a demand and spending against the confirmed budget, booked at once
    through both workers: exactly as many fit as the cap allows, never a fen more."""
    from .test_fund_api import agree_budget

    clients = live.clients(per_worker=5)
    views = [live.view(c) for c in clients]
    # recoveries: 8 receipts of 30,000 against a 100,000 demand -> three fit
    r = clients[0].post("/api/v1/fund/recoveries/co1/demands", headers=live.p.adjuster.headers,
                        json={"amount_fen": 100_000, "on": "2026-07-01"})
    assert r.status_code == 201, r.text
    replies = _all_at_once([lambda c=c: c.post("/api/v1/fund/recoveries/co1/receipts", headers=live.p.adjuster.headers,
                                               json={"amount_fen": 30_000, "on": "2026-07-03"}) for c in clients[:8]])
    assert sorted(r.status_code for r in replies) == [201] * 3 + [409] * 5, [r.text for r in replies]
    assert {r.json()["error"] for r in replies if r.status_code == 409} == {"over_received"}
    # spending: ten of 7,000 against 50,000 of publicity -> seven fit
    fund(views[0])
    agree_budget(views[0], amounts=BUDGET)
    replies = _all_at_once([lambda v=v: spend(v, 7_000) for v in views])
    assert sorted(r.status_code for r in replies) == [201] * 7 + [409] * 3, [r.text for r in replies]
    assert {r.json()["error"] for r in replies if r.status_code == 409} == {"over_budget"}
    with live.harness.db.read() as s:
        received = s.scalar(select(func.sum(RecoveryEntryRow.amount_fen)).where(
            RecoveryEntryRow.insurer_code == "co1", RecoveryEntryRow.kind == "received"))
        spent = s.scalar(select(func.sum(FundEntryRow.amount_fen)).where(FundEntryRow.category == "publicity"))
    assert received == 90_000
    assert spent == 49_000
    live.assert_both_served("POST", "/api/v1/fund/")


# ---------------------------------------------------------------------------------- reports

def test_report_records_first_write_race(live):
    """Six offices save the quarter's minutes (and the lead's adjusters the annual narrative) at
    revision 0 at once, then six edit revision 1 at once: each time one is saved and the others
    are told their copy is stale; nothing overwritten unseen, no record inserted twice."""
    clients = live.clients(per_worker=3)
    path = "/api/v1/reports/quarterly/2026/3/minutes"
    bodies = [{"revision": 0, "held_on": "2026-10-09", "attendees": f"人保、太保 第{k}稿", "minutes": f"第 {k} 稿",
               "measures": [f"措施 {k}"]} for k in range(len(clients))]
    offices = [live.p.coordinator, live.p.adjuster]
    replies = _all_at_once([lambda k=k, c=c: c.put(path, headers=offices[k % 2].headers, json=bodies[k])
                            for k, c in enumerate(clients)])
    assert sorted(r.status_code for r in replies) == [200] + [409] * (len(clients) - 1), [r.text for r in replies]
    assert {r.json()["error"] for r in replies if r.status_code == 409} == {"stale_revision"}
    (saved,) = [r.json() for r in replies if r.status_code == 200]
    got = clients[0].get(path, headers=live.p.adjuster.headers).json()
    assert got["revision"] == 1 and got["minutes"] == saved["minutes"] and got["attendees"] == saved["attendees"]
    # and again on the saved record: six edits of revision 1, one kept, none overwritten unseen
    replies = _all_at_once([lambda k=k, c=c: c.put(path, headers=offices[k % 2].headers,
                                                   json={**bodies[k], "revision": 1, "minutes": f"修改 {k}"})
                            for k, c in enumerate(clients)])
    assert sorted(r.status_code for r in replies) == [200] + [409] * (len(clients) - 1), [r.text for r in replies]
    (saved,) = [r.json() for r in replies if r.status_code == 200]
    got = clients[1].get(path, headers=live.p.adjuster.headers).json()
    assert got["revision"] == 2 and got["minutes"] == saved["minutes"]
    leads = [live.p.adjuster] + [live.harness.actor("adjuster") for _ in range(2)]
    replies = _all_at_once([lambda k=k, c=c: c.put(NARRATIVE, headers=leads[k % 3].headers, json={
        "revision": 0, **PARTS, "publicity": f"第 {k} 稿"}) for k, c in enumerate(clients)])
    assert sorted(r.status_code for r in replies) == [200] + [409] * (len(clients) - 1), [r.text for r in replies]
    (saved,) = [r.json() for r in replies if r.status_code == 200]
    got = clients[1].get(NARRATIVE, headers=live.p.coordinator.headers).json()
    assert got["revision"] == 1 and got == {**saved, **{k: got[k] for k in got if k not in saved}}
    live.assert_both_served("PUT", "/api/v1/reports/")


# ------------------------------------------------------------------------------ insurer admin

def test_insurer_leave_and_rename_at_once(live):
    """Eight leave windows booked for one insurer at once and six renames of another: every window
    kept once, and the name is the one of the rename that committed last (all answered 200)."""
    clients = live.clients(per_worker=4)
    year = dt.date.today().year + 1
    windows = [(f"{year}-0{m}-01T00:00:00+08:00", f"{year}-0{m}-05T00:00:00+08:00") for m in range(1, 9)]
    replies = _all_at_once([lambda c=c, w=w: c.post("/api/v1/insurers/co3/leave", headers=live.p.coordinator.headers,
                                                    json={"from": w[0], "to": w[1], "note": "年假"})
                            for c, w in zip(clients, windows)])
    assert [r.status_code for r in replies] == [201] * len(windows), [r.text for r in replies]
    listed = clients[0].get("/api/v1/insurers", headers=live.p.coordinator.headers).json()["insurers"]
    (co3,) = [i for i in listed if i["code"] == "co3"]
    assert len(co3["leave"]) == len(windows)
    assert {w["from"][:7] for w in co3["leave"]} == {f"{year}-{m - 1:02d}" if m > 1 else f"{year - 1}-12"
                                                      for m in range(1, 9)}
    names = [f"co4 保险 第{k}名" for k in range(6)]
    replies = _all_at_once([lambda c=c, n=n: c.post("/api/v1/insurers/co4/rename", headers=live.p.coordinator.headers,
                                                    json={"name": n}) for c, n in zip(clients, names)])
    assert [r.status_code for r in replies] == [200] * len(names), [r.text for r in replies]
    listed = clients[1].get("/api/v1/insurers", headers=live.p.coordinator.headers).json()["insurers"]
    (co4,) = [i for i in listed if i["code"] == "co4"]
    assert co4["name"] in names
    live.assert_both_served("POST", "/api/v1/insurers/")


# ----------------------------------------------------------------------------------- events

def test_claims_pushed_while_an_event_is_declared_all_join_it(live):
    """Four phones push matching claims through both workers while the coordinator declares the
    event through one of them, and two offices add the same odd claims by hand at once: every
    matching claim ends in the event, each by-hand claim once."""
    clients = live.clients(per_worker=4)
    township = "500111103"  # a township no other test reports in
    phones = [Phone(clients[k], live.harness.actor("liaison", township_code=township)) for k in range(4)]
    pushed: list[str] = []

    def pusher(phone: Phone):
        for _ in range(6):
            cid = new_id()
            result = phone.push_one("claim", cid, claim_fields(township, incident_at="2026-09-02T03:40:00+08:00"))
            assert result["status"] == "applied", result
            pushed.append(cid)

    def declare():
        time.sleep(0.3)  # some claims are already in, others still coming
        r = clients[5].post("/api/v1/events", headers=live.p.coordinator.headers, json={
            "name": "2026-09 暴雨", "coverage": "natural_disaster", "township_codes": [township],
            "started_at": "2026-09-01T20:00:00+08:00"})
        assert r.status_code == 201, r.text
        return r.json()["id"]

    results = _all_at_once([lambda ph=ph: pusher(ph) for ph in phones] + [declare])
    event_id = results[-1]
    with live.harness.db.read() as s:
        grouped = dict(s.execute(select(Claim.id, Claim.event_id).where(Claim.id.in_(pushed))).all())
    assert len(pushed) == 24 and grouped == {cid: event_id for cid in pushed}
    odd = []
    for _ in range(5):
        cid = new_id()
        assert phones[0].push_one("claim", cid, claim_fields(township, coverage="fire_explosion",
                                                             incident_at="2026-09-02T03:40:00+08:00"))["status"] == "applied"
        odd.append(cid)
    replies = _all_at_once([lambda cid=cid, k=k: clients[6 + k].post(f"/api/v1/events/{event_id}/claims/{cid}",
                                                                      headers=live.p.adjuster.headers)
                            for cid in odd for k in range(2)])
    assert [r.status_code for r in replies] == [200] * len(replies), [r.text for r in replies]
    detail = clients[0].get(f"/api/v1/events/{event_id}", headers=live.p.adjuster.headers).json()
    assert sorted(detail["claim_ids"]) == sorted(pushed + odd) and detail["claims"] == len(pushed) + len(odd)
    live.assert_both_served("POST", "/api/v1/events")
    live.assert_both_served("POST", "/api/v1/sync/push")
