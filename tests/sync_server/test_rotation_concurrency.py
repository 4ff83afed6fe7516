"""Two server processes dispatching the same 200 claims at the same moment on real PostgreSQL:
every claim goes to exactly one co-insurer, 200 ordinary assignments in all, no turn skipped
(turns used differ by at most 1), and the log replays to the same counts."""
from __future__ import annotations

import random
import threading
from collections import Counter

import httpx
import pytest
from sqlalchemy import select

from sync_server.core.models import Assignment
from sync_server.core.settings import Settings
from sync_server.rotation.models import AssignmentLog
from sync_server.testing import Harness, run_server

from .test_rotation_api import add_claims, setup_pool

N_CLAIMS = 200


@pytest.mark.postgres
def test_two_servers_dispatching_200_claims_at_once(postgres_url, tmp_path):
    settings = Settings(data_dir=tmp_path / "data", database_url=postgres_url)
    harness = Harness(settings)
    try:
        setup_pool(harness)
        adjuster = harness.actor("adjuster")
        claims = add_claims(harness, N_CLAIMS)
        servers = [run_server(settings), run_server(settings)]
        try:
            statuses: Counter = Counter()
            errors: list[str] = []
            start = threading.Barrier(6)

            def worker(url: str, order: list[str]) -> None:
                with httpx.Client(base_url=url, headers=adjuster.headers, timeout=60) as c:
                    start.wait()
                    for cid in order:
                        r = c.post(f"/api/v1/claims/{cid}/dispatch")
                        statuses[r.status_code] += 1
                        if r.status_code not in (200, 409):
                            errors.append(r.text)

            threads = []
            for k in range(6):
                # every claim is dispatched by BOTH servers (3 threads each), in different orders
                order = list(claims)
                random.Random(k).shuffle(order)
                server = servers[k % 2]
                mine = order if k < 2 else order[k * 31 % N_CLAIMS:] + order[: k * 31 % N_CLAIMS]
                threads.append(threading.Thread(target=worker, args=(server.url, mine)))
            for t in threads:
                t.start()
            for t in threads:
                t.join(300)
            assert not errors, errors[:3]
            assert statuses[200] == N_CLAIMS, statuses  # each claim dispatched once
        finally:
            for s in servers:
                s.stop()
        with harness.db.read() as s:
            ordinary = s.execute(select(Assignment.claim_id, Assignment.insurer_code)
                                 .where(Assignment.kind == "ordinary")).all()
            leads = s.execute(select(Assignment.claim_id, Assignment.insurer_code)
                              .where(Assignment.kind == "lead")).all()
            log = s.execute(select(AssignmentLog.seq, AssignmentLog.kind, AssignmentLog.insurer_code)
                            .order_by(AssignmentLog.seq)).all()
        assert len(ordinary) == N_CLAIMS
        assert len({a.claim_id for a in ordinary}) == N_CLAIMS  # no claim twice
        assert len({a.claim_id for a in leads}) == len(leads) == N_CLAIMS
        turns = Counter(a.insurer_code for a in ordinary)
        assert set(turns) == {"co1", "co2", "co3", "co4"}
        assert max(turns.values()) - min(turns.values()) <= 1, turns
        # the log is gapless and says the same
        assert [e.seq for e in log] == list(range(1, N_CLAIMS + 1))
        assert Counter(e.insurer_code for e in log if e.kind == "assigned") == turns
    finally:
        harness.close()
