"""Kill the writer between the domain write and the outbox write: after reopen both or neither exist.

The writer is a real process writing a real SQLite file; the hook (DAZU_STORE_KILL_BEFORE_OUTBOX)
SIGKILLs it inside the open transaction, after the domain statements ran and before the outbox row.
A control run without the hook checks that the same operation does write both, so the test can
tell "rolled back" from "never happened".
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from fieldapp.store import open_store

from .conftest import new_claim

ROOT = Path(__file__).resolve().parents[2]
NEW_ID = "11111111-1111-4111-8111-111111111111"


def _run_writer(data_dir: Path, operation: str, claim_id: str, kill_at: int | None):
    env = {k: v for k, v in os.environ.items() if k != "DAZU_STORE_KILL_BEFORE_OUTBOX"}
    if kill_at is not None:
        env["DAZU_STORE_KILL_BEFORE_OUTBOX"] = str(kill_at)
    return subprocess.run([sys.executable, "-m", "tests.store.crash_writer", str(data_dir), operation, claim_id],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def _observe(data_dir: Path, operation: str, claim_id: str) -> tuple[bool, int]:
    """(domain change present?, outbox entries of that change)"""
    store = open_store(data_dir)
    try:
        assert store.recovery_report is None  # a killed writer is not a damaged file
        pending = store.outbox.pending(1000)
        if operation == "create":
            present = store.claims.count() == 2
            entries = sum(m["id"] == NEW_ID or m["fields"].get("claim_id") == NEW_ID for m in pending)
        elif operation == "update":
            present = store.claims.get(claim_id).description == "crash-update"
            entries = sum(m["fields"].get("description") == "crash-update" for m in pending)
        elif operation == "transition":
            present = store.claims.get(claim_id).status == "registered"
            entries = sum(m["fields"].get("status") == "registered" or m["fields"].get("to_status") == "registered"
                          for m in pending)
        elif operation == "person":
            present = any(p.name == "crash-person" for p in store.persons.list_for_claim(claim_id))
            entries = sum(m["entity"] == "person" for m in pending)
        else:
            present = any(n.text == "crash-note" for n in store.notes.list_for_claim(claim_id))
            entries = sum(m["entity"] == "note" for m in pending)
        return present, entries
    finally:
        store.close()


def _prepared(data_dir: Path) -> str:
    store = open_store(data_dir)
    cid = new_claim(store)
    store.outbox.ack(10**6)  # only what the writer does is left to count
    store.close()
    return cid


# (operation, outbox writes it makes): create and transition write two mutations; killing before
# the second one must also undo the first.
CASES = [("create", 1), ("create", 2), ("update", 1), ("transition", 1), ("transition", 2),
         ("person", 1), ("note", 1)]


@pytest.mark.parametrize("operation,kill_at", CASES)
def test_killed_between_domain_write_and_outbox_leaves_neither(tmp_path, operation, kill_at):
    data_dir = tmp_path / "phone"
    cid = _prepared(data_dir)
    proc = _run_writer(data_dir, operation, cid, kill_at)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert "done" not in proc.stdout
    assert _observe(data_dir, operation, cid) == (False, 0)


@pytest.mark.parametrize("operation,mutations", [("create", 2), ("update", 1), ("transition", 2),
                                                 ("person", 1), ("note", 1)])
def test_control_without_kill_writes_both(tmp_path, operation, mutations):
    data_dir = tmp_path / "phone"
    cid = _prepared(data_dir)
    proc = _run_writer(data_dir, operation, cid, None)
    assert proc.returncode == 0, proc.stderr
    assert _observe(data_dir, operation, cid) == (True, mutations)


def test_kill_after_earlier_commits_keeps_them(tmp_path):
    """Kill at the 2nd outbox write of an update run twice: the first update survives whole."""
    data_dir = tmp_path / "phone"
    cid = _prepared(data_dir)
    script = (
        "import sys\nfrom fieldapp.store import open_store\n"
        f"s = open_store({str(data_dir)!r})\n"
        f"s.claims.update({cid!r}, description='first')\n"
        f"s.claims.update({cid!r}, description='second')\n"
    )
    env = {**os.environ, "DAZU_STORE_KILL_BEFORE_OUTBOX": "2"}
    proc = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL
    store = open_store(data_dir)
    try:
        assert store.claims.get(cid).description == "first"
        assert [m["fields"] for m in store.outbox.pending()] == [{"description": "first"}]
    finally:
        store.close()
