"""claimcore needs nothing outside the standard library: it runs on the phone and on the server.

Two checks: a static one (every import statement in every claimcore module names a standard
library module or claimcore itself) and a live one (every module imports, and the command line
runs, in a Python started with ``-S``, i.e. without site-packages).
"""
from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "claimcore"
ALLOWED = set(sys.stdlib_module_names) | {"claimcore", "__future__"}


def imports_of(source: str, filename: str = "<src>") -> list[tuple[int, str]]:
    """(line, top-level module) for every absolute import, including ``__import__("x")`` and
    ``importlib.import_module("x")`` with a literal name. Relative imports stay in the package."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name.split(".")[0]) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0 and node.module:
                found.append((node.lineno, node.module.split(".")[0]))
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            arg = node.args[0]
            if name in ("__import__", "import_module") and isinstance(arg, ast.Constant) \
                    and isinstance(arg.value, str) and not arg.value.startswith("."):
                found.append((node.lineno, arg.value.split(".")[0]))
    return found


def modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def test_the_checker_catches_third_party_imports():
    src = ("import os, flet\nfrom sqlalchemy.orm import Session\nfrom . import money\n"
           "import importlib\nx = importlib.import_module('httpx')\ny = __import__('PIL.Image')\n")
    names = [name for _, name in imports_of(src)]
    assert names == ["os", "flet", "sqlalchemy", "importlib", "httpx", "PIL"]
    assert [n for n in names if n not in ALLOWED] == ["flet", "sqlalchemy", "httpx", "PIL"]


def test_every_claimcore_import_is_standard_library():
    files = modules()
    # The package's own modules are all seen (guards against walking the wrong folder).
    assert {"workflow.py", "authority.py", "validators.py", "masking.py", "money.py",
            "wire.py"} <= {p.name for p in files}
    offenders = [
        f"{path.relative_to(ROOT)}:{line}: {name}"
        for path in files
        for line, name in imports_of(path.read_text(encoding="utf-8"), str(path))
        if name not in ALLOWED
    ]
    assert not offenders, "claimcore must use the standard library only:\n" + "\n".join(offenders)


def _run_without_site_packages(code: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-S", "-c", f"import sys; sys.path.insert(0, {str(ROOT)!r}); {code}",
         *args],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )


def test_every_module_imports_without_site_packages():
    names = [".".join(p.relative_to(ROOT).with_suffix("").parts) for p in modules()]
    names = [n.removesuffix(".__init__") for n in names if not n.endswith("__main__")]
    code = ("import importlib, site\n"
            "assert not any('site-packages' in p for p in sys.path), sys.path\n"
            f"for name in {names!r}:\n    importlib.import_module(name)\n"
            "from claimcore import authority, money, validators, workflow\n"
            "assert authority.tier_for_amount(30000000).value == 'full_consultation'\n"
            "assert money.format_fen(money.parse_yuan('1,234.56')) == '1,234.56'\n"
            "print('ok', len(sys.modules))\n")
    result = _run_without_site_packages(f"exec({code!r})")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok")


def test_command_line_runs_without_site_packages():
    if not (PACKAGE / "__main__.py").exists():
        pytest.skip("claimcore/__main__.py does not exist yet")
    result = _run_without_site_packages(
        "import runpy; sys.argv = ['claimcore', 'coverages', '--json']; "
        "runpy.run_module('claimcore', run_name='__main__')")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)
