"""Push guards (SQLite and PostgreSQL, real HTTP in-process): a timeline entry must tell what
happened to the claim, by the role that pushes it; a record id of a claim out of scope answers
like a claim that does not exist, never "that id is taken over there"."""
from __future__ import annotations

from .conftest import BAODING, claim_fields, new_id


def _entry(claim_id: str, source, target: str, role: str, **extra) -> dict:
    return {"claim_id": claim_id, "from_status": source, "to_status": target, "role": role,
            "at": "2026-07-12T03:42:00+08:00", **extra}


def test_a_forged_timeline_entry_is_refused(actors):
    liaison = actors.liaison_a
    cid = new_id()
    assert liaison.push_one("claim", cid, claim_fields())["status"] == "applied"
    # The attack: "the coordinator approved it" on a claim that was only reported.
    forged = liaison.push_one("transition", new_id(), _entry(cid, "adjusted", "approved", "coordinator"))
    assert (forged["status"], forged["error"].split(":")[0]) == ("rejected", "illegal_transition")
    # Its own role, but a step that did not happen (the claim is still reported)...
    early = liaison.push_one("transition", new_id(), _entry(cid, "reported", "registered", "liaison"))
    assert (early["status"], early["error"].split(":")[0]) == ("rejected", "illegal_transition")
    # ... and the first entry of a claim someone else reported.
    assert actors.adjuster.push_one("transition", new_id(), _entry(cid, None, "reported", "adjuster"))[
        "error"].startswith("illegal_transition")
    # What did happen is recorded: the report, then the adjuster's registration.
    assert liaison.push_one("transition", new_id(), _entry(cid, None, "reported", "liaison"))["status"] == "applied"
    assert actors.adjuster.push_one("claim", cid, {"status": "registered"}, base_version=1)["status"] == "applied"
    done = actors.adjuster.push_one("transition", new_id(), _entry(cid, "reported", "registered", "adjuster"))
    assert done["status"] == "applied", done
    # The liaison cannot claim the adjuster's step as its own (not its edge), nor name another role.
    mine = liaison.push_one("transition", new_id(), _entry(cid, "reported", "registered", "liaison"))
    assert mine["error"].startswith("illegal_transition")
    named = actors.adjuster.push_one("transition", new_id(), _entry(cid, "reported", "registered", "coordinator"))
    assert (named["error"].split(":")[0], named["field"]) == ("illegal_transition", "role")
    changes, _, _ = actors.coordinator.pull_all()
    timeline = sorted(((c["fields"]["from_status"] or ""), c["fields"]["to_status"], c["fields"]["role"])
                      for c in changes if c["entity"] == "transition" and c["fields"]["claim_id"] == cid)
    assert timeline == [("", "reported", "liaison"), ("reported", "registered", "adjuster")]


def test_the_timeline_holds_only_what_happened(actors):
    liaison = actors.liaison_a
    cid = new_id()
    assert liaison.push_one("claim", cid, claim_fields())["status"] == "applied"
    liaison.push_one("transition", new_id(), _entry(cid, "adjusted", "approved", "coordinator"))
    liaison.push_one("transition", new_id(), _entry(cid, None, "reported", "liaison"))
    changes, _, _ = actors.coordinator.pull_all()
    timeline = [(c["fields"]["from_status"], c["fields"]["to_status"], c["fields"]["role"])
                for c in changes if c["entity"] == "transition" and c["fields"]["claim_id"] == cid]
    assert timeline == [(None, "reported", "liaison")]


def test_a_foreign_record_id_answers_like_an_unknown_claim(actors):
    a, b = actors.liaison_a, actors.liaison_b
    own, theirs = new_id(), new_id()
    assert a.push_one("claim", own, claim_fields())["status"] == "applied"
    assert b.push_one("claim", theirs, claim_fields(BAODING))["status"] == "applied"
    note = new_id()
    assert b.push_one("note", note, {"claim_id": theirs, "text": "现场已查勘"})["status"] == "applied"
    unknown_claim = new_id()

    # The record id exists on B's claim; A names its own claim: before, "claim_id_immutable"
    # told A that the id was taken elsewhere.
    foreign = a.push_one("note", note, {"claim_id": own, "text": "改"})
    assert (foreign["status"], foreign["error"].split(":")[0]) == ("rejected", "claim_not_found")
    # Answered exactly like a record on a claim A may not see / that does not exist.
    nowhere = a.push_one("note", new_id(), {"claim_id": unknown_claim, "text": "改"})
    assert foreign["error"].replace(own, "ID") == nowhere["error"].replace(unknown_claim, "ID")
    # Without a claim id it must not name B's claim either.
    bare = a.push_one("note", note, {"text": "改"})
    fresh = a.push_one("note", new_id(), {"text": "改"})
    assert bare["status"] == "rejected" and theirs not in bare["error"]
    assert (bare["error"].split(":")[0], bare["field"]) == (fresh["error"].split(":")[0], fresh["field"])
    # Another kind of record under the same id, and a delete: no "id_in_use", no "not_found".
    kind = a.push_one("person", note, {"claim_id": own, "role_in_claim": "victim"})
    assert kind["error"].split(":")[0] == "claim_not_found"
    gone = a.push_one("note", note, {"claim_id": own}, op="delete")
    never = a.push_one("note", new_id(), {"claim_id": own}, op="delete")
    assert gone["error"] == never["error"]  # notes are never deleted, whoever's they are
    # B's note is untouched.
    changes, _, _ = b.pull_all()
    assert [c["fields"]["text"] for c in changes if c["id"] == note] == ["现场已查勘"]
