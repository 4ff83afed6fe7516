"""What the phone shows in words lives in its two catalogues (fieldapp/i18n/zh.json, en.json) and
nowhere else: so a wording is changed in one place, and English is as complete as Chinese.

The codes the phone turns into words (a sync that stopped, a record the server refused, a photo the
intake refused, a photo's evidence flags) are defined once each, next to the code that raises them;
every one of them has its text in both catalogues, and no catalogue text names a code that no
longer exists. (That both catalogues hold the same keys with the same placeholders, and that every
key the code asks for exists, is tests/ui/test_i18n.py.)
"""
from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path

import pytest

from fieldapp.i18n import LANGUAGES, catalogue
from fieldapp.media import errors as photo_errors
from fieldapp.media import intake
from fieldapp.sync import errors as sync_errors

ROOT = Path(__file__).resolve().parents[1]
FIELDAPP = ROOT / "fieldapp"

# Chinese characters and the full-width punctuation that goes with them (、：（）；「」 …): a list
# separator or a bracket is as much the language's as a word is.
CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]")

# The printed forms are Chinese legal documents whose wording is the form's, not the app's.
FORMS = FIELDAPP / "documents"


def _char_col(lines: list[str], lineno: int, byte_col: int) -> int:
    """ast counts columns in UTF-8 bytes, tokenize in characters."""
    return len(lines[lineno - 1].encode("utf-8")[:byte_col].decode("utf-8"))


def _exempt_spans(source: str) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """Docstrings (they explain the code, in domain words that may be Chinese) and the patterns of
    `re` calls (they read what a user typed, e.g. Chinese list numbering; they show nothing)."""
    lines = source.splitlines(keepends=True)
    nodes = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) \
                    and isinstance(first.value.value, str):
                nodes.append(first.value)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and isinstance(node.func.value, ast.Name) and node.func.value.id == "re" and node.args:
            nodes.append(node.args[0])
    return [((n.lineno, _char_col(lines, n.lineno, n.col_offset)),
             (n.end_lineno, _char_col(lines, n.end_lineno, n.end_col_offset))) for n in nodes]


def cjk_literals(source: str) -> list[tuple[int, str]]:
    """(line, token) of every piece of code that holds Chinese: string literals, f-strings, names;
    comments, docstrings and `re` patterns aside."""
    exempt = _exempt_spans(source)
    found = []
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT or not CJK.search(tok.string):
            continue
        if any(start <= tok.start and tok.end <= end for start, end in exempt):
            continue
        found.append((tok.start[0], tok.string))
    return found


def test_the_scan_finds_chinese_in_code_and_not_in_comments_or_docstrings():
    source = (
        '"""模块说明。"""\n'
        'import re\n'
        'PATTERN = re.compile(r"^\\d[、．]")\n'
        'def f(lang):\n'
        '    """函数说明。"""\n'
        '    # 注释\n'
        '    sep = "、" if lang == "zh" else ", "\n'
        '    return f"{sep}（完）"\n'
    )
    assert [line for line, _ in cjk_literals(source)] == [7, 8]


def test_phone_code_holds_no_chinese_text_outside_the_catalogues():
    offenders = []
    for path in sorted(FIELDAPP.rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if path.is_relative_to(FORMS):
            continue
        offenders += [f"{rel}:{line}: {text[:80]}" for line, text in cjk_literals(path.read_text(encoding="utf-8"))]
    assert offenders == []


def _calls(name: str):
    """(file, line, call) of every call of `name` (a plain name or an attribute) in the phone's code."""
    for path in sorted(FIELDAPP.rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                func = node.func
                if (func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)) == name:
                    yield rel, node.lineno, node


def test_a_store_refusal_names_its_text_in_the_catalogues():
    """A refused write says why through a catalogue key (StoreValidationError("error.store.…",
    **params)). The one other way is StoreValidationError.refused_by(rule): a refusal by claimcore's
    rules (record contract, amounts, document rules, scan types), which are shared with the server
    and carry their own words in both languages, so the phone says exactly what the server says."""
    zh, en = catalogue("zh"), catalogue("en")
    keys, wrong = [], []
    for rel, line, call in _calls("StoreValidationError"):
        first = call.args[0] if call.args else None
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            keys.append(first.value)
            if first.value not in zh or first.value not in en:
                wrong.append(f"{rel}:{line}: no catalogue text {first.value!r}")
        else:
            wrong.append(f"{rel}:{line}: StoreValidationError without a literal catalogue key")
    assert len(keys) > 20, "the scan found suspiciously few store refusals"
    assert wrong == []
    rules = [f"{rel}:{line}" for rel, line, _ in _calls("refused_by")]
    assert rules, "claimcore's refusals reach the user through StoreValidationError.refused_by"


def test_texts_in_both_languages_at_once_name_catalogue_keys():
    """both(key): the words written down before a language is chosen come from the catalogues too."""
    zh = catalogue("zh")
    found = [(rel, line, call.args[0]) for rel, line, call in _calls("both") if call.args]
    assert found
    assert [f"{rel}:{line}" for rel, line, arg in found
            if not (isinstance(arg, ast.Constant) and arg.value in zh)] == []


CODE_LISTS = {
    "error.sync.": sync_errors.CODES,
    "error.refusal.": sync_errors.REFUSAL_CODES,
    "error.photo.": photo_errors.CODES,
    "photos.flag.": intake.FLAGS,
}


@pytest.mark.parametrize("prefix", sorted(CODE_LISTS))
def test_every_code_has_its_text_in_both_languages(prefix):
    codes = CODE_LISTS[prefix]
    assert codes and len(set(codes)) == len(codes), f"{prefix}: the code list is empty or names a code twice"
    for lang in LANGUAGES:
        texts = catalogue(lang)
        assert [c for c in codes if not texts.get(prefix + c, "").strip()] == [], f"{lang}: codes without text"
        orphans = sorted(k for k in texts if k.startswith(prefix) and k[len(prefix):] not in codes)
        assert orphans == [], f"{lang}: texts for codes that do not exist"


def test_every_flag_the_intake_can_set_is_in_its_list():
    """intake.FLAGS is the list the texts are checked against: each FLAG_* constant is on it."""
    constants = {v for k, v in vars(intake).items() if k.startswith("FLAG_") and isinstance(v, str)}
    assert constants == set(intake.FLAGS)
