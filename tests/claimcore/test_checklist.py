"""The checklist and the one consolidated list of what is still missing."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from claimcore.catalogue import TEMPLATE_CODES, UnknownCoverage, load_catalogue
from claimcore.checklist import (
    STATUSES,
    ChecklistError,
    UnknownLossType,
    UnknownStatus,
    consolidated_notice_text,
    evaluate,
    required_documents,
)

CAT = load_catalogue()
DEATH_PROOF = ("death_medical_certificate", "household_deregistration", "cremation_certificate")


def codes(items):
    return [i.document for i in items]


def all_verified(items, **overrides):
    statuses = {i.document: "verified" for i in items}
    statuses.update(overrides)
    return statuses


# ---------------------------------------------------------------------------------------------
# required_documents
# ---------------------------------------------------------------------------------------------

def test_natural_disaster_death_and_house_checklist():
    items = required_documents(CAT, "natural_disaster", ["death", "house"])
    c = codes(items)
    for doc in ("claim_application", "claimant_id_card", "payee_bank_account", "weather_certificate",
                "disaster_certificate", *DEATH_PROOF, "heirs_id_cards", "kinship_proof", "loss_inventory",
                "property_ownership_proof"):
        assert doc in c, doc
    assert len(c) == len(set(c))
    death = [i for i in items if i.group == "death_proof"]
    assert [i.document for i in death] == list(DEATH_PROOF)
    assert all(i.group_min_required == 2 and i.group_members == DEATH_PROOF and i.mandatory for i in death)
    # base first, then cause evidence, then loss types in catalogue order
    order = [i.section for i in items]
    assert order == sorted(order, key=["base", "cause", "death", "house"].index)
    # the disaster certificate already records the house damage with the village's seal
    assert "village_site_confirmation" not in c
    assert next(i for i in items if i.document == "disaster_certificate").template == "disaster_certificate"
    assert "power_of_attorney" not in c and "agent_id_card" not in c


def test_order_of_loss_types_given_does_not_matter():
    assert required_documents(CAT, "natural_disaster", ["house", "death"]) == \
        required_documents(CAT, "natural_disaster", ["death", "house", "death"])


def test_fire_house_loss_asks_for_the_village_confirmation():
    c = codes(required_documents(CAT, "fire_explosion", ["house"]))
    assert "village_site_confirmation" in c and "fire_explosion_determination" in c
    assert "weather_certificate" not in c


def test_agent_documents_only_when_filed_by_an_agent():
    plain = codes(required_documents(CAT, "terrorism", ["medical"]))
    agent = required_documents(CAT, "terrorism", ["medical"], by_agent=True)
    assert set(codes(agent)) - set(plain) == {"power_of_attorney", "agent_id_card"}
    poa = next(i for i in agent if i.document == "power_of_attorney")
    assert poa.mandatory and poa.template == "power_of_attorney" and poa.when == "by_agent"
    assert codes(required_documents(CAT, "terrorism", ["medical"], conditions=["by_agent"])) == codes(agent)


def test_shared_document_listed_once_and_mandatory():
    items = required_documents(CAT, "violent_crime", ["disability", "medical"])
    recs = [i for i in items if i.document == "medical_records"]
    assert len(recs) == 1 and recs[0].sections == ("disability", "medical") and recs[0].mandatory
    settlement = next(i for i in items if i.document == "medical_insurance_settlement")
    assert not settlement.mandatory


def test_frontline_staff_need_the_health_commission_determination():
    plain = codes(required_documents(CAT, "infectious_disease", ["death"]))
    staff = codes(required_documents(CAT, "infectious_disease", ["death"], conditions=["frontline_worker"]))
    assert "health_staff_identity_determination" not in plain
    assert "health_staff_identity_determination" in staff and "police_determination" in plain


def test_cause_evidence_per_coverage():
    def cause(cov, **kw):
        return [i.document for i in required_documents(CAT, cov, ["death"], **kw) if i.section == "cause"]
    assert cause("good_samaritan") == ["police_determination", "good_samaritan_confirmation"]
    assert next(i for i in required_documents(CAT, "good_samaritan", ["death"])
                if i.document == "good_samaritan_confirmation").long_wait
    assert cause("mental_patient") == ["mental_patient_determination", "police_case_receipt",
                                       "perpetrator_psychiatric_diagnosis"]
    assert cause("falling_object") == ["police_determination", "police_case_receipt"]
    assert cause("municipal_facility") == ["municipal_facility_determination"]
    assert cause("drowning") == ["drowning_determination"]


def test_rider_takes_cause_evidence_from_its_main_coverage():
    with pytest.raises(ChecklistError, match="fire_explosion, natural_disaster"):
        required_documents(CAT, "resettlement", ["resettlement"])
    flood = codes(required_documents(CAT, "resettlement", ["resettlement"], attached_to="natural_disaster"))
    fire = codes(required_documents(CAT, "resettlement", ["resettlement"], attached_to="fire_explosion"))
    assert "weather_certificate" in flood and "relocation_list" in flood
    assert "fire_explosion_determination" in fire and "weather_certificate" not in fire
    with pytest.raises(ChecklistError, match="terrorism"):
        required_documents(CAT, "resettlement", ["resettlement"], attached_to="terrorism")
    with pytest.raises(ChecklistError, match="drowning does not attach"):
        required_documents(CAT, "drowning", ["death"], attached_to="natural_disaster")


def test_unknown_loss_type_coverage_or_condition_is_a_clear_value_error():
    with pytest.raises(UnknownLossType) as e:
        required_documents(CAT, "terrorism", ["house"])
    assert isinstance(e.value, ValueError)
    assert "'house'" in str(e.value) and "death, disability, medical" in str(e.value)
    with pytest.raises(UnknownLossType, match="no such loss type"):
        required_documents(CAT, "natural_disaster", ["car"])
    with pytest.raises(UnknownLossType, match="at least one"):
        required_documents(CAT, "natural_disaster", [])
    with pytest.raises(UnknownCoverage):
        required_documents(CAT, "hailstorm", ["house"])
    with pytest.raises(ChecklistError, match="on_tuesdays"):
        required_documents(CAT, "terrorism", ["death"], conditions=["on_tuesdays"])


def _every_request():
    for cov in CAT.coverages.values():
        mains = cov.attaches_to if cov.cause_evidence_from_main else (None,)
        for main in mains:
            for lt in cov.loss_types:
                yield cov, lt, main


def test_every_coverage_and_loss_type_yields_a_sound_checklist():
    seen = 0
    for cov, lt, main in _every_request():
        items = required_documents(CAT, cov.code, [lt], attached_to=main, by_agent=True)
        c = codes(items)
        assert len(c) == len(set(c)), (cov.code, lt)
        assert c[0] == "claim_application"
        assert any(i.section == "cause" and i.mandatory for i in items), (cov.code, lt)
        assert any(i.section == lt and i.mandatory for i in items), (cov.code, lt)
        assert all(i.template is None or i.template in TEMPLATE_CODES for i in items)
        assert all(i.document in CAT.documents for i in items)
        seen += 1
    assert seen == 10 * 3 + 2 + 2 + 3  # 10 injury coverages ×3, two with house, rider ×2 mains, drowning ×3


# ---------------------------------------------------------------------------------------------
# evaluate
# ---------------------------------------------------------------------------------------------

ND = required_documents(CAT, "natural_disaster", ["death", "house"])


def test_everything_verified_is_complete():
    r = evaluate(ND, all_verified(ND))
    assert r.complete and r.missing == [] and r.optional_missing == []


def test_nothing_collected_lists_every_mandatory_once_and_the_group_once():
    r = evaluate(ND, {})
    assert not r.complete
    groups = [m for m in r.missing if m.kind == "group"]
    assert len(groups) == 1 and groups[0].need == 2 and groups[0].documents == DEATH_PROOF
    singles = [m.documents[0] for m in r.missing if m.kind == "document"]
    assert singles == [i.document for i in ND if i.group is None and i.mandatory]


@pytest.mark.parametrize("death_statuses,need,listed", [
    ({}, 2, DEATH_PROOF),
    ({"death_medical_certificate": "collected"}, 1, DEATH_PROOF[1:]),
    ({"death_medical_certificate": "collected", "cremation_certificate": "verified"}, 0, ()),
    ({"household_deregistration": "verified", "cremation_certificate": "collected"}, 0, ()),
    # buried, not cremated: that one is out, the other two are both needed
    ({"cremation_certificate": "not_applicable"}, 2, DEATH_PROOF[:2]),
    ({"death_medical_certificate": "verified", "cremation_certificate": "not_applicable"}, 1,
     ("household_deregistration",)),
    # all three "not applicable" cannot complete a death claim: ask again for any two
    ({d: "not_applicable" for d in DEATH_PROOF}, 2, DEATH_PROOF),
    ({"death_medical_certificate": "verified", "household_deregistration": "missing"}, 1, DEATH_PROOF[1:]),
])
def test_two_of_three_rule(death_statuses, need, listed):
    statuses = all_verified(ND, **{d: "missing" for d in DEATH_PROOF})
    statuses.update(death_statuses)
    r = evaluate(ND, statuses)
    if need == 0:
        assert r.complete and r.missing == []
    else:
        assert not r.complete
        assert len(r.missing) == 1
        entry = r.missing[0]
        assert entry.kind == "group" and entry.group == "death_proof"
        assert entry.need == need and entry.documents == listed


def test_not_applicable_rules():
    items = required_documents(CAT, "good_samaritan", ["medical"])
    # optional document: not applicable is fine, and missing optional ones never block
    r = evaluate(items, all_verified(items, medical_insurance_settlement="not_applicable"))
    assert r.complete and r.optional_missing == []
    r = evaluate(items, all_verified(items, medical_insurance_settlement="missing"))
    assert r.complete and [m.documents for m in r.optional_missing] == [("medical_insurance_settlement",)]
    # mandatory document the catalogue allows to waive (no site to photograph)
    assert evaluate(items, all_verified(items, site_photos="not_applicable")).complete
    # mandatory document that cannot be waived
    r = evaluate(items, all_verified(items, claimant_id_card="not_applicable"))
    assert not r.complete
    assert [(m.documents, m.reason) for m in r.missing] == [(("claimant_id_card",), "not_applicable_not_allowed")]


def test_unknown_status_is_an_error_naming_the_document():
    with pytest.raises(UnknownStatus) as e:
        evaluate(ND, {"weather_certificate": "lost"})
    assert isinstance(e.value, ValueError)
    assert "weather_certificate" in str(e.value) and "lost" in str(e.value)


def test_status_of_a_paper_not_on_the_checklist_is_ignored():
    assert evaluate(ND, all_verified(ND, relocation_list="missing")).complete


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_one_notice_is_enough(data):
    """Bringing exactly what the consolidated list names completes the claim: nobody is sent back
    twice. Also: no document named twice, nothing named that is not on the checklist, and
    collecting a document never makes the list longer."""
    cov, lt, main = data.draw(st.sampled_from(list(_every_request())))
    extra = data.draw(st.lists(st.sampled_from(CAT.coverages[cov.code].loss_types), max_size=2))
    items = required_documents(CAT, cov.code, [lt, *extra], attached_to=main,
                               by_agent=data.draw(st.booleans()))
    statuses = {i.document: data.draw(st.sampled_from(STATUSES)) for i in items}
    r = evaluate(items, statuses)
    named = [d for m in r.missing for d in m.documents]
    assert len(named) == len(set(named))
    assert set(named) <= {i.document for i in items}
    assert r.complete == (r.missing == [])
    fixed = dict(statuses, **{d: "collected" for d in named})
    assert evaluate(items, fixed).complete
    for doc in [d for d, s in statuses.items() if s != "collected"]:
        better = evaluate(items, dict(statuses, **{doc: "collected"}))
        assert len(better.missing) <= len(r.missing)
        assert sum(m.need for m in better.missing) <= sum(m.need for m in r.missing)


# ---------------------------------------------------------------------------------------------
# the notice text
# ---------------------------------------------------------------------------------------------

def test_notice_text_in_chinese_and_english():
    statuses = all_verified(ND, weather_certificate="missing", death_medical_certificate="collected",
                            household_deregistration="missing", cremation_certificate="missing",
                            claimant_id_card="not_applicable")
    r = evaluate(ND, statuses)
    zh = consolidated_notice_text(r, "zh")
    assert "补充材料通知" in zh and "还缺以下 3 项" in zh
    assert "1. 申请人身份证（正反面）" in zh and "不能标为“不适用”" in zh
    assert "2. 气象证明 — 区气象局" in zh
    assert "户籍注销证明、火化证 中还需提供 1 项" in zh
    assert "4." not in zh
    en = consolidated_notice_text(r, "en")
    assert "The following 3 items are still needed" in en
    assert "Weather certificate — District Meteorological Bureau" in en
    assert "1 more of Proof of cancelled household registration / Cremation certificate" in en
    with pytest.raises(ValueError):
        consolidated_notice_text(r, "fr")


def test_notice_text_when_complete_and_with_optional_extras():
    items = required_documents(CAT, "crowd_stampede", ["medical"])
    r = evaluate(items, all_verified(items, medical_insurance_settlement="missing"))
    zh = consolidated_notice_text(r, "zh")
    assert "无需补充" in zh and "医保结算单" in zh and "没有不影响受理" in zh
    assert "nothing more is needed" in consolidated_notice_text(r, "en")
