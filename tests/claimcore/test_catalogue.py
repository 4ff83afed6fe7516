"""The coverage catalogue: consistent, faithful to DOMAIN.md, and loud when broken."""
from __future__ import annotations

import copy
import json
import shutil

import pytest

from claimcore import catalogue as catmod
from claimcore.assets import assets_dir
from claimcore.catalogue import (
    TEMPLATE_CODES,
    CatalogueError,
    UnknownCatalogueVersion,
    UnknownCoverage,
    available_versions,
    load_catalogue,
    parse_catalogue,
)

COVERAGE_CODES = ["natural_disaster", "crowd_stampede", "terrorism", "falling_object", "mental_patient",
                  "municipal_facility", "fire_explosion", "infectious_disease", "violent_crime",
                  "good_samaritan", "resettlement", "drowning"]
INJURY = ("death", "disability", "medical")


def current_raw() -> dict:
    index = json.loads((assets_dir() / "catalogue" / "index.json").read_text(encoding="utf-8"))
    path = assets_dir() / "catalogue" / f"catalogue-{index['current']}.json"
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def cat():
    return load_catalogue()


# ---------------------------------------------------------------------------------------------
# Consistency of the real data
# ---------------------------------------------------------------------------------------------

def test_current_version_has_the_twelve_coverages_in_domain_order(cat):
    assert cat.version == "2024.2"
    assert list(cat.coverages) == COVERAGE_CODES
    assert {c.code for c in cat.coverages.values() if c.is_rider} == {"resettlement", "drowning"}


def _walk_labels(node, path="$"):
    if isinstance(node, dict):
        if "zh" in node or "en" in node:
            yield path, node
        for k, v in node.items():
            yield from _walk_labels(v, f"{path}.{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _walk_labels(v, f"{path}[{i}]")


def test_every_label_in_the_file_has_chinese_and_english():
    labels = list(_walk_labels(current_raw()))
    assert len(labels) > 150  # the walk really reached the labels
    for path, lab in labels:
        assert isinstance(lab.get("zh"), str) and lab["zh"].strip(), f"{path}: no zh"
        assert isinstance(lab.get("en"), str) and lab["en"].strip(), f"{path}: no en"
        assert any("\u4e00" <= ch <= "\u9fff" for ch in lab["zh"]), f"{path}: zh label has no Chinese"


def test_every_referenced_document_exists_in_the_file():
    raw = current_raw()
    docs = {d["code"] for d in raw["documents"]}
    groups = {g["code"]: g for g in raw["alternative_groups"]}
    refs = []
    for req in raw["document_sets"]["base"]:
        refs.append(req)
    for reqs in raw["document_sets"]["loss_types"].values():
        refs.extend(reqs)
    for cov in raw["coverages"]:
        refs.extend(cov["cause_evidence"])
        for rp in cov.get("replaces", []):
            assert rp["document"] in docs and rp["by"] in docs
    for req in refs:
        if "document" in req:
            assert req["document"] in docs, req
        else:
            assert req["group"] in groups, req
            assert all(m in docs for m in groups[req["group"]]["members"])
    used = {r["document"] for r in refs if "document" in r} | {m for g in groups.values() for m in g["members"]}
    assert used | {r["document"] for c in raw["coverages"] for r in c.get("replaces", [])} >= docs, \
        "a document is defined but never asked for"


def test_every_coverage_has_documents_for_each_loss_type_it_allows(cat):
    for cov in cat.coverages.values():
        assert cov.loss_types
        for lt in cov.loss_types:
            assert cat.loss_type_documents[lt], (cov.code, lt)


def test_templates_are_the_five_known_codes_and_documents_name_only_those(cat):
    assert set(cat.templates) == set(TEMPLATE_CODES) == {
        "claim_application", "disaster_certificate", "power_of_attorney", "loss_inventory", "checklist"}
    used = {d.template for d in cat.documents.values() if d.template}
    assert used <= set(TEMPLATE_CODES)
    # every fill-in form except the checklist itself belongs to a document the victim supplies
    assert used == set(TEMPLATE_CODES) - {"checklist"}
    assert cat.document("claim_application").template == "claim_application"
    assert cat.document("disaster_certificate").template == "disaster_certificate"
    assert cat.document("power_of_attorney").template == "power_of_attorney"
    assert cat.document("loss_inventory").template == "loss_inventory"


def test_loss_types_per_coverage_follow_domain(cat):
    expected = {c: INJURY for c in COVERAGE_CODES}
    expected["natural_disaster"] = INJURY + ("house",)
    expected["fire_explosion"] = INJURY + ("house",)
    expected["resettlement"] = ("resettlement",)
    assert {c.code: c.loss_types for c in cat.coverages.values()} == expected


def test_riders_say_what_they_attach_to(cat):
    res = cat.coverage("resettlement")
    assert res.kind == "rider" and set(res.attaches_to) == {"fire_explosion", "natural_disaster"}
    assert res.cause_evidence_from_main
    assert cat.coverage("drowning").kind == "rider"
    for code in COVERAGE_CODES[:10]:
        assert cat.coverage(code).kind == "main" and cat.coverage(code).attaches_to == ()


def test_certifying_departments_match_the_seed(cat):
    def depts(code, area=None):
        return {cd.department.label.zh for cd in cat.coverage(code).certifying_departments
                if area is None or cd.area == area}
    assert depts("natural_disaster") == {"区气象局", "区民政局"}
    for code in ("terrorism", "crowd_stampede", "good_samaritan", "falling_object", "violent_crime"):
        assert depts(code) == {"区公安局"}, code
    assert depts("fire_explosion") == {"区公安局", "区消防救援支队", "经开区消防救援大队"}
    assert depts("fire_explosion", "development_zone") == {"经开区消防救援大队"}
    assert depts("municipal_facility", "district") == {"区城市管理局"}
    assert depts("municipal_facility", "development_zone") == {"经开区建设局"}
    assert depts("mental_patient") == {"区卫生健康委（区卫健委）"}
    assert depts("infectious_disease") == {"区卫生健康委（区卫健委）", "区公安局"}
    assert depts("drowning", "district") == {"区应急局"}
    assert depts("drowning", "development_zone") == {"经开区应急局"}


def test_natural_disaster_covers_the_seed_hazards_and_evidence(cat):
    nd = cat.coverage("natural_disaster")
    hazards = {h.label.zh for h in nd.hazards}
    for h in ("雷击", "暴雨", "洪水", "暴风", "龙卷风", "冰雹", "台风", "飓风", "暴雪", "冰凌", "突发性滑坡",
              "崩塌", "泥石流", "地震", "地面突然下陷下沉"):
        assert h in hazards and h in nd.covers.zh
    cause = [r.document for r in nd.cause_evidence]
    assert cause == ["weather_certificate", "disaster_certificate"]
    assert cat.document("weather_certificate").issuer.zh == "区气象局"
    assert cat.document("weather_certificate").shared_per_event
    assert nd.reported_first_by.code == "township"
    assert all(cat.coverage(c).reported_first_by.code == "victim" for c in COVERAGE_CODES[1:])


def test_flows_are_the_five_annex_rows(cat):
    assert set(cat.flows) == {"natural_disaster", "terrorism", "public_places", "good_samaritan",
                              "infectious_disease"}
    nd = cat.coverage("natural_disaster").flow
    assert len(nd.steps) == 8
    assert nd.steps[0].zh == "街镇将受灾情况上报区民政局" and nd.steps[-1].zh == "赔付"
    for flow in cat.flows.values():
        assert "区金融发展事务中心盖章" in flow.steps[-2].zh  # every claim is stamped before payment
    assert cat.coverage("infectious_disease").flow.steps[3].zh == "区卫健委出具工作人员身份认定文件"


def test_death_documents_are_two_of_three(cat):
    g = cat.groups["death_proof"]
    assert g.min_required == 2
    assert {cat.document(m).label.zh for m in g.members} == {"居民死亡医学证明（推断）书", "户籍注销证明", "火化证"}
    assert g.basis == "practice"


def test_agent_documents_are_conditional(cat):
    by_agent = {r.document for r in cat.base_documents if r.when == "by_agent"}
    assert by_agent == {"power_of_attorney", "agent_id_card"}


def test_every_document_and_coverage_states_its_basis(cat):
    assert {d.basis for d in cat.documents.values()} <= {"seed", "practice"}
    assert all(c.basis in ("seed", "practice") for c in cat.coverages.values())
    raw = current_raw()
    assert all("basis" in d for d in raw["documents"])


def test_benefit_limits_are_chongqing_minimum_defaults_in_fen(cat):
    raw = current_raw()["benefit_limits"]
    assert raw["configurable_defaults"] is True and raw["basis"] == "practice"
    assert "渝府办发〔2017〕121号" in raw["note"]["zh"]
    for cov in cat.coverages.values():
        lim = cov.limits
        assert lim.configurable_defaults
        assert lim.death_per_person_fen == 100_000 * 100
        assert lim.medical_per_person_fen == 10_000 * 100
        assert lim.disability_limit_fen(1) == lim.death_per_person_fen
        assert lim.disability_limit_fen(10) == 10_000 * 100
        assert [lim.disability_grade_percent[g] for g in range(1, 11)] == list(range(100, 0, -10))
        # the sources give no figure for these: left empty rather than invented
        assert lim.house_per_household_fen is None
        assert lim.resettlement_per_person_day_fen is None and lim.resettlement_max_days is None
    assert cat.caps.per_event_fen == 30_000_000 * 100
    assert cat.caps.per_year_fen == 60_000_000 * 100
    with pytest.raises(ValueError):
        cat.coverage("terrorism").limits.disability_limit_fen(11)


def test_unknown_coverage_is_a_value_error_naming_the_valid_codes(cat):
    with pytest.raises(UnknownCoverage) as e:
        cat.coverage("flood")
    assert isinstance(e.value, ValueError)
    assert "'flood'" in str(e.value) and "natural_disaster" in str(e.value) and "drowning" in str(e.value)


def test_labels_give_each_language_and_refuse_others(cat):
    lab = cat.coverage("good_samaritan").label
    assert lab.get("zh") == "见义勇为救助保险" and lab.get("en").startswith("Good Samaritan")
    with pytest.raises(ValueError):
        lab.get("fr")


def test_load_is_cached(cat):
    assert load_catalogue() is cat
    assert load_catalogue("2024.2") is cat
    assert load_catalogue("2024.1") is load_catalogue("2024.1") is not cat  # the earlier release still loads


# ---------------------------------------------------------------------------------------------
# Broken catalogues fail loudly, naming the entry
# ---------------------------------------------------------------------------------------------

def _doc_index(raw, code):
    return next(i for i, d in enumerate(raw["documents"]) if d["code"] == code)


def _cov_index(raw, code):
    return next(i for i, c in enumerate(raw["coverages"]) if c["code"] == code)


def _break_unknown_doc(raw):
    raw["document_sets"]["base"][0]["document"] = "no_such_paper"


def _break_missing_en(raw):
    del raw["documents"][_doc_index(raw, "survey_record")]["label"]["en"]


def _break_missing_zh_coverage(raw):
    raw["coverages"][_cov_index(raw, "terrorism")]["label"]["zh"] = " "


def _break_loss_type_without_documents(raw):
    raw["document_sets"]["loss_types"]["house"] = []


def _break_duplicate_document(raw):
    raw["documents"].append(copy.deepcopy(raw["documents"][_doc_index(raw, "cremation_certificate")]))


def _break_duplicate_coverage(raw):
    raw["coverages"].append(copy.deepcopy(raw["coverages"][_cov_index(raw, "terrorism")]))


def _break_group_min(raw):
    raw["alternative_groups"][0]["min_required"] = 4


def _break_group_member(raw):
    raw["alternative_groups"][0]["members"][1] = "death_rumour"


def _break_group_single(raw):
    raw["alternative_groups"][0]["members"] = ["cremation_certificate"]
    raw["alternative_groups"][0]["min_required"] = 1


def _break_template(raw):
    raw["documents"][_doc_index(raw, "loss_inventory")]["template"] = "household_register_form"


def _break_rider(raw):
    raw["coverages"][_cov_index(raw, "resettlement")]["attaches_to"] = ["earthquake"]


def _break_float_money(raw):
    raw["benefit_limits"]["programme_caps"]["per_event_fen"] = 3e9


def _break_not_configurable(raw):
    del raw["benefit_limits"]["configurable_defaults"]


def _break_condition(raw):
    raw["document_sets"]["base"][5]["when"] = "on_tuesdays"


def _break_member_listed_alone(raw):
    raw["document_sets"]["loss_types"]["death"].append({"document": "cremation_certificate", "mandatory": True})


def _break_unknown_loss_type(raw):
    raw["coverages"][_cov_index(raw, "drowning")]["loss_types"].append("car")


def _break_no_cause_evidence(raw):
    raw["coverages"][_cov_index(raw, "violent_crime")]["cause_evidence"] = []


def _break_unknown_department(raw):
    raw["coverages"][_cov_index(raw, "mental_patient")]["certifying_departments"][0]["department"] = "mayor"


BROKEN = [
    (_break_unknown_doc, ["document_sets.base[0]", "no_such_paper"]),
    (_break_missing_en, ["'survey_record'", "missing en label"]),
    (_break_missing_zh_coverage, ["'terrorism'", "missing zh label"]),
    (_break_loss_type_without_documents, ["'natural_disaster'", "'house'", "no documents"]),
    (_break_duplicate_document, ["'cremation_certificate'", "duplicate"]),
    (_break_duplicate_coverage, ["'terrorism'", "duplicate"]),
    (_break_group_min, ["'death_proof'", "min_required"]),
    (_break_group_member, ["'death_proof'", "death_rumour"]),
    (_break_group_single, ["'death_proof'", "at least two"]),
    (_break_template, ["'loss_inventory'", "household_register_form"]),
    (_break_rider, ["'resettlement'", "earthquake"]),
    (_break_float_money, ["per_event_fen", "integer"]),
    (_break_not_configurable, ["configurable_defaults"]),
    (_break_condition, ["document_sets.base[5]", "on_tuesdays"]),
    (_break_member_listed_alone, ["'cremation_certificate'", "'death_proof'"]),
    (_break_unknown_loss_type, ["'drowning'", "'car'"]),
    (_break_no_cause_evidence, ["'violent_crime'", "cause evidence"]),
    (_break_unknown_department, ["'mental_patient'", "mayor"]),
]


@pytest.mark.parametrize("breaker,fragments", BROKEN, ids=[b.__name__[7:] for b, _ in BROKEN])
def test_broken_catalogue_fails_naming_the_entry(breaker, fragments):
    raw = current_raw()
    parse_catalogue(copy.deepcopy(raw))  # the unbroken data parses: the failure below is the break
    breaker(raw)
    with pytest.raises(CatalogueError) as e:
        parse_catalogue(raw)
    for frag in fragments:
        assert frag in str(e.value), (frag, str(e.value))


# ---------------------------------------------------------------------------------------------
# Versions on disk
# ---------------------------------------------------------------------------------------------

@pytest.fixture
def tmp_assets(tmp_path, monkeypatch):
    """A private assets folder with the real current catalogue and an older 2023.1 beside it."""
    root = tmp_path / "assets"
    shutil.copytree(assets_dir() / "catalogue", root / "catalogue",
                    ignore=shutil.ignore_patterns("templates"))
    old = current_raw()
    old["catalogue_version"] = "2023.1"
    # an older list: the falling-object case receipt was not yet asked for
    i = _cov_index(old, "falling_object")
    old["coverages"][i]["cause_evidence"] = [r for r in old["coverages"][i]["cause_evidence"]
                                             if r["document"] != "police_case_receipt"]
    (root / "catalogue" / "catalogue-2023.1.json").write_text(json.dumps(old, ensure_ascii=False), encoding="utf-8")
    monkeypatch.setenv("DAZU_ASSETS", str(root))
    catmod.clear_cache()
    yield root
    catmod.clear_cache()


def test_old_versions_stay_loadable_beside_the_current_one(tmp_assets):
    assert available_versions() == ["2023.1", "2024.1", "2024.2"]
    current = load_catalogue()
    old = load_catalogue("2023.1")
    assert (current.version, old.version) == ("2024.2", "2023.1")
    assert [r.document for r in old.coverage("falling_object").cause_evidence] == ["police_determination"]
    assert "police_case_receipt" in [r.document for r in current.coverage("falling_object").cause_evidence]


def test_unknown_version_names_the_available_ones(tmp_assets):
    with pytest.raises(UnknownCatalogueVersion) as e:
        load_catalogue("2019.1")
    assert "2019.1" in str(e.value) and "2023.1" in str(e.value) and "2024.1" in str(e.value)


def test_file_whose_content_disagrees_with_its_name_is_refused(tmp_assets):
    raw = current_raw()
    raw["catalogue_version"] = "2025.1"
    (tmp_assets / "catalogue" / "catalogue-2022.1.json").write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(CatalogueError, match="2022.1"):
        load_catalogue("2022.1")


def test_broken_file_names_the_file_and_entry(tmp_assets):
    raw = current_raw()
    _break_unknown_doc(raw)
    path = tmp_assets / "catalogue" / "catalogue-2024.2.json"
    path.write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(CatalogueError) as e:
        load_catalogue()
    assert "catalogue-2024.2.json" in str(e.value) and "no_such_paper" in str(e.value)
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(CatalogueError, match="not valid JSON"):
        load_catalogue()


def test_index_must_name_the_current_version(tmp_assets):
    (tmp_assets / "catalogue" / "index.json").write_text("{}", encoding="utf-8")
    with pytest.raises(CatalogueError, match="current"):
        load_catalogue()
    assert load_catalogue("2023.1").version == "2023.1"  # explicit versions still load
