"""The rotation rules of annex 2, one rule per test, on hand-written logs."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from sync_server.rotation import rules as r

T0 = datetime(2026, 7, 1, 9, 0, tzinfo=r.CHINA_TIME)


def insurers(n=4, leave=None):
    leave = leave or {}
    return [r.CoInsurer(f"C{i}", i, tuple(leave.get(f"C{i}", ()))) for i in range(1, n + 1)]


def run(state, entries):
    for e in entries:
        r.apply(state, e)
    return entries


def test_ordinary_dispatch_goes_round_in_turn():
    s = r.new_state(insurers())
    got = []
    for k in range(8):
        (e,) = run(s, r.dispatch_ordinary(s, f"claim{k}", T0 + timedelta(minutes=k)))
        got.append(e.insurer_code)
    assert got == ["C1", "C2", "C3", "C4"] * 2
    assert all(s.turns[c] == 2 for c in s.codes)


def test_decline_uses_the_turn_and_passes_the_survey_on():
    s = r.new_state(insurers())
    (a,) = run(s, r.dispatch_ordinary(s, "x", T0))
    out = run(s, r.respond(s, a.assignment_id, r.DECLINED, T0 + timedelta(minutes=5)))
    assert [e.kind for e in out] == [r.DECLINED, r.ASSIGNED]
    assert out[1].insurer_code == "C2" and out[1].claim_id == "x"
    assert s.turns == {"C1": 1, "C2": 1}
    # C1's turn is spent: the next claim goes to C3, not back to C1.
    (e,) = run(s, r.dispatch_ordinary(s, "y", T0 + timedelta(minutes=6)))
    assert e.insurer_code == "C3"


def test_everyone_declining_leaves_the_claim_to_the_lead_alone():
    s = r.new_state(insurers(3))
    (a,) = run(s, r.dispatch_ordinary(s, "x", T0))
    for _ in range(2):
        out = run(s, r.respond(s, a.assignment_id, r.DECLINED, T0))
        a = out[-1]
    out = run(s, r.respond(s, a.assignment_id, r.DECLINED, T0))
    assert [e.kind for e in out] == [r.DECLINED]
    assert s.turns == {"C1": 1, "C2": 1, "C3": 1}


def test_time_out_is_lazy_dated_at_the_deadline_and_hands_over_now():
    s = r.new_state(insurers())
    (a,) = run(s, r.dispatch_ordinary(s, "x", T0))
    assert r.expire(s, T0 + timedelta(hours=1, minutes=59)) == []
    late = T0 + timedelta(hours=5)
    out = run(s, r.expire(s, late))
    assert [(e.kind, e.insurer_code, e.at) for e in out] == [
        (r.TIMED_OUT, "C1", T0 + timedelta(hours=2)), (r.ASSIGNED, "C2", late)]
    with pytest.raises(r.RotationError, match="timed_out"):
        r.respond(s, a.assignment_id, r.ACCEPTED, late)


def test_answer_after_deadline_is_refused_even_before_anyone_looked():
    s = r.new_state(insurers())
    (a,) = run(s, r.dispatch_ordinary(s, "x", T0))
    with pytest.raises(r.RotationError, match="timed out"):
        r.respond(s, a.assignment_id, r.ACCEPTED, T0 + timedelta(hours=2))
    assert s.pending  # nothing changed


def test_on_leave_skipped_without_losing_turn_and_first_when_back():
    away = r.LeaveWindow(T0, T0 + timedelta(days=10))
    s = r.new_state(insurers(4, {"C1": [away]}))
    got = []
    for k in range(7):  # many dispatches while C1 is away
        out = run(s, r.dispatch_ordinary(s, f"c{k}", T0 + timedelta(days=1, minutes=k)))
        got.append([(e.kind, e.insurer_code) for e in out])
    assert got[0] == [(r.SKIPPED_ON_LEAVE, "C1"), (r.ASSIGNED, "C2")]
    # back: C1 first, exactly once, then the plain order again (no backlog of surveys)
    back = T0 + timedelta(days=11)
    codes = []
    for k in range(4):
        (e,) = [x for x in run(s, r.dispatch_ordinary(s, f"b{k}", back + timedelta(minutes=k)))]
        codes.append(e.insurer_code)
    # While away C2 took 3 turns, C3 and C4 2 each; C1 (0 turns) was levelled to one below the
    # last co-insurer chosen in its place (standing 1: one turn forgiven, one kept). So it comes
    # first, then C3 and C4 bring the round level, then C1 again before C2, which is ahead.
    assert codes == ["C1", "C3", "C4", "C1"]
    assert s.forgiven == {"C1": 1}
    assert s.turns == {"C1": 2, "C2": 3, "C3": 3, "C4": 3}


def test_event_dispatch_shares_claims_among_everyone_available_and_leaves_turns_alone():
    away = r.LeaveWindow(T0, T0 + timedelta(days=1))
    s = r.new_state(insurers(4, {"C3": [away]}))
    run(s, r.dispatch_ordinary(s, "x", T0))
    before = dict(s.turns)
    claims = [(f"e{k}", "T2" if k % 2 else "T1") for k in range(7)] + [("x", "T1")]
    out = run(s, r.dispatch_event(s, "flood", claims, T0 + timedelta(hours=1)))
    assert all(e.dispatch == r.EVENT and e.event_id == "flood" for e in out)
    got = {}
    for e in out:
        got.setdefault(e.insurer_code, []).append(e.claim_id)
    # "x" already has its co-insurer; 7 claims over C1, C2, C4 in blocks of township order
    assert sorted(got) == ["C1", "C2", "C4"]
        # township order T1: e0 e2 e4 e6, T2: e1 e3 e5 -> blocks of 3, 2, 2
    assert got == {"C1": ["e0", "e2", "e4"], "C2": ["e6", "e1"], "C4": ["e3", "e5"]}
    assert s.turns == before
    (e,) = run(s, r.dispatch_ordinary(s, "y", T0 + timedelta(days=2)))
    assert e.insurer_code == "C2"


def test_event_acceptance_counts_for_the_month_floor():
    s = r.new_state(insurers(3), r.RotationSettings(month_floor=2))
    out = run(s, r.dispatch_event(s, "flood", [("a", "T"), ("b", "T"), ("c", "T")], T0))
    for e in out[:2]:
        run(s, r.respond(s, e.assignment_id, r.ACCEPTED, T0 + timedelta(minutes=1)))
    assert s.floor_state(T0)["met"]


def test_month_floor_prefers_a_co_insurer_that_has_not_taken_part():
    s = r.new_state(insurers(4), r.RotationSettings(month_floor=2, floor_from_day=20))
    # June: C1, C2, C3 have taken their turns; July 21: C1 took part (accepted) in July.
    for k in range(3):
        (e,) = run(s, r.dispatch_ordinary(s, f"j{k}", datetime(2026, 6, 5 + k, tzinfo=r.CHINA_TIME)))
        run(s, r.respond(s, e.assignment_id, r.ACCEPTED, e.at))
    (e,) = run(s, r.dispatch_ordinary(s, "a", datetime(2026, 7, 21, tzinfo=r.CHINA_TIME)))
    assert e.insurer_code == "C4"
    run(s, r.respond(s, e.assignment_id, r.ACCEPTED, e.at))
    # Now all have standing 1; in turn it would be C1 (waited longest); C1 has not taken part in
    # July yet, nor C2/C3, so plain order holds.
    t = datetime(2026, 7, 22, tzinfo=r.CHINA_TIME)
    assert r.next_co_insurer(s, t) == "C1"


def test_month_floor_reorders_within_the_lowest_standing_only():
    s = r.new_state(insurers(4), r.RotationSettings(month_floor=2, floor_from_day=20))
    july = lambda d, h=0: datetime(2026, 7, d, h, tzinfo=r.CHINA_TIME)  # noqa: E731
    # July 2: C1 accepts. July 21: floor not met (1 < 2); C2..C4 are tied lowest and fresh.
    (e,) = run(s, r.dispatch_ordinary(s, "a", july(2)))
    run(s, r.respond(s, e.assignment_id, r.ACCEPTED, july(2)))
    (e,) = run(s, r.dispatch_ordinary(s, "b", july(21)))
    assert e.insurer_code == "C2"
    # C2 declines: not a participant; the survey passes to C3 (fresh, lowest).
    out = run(s, r.respond(s, e.assignment_id, r.DECLINED, july(21, 1)))
    assert out[-1].insurer_code == "C3"
    run(s, r.respond(s, out[-1].assignment_id, r.ACCEPTED, july(21, 2)))
    assert s.floor_state(july(21, 3))["met"]


def test_before_the_floor_day_the_plain_order_applies():
    s = r.new_state(insurers(3), r.RotationSettings(month_floor=3, floor_from_day=20))
    state_day = datetime(2026, 7, 19, tzinfo=r.CHINA_TIME)
    assert not s.floor_state(state_day)["preferring"]
    assert s.floor_state(state_day.replace(day=20))["preferring"]


def test_replay_rejects_a_tampered_log():
    s = r.new_state(insurers())
    (a,) = run(s, r.dispatch_ordinary(s, "x", T0))
    accepted = r.LogEntry(2, T0, r.ACCEPTED, "C2", "x", r.ORDINARY, a.assignment_id)
    with pytest.raises(r.RotationError, match="no such assignment"):
        r.replay([a, accepted], insurers())
    with pytest.raises(r.RotationError, match="out of order"):
        r.replay([a, a], insurers())


def test_summary_has_the_api_shape():
    s = r.new_state(insurers())
    run(s, r.dispatch_ordinary(s, "x", T0))
    out = r.summary(s, T0)
    assert set(out) >= {"order", "next", "month", "participants", "floor", "history"}
    assert [o["insurer_code"] for o in out["order"]][:1] == ["C2"]
    assert out["next"] == "C2" and out["month"] == "2026-07"
    assert out["history"][0]["kind"] == "assigned"


def test_event_assignments_do_not_time_out():
    s = r.new_state(insurers(2))
    run(s, r.dispatch_event(s, "flood", [("a", "T"), ("b", "T")], T0))
    assert r.expire(s, T0 + timedelta(days=3)) == []
