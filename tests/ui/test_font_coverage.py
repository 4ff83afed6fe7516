"""Every character the app can show is drawn by the app's own font. A character outside it makes
Flutter web fetch a fallback font (a phone in the field has no network: a box is drawn instead),
so a text like "{when} · {who}" would show a box where the dot is."""
from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
from fontTools.ttLib import TTFont

from fieldapp.views.shell import FONT_FILES

ROOT = Path(__file__).resolve().parents[2]


def _strings(value) -> list[str]:  # noqa: ANN001
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (*_strings(k), *_strings(v))]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


# Calls whose string arguments read what people typed (a pattern, marks stripped off an amount):
# those characters are matched, never drawn.
_READING = {"compile", "strip", "lstrip", "rstrip", "removeprefix", "removesuffix"}


def _code_strings(path: Path) -> list[str]:
    """String constants of a module, docstrings and input-reading arguments left out (nobody
    sees those)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    unseen = {id(node.body[0].value) for node in ast.walk(tree)
              if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
              and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
    unseen |= {id(arg) for node in ast.walk(tree) if isinstance(node, ast.Call)
               and isinstance(node.func, ast.Attribute) and node.func.attr in _READING for arg in node.args}
    return [n.value for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in unseen]


def shown_texts() -> dict[str, list[str]]:
    """What the phone and office screens draw from: the word lists, the catalogue, the divisions,
    and the texts written in the app's and the shared rules' code (the printed documents use
    the GBK font: pdflayer, checked in tests/documents)."""
    out: dict[str, list[str]] = {}
    for path in [*(ROOT / "fieldapp/i18n").glob("*.json"), *(ROOT / "assets/catalogue").glob("*.json"),
                 *(ROOT / "assets/divisions").glob("*.json")]:
        out[str(path.relative_to(ROOT))] = _strings(json.loads(path.read_text(encoding="utf-8")))
    for package in ("fieldapp", "claimcore"):
        for path in (ROOT / package).rglob("*.py"):
            if "documents" not in path.relative_to(ROOT).parts:
                out[str(path.relative_to(ROOT))] = _code_strings(path)
    return out


@pytest.mark.parametrize("font", sorted(FONT_FILES))
def test_every_shown_character_is_in_the_font(font):
    cmap = TTFont(ROOT / "assets" / FONT_FILES[font], lazy=True).getBestCmap()
    texts = shown_texts()
    assert len(texts) > 50 and any("zh.json" in name for name in texts)
    missing = {f"{ch!r} U+{ord(ch):04X} in {name}" for name, strings in texts.items() for s in strings
               for ch in s if ch.isprintable() and not ch.isspace() and ord(ch) not in cmap}
    assert not missing, sorted(missing)


def test_a_minority_name_dot_is_in_the_font():
    # ID cards write names like 阿卜杜·热合曼 with U+00B7; some keyboards type U+30FB
    cmap = TTFont(ROOT / "assets" / FONT_FILES["GB2312"], lazy=True).getBestCmap()
    assert {0xB7, 0x30FB} <= set(cmap)
