"""`python -m claimcore` as a maintainer runs it: real subprocesses, exit codes, JSON shape."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from claimcore.assets import assets_dir

ROOT = Path(__file__).resolve().parents[2]


def run(*args, env_extra=None):
    env = dict(os.environ)
    env.pop("DAZU_ASSETS", None)
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "claimcore", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, encoding="utf-8", timeout=60)


def test_coverages_json_lists_twelve_in_chinese_by_default():
    p = run("coverages", "--json")
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert doc["catalogue_version"] == "2024.2" and doc["lang"] == "zh" and doc["count"] == 12
    assert len(doc["coverages"]) == 12
    first = doc["coverages"][0]
    assert first["code"] == "natural_disaster" and first["name"] == "自然灾害救助保险"
    assert {d["name"] for d in first["certifying_departments"]} == {"区气象局", "区民政局"}
    rider = next(c for c in doc["coverages"] if c["code"] == "resettlement")
    assert rider["kind"] == "rider" and rider["attaches_to"] == ["fire_explosion", "natural_disaster"]


def test_coverages_in_english_and_as_text():
    en = json.loads(run("coverages", "--json", "--lang", "en").stdout)
    assert en["coverages"][0]["name"] == "Natural disaster relief insurance"
    text = run("coverages")
    assert text.returncode == 0 and text.stderr == ""
    assert "见义勇为救助保险" in text.stdout and "共 12" in text.stdout


def test_checklist_acceptance_natural_disaster_death_and_house():
    p = run("checklist", "natural_disaster", "--loss", "death,house", "--json")
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)  # one JSON document, nothing else on stdout
    docs = {i["document"]: i for i in doc["items"]}
    assert docs["weather_certificate"]["name"] == "气象证明"
    assert docs["weather_certificate"]["issuer"] == "区气象局"
    assert docs["disaster_certificate"]["template"] == "disaster_certificate"
    assert docs["claim_application"]["template"] == "claim_application"
    for d in ("death_medical_certificate", "household_deregistration", "cremation_certificate"):
        assert docs[d]["group"] == "death_proof"
    assert doc["groups"] == [{"code": "death_proof", "name": "死亡证明（三项中提供两项）", "min_required": 2,
                              "members": ["death_medical_certificate", "household_deregistration",
                                          "cremation_certificate"], "mandatory": True}]
    assert [lt["code"] for lt in doc["loss_types"]] == ["death", "house"]
    assert "loss_inventory" in doc["templates"]
    assert "power_of_attorney" not in docs


def test_checklist_loss_flags_may_repeat_and_by_agent_adds_the_power_of_attorney():
    a = json.loads(run("checklist", "natural_disaster", "--loss", "death,house", "--json").stdout)
    b = json.loads(run("checklist", "natural_disaster", "--loss", "house", "--loss", "death", "--json").stdout)
    assert a == b
    agent = json.loads(run("checklist", "natural_disaster", "--loss", "death", "--by-agent", "--json").stdout)
    assert {"power_of_attorney", "agent_id_card"} <= {i["document"] for i in agent["items"]}


def test_checklist_text_in_both_languages():
    zh = run("checklist", "natural_disaster", "--loss", "death,house")
    assert zh.returncode == 0
    assert "死亡证明（三项中提供两项）" in zh.stdout and "气象证明 — 区气象局" in zh.stdout
    en = run("checklist", "natural_disaster", "--loss", "death,house", "--lang", "en")
    assert "Weather certificate — District Meteorological Bureau" in en.stdout
    assert "Proof of death (two of these three)" in en.stdout


@pytest.mark.parametrize("args,fragment", [
    (("checklist", "hailstorm", "--loss", "house"), "unknown coverage 'hailstorm'"),
    (("checklist", "terrorism", "--loss", "house"), "not covered by terrorism"),
    (("checklist", "natural_disaster", "--loss", "death,car"), "'car'"),
    (("checklist", "resettlement", "--loss", "resettlement"), "--attached-to"),
    (("checklist", "terrorism", "--loss", "death", "--when", "on_tuesdays"), "on_tuesdays"),
    (("coverages", "--catalogue-version", "1999.9"), "1999.9"),
    (("checklist", "terrorism"), "--loss"),  # argparse usage error
    (("coverages", "--lang", "fr"), "fr"),
])
def test_bad_requests_exit_2_with_a_message_on_stderr(args, fragment):
    p = run(*args)
    assert p.returncode == 2
    assert fragment in p.stderr
    assert p.stdout == ""
    assert "Traceback" not in p.stderr


def test_unknown_coverage_message_lists_the_valid_ones():
    p = run("checklist", "hailstorm", "--loss", "house", "--json")
    assert p.returncode == 2 and "natural_disaster" in p.stderr and "drowning" in p.stderr


def test_rider_with_its_main_coverage():
    p = run("checklist", "resettlement", "--loss", "resettlement", "--attached-to", "fire_explosion", "--json")
    assert p.returncode == 0, p.stderr
    docs = [i["document"] for i in json.loads(p.stdout)["items"]]
    assert "relocation_list" in docs and "fire_explosion_determination" in docs


def test_broken_catalogue_exits_1_naming_the_entry(tmp_path):
    root = tmp_path / "assets"
    shutil.copytree(assets_dir() / "catalogue", root / "catalogue", ignore=shutil.ignore_patterns("templates"))
    path = root / "catalogue" / "catalogue-2024.2.json"
    raw = json.loads(path.read_text(encoding="utf-8"))
    raw["alternative_groups"][0]["min_required"] = 5
    path.write_text(json.dumps(raw, ensure_ascii=False), encoding="utf-8")
    p = run("coverages", "--json", env_extra={"DAZU_ASSETS": str(root)})
    assert p.returncode == 1
    assert "death_proof" in p.stderr and "min_required" in p.stderr and p.stdout == ""
