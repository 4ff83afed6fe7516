"""An empty pull must cost the same with 100 or 5,000 claims (DESIGN.md: "Nothing new costs one
small request, however many claims exist"). bench.sync_noop measured a liaison's empty pull at
~27 ms with 5,000 claims vs ~2.7 ms with 100: SQLite plans the scope filter as a MULTI-INDEX OR
that probes ix_changes_claim_id once per claim of the township, then sorts, instead of walking
the seq range (the primary key) after the cursor. The server now walks the seq range (commit
562a939; bench.sync_noop ratio 0.99 afterwards); this keeps it so, from the plan, no timing.
"""
from __future__ import annotations

import sqlite3

from sqlalchemy import select
from sqlalchemy.dialects import sqlite as sqlite_dialect

from sync_server.core.changelog import change_visibility_clause
from sync_server.core.models import Change, User

from .conftest import TOWNSHIP_A


def test_liaison_pull_walks_the_seq_range_not_every_claim(sqlite_url):
    liaison = User(role="liaison", township_code=TOWNSHIP_A, insurer_code=None)
    query = (select(Change).where(Change.seq > 1000, Change.seq <= 1000, change_visibility_clause(liaison))
             .order_by(Change.seq).limit(501))
    sql = str(query.compile(dialect=sqlite_dialect.dialect(), compile_kwargs={"literal_binds": True}))
    path = sqlite_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as con:
        plan = " | ".join(row[-1] for row in con.execute("EXPLAIN QUERY PLAN " + sql))
    assert "ix_changes_claim_id" not in plan and "TEMP B-TREE" not in plan, plan
