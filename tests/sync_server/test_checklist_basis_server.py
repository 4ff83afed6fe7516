"""The server's submit guard reads the same catalogue as the phone: papers the notice does not ask
for (the good-samaritan confirmation, the mental-illness extras) never hold a claim back, while a
claim filled against the 2024.1 catalogue keeps that release's list."""
from __future__ import annotations

import pytest

from claimcore.catalogue import load_catalogue
from claimcore.checklist import required_documents
from sync_server.core.models import Claim
from sync_server.sync.claims import checklist_complete
from tests.claimcore.test_checklist_basis import _mandatory_only

from .conftest import LONGSHUI, claim_fields, new_id


def _mandatory_papers(version: str, coverage: str, loss: str) -> list[str]:
    return list(_mandatory_only(required_documents(load_catalogue(version), coverage, [loss])))


@pytest.mark.parametrize("coverage,loss,extra", [
    ("good_samaritan", "death", "good_samaritan_confirmation"),
    ("mental_patient", "medical", "perpetrator_psychiatric_diagnosis"),
])
def test_only_the_mandatory_papers_complete_the_checklist(actors, harness, coverage, loss, extra):
    liaison = actors.liaison_a
    cid = new_id()
    papers = _mandatory_papers("2024.2", coverage, loss)
    assert extra not in papers
    muts = [liaison.mutation("claim", cid, claim_fields(LONGSHUI, coverage=coverage, loss_types=[loss]))]
    muts += [liaison.mutation("document", new_id(), {"claim_id": cid, "code": code, "status": "collected"})
             for code in papers]
    r = liaison.push(muts)
    assert r.status_code == 200 and {x["status"] for x in r.json()["results"]} == {"applied"}, r.text
    with harness.db.read() as s:
        claim = s.get(Claim, cid)
        assert claim.catalogue_version == "2024.2"
        assert checklist_complete(s, claim)
    with harness.db.write() as s:  # the same papers on a claim filled against 2024.1
        s.get(Claim, cid).catalogue_version = "2024.1"
    with harness.db.read() as s:
        assert not checklist_complete(s, s.get(Claim, cid))
