"""The printed forms and the claim JSON carry the kind of identity document a number is of.

The notice insures visitors too (临时来大足出差、旅游、务工、途经等流动人员): a victim may hold a
passport, an heir a foreigner's permanent residence ID card. The claim JSON says so in ``id_type``
(absent: a resident ID, as in every claim JSON written before), each number is checked by its own
type's rule, and the forms print the document's name before any number that is not a resident ID's,
so the office copies and checks the right document. The PDFs are read back with pypdf.
"""
from __future__ import annotations

import copy
import re

import pytest

from claimcore import entities, validators
from fieldapp.documents import ClaimJsonError, render, validate_claim_json
from fieldapp.documents.from_store import claim_json_from_store, render_claim_pdf
from fieldapp.i18n import catalogue as ui_texts
from fieldapp.store import open_store
from tests.documents.conftest import load_worked_claim, page_texts, squash

VISITOR, PASSPORT = "PETROV IVAN", "E12345678"
HEIR, PR_CARD_2023 = "李犇", "932682198501010017"  # the 2023 card's published example
HEAD, PR_CARD_OLD = "KASYMOV ARMAN", "KAZ110090123105"  # a card issued before 2023
AGENT, AGENT_ID = "张晓梅", "500111198507060424"
RESIDENT_HEAD_ID = "500111195803120029"


def all_text(pdf: bytes) -> str:
    return "".join(page_texts(pdf))


def visitors_claim() -> dict:
    """The worked claim with a passport-holding victim whose wife, applicant and payee, holds a
    2023 permanent residence card; the township liaison (agent) holds a resident ID."""
    claim = load_worked_claim()
    victim, claimant, payee, agent = claim["persons"]
    victim.update(name=VISITOR, id_type="passport", id_number="e1234 5678")  # typed as on a phone
    claimant.update(id_type="foreign_permanent_resident", id_number=PR_CARD_2023)
    payee.update(id_type="foreign_permanent_resident", id_number=PR_CARD_2023)
    assert agent["role"] == "agent" and "id_type" not in agent
    claim["household"] = {"head_name": VISITOR, "size": 2}  # the head's number: the victim's passport
    return claim


@pytest.fixture(scope="module")
def printed() -> dict[str, str]:
    claim = visitors_claim()
    return {template: all_text(render(template, claim))
            for template in ("claim_application", "power_of_attorney", "disaster_certificate")}


# ---- the claim JSON ------------------------------------------------------------------------------

def test_each_number_is_checked_and_normalised_by_its_own_document_type():
    checked = validate_claim_json(visitors_claim())
    victim, claimant, _payee, agent = checked["persons"]
    assert (victim["id_type"], victim["id_number"]) == ("passport", PASSPORT)
    assert (claimant["id_type"], claimant["id_number"]) == ("foreign_permanent_resident", PR_CARD_2023)
    assert "id_type" not in agent  # a resident ID stays as the claim JSON always had it


def test_an_invalid_passport_number_is_refused_with_the_passports_reason():
    claim = visitors_claim()
    claim["persons"][0]["id_number"] = "E1234567890ABCDEFGH"  # 19 characters
    with pytest.raises(ClaimJsonError) as caught:
        validate_claim_json(claim)
    reason = validators.MESSAGES["passport.length"][1].format(length=19)
    assert caught.value.problems == [f"persons[0].id_number: {reason}"]
    # The same characters are refused for a resident ID by the resident ID's rule, not the passport's.
    del claim["persons"][0]["id_type"]
    with pytest.raises(ClaimJsonError) as caught:
        validate_claim_json(claim)
    reason = validators.MESSAGES["id_number.length"][1].format(length=19)
    assert caught.value.problems == [f"persons[0].id_number: {reason}"]


def test_a_passport_number_is_no_resident_id_and_the_type_decides():
    claim = visitors_claim()
    del claim["persons"][0]["id_type"]
    with pytest.raises(ClaimJsonError) as caught:
        validate_claim_json(claim)
    assert [p.split(":")[0] for p in caught.value.problems] == ["persons[0].id_number"]


def test_an_unknown_document_type_is_named_and_its_number_not_judged_by_another_rule():
    claim = visitors_claim()
    claim["persons"][0]["id_type"] = "driving_licence"
    claim["household"] = {"head_name": HEAD, "head_id_type": "id_card", "head_id_number": PR_CARD_OLD}
    with pytest.raises(ClaimJsonError) as caught:
        validate_claim_json(claim)
    known = ", ".join(entities.ID_TYPES)
    assert caught.value.problems == [
        f"persons[0].id_type: must be one of {known}, not 'driving_licence'",
        f"household.head_id_type: must be one of {known}, not 'id_card'",
    ]


def test_the_heads_document_type_goes_with_the_heads_own_number():
    claim = visitors_claim()
    claim["household"] = {"head_name": HEAD, "head_id_type": "foreign_permanent_resident",
                          "head_id_number": PR_CARD_OLD.lower()}
    assert validate_claim_json(claim)["household"]["head_id_number"] == PR_CARD_OLD
    claim["household"]["head_id_type"] = "passport"
    claim["household"]["head_id_number"] = "KAZ11009012310"  # 14: no permanent residence card
    validate_claim_json(claim)  # but a fine passport number
    claim["household"]["head_id_type"] = "foreign_permanent_resident"
    with pytest.raises(ClaimJsonError) as caught:
        validate_claim_json(claim)
    reason = validators.MESSAGES["foreign_permanent_resident.length"][1].format(length=14)
    assert caught.value.problems == [f"household.head_id_number: {reason}"]
    del claim["household"]["head_id_number"]
    with pytest.raises(ClaimJsonError) as caught:
        validate_claim_json(claim)
    assert caught.value.problems == ["household.head_id_type: only together with head_id_number"]


def test_a_claim_json_without_id_type_is_valid_and_unchanged():
    old = load_worked_claim()
    assert all("id_type" not in p for p in old["persons"])
    checked = validate_claim_json(old)
    assert checked["persons"] == old["persons"] and checked["household"] == old["household"]
    # An explicit null or resident_id means the same document.
    explicit = copy.deepcopy(old)
    explicit["persons"][0]["id_type"] = None
    explicit["persons"][1]["id_type"] = "resident_id"
    persons = validate_claim_json(explicit)["persons"]
    assert "id_type" not in persons[0] and persons[1]["id_type"] == "resident_id"


# ---- the printed forms ---------------------------------------------------------------------------

def test_the_application_prints_each_document_with_its_number(printed):
    text = printed["claim_application"]
    # The people table: its column is 证件号码 once anyone holds another document than a resident ID.
    people = text[text.index("二、"):text.index("三、")]
    assert "证件号码" in people and "身份证号码" not in people
    assert squash(f"{VISITOR}护照{PASSPORT}") in people
    assert f"{HEIR}外国人永久居留身份证{PR_CARD_2023}" in people
    assert f"{AGENT}{AGENT_ID}" in people  # a resident ID bare, as always
    assert "居民身份证" not in text
    # The payee block.
    payee = text[text.index("五、"):text.index("六、")]
    assert f"{HEIR}证件号码外国人永久居留身份证{PR_CARD_2023}" in payee


def test_the_power_of_attorney_prints_the_principals_and_the_agents_documents(printed):
    text = printed["power_of_attorney"]
    assert f"1{HEIR}外国人永久居留身份证{PR_CARD_2023}" in text
    # The agent's own grid keeps 身份证号码: the agent holds a resident ID.
    assert f"{AGENT}身份证号码{AGENT_ID}" in text


def test_the_certificate_prints_the_heads_document(printed):
    assert squash(f"户主姓名{VISITOR}证件号码护照{PASSPORT}") in printed["disaster_certificate"]
    claim = visitors_claim()
    claim["household"] = {"head_name": HEAD, "head_id_type": "foreign_permanent_resident",
                          "head_id_number": PR_CARD_OLD}
    text = all_text(render("disaster_certificate", claim))
    assert squash(f"户主姓名{HEAD}证件号码外国人永久居留身份证{PR_CARD_OLD}") in text


def test_english_forms_name_the_documents_in_english():
    text = all_text(render("claim_application", visitors_claim(), lang="en"))
    assert "IDdocumentno." in text
    assert f"Passport{PASSPORT}" in text
    assert f"Foreignpermanentresident IDcard{PR_CARD_2023}".replace(" ", "") in text


def test_the_forms_use_the_apps_names_of_the_documents():
    """One list of names: the app's (fieldapp/i18n ``id_type.*``), for every type the contract knows."""
    for lang in ("zh", "en"):
        names = ui_texts(lang)
        assert all(names.get(f"id_type.{code}") for code in entities.ID_TYPES), lang
    text = all_text(render("claim_application", visitors_claim()))
    assert squash(ui_texts("zh")["id_type.passport"] + PASSPORT) in text


def test_an_old_claim_json_prints_as_before():
    old = load_worked_claim()
    explicit = copy.deepcopy(old)
    for person in explicit["persons"]:
        person["id_type"] = "resident_id"
    for template in ("claim_application", "power_of_attorney", "disaster_certificate"):
        text = all_text(render(template, old))
        # No 证件号码 heading (the consent's 身份证件号码 is the law's word for any such number).
        assert re.search("(?<!身份)证件号码", text) is None, template
        assert "居民身份证" not in text and "护照" not in text, template
        assert all_text(render(template, explicit)) == text, template
    application = all_text(render("claim_application", old))
    assert "受害人王堃500111195803120029" in application
    assert "李犇身份证号码500111196001010527" in application  # the payee block
    assert "户主姓名王堃身份证号码500111195803120029" in all_text(render("disaster_certificate", old))


# ---- from the phone's store ----------------------------------------------------------------------

def test_the_store_hands_the_document_type_to_the_forms(tmp_path):
    store = open_store(tmp_path / "data")
    try:
        claim_id = store.claims.create(
            coverage="natural_disaster", role="liaison", created_by="liaison-longshui",
            township_code="500111100", village_code="500111100002", incident_at="2026-07-14T03:10:00+08:00",
            description="屋后山坡突发滑坡，泥石冲破后墙。", loss_types=["house"],
            claimed_amount_fen=400899)
        store.persons.add(claim_id, role_in_claim="victim", name=VISITOR, id_type="passport",
                          id_number=PASSPORT, relation="self")
        store.persons.add(claim_id, role_in_claim="household_head", name=HEAD,
                          id_type="foreign_permanent_resident", id_number=PR_CARD_OLD)
        store.persons.add(claim_id, role_in_claim="agent", name=AGENT, id_number=AGENT_ID)
        claim = claim_json_from_store(store, claim_id)
        victim, agent = claim["persons"]
        assert (victim["id_type"], victim["id_number"]) == ("passport", PASSPORT)
        assert "id_type" not in agent  # a resident ID: the claim JSON's default
        assert claim["household"] == {"head_name": HEAD, "head_id_type": "foreign_permanent_resident",
                                      "head_id_number": PR_CARD_OLD}
        application = render_claim_pdf(store, claim_id, "claim_application", out_dir=tmp_path / "out")
        assert squash(f"{VISITOR}护照{PASSPORT}") in all_text(application.read_bytes())
        certificate = render_claim_pdf(store, claim_id, "disaster_certificate", out_dir=tmp_path / "out")
        assert squash(f"户主姓名{HEAD}证件号码外国人永久居留身份证{PR_CARD_OLD}") in all_text(certificate.read_bytes())
    finally:
        store.close()
