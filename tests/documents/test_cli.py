"""python -m fieldapp documents render: exit statuses, messages, and no file left behind on error."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pypdf import PdfReader

from fieldapp.documents.cli import main
from tests.documents.conftest import load_worked_claim

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def claim_file(tmp_path) -> Path:
    path = tmp_path / "claim.json"
    path.write_text(json.dumps(load_worked_claim(), ensure_ascii=False), encoding="utf-8")
    return path


def run_main(argv, capsys):
    status = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.suffix == ".pdf" or p.name.startswith(".render-"))


def test_render_from_claim_json(tmp_path, claim_file, capsys):
    out = tmp_path / "application.pdf"
    status, stdout, stderr = run_main(["render", "claim_application", "--claim-json", claim_file, "--out", out], capsys)
    assert status == 0, stderr
    assert "application.pdf" in stdout and "ms" in stdout
    assert len(PdfReader(out).pages) >= 2
    assert leftovers(tmp_path) == ["application.pdf"]


def test_render_blank(tmp_path, capsys):
    out = tmp_path / "blank.pdf"
    status, _, stderr = run_main(["render", "loss_inventory", "--blank", "--out", out], capsys)
    assert status == 0, stderr
    assert out.read_bytes().startswith(b"%PDF")


@pytest.mark.parametrize("argv_tail, message", [
    (["render", "claim_form", "--blank"], "unknown template 'claim_form'"),
    (["render", "checklist", "--claim-json", "{missing}"], "claim file not found"),
    (["render", "checklist", "--claim-json", "{bad_json}"], "is not valid JSON"),
    (["render", "checklist", "--claim-json", "{invalid}"], "losses[0].amount_fen"),
    (["render", "checklist"], "one of the arguments --claim-json --blank is required"),
    (["render", "checklist", "--blank", "--claim-json", "{invalid}"], "not allowed with"),
    (["render", "checklist", "--blank", "--lang", "fr"], "invalid choice"),
    (["print", "checklist"], "invalid choice"),
])
def test_errors_exit_2_with_a_message_and_leave_no_file(tmp_path, capsys, argv_tail, message):
    (tmp_path / "bad.json").write_text('{"claim_id": ', encoding="utf-8")
    invalid = load_worked_claim()
    invalid["losses"][0]["amount_fen"] = 18634.57
    (tmp_path / "invalid.json").write_text(json.dumps(invalid, ensure_ascii=False), encoding="utf-8")
    names = {"missing": tmp_path / "nope.json", "bad_json": tmp_path / "bad.json", "invalid": tmp_path / "invalid.json"}
    argv = [a.format(**names) for a in argv_tail] + ["--out", str(tmp_path / "out.pdf")]
    status, stdout, stderr = run_main(argv, capsys)
    assert status == 2
    assert message in stderr
    assert stdout == ""
    assert leftovers(tmp_path) == []


def test_a_failed_render_leaves_an_existing_file_untouched(tmp_path, claim_file, capsys):
    out = tmp_path / "application.pdf"
    out.write_bytes(b"yesterday's print")
    invalid = load_worked_claim()
    invalid["township_code"] = "999999999"
    claim_file.write_text(json.dumps(invalid), encoding="utf-8")
    status, _, stderr = run_main(["render", "claim_application", "--claim-json", claim_file, "--out", out], capsys)
    assert status == 2 and "township_code" in stderr
    assert out.read_bytes() == b"yesterday's print"


def test_missing_output_folder(tmp_path, capsys):
    status, _, stderr = run_main(["render", "checklist", "--blank", "--out", tmp_path / "no" / "x.pdf"], capsys)
    assert status == 2 and "output folder does not exist" in stderr


def test_the_real_command_line(tmp_path, claim_file):
    """Through python -m fieldapp, as the office runs it (one success, one failure)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = tmp_path / "certificate.pdf"
    ok = subprocess.run(
        [sys.executable, "-m", "fieldapp", "documents", "render", "disaster_certificate",
         "--claim-json", str(claim_file), "--out", str(out)],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=120,
    )
    assert ok.returncode == 0, ok.stderr
    assert "王堃" in PdfReader(out).pages[0].extract_text()
    bad = subprocess.run(
        [sys.executable, "-m", "fieldapp", "documents", "render", "claim_form", "--blank",
         "--out", str(tmp_path / "x.pdf")],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=120,
    )
    assert bad.returncode == 2
    assert "unknown template 'claim_form'" in bad.stderr
    assert not (tmp_path / "x.pdf").exists()
