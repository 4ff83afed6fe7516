"""The server's refusal codes live in one catalogue (sync_server.core.error_codes.ERR): every raise
site names its code from it, every code in it is used, says what it means in English and Chinese
and carries the HTTP status the raise sites answer with, and the phone knows no server code the
catalogue does not hold (so phone and server agree on the words)."""
from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from claimcore import amounts, document_rules, entities
from fieldapp.sync import CODES
from fieldapp.sync.errors import REFUSAL_CODES
from sync_server.core.error_codes import CATALOGUE, ERR, Code

ROOT = Path(__file__).resolve().parents[2]
SERVER = ROOT / "sync_server"
CATALOGUE_FILE = SERVER / "core" / "error_codes.py"
# Functions (not exception types) that build a refusal from a code: the index of that argument.
CODE_FUNCTIONS = {"error_body": 0}
# The refusal types that name a code, as the server defines them today: the discovery below must
# find at least these (a discovery that finds nothing would make every check here pass).
KNOWN_REFUSALS = {"ApiError", "RuleError", "Rejected", "DomainError", "AccountError"}


def _server_files() -> list[Path]:
    return [p for p in sorted(SERVER.rglob("*.py")) if "migrations" not in p.relative_to(SERVER).parts]


def _trees() -> dict[Path, ast.Module]:
    return {p: ast.parse(p.read_text(encoding="utf-8"), str(p)) for p in _server_files()}


def _refusal_types(trees: dict[Path, ast.Module]) -> dict[str, int]:
    """Every exception class of the server whose constructor takes a ``code``: its position among
    the positional arguments (self not counted)."""
    found: dict[str, int] = {}
    for tree in trees.values():
        for node in ast.walk(tree):
            if not isinstance(node, ast.ClassDef):
                continue
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and item.name in ("__init__", "__new__"):
                    names = [a.arg for a in item.args.args[1:]]
                    if "code" in names:
                        found[node.name] = names.index("code")
    return {**found, **CODE_FUNCTIONS}


def _called_name(call: ast.Call) -> str | None:
    f = call.func
    return f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None


def _code_argument(call: ast.Call, position: int) -> ast.expr | None:
    for kw in call.keywords:
        if kw.arg == "code":
            return kw.value
    return call.args[position] if len(call.args) > position else None


def _refusal_sites(trees: dict[Path, ast.Module]):
    """(where, refusal type, the code argument, the call) for every refusal the server constructs."""
    types = _refusal_types(trees)
    for path, tree in trees.items():
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _called_name(node) in types:
                arg = _code_argument(node, types[_called_name(node)])
                if arg is not None:
                    yield f"{path.relative_to(ROOT)}:{node.lineno}", _called_name(node), arg, node


def _is_literal(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes)) or isinstance(node, ast.JoinedStr)


def test_the_refusal_types_are_found():
    assert KNOWN_REFUSALS <= set(_refusal_types(_trees()))


def test_no_refusal_is_constructed_with_a_literal_code():
    trees = _trees()
    literal = [f"{where} {kind}({ast.unparse(arg)})" for where, kind, arg, _ in _refusal_sites(trees)
               if _is_literal(arg)]
    # A printed refusal (the CLI's {"error": CODE, "message": ...}) names its code from the catalogue too.
    for path, tree in trees.items():
        for node in ast.walk(tree):
            if isinstance(node, ast.Dict):
                for key, value in zip(node.keys, node.values):
                    if isinstance(key, ast.Constant) and key.value == "error" and _is_literal(value):
                        literal.append(f"{path.relative_to(ROOT)}:{node.lineno} {{'error': {ast.unparse(value)}}}")
            # A response body written by hand (the body cap's 413) cannot carry a literal code either.
            if isinstance(node, ast.Constant) and isinstance(node.value, bytes) and b'"error"' in node.value:
                literal.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.value!r}")
    assert literal == [], "refusals whose code is not taken from ERR (sync_server.core.error_codes):\n" + "\n".join(
        literal)


def test_every_named_code_is_in_the_catalogue_with_the_status_the_site_answers():
    wrong = []
    names = 0
    for where, kind, arg, call in _refusal_sites(_trees()):
        if not (isinstance(arg, ast.Attribute) and isinstance(arg.value, ast.Name) and arg.value.id == "ERR"):
            continue  # a code handed on from a caught refusal (exc.code): checked where it was raised
        names += 1
        code = CATALOGUE.get(arg.attr)
        if code is None:
            wrong.append(f"{where}: ERR.{arg.attr} is not in the catalogue")
            continue
        status = call.args[0] if kind in ("ApiError", "RuleError") and call.args else None
        if isinstance(status, ast.Constant) and status.value != code.status:
            wrong.append(f"{where}: {kind}({status.value}, ERR.{arg.attr}) but the catalogue says {code.status}")
    assert names > 100  # the sites were found
    assert wrong == []


def _claimcore_codes() -> dict[str, set[str]]:
    """The codes of claimcore's rules that the server hands on unchanged in a push receipt."""
    wire_tree = ast.parse((ROOT / "claimcore" / "wire.py").read_text(encoding="utf-8"))
    wire_codes = {n.args[0].value for n in ast.walk(wire_tree)
                  if isinstance(n, ast.Call) and _called_name(n) == "WireError"
                  and n.args and isinstance(n.args[0], ast.Constant)}
    return {
        "claimcore.wire": wire_codes,
        "claimcore.entities": set(entities._MESSAGES) | {document_rules.DocumentsClosed.code},
        "claimcore.amounts": set(amounts._TEXT),
    }


def test_claimcore_codes_the_server_hands_on_are_in_the_catalogue():
    passed = _claimcore_codes()
    assert all(passed.values())
    missing = {module: sorted(codes - set(CATALOGUE)) for module, codes in passed.items()}
    assert missing == {module: [] for module in passed}
    for code in CATALOGUE.values():
        if code.passed_on is not None:
            assert code in passed[code.passed_on], f"{code} is not a code of {code.passed_on}"


def test_every_code_in_the_catalogue_is_used():
    used: set[str] = set()
    for path, tree in _trees().items():
        if path == CATALOGUE_FILE:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "ERR":
                used.add(node.attr)
    handed_on = set().union(*_claimcore_codes().values())
    unused = sorted(set(CATALOGUE) - used - handed_on)
    assert unused == []


def _has_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


@pytest.mark.parametrize("code", sorted(CATALOGUE))
def test_every_code_says_what_it_means_in_both_languages(code):
    entry = CATALOGUE[code]
    assert isinstance(entry, Code) and entry == code and getattr(ERR, code) is entry
    assert entry.en.strip() and not _has_chinese(entry.en)
    assert entry.zh.strip() and _has_chinese(entry.zh)
    assert entry.status is None or 400 <= entry.status < 500


def test_a_code_goes_on_the_wire_as_the_plain_string():
    assert json.dumps({"error": ERR.not_found}) == '{"error": "not_found"}'
    assert type(str(ERR.not_found)) is str and str(ERR.not_found) == "not_found"


def _phone_own_codes() -> set[str]:
    """Codes the phone gives a failure itself (offline, a damaged scan on the phone, ...): the
    string arguments of the calls in its sync client and its error classes' ``code``."""
    own: set[str] = set()
    for path in (ROOT / "fieldapp" / "sync").glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if path.name != "errors.py" and isinstance(node, ast.Call):
                for arg in [*node.args, *(kw.value for kw in node.keywords)]:
                    own |= {c.value for c in ast.walk(arg) if isinstance(c, ast.Constant) and isinstance(c.value, str)}
            if (isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
                    and any(isinstance(t, ast.Name) and t.id == "code" for t in node.targets)):
                own.add(node.value.value)
    return own


def test_the_phone_knows_no_server_code_that_the_catalogue_lacks():
    zh = json.loads((ROOT / "fieldapp" / "i18n" / "zh.json").read_text(encoding="utf-8"))
    worded = {key.removeprefix("error.refusal.") for key in zh if key.startswith("error.refusal.")}
    assert worded and set(REFUSAL_CODES) <= worded
    known = set(CODES) | set(REFUSAL_CODES) | worded
    from_server = known - _phone_own_codes()
    assert {"claim_not_found", "illegal_transition", "paid_over_payable"} <= from_server
    assert sorted(from_server - set(CATALOGUE)) == []


def test_the_openapi_declares_catalogue_codes_under_their_status(tmp_path):
    from sync_server.app import create_app
    from sync_server.core.settings import Settings

    schema = create_app(Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path}/x.sqlite3")).openapi()
    declared = [(f"{method.upper()} {path}", int(status), code)
                for path, operations in schema["paths"].items() for method, op in operations.items()
                for status, response in op.get("responses", {}).items()
                for code in response.get("x-error-codes", ())]
    assert len(declared) > 100
    wrong = [(where, status, code, CATALOGUE[code].status if code in CATALOGUE else "not in the catalogue")
             for where, status, code in declared if code not in CATALOGUE or CATALOGUE[code].status != status]
    assert wrong == []
