"""Hypothesis state machine: 2-3 phones edit offline, the network fails at random points (before
a request, or after the server committed and the reply is lost), the server restarts (a new app
instance on the same database); then everybody syncs until quiet.

Invariants at the end:
* every phone and the server agree on every claim's fields and version, persons and notes;
* nothing duplicated: one server row per record made on any phone;
* nothing silently lost: every edit of a claim field is the final value, or kept in a server
  conflict record, or was knowingly replaced (the phone that replaced it was showing it).
"""
from __future__ import annotations

import itertools
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from fieldapp.sync import Offline
from sync_server.core.settings import Settings

from .conftest import TOWNSHIP_A, Phone, Server, server_claim, server_conflicts, server_counts

FIELDS = ("description", "address", "claimed_amount_fen")
_TEMPLATE: dict[str, Path] = {}
_counter = itertools.count()


class SyncMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.tmp = Path(tempfile.mkdtemp(prefix="sync-sm-"))
        db = self.tmp / "server.sqlite3"
        shutil.copyfile(_TEMPLATE["sqlite"], db)
        self.server = Server(Settings(data_dir=self.tmp / "server", database_url=f"sqlite:///{db}"))
        self.phones: list[Phone] = []
        self.claims: list[str] = []
        self.persons: set[str] = set()
        self.notes: set[str] = set()
        # (claim, field) -> list of [value, phone name, superseded]
        self.edits: dict[tuple[str, str], list[list]] = {}

    @initialize(n=st.integers(2, 3))
    def make_phones(self, n: int) -> None:
        roles = ["liaison", "liaison", "adjuster"]
        for i in range(n):
            p = Phone(f"p{i}", self.tmp / f"p{i}", self.server).open()
            p.enroll(roles[i], township_code=TOWNSHIP_A if roles[i] == "liaison" else None)
            self.phones.append(p)

    def teardown(self) -> None:
        for p in self.phones:
            p.close()
        self.server.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    # ------------------------------------------------------------------------------ offline work
    @rule(who=st.integers(0, 2))
    def create_claim(self, who: int) -> None:
        p = self.phones[who % len(self.phones)]
        cid = p.new_claim(description=f"新案件 {next(_counter)}")
        self.claims.append(cid)

    def _local(self, p: Phone, idx: int):  # noqa: ANN202
        if not self.claims:
            return None
        cid = self.claims[idx % len(self.claims)]
        try:
            return p.store.claims.get(cid)
        except Exception:  # noqa: BLE001 - the phone has not pulled this claim yet
            return None

    @precondition(lambda self: self.claims)
    @rule(who=st.integers(0, 2), idx=st.integers(0, 50), field=st.sampled_from(FIELDS))
    def edit_claim(self, who: int, idx: int, field: str) -> None:
        p = self.phones[who % len(self.phones)]
        claim = self._local(p, idx)
        if claim is None:
            return
        n = next(_counter)
        value = 100 * n if field == "claimed_amount_fen" else f"{field}-{p.name}-{n}"
        before = getattr(claim, field)
        for edit in self.edits.get((claim.id, field), []):
            if edit[0] == before:
                edit[2] = True  # this phone shows it and replaces it knowingly
        p.store.claims.update(claim.id, **{field: value})
        self.edits.setdefault((claim.id, field), []).append([value, p.name, False])

    @precondition(lambda self: self.claims)
    @rule(who=st.integers(0, 2), idx=st.integers(0, 50))
    def add_person_and_note(self, who: int, idx: int) -> None:
        p = self.phones[who % len(self.phones)]
        claim = self._local(p, idx)
        if claim is None:
            return
        self.persons.add(p.store.persons.add(claim.id, role_in_claim="claimant", name=f"申请人{next(_counter)}"))
        self.notes.add(p.store.notes.add(claim.id, f"备注 {next(_counter)}").id)

    # ------------------------------------------------------------------------------ network
    @rule(who=st.integers(0, 2), fault=st.sampled_from(["none", "fail", "lose"]), after=st.integers(0, 4))
    def sync(self, who: int, fault: str, after: int) -> None:
        p = self.phones[who % len(self.phones)]
        if fault == "fail":
            p.transport.fail_after = after
        elif fault == "lose":
            p.transport.lose_after = after
        try:
            p.client.sync_once()
        except Offline:
            pass
        p.transport.fail_after = p.transport.lose_after = None

    @rule()
    def restart_server(self) -> None:
        self.server.restart()
        for p in self.phones:
            p.rebind()

    @invariant()
    def outbox_never_below_ack(self) -> None:
        for p in self.phones:
            acked = p.store.sync_state.get().last_acked_seq
            assert all(m["seq"] > acked for m in p.store.outbox.pending(5))

    # ------------------------------------------------------------------------------ the end
    def check_final(self) -> None:
        for p in self.phones:
            p.transport.fail_next = p.transport.lose_reply_next = 0
        for _round in range(6):
            for p in self.phones:
                p.client.sync_once()
            if all(p.store.outbox.count() == 0 for p in self.phones):
                break
        for p in self.phones:  # one more pull each: everyone sees the last pushes
            p.client.sync_once()
        assert all(p.store.outbox.count() == 0 for p in self.phones)
        for p in self.phones:
            assert p.client.rejections() == [], p.client.rejections()
        counts = server_counts(self.server)
        assert counts.get("claim", 0) == len(self.claims)
        assert counts.get("person", 0) == len(self.persons)
        assert counts.get("note", 0) == len(self.notes)
        assert counts.get("transition", 0) == len(self.claims)  # "reported", once per claim
        conflicts = server_conflicts(self.server)
        for cid in self.claims:
            remote = server_claim(self.server, cid)
            remote_local = {"description": remote["description"], "address": remote.get("address"),
                            "claimed_amount_fen": remote.get("claimed_amount_fen")}
            for p in self.phones:
                got = p.store.claims.get(cid)
                assert {f: getattr(got, f) for f in FIELDS} == remote_local, p.name
                assert got.version == remote["version"]
                assert {x.id for x in got.persons} == {x for x in self.persons if x in {y.id for y in got.persons}}
            for field in FIELDS:
                kept = {c["kept"] for c in conflicts if c["entity_id"] == cid and c["field"] == field}
                other = {c["other"] for c in conflicts if c["entity_id"] == cid and c["field"] == field}
                history = self.edits.get((cid, field), [])
                # A phone's own later edit of the field supersedes its earlier ones.
                last_by_phone = {}
                for edit in history:
                    last_by_phone[edit[1]] = edit
                for edit in history:
                    if edit is not last_by_phone[edit[1]] or edit[2]:
                        continue
                    value = edit[0]
                    assert value == remote_local[field] or value in kept | other, (
                        f"edit {value!r} of {field} is neither final nor in a conflict record")
        persons_everywhere = [{x.id for c in self.claims for x in p.store.claims.get(c).persons} for p in self.phones]
        assert all(s == self.persons for s in persons_everywhere)
        notes_everywhere = [{x.id for c in self.claims for x in p.store.claims.get(c).notes} for p in self.phones]
        assert all(s == self.notes for s in notes_everywhere)


@pytest.fixture
def sqlite_template(_sqlite_template):
    _TEMPLATE["sqlite"] = _sqlite_template
    return _sqlite_template


def test_sync_state_machine(sqlite_template):
    class Checked(SyncMachine):
        def teardown(self) -> None:
            try:
                self.check_final()
            finally:
                super().teardown()

    Checked.TestCase.settings = settings(max_examples=20, stateful_step_count=25, deadline=None,
                                         suppress_health_check=list(HealthCheck))
    Checked.TestCase().runTest()
