"""Every string the app shows exists in Chinese and in English, with the same placeholders; and every
key the code asks for exists. (That no Chinese text is written into the code outside the catalogues
is tests/test_phone_texts.py, for all of fieldapp.)"""
from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import pytest

from fieldapp.i18n import LANGUAGES, catalogue, t
from tests.test_phone_texts import CJK

ROOT = Path(__file__).resolve().parents[2]
# Every module of the phone that asks the catalogues for text: all of fieldapp but the printed forms
# (fieldapp/documents), whose texts are the forms' own.
PHONE_SOURCES = sorted(p for p in (ROOT / "fieldapp").rglob("*.py") if "documents" not in p.relative_to(ROOT).parts)


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_both_catalogues_have_the_same_keys():
    zh, en = catalogue("zh"), catalogue("en")
    assert sorted(set(zh) - set(en)) == [], "keys missing in en.json"
    assert sorted(set(en) - set(zh)) == [], "keys missing in zh.json"
    assert len(zh) > 100


@pytest.mark.parametrize("lang", LANGUAGES)
def test_no_empty_or_untranslated_values(lang):
    for key, value in catalogue(lang).items():
        assert value.strip(), f"{lang}:{key} is empty"
        if lang == "en":
            assert not CJK.search(value), f"en:{key} still holds Chinese: {value!r}"


def test_placeholders_match_between_languages():
    zh, en = catalogue("zh"), catalogue("en")
    for key in zh:
        assert _fields(zh[key]) == _fields(en[key]), f"placeholders differ for {key}"


def _keys_used_in_code() -> dict[str, str]:
    """Literal first arguments of t(...) / ctx.t(...) calls, and f-string key prefixes."""
    used: dict[str, str] = {}
    for path in PHONE_SOURCES:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name not in ("t", "_t", "tr"):
                continue
            arg = node.args[0]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                used[arg.value] = f"{path.name}:{node.lineno}"
    return used


def test_every_key_used_in_code_exists():
    used = _keys_used_in_code()
    assert len(used) > 50, "the scan found suspiciously few keys; is it still reading the views?"
    zh = catalogue("zh")
    missing = {k: where for k, where in used.items() if k not in zh and "." in k}
    assert missing == {}


def test_dynamic_key_families_are_complete():
    """Keys built at run time (role.{role}, coverage icons, states, loss types) exist for every code."""
    from claimcore import workflow

    zh = catalogue("zh")
    for role in workflow.ROLES:
        assert f"role.{role}" in zh
    for prefix in ("docstatus.", "relation.", "person.", "claim.tab.", "wizard.step.", "assign.status."):
        assert any(k.startswith(prefix) for k in zh), prefix


def test_t_formats_and_falls_back_to_the_key():
    assert t("sync.waiting", "zh", changes=3, photos=2) == "待上传 3 项修改、2 张照片"
    assert t("sync.waiting", "en", changes=3, photos=2) == "3 changes, 2 photos waiting"
    assert t("no.such.key", "zh") == "no.such.key"
    with pytest.raises(ValueError):
        t("app.title", "fr")


def test_error_keys_named_in_state_exist():
    """State modules hand error *keys* to the screens (e.g. "wizard.error.id_invalid")."""
    pattern = re.compile(r"^(wizard|assign|enrol|sync)\.error\.[a-z_]+$")
    zh = catalogue("zh")
    found = {}
    for path in PHONE_SOURCES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and pattern.match(node.value):
                found[node.value] = path.name
    assert len(found) >= 15
    assert {k: v for k, v in found.items() if k not in zh} == {}
