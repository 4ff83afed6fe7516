"""Who may still change a claim's checklist once the files are handed in, and the site-photos note."""
from __future__ import annotations

import pytest

from claimcore import document_rules, workflow
from claimcore.entities import CLAIM_STATES, USER_ROLES

OPEN = ("reported", "registered", "survey_dispatched", "surveyed", "collecting", "incomplete")
CLOSED = tuple(s for s in CLAIM_STATES if s not in OPEN)


def test_every_state_is_either_collecting_or_closed():
    assert set(OPEN) | set(CLOSED) == set(CLAIM_STATES)
    assert {"submitted", "under_review", "adjusted", "approved", "stamped", "paid", "closed",
            "declined", "withdrawn", "reopened"} == set(CLOSED)


@pytest.mark.parametrize("state", CLAIM_STATES)
@pytest.mark.parametrize("role", USER_ROLES)
def test_only_the_offices_change_documents_past_collection(state, role):
    may = document_rules.documents_open_to(state, role)
    assert may == (state in OPEN or role in ("adjuster", "coordinator"))
    if may:
        document_rules.check_document_change(state, role)
    else:
        with pytest.raises(document_rules.DocumentsClosed) as caught:
            document_rules.check_document_change(state, role)
        assert caught.value.code == "not_allowed_for_role"


def test_the_refusal_names_the_state_and_whom_to_ask_in_both_languages():
    exc = document_rules.DocumentsClosed("adjusted", "liaison")
    assert workflow.state_label("adjusted", "zh") in exc.message("zh") and "理赔员" in exc.message("zh")
    assert "adjusted" in exc.message("en") and "adjuster" in exc.message("en")
    assert str(exc) == exc.message("en")


def test_collection_resumes_for_the_liaison_only_through_the_workflow():
    # The liaison's way back into the checklist is incomplete → collecting, an edge it may take.
    assert "collecting" in workflow.allowed_targets("incomplete", "liaison")
    assert document_rules.documents_open_to("incomplete", "liaison")


def test_an_unknown_writer_is_not_refused():
    # The phone applying the server's own values has no writer role.
    assert document_rules.documents_open_to("paid", None)


@pytest.mark.parametrize("status,photos,note", [
    (None, 3, True), ("missing", 3, True), ("missing", 0, False),
    ("collected", 3, False), ("verified", 3, False), ("not_applicable", 3, False),
])
def test_report_photos_need_a_note_next_to_an_unmet_site_photos_item(status, photos, note):
    assert document_rules.report_photos_need_note(status, photos) is note
