"""Writer process for test_crash_safety: one store operation, run with the kill hook armed.

Usage: python -m tests.store.crash_writer DATA_DIR OPERATION CLAIM_ID
Run with DAZU_STORE_KILL_BEFORE_OUTBOX=N the process SIGKILLs itself inside the transaction, after
the domain rows are written and before the Nth outbox row is.
"""
from __future__ import annotations

import sys

from fieldapp.store import open_store


def main(data_dir: str, operation: str, claim_id: str) -> None:
    store = open_store(data_dir)
    if operation == "create":
        store.claims.create(coverage="fire_explosion", role="adjuster", created_by="crash",
                            claim_id="11111111-1111-4111-8111-111111111111", description="crash-create",
                            township_code="500111001", incident_at="2026-07-01T08:00:00+08:00")
    elif operation == "update":
        store.claims.update(claim_id, description="crash-update")
    elif operation == "transition":
        store.claims.transition(claim_id, "registered", role="adjuster", user="crash")
    elif operation == "person":
        store.persons.add(claim_id, role_in_claim="victim", name="crash-person", id_number="500111199001011232")
    elif operation == "note":
        store.notes.add(claim_id, "crash-note")
    else:
        raise SystemExit(f"unknown operation {operation}")
    store.close()
    print("done", flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
