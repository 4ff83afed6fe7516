"""Claim documents filled from a claim in a real phone store (SQLite file, encrypted personal data).

The claim is entered through the store's own repository API, the way the app's screens do, then
printed; the PDFs are read back with pypdf, so the rare characters of the names, the full ID and
account numbers (decrypted only for the printout) and the amounts must really be in the text.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest
from pypdf import PdfReader

from claimcore.divisions import load_divisions
from claimcore.money import format_fen
from fieldapp.documents import TEMPLATES, ClaimJsonError, UnknownTemplate, validate_claim_json
from fieldapp.documents.from_store import (
    ClaimNotFound,
    IncompleteClaimError,
    claim_json_from_store,
    pdf_file_name,
    render_claim_pdf,
)
from fieldapp.store import NotFoundError, StoreValidationError, open_store
from tests.documents.conftest import squash

VICTIM, VICTIM_ID, VICTIM_PHONE = "王堃", "500111195803120029", "13896012345"
SPOUSE, SPOUSE_ID = "李犇", "500111196001010527"
AGENT, AGENT_ID = "张晓梅", "500111198507060424"
CARD = "6222023100001234561"
CLAIMED_FEN = 1863457  # 18,634.57 yuan: an amount with fen
TOWNSHIP_NAMES = [t.name for t in load_divisions().townships]
STATUSES = {"claim_application": "collected", "claimant_id_card": "verified", "weather_certificate": "verified",
            "disaster_certificate": "missing", "site_photos": "not_applicable"}


def pdf_text(path: Path) -> list[str]:
    return [squash(page.extract_text()) for page in PdfReader(str(path)).pages]


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def add_worked_claim(store, **overrides) -> str:
    fields = dict(coverage="natural_disaster", role="liaison", created_by="liaison-longshui",
                  township_code="500111100", village_code="500111100002",
                  incident_at="2026-07-14T03:10:00+08:00", address="五金街后巷17号",
                  description="屋后山坡突发滑坡，泥石冲破后墙。" * 3, loss_types=["house"],
                  claimed_amount_fen=CLAIMED_FEN)
    fields.update(overrides)
    claim_id = store.claims.create(**fields)
    store.persons.add(claim_id, role_in_claim="victim", name=VICTIM, id_number=VICTIM_ID, phone=VICTIM_PHONE,
                      relation="self")
    store.persons.add(claim_id, role_in_claim="claimant", name=SPOUSE, id_number=SPOUSE_ID, relation="spouse")
    store.persons.add(claim_id, role_in_claim="payee", name=SPOUSE, id_number=SPOUSE_ID, relation="spouse",
                      bank_name="中国农业银行大足龙水支行", bank_card=CARD)
    store.persons.add(claim_id, role_in_claim="agent", name=AGENT, id_number=AGENT_ID, phone="15823467890",
                      relation="龙水镇联络员")
    for code, status in STATUSES.items():
        store.documents.set_status(claim_id, code, status, user="liaison-longshui")
    return claim_id


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    s = open_store(tmp_path_factory.mktemp("phone") / "data")
    yield s
    s.close()


@pytest.fixture(scope="module")
def worked(store) -> str:
    return add_worked_claim(store)


@pytest.fixture(scope="module")
def printed(store, worked, tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("documents")
    return {template: render_claim_pdf(store, worked, template, out_dir=out) for template in TEMPLATES}


# ---- the claim JSON ------------------------------------------------------------------------------

def test_claim_json_is_the_documented_shape_and_validates(store, worked):
    claim = claim_json_from_store(store, worked)
    assert validate_claim_json(claim) == claim  # already validated and normalised
    detail = store.claims.get(worked)
    assert claim["claim_id"] == worked and claim["report_no"] == detail.report_no
    assert claim["coverage"] == "natural_disaster" and claim["catalogue_version"] == detail.catalogue_version
    assert (claim["township_code"], claim["village_code"]) == ("500111100", "500111100002")
    assert claim["address"] == "五金街后巷17号"
    assert claim["description"] == detail.description
    # Stored in UTC, handed over in China Standard Time: the same instant, the printed wall clock.
    assert claim["incident_at"] == "2026-07-14T03:10:00+08:00"
    assert claim["loss_types"] == ["house"]
    assert claim["document_statuses"] == STATUSES
    # Not recorded on the phone: blank on the form, not "none received".
    assert claim["other_compensation_fen"] is None
    assert "policy_no" not in claim and "household" not in claim and "power_of_attorney" not in claim


def test_persons_carry_roles_relations_and_full_numbers(store, worked):
    persons = claim_json_from_store(store, worked)["persons"]
    by_role = {p["role"]: p for p in persons}
    assert [p["role"] for p in persons] == ["victim", "claimant", "payee", "agent"]
    stored = {p.role_in_claim: p.id for p in store.claims.get(worked).persons}
    assert by_role["victim"] == {"id": stored["victim"], "role": "victim", "name": VICTIM, "relation": "本人",
                                 "id_number": VICTIM_ID, "phone": VICTIM_PHONE}
    assert [p["id"] for p in persons] == [stored[role] for role in ("victim", "claimant", "payee", "agent")]
    assert by_role["claimant"]["relation"] == "配偶" and by_role["claimant"]["id_number"] == SPOUSE_ID
    assert by_role["payee"]["bank_account"] == CARD and by_role["payee"]["account_type"] == "card"
    assert by_role["payee"]["bank_name"] == "中国农业银行大足龙水支行"
    assert by_role["agent"]["relation"] == "龙水镇联络员"  # the user's own words, printed as typed
    english = claim_json_from_store(store, worked, lang="en")["persons"]
    assert [p.get("relation") for p in english] == ["Self", "Spouse", "Spouse", "龙水镇联络员"]


def test_one_loss_type_gets_the_claimed_amount_as_one_line(store, worked):
    losses = claim_json_from_store(store, worked)["losses"]
    assert len(losses) == 1
    assert losses[0]["loss_type"] == "house" and losses[0]["amount_fen"] == CLAIMED_FEN


def test_several_loss_types_get_no_invented_split(store, tmp_path):
    claim_id = add_worked_claim(store, loss_types=["medical", "house"])
    assert claim_json_from_store(store, claim_id)["losses"] == []
    path = render_claim_pdf(store, claim_id, "claim_application", out_dir=tmp_path)
    text = "".join(pdf_text(path))
    assert VICTIM in text and format_fen(CLAIMED_FEN) not in text


def test_heirs_are_claimants_and_the_self_victim_is_the_one_printed(store, caplog):
    claim_id = store.claims.create(coverage="natural_disaster", role="liaison", township_code="500111100",
                                   incident_at="2026-07-14T03:10:00+08:00", loss_types=["death"],
                                   description="山洪")
    # Entered in the wizard's order: a second injured person first, then the household's own record.
    store.persons.add(claim_id, role_in_claim="victim", name="刘国华", relation="other")
    store.persons.add(claim_id, role_in_claim="victim", name=VICTIM, id_number=VICTIM_ID, relation="self")
    store.persons.add(claim_id, role_in_claim="heir", name="王犇", relation="child")
    with caplog.at_level(logging.WARNING, logger="fieldapp.documents.from_store"):
        claim = claim_json_from_store(store, claim_id)
    assert [(p["role"], p["name"]) for p in claim["persons"]] == [("victim", VICTIM), ("claimant", "王犇")]
    assert claim["persons"][1]["relation"] == "子女"
    # The victim left off the forms is not dropped silently.
    assert any("not printed" in r.getMessage() for r in caplog.records)


def test_passbook_account_is_typed_as_passbook(store):
    claim_id = add_worked_claim(store)
    store.persons.add(claim_id, role_in_claim="claimant", name="王二", bank_card="1234567890")
    persons = claim_json_from_store(store, claim_id)["persons"]
    second = next(p for p in persons if p["name"] == "王二")
    assert {"bank_account": "1234567890", "account_type": "passbook"}.items() <= second.items()


def test_document_codes_unknown_to_the_catalogue_are_refused(store):
    # The record contract: the server refuses a code its catalogue does not know, so the phone
    # does too, and the printed statuses stay the known ones.
    claim_id = add_worked_claim(store)
    with pytest.raises(StoreValidationError):
        store.documents.set_status(claim_id, "code_from_a_newer_catalogue", "collected")
    assert claim_json_from_store(store, claim_id)["document_statuses"] == STATUSES


# ---- the printed forms ---------------------------------------------------------------------------

@pytest.mark.parametrize("template", TEMPLATES)
def test_every_template_is_written_under_its_report_number(store, worked, printed, template):
    report_no = store.claims.get(worked).report_no
    path = printed[template]
    assert path.name == f"{report_no}-{template}.pdf"
    assert path.read_bytes().startswith(b"%PDF-")
    # Full numbers on paper: the file is for this phone's user only.
    assert path.stat().st_mode & 0o777 == 0o600
    pages = pdf_text(path)
    assert all(report_no in page for page in pages)  # a loose page still leads back to its claim
    assert VICTIM in "".join(pages)
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".part")]


def test_application_prints_names_full_numbers_and_amounts(printed):
    text = "".join(pdf_text(printed["claim_application"]))
    for expected in (VICTIM, SPOUSE, AGENT, VICTIM_ID, SPOUSE_ID, AGENT_ID, VICTIM_PHONE, CARD,
                     "中国农业银行大足龙水支行", format_fen(CLAIMED_FEN), "配偶", "龙水镇", "五金街后巷17号",
                     "2026年7月14日03时10分"):
        assert expected in text, expected
    assert "壹万捌仟陆佰叁拾肆元伍角柒分" in text  # the total in capitals, from integer fen


def test_other_templates_print_their_people_in_full(printed):
    certificate = "".join(pdf_text(printed["disaster_certificate"]))
    assert VICTIM in certificate and VICTIM_ID in certificate
    attorney = "".join(pdf_text(printed["power_of_attorney"]))
    assert SPOUSE in attorney and SPOUSE_ID in attorney and AGENT in attorney and AGENT_ID in attorney
    checklist = "".join(pdf_text(printed["checklist"]))
    assert VICTIM in checklist and "气象证明" in checklist


def test_loss_inventory_lists_no_item_the_store_does_not_have(printed):
    text = "".join(pdf_text(printed["loss_inventory"]))
    assert VICTIM in text
    assert format_fen(CLAIMED_FEN) not in text  # the undivided total is not an inventory item


def test_english_gets_its_own_file(store, worked, tmp_path):
    path = render_claim_pdf(store, worked, "claim_application", lang="en", out_dir=tmp_path)
    assert path.name.endswith("-claim_application-en.pdf")
    text = "".join(pdf_text(path))
    assert VICTIM in text and "Spouse" in text and format_fen(CLAIMED_FEN) in text


def test_printing_again_replaces_the_file_whole(store, tmp_path):
    claim_id = add_worked_claim(store)
    first = render_claim_pdf(store, claim_id, "claim_application", out_dir=tmp_path)
    store.claims.update(claim_id, address="五金街后巷19号")
    second = render_claim_pdf(store, claim_id, "claim_application", out_dir=tmp_path)
    assert first == second
    assert files_in(tmp_path) == [first.name]
    assert "五金街后巷19号" in "".join(pdf_text(second))


# ---- refusals: a clear error and nothing written -------------------------------------------------

def test_unknown_claim_is_a_clear_error(store, tmp_path):
    missing_id = "0b7e6f3a-9a43-4c55-8a1e-3f3f0d4c2a11"
    with pytest.raises(ClaimNotFound) as caught:
        claim_json_from_store(store, missing_id)
    assert isinstance(caught.value, NotFoundError)
    assert missing_id in caught.value.message("zh") and "本机没有这个案件" in caught.value.message("zh")
    assert missing_id in str(caught.value)
    with pytest.raises(ClaimNotFound):
        render_claim_pdf(store, missing_id, "claim_application", out_dir=tmp_path / "documents")
    assert files_in(tmp_path / "documents") == []


def test_unknown_template_or_language_writes_nothing(store, worked, tmp_path):
    with pytest.raises(UnknownTemplate):
        render_claim_pdf(store, worked, "receipt", out_dir=tmp_path)
    with pytest.raises(ValueError):
        render_claim_pdf(store, worked, "checklist", lang="fr", out_dir=tmp_path)
    assert files_in(tmp_path) == []


def test_stored_data_the_forms_cannot_hold_is_listed_and_nothing_written(store, tmp_path):
    # The store accepts a 500-character place; the claim JSON's address holds 200.
    claim_id = add_worked_claim(store, address="五金街" * 100)
    store.persons.add(claim_id, role_in_claim="payee", name="第二个收款人", bank_card="6222023100001234561")
    with pytest.raises(ClaimJsonError) as caught:
        render_claim_pdf(store, claim_id, "claim_application", out_dir=tmp_path)
    problems = caught.value.problems
    assert any(p.startswith("address:") for p in problems)
    assert any("at most one payee" in p for p in problems)
    assert files_in(tmp_path) == []


# ---- incomplete claims (drafts) ------------------------------------------------------------------
# A draft holds at least what the record contract requires of every new claim (township, time of
# the incident, account of events); the rest may still be missing.
DRAFT = dict(coverage="natural_disaster", role="liaison", is_draft=True, township_code="500111100",
             incident_at="2026-07-14T03:10:00+08:00", description="暴雨")
DRAFT_TOWNSHIP_NAME = "龙水镇"

def test_a_draft_is_refused_as_claim_json_naming_what_is_missing(store):
    draft = store.claims.create(**DRAFT)
    with pytest.raises(IncompleteClaimError) as caught:
        claim_json_from_store(store, draft)
    assert caught.value.missing == ("loss_types", "victim")
    assert caught.value.message("zh") == "案件尚未填写损失类型、受害人。"
    partial = claim_json_from_store(store, draft, allow_incomplete=True)
    assert partial["loss_types"] == [] and partial["persons"] == []
    with pytest.raises(ClaimJsonError):
        validate_claim_json(partial)  # documented: a partial dict is not a complete claim JSON


def test_a_draft_prints_with_empty_fields(store, tmp_path):
    draft = store.claims.create(**DRAFT)
    # Half-entered: the victim's ID and phone are in, the name not yet.
    store.persons.add(draft, role_in_claim="victim", id_number=VICTIM_ID, phone=VICTIM_PHONE)
    report_no = store.claims.get(draft).report_no
    with pytest.raises(IncompleteClaimError) as caught:
        claim_json_from_store(store, draft)
    assert "persons[0].name" in caught.value.missing
    for template in ("claim_application", "disaster_certificate", "power_of_attorney", "loss_inventory"):
        path = render_claim_pdf(store, draft, template, out_dir=tmp_path)
        text = "".join(pdf_text(path))
        assert report_no in text, template
        # Nothing made up: only the draft's own township reaches the paper.
        assert [name for name in TOWNSHIP_NAMES if name in text] in ([], [DRAFT_TOWNSHIP_NAME]), template
    application = "".join(pdf_text(tmp_path / pdf_file_name(report_no, "claim_application")))
    assert VICTIM_ID in application and VICTIM_PHONE in application


def test_a_checklist_needs_the_loss_types(store, tmp_path):
    draft = store.claims.create(**DRAFT)
    with pytest.raises(IncompleteClaimError) as caught:
        render_claim_pdf(store, draft, "checklist", out_dir=tmp_path)
    assert caught.value.missing == ("loss_types",)
    assert "损失类型" in caught.value.message("zh")
    assert files_in(tmp_path) == []


def test_bad_data_in_a_draft_is_still_reported_with_what_is_missing(store, tmp_path):
    draft = store.claims.create(**DRAFT, address="巷" * 300)
    with pytest.raises(ClaimJsonError) as caught:
        render_claim_pdf(store, draft, "claim_application", out_dir=tmp_path)
    assert not isinstance(caught.value, IncompleteClaimError)
    assert any(p.startswith("address:") for p in caught.value.problems)
    assert "loss_types: required, not recorded on this phone yet" in caught.value.problems
    assert files_in(tmp_path) == []


# ---- riders --------------------------------------------------------------------------------------

def test_a_riders_main_coverage_comes_from_its_event(store, tmp_path):
    event = "5d0c3a51-7f3e-4b8e-9a61-2b1f6c0d9e42"
    add_worked_claim(store, event_id=event)
    rider = store.claims.create(coverage="resettlement", role="liaison", township_code="500111100",
                                incident_at="2026-07-14T03:10:00+08:00", loss_types=["resettlement"], description="安置",
                                event_id=event)
    store.persons.add(rider, role_in_claim="victim", name=VICTIM, id_number=VICTIM_ID, relation="self")
    assert claim_json_from_store(store, rider)["attached_to"] == "natural_disaster"
    text = "".join(pdf_text(render_claim_pdf(store, rider, "checklist", out_dir=tmp_path)))
    assert "气象证明" in text  # the flood's cause evidence, from the main coverage


def test_a_rider_without_a_known_main_coverage_prints_but_has_no_checklist(store, tmp_path):
    rider = store.claims.create(coverage="resettlement", role="liaison", township_code="500111100",
                                incident_at="2026-07-14T03:10:00+08:00", loss_types=["resettlement"], description="安置")
    store.persons.add(rider, role_in_claim="victim", name=VICTIM, relation="self")
    with pytest.raises(IncompleteClaimError) as caught:
        claim_json_from_store(store, rider)
    assert caught.value.missing == ("attached_to",)
    assert render_claim_pdf(store, rider, "claim_application", out_dir=tmp_path).exists()
    with pytest.raises(IncompleteClaimError):
        render_claim_pdf(store, rider, "checklist", out_dir=tmp_path)
    assert len(files_in(tmp_path)) == 1


def test_file_names_are_safe_whatever_the_report_number():
    assert pdf_file_name("DZ-20260714-A1B2-0038", "checklist") == "DZ-20260714-A1B2-0038-checklist.pdf"
    assert pdf_file_name("../报案 7/x", "checklist", "en") == "7_x-checklist-en.pdf"
    assert pdf_file_name("..", "loss_inventory", fallback="c1") == "c1-loss_inventory.pdf"
    assert os.sep not in pdf_file_name("a/b\\c", "checklist")
