"""Every checklist item says why it is asked for, and asks only what the notice asks.

The notice (大足府办发〔2024〕23号, kept verbatim beside this test) is the final word: cause evidence it
names is mandatory, anything more is optional (listed, never blocking). Documents needed to
identify and pay someone, and the loss's own proof, stay mandatory as stated practice.
"""
from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from claimcore.catalogue import BASES, CatalogueError, load_catalogue, parse_catalogue
from claimcore.checklist import evaluate, required_documents

ROOT = Path(__file__).resolve().parents[2]
NOTICE = (Path(__file__).with_name("notice_dazu_2024_23.txt")).read_text(encoding="utf-8")
CAT = load_catalogue()
OLD = load_catalogue("2024.1")

# The pre-existing keys of a checklist item in `python -m claimcore checklist --json` (a contract).
ITEM_KEYS = {"document", "name", "issuer", "mandatory", "sections", "group", "group_min_required", "template",
             "when", "not_applicable_allowed", "long_wait", "shared_per_event", "note"}


def _lines(cat):
    """(where, requirement) for every requirement line of the catalogue."""
    for r in cat.base_documents:
        yield "base", r
    for lt, reqs in cat.loss_type_documents.items():
        for r in reqs:
            yield f"loss_types.{lt}", r
    for cov in cat.coverages.values():
        for r in cov.cause_evidence:
            yield f"{cov.code}.cause_evidence", r


def _raw(version: str) -> dict:
    return json.loads((ROOT / "assets" / "catalogue" / f"catalogue-{version}.json").read_text(encoding="utf-8"))


def _cause(coverage: str, cat=CAT) -> dict:
    return {r.key: r for r in cat.coverage(coverage).cause_evidence}


def _mandatory_only(items) -> dict[str, str]:
    """Statuses with exactly the mandatory items collected (a group: just its minimum)."""
    statuses: dict[str, str] = {}
    taken: dict[str, int] = {}
    for it in items:
        if not it.mandatory:
            continue
        if it.group:
            if taken.get(it.group, 0) >= it.group_min_required:
                continue
            taken[it.group] = taken.get(it.group, 0) + 1
        statuses[it.document] = "collected"
    return statuses


# ---------------------------------------------------------------------------------------------
# The catalogue's bases
# ---------------------------------------------------------------------------------------------

def test_the_current_catalogue_is_2024_2_and_states_a_basis_per_line():
    assert (CAT.version, CAT.format) == ("2024.2", 2)
    lines = list(_lines(CAT))
    assert len(lines) > 30
    for where, r in lines:
        assert r.basis.stated, f"{where} {r.key}"
        assert r.basis.source in BASES
        assert r.basis.explanation.zh.strip() and r.basis.explanation.en.strip()


def test_every_seed_quote_is_the_notice_word_for_word():
    quotes = [(where, r.key, r.basis.quote) for where, r in _lines(CAT) if r.basis.source == "seed"]
    assert len(quotes) >= 15  # every coverage's certificate, the application, the survey
    for where, key, quote in quotes:
        assert quote and quote in NOTICE, f"{where} {key}: not in the notice: {quote!r}"
    # and no practice line pretends to quote
    assert all(r.basis.quote is None for _, r in _lines(CAT) if r.basis.source != "seed")


def test_cause_evidence_is_mandatory_exactly_where_the_notice_requires_it():
    for cov in CAT.coverages.values():
        for r in cov.cause_evidence:
            assert r.mandatory == (r.basis.source == "seed"), f"{cov.code} {r.key}"


def test_mental_patient_needs_only_the_health_commission_determination():
    cause = _cause("mental_patient")
    assert [k for k, r in cause.items() if r.mandatory] == ["mental_patient_determination"]
    assert cause["mental_patient_determination"].basis.quote == "区卫生健康委：负责对精神病人伤人导致的人身伤亡进行认定"
    for optional in ("police_case_receipt", "perpetrator_psychiatric_diagnosis"):
        r = cause[optional]
        assert not r.mandatory and r.basis.source == "practice", optional
        assert "不影响提交" in r.basis.explanation.zh and "does not hold up" in r.basis.explanation.en
    # the old release asked for all three: claims filled against it keep that list
    assert all(r.mandatory for r in _cause("mental_patient", OLD).values())


def test_good_samaritan_keeps_the_police_determination_and_makes_the_confirmation_optional():
    cause = _cause("good_samaritan")
    police, confirmation = cause["police_determination"], cause["good_samaritan_confirmation"]
    assert police.mandatory and police.basis.quote == "街镇协助收集公安局事故认定文件"
    assert not confirmation.mandatory and confirmation.basis.source == "practice"
    assert "数周" in confirmation.basis.explanation.zh
    item = next(i for i in required_documents(CAT, "good_samaritan", ["death"])
                if i.document == "good_samaritan_confirmation")
    assert item.long_wait and not item.mandatory and item.basis is confirmation.basis


@pytest.mark.parametrize("coverage", ["falling_object", "violent_crime"])
def test_the_police_case_receipt_is_optional_where_the_notice_asks_only_for_the_determination(coverage):
    cause = _cause(coverage)
    assert cause["police_determination"].mandatory and cause["police_determination"].basis.source == "seed"
    assert not cause["police_case_receipt"].mandatory


@pytest.mark.parametrize("where,key", [
    ("base", "claimant_id_card"), ("base", "payee_bank_account"), ("base", "agent_id_card"),
    ("loss_types.death", "group:death_proof"), ("loss_types.death", "heirs_id_cards"),
    ("loss_types.death", "kinship_proof"), ("loss_types.disability", "disability_assessment"),
    ("loss_types.medical", "medical_invoices"), ("loss_types.house", "property_ownership_proof"),
    ("loss_types.house", "loss_inventory"), ("loss_types.resettlement", "relocation_list"),
])
def test_identity_payment_and_loss_proof_stay_mandatory_as_stated_practice(where, key):
    r = next(r for w, r in _lines(CAT) if w == where and r.key == key)
    assert r.mandatory and r.basis.source == "practice"
    assert "保留为必交" in r.basis.explanation.zh and "stays required" in r.basis.explanation.en


def test_notice_items_outside_the_cause_evidence_quote_the_notice():
    base = {r.key: r for r in CAT.base_documents}
    assert base["claim_application"].basis.quote == "人保财险大足支公司核实资料完整性后，完善索赔申请书至区金融发展事务中心盖章"
    nd = _cause("natural_disaster")
    assert nd["weather_certificate"].basis.quote == "区气象局协助提供气象证明"
    assert nd["disaster_certificate"].mandatory and nd["disaster_certificate"].basis.source == "seed"


def test_only_cause_evidence_changed_from_2024_1_and_the_limits_did_not():
    new, old = _raw("2024.2"), _raw("2024.1")
    assert new["benefit_limits"] == old["benefit_limits"]

    def flags(raw):
        out = {f"base:{r.get('document') or r.get('group')}": r["mandatory"] for r in raw["document_sets"]["base"]}
        for lt, reqs in raw["document_sets"]["loss_types"].items():
            out.update({f"{lt}:{r.get('document') or r.get('group')}": r["mandatory"] for r in reqs})
        for c in raw["coverages"]:
            out.update({f"{c['code']}:{r['document']}": r["mandatory"] for r in c["cause_evidence"]})
        return out

    changed = {k for k, v in flags(new).items() if flags(old)[k] != v}
    assert set(flags(new)) == set(flags(old))
    assert changed == {"falling_object:police_case_receipt", "mental_patient:police_case_receipt",
                       "mental_patient:perpetrator_psychiatric_diagnosis", "violent_crime:police_case_receipt",
                       "good_samaritan:good_samaritan_confirmation"}


# ---------------------------------------------------------------------------------------------
# Completeness: optional items never block
# ---------------------------------------------------------------------------------------------

def _every_checklist(cat):
    for cov in cat.coverages.values():
        mains = cov.attaches_to if cov.cause_evidence_from_main else (None,)
        for main in mains:
            for lt in cov.loss_types:
                yield cov.code, main, lt


@pytest.mark.parametrize("coverage,main,loss", list(_every_checklist(CAT)))
def test_a_claim_with_only_the_mandatory_items_is_complete(coverage, main, loss):
    items = required_documents(CAT, coverage, [loss], attached_to=main)
    result = evaluate(items, _mandatory_only(items))
    assert result.complete, [m.text("en") for m in result.missing]
    optional = {d for m in result.optional_missing for d in m.documents}
    assert optional == {i.document for i in items if not i.mandatory}


def test_mental_patient_and_good_samaritan_complete_without_the_extras():
    for coverage, extras in (("mental_patient", {"police_case_receipt", "perpetrator_psychiatric_diagnosis"}),
                             ("good_samaritan", {"good_samaritan_confirmation"})):
        items = required_documents(CAT, coverage, ["medical"])
        statuses = _mandatory_only(items)
        assert not extras & set(statuses)
        result = evaluate(items, statuses)
        assert result.complete
        assert extras <= {d for m in result.optional_missing for d in m.documents}
        # the same papers on a claim filled against 2024.1 still fall short: it keeps its old list
        old_items = required_documents(OLD, coverage, ["medical"])
        old_result = evaluate(old_items, statuses)
        assert not old_result.complete
        assert {d for m in old_result.missing for d in m.documents} == extras


def test_a_2024_1_claim_keeps_its_old_checklist():
    old = {i.document: i for i in required_documents(OLD, "good_samaritan", ["death"])}
    new = {i.document: i for i in required_documents(CAT, "good_samaritan", ["death"])}
    assert list(old) == list(new)  # the same papers, in the same order
    assert old["good_samaritan_confirmation"].mandatory and not new["good_samaritan_confirmation"].mandatory
    assert all(old[d].mandatory == new[d].mandatory for d in old if d != "good_samaritan_confirmation")
    # 2024.1 states no basis per line: the document's own one stands in, with a general reason
    b = old["good_samaritan_confirmation"].basis
    assert (b.source, b.stated, b.quote) == ("practice", False, None) and b.text("zh")
    assert old["claim_application"].basis.source == "seed"


def test_merged_item_takes_the_basis_of_the_line_that_makes_it_mandatory():
    raw = _raw("2024.2")
    why = {"source": "practice", "zh": "测试：医疗损失也要报案回执", "en": "test: medical losses need the receipt too"}
    raw["document_sets"]["loss_types"]["medical"].append(
        {"document": "police_case_receipt", "mandatory": True, "basis": why})
    cat = parse_catalogue(raw)
    item = next(i for i in required_documents(cat, "falling_object", ["medical"]) if i.document == "police_case_receipt")
    assert item.mandatory and item.sections == ("cause", "medical") and item.basis.explanation.zh == why["zh"]
    shared = next(i for i in required_documents(CAT, "violent_crime", ["disability", "medical"])
                  if i.document == "medical_records")
    assert shared.basis.source == "practice" and shared.sections == ("disability", "medical")


# ---------------------------------------------------------------------------------------------
# Loading: a line without a basis is an error from format 2 on
# ---------------------------------------------------------------------------------------------

def _mental(raw) -> dict:
    return next(c for c in raw["coverages"] if c["code"] == "mental_patient")


def test_a_line_without_basis_is_refused_in_2024_2_naming_it():
    raw = _raw("2024.2")
    del _mental(raw)["cause_evidence"][1]["basis"]
    with pytest.raises(CatalogueError) as e:
        parse_catalogue(raw)
    assert "'mental_patient'" in str(e.value) and "police_case_receipt" in str(e.value)
    assert "basis" in str(e.value)


def test_format_1_lines_may_leave_the_basis_out():
    raw = _raw("2024.1")
    assert "basis" not in raw["document_sets"]["base"][0]
    assert parse_catalogue(raw).format == 1


@pytest.mark.parametrize("breaker,fragments", [
    (lambda raw: _mental(raw)["cause_evidence"][1].update(mandatory=True),
     ["police_case_receipt", "mandatory only where the notice requires it"]),
    (lambda raw: _mental(raw)["cause_evidence"][0]["basis"].update(source="hearsay"), ["hearsay"]),
    (lambda raw: _mental(raw)["cause_evidence"][0]["basis"].pop("en"), ["missing en"]),
    (lambda raw: _mental(raw)["cause_evidence"][0]["basis"].update(page=3), ["page"]),
    (lambda raw: raw.update(format=3), ["format"]),
])
def test_broken_bases_fail_loudly(breaker, fragments):
    raw = copy.deepcopy(_raw("2024.2"))
    breaker(raw)
    with pytest.raises(CatalogueError) as e:
        parse_catalogue(raw)
    for f in fragments:
        assert f in str(e.value)


# ---------------------------------------------------------------------------------------------
# The command line contract
# ---------------------------------------------------------------------------------------------

def run(*args):
    env = dict(os.environ)
    env.pop("DAZU_ASSETS", None)
    p = subprocess.run([sys.executable, "-m", "claimcore", *args], cwd=ROOT, env=env, capture_output=True,
                       text=True, encoding="utf-8", timeout=60)
    assert p.returncode == 0, p.stderr
    return p.stdout


def test_cli_json_items_keep_their_keys_and_add_the_basis():
    doc = json.loads(run("checklist", "mental_patient", "--loss", "death,medical", "--json"))
    assert doc["catalogue_version"] == "2024.2"
    items = {i["document"]: i for i in doc["items"]}
    for it in items.values():
        assert ITEM_KEYS <= set(it), it["document"]
        assert isinstance(it["basis"], str) and it["basis"].strip()
        assert it["basis_source"] in ("seed", "practice", "open")
        assert it["basis_translation"] is None  # zh: the notice's words need no rendering
    det = items["mental_patient_determination"]
    assert (det["mandatory"], det["basis_source"]) == (True, "seed")
    assert det["basis"] == "区卫生健康委：负责对精神病人伤人导致的人身伤亡进行认定" and det["basis"] in NOTICE
    for optional in ("police_case_receipt", "perpetrator_psychiatric_diagnosis"):
        assert (items[optional]["mandatory"], items[optional]["basis_source"]) == (False, "practice")
    assert items["claimant_id_card"]["mandatory"] is True and "保留为必交" in items["claimant_id_card"]["basis"]


def test_cli_json_in_english_gives_assumptions_in_english_and_quotes_with_a_rendering():
    doc = json.loads(run("checklist", "good_samaritan", "--loss", "death", "--json", "--lang", "en"))
    items = {i["document"]: i for i in doc["items"]}
    police = items["police_determination"]
    assert police["basis"] == "街镇协助收集公安局事故认定文件"  # the notice's words stay verbatim
    assert police["basis_translation"].startswith("The township helps collect")
    conf = items["good_samaritan_confirmation"]
    assert conf["mandatory"] is False and conf["basis"].startswith("The notice asks only")
    assert conf["basis_translation"] is None


def test_cli_json_for_a_2024_1_claim_still_names_a_basis():
    doc = json.loads(run("checklist", "good_samaritan", "--loss", "death", "--json", "--catalogue-version", "2024.1"))
    items = {i["document"]: i for i in doc["items"]}
    assert items["good_samaritan_confirmation"]["mandatory"] is True
    assert all(i["basis"].strip() and i["basis_source"] in ("seed", "practice") for i in doc["items"])


def test_cli_text_shows_optional_items_and_each_basis():
    zh = run("checklist", "good_samaritan", "--loss", "death")
    assert "见义勇为确认书 — 区公安局等见义勇为确认部门  [可选，不影响提交]" in zh
    assert "依据（通知）: “街镇协助收集公安局事故认定文件”" in zh
    assert "依据（通行做法）: 通知只要求街镇协助收集公安局事故认定文件" in zh
    en = run("checklist", "mental_patient", "--loss", "medical", "--lang", "en")
    assert "Police case receipt — District Public Security Bureau (police station)  [optional, never holds up the claim]" in en
    assert "basis (the notice): “区卫生健康委：负责对精神病人伤人导致的人身伤亡进行认定” (District Health Commission" in en
