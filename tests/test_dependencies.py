"""What each part of the system imports is what pyproject.toml declares for it: the phone build
installs only [project].dependencies, so fieldapp, claimcore and pdflayer import nothing else; the
server's imports are in the core list or the `server`/`postgres` extras; the README's phone-build
section names exactly the core list."""
from __future__ import annotations

import re
import sys
import tomllib
from importlib.metadata import packages_distributions

import pytest

from tests.test_boundaries import ROOT, _imports

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
FIRST_PARTY = {"fieldapp", "claimcore", "pdflayer", "sync_server", "bench", "tests"}


def _names(requirements: list[str]) -> set[str]:
    """Distribution names of requirement lines, normalised (PEP 503)."""
    return {re.sub(r"[-_.]+", "-", re.match(r"[A-Za-z0-9._-]+", r).group(0)).lower() for r in requirements}


CORE = _names(PYPROJECT["project"]["dependencies"])
EXTRAS = {k: _names(v) for k, v in PYPROJECT["project"]["optional-dependencies"].items()}


def _third_party(package: str) -> dict[str, set[str]]:
    """Top-level third-party imports of a package -> the distributions that provide them."""
    dists = packages_distributions()
    found: dict[str, set[str]] = {}
    for path in (ROOT / package).rglob("*.py"):
        for name in _imports(path):
            if name in FIRST_PARTY or name in sys.stdlib_module_names or name == "__future__":
                continue
            found.setdefault(name, set()).update(re.sub(r"[-_.]+", "-", d).lower() for d in dists.get(name, []))
    return found


@pytest.mark.parametrize("package", ["fieldapp", "claimcore", "pdflayer"])
def test_the_phone_imports_only_the_core_list(package):
    outside = {name: sorted(d) for name, d in _third_party(package).items() if not d & CORE}
    assert outside == {}, f"{package} imports packages the phone build would not carry"


def test_the_server_imports_only_what_it_declares():
    declared = CORE | EXTRAS["server"] | EXTRAS["postgres"]
    outside = {name: sorted(d) for name, d in _third_party("sync_server").items() if not d & declared}
    assert outside == {}


def test_the_core_list_carries_no_server_or_test_package():
    assert not CORE & {"fastapi", "uvicorn", "alembic", "openpyxl", "psycopg", "pytest", "playwright"}
    assert "flet" in CORE and "flet-web" not in CORE


def test_the_readme_phone_build_names_exactly_the_core_list():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    sentence = re.search(r"exactly what the phone needs:(.*?)\.\s", readme, re.S)
    assert sentence, "the README's phone-build section no longer names the phone's packages"
    named = {re.sub(r"\s+", " ", n).strip().removeprefix("and ").strip()
             for n in re.split(r",| and ", sentence.group(1))}
    assert _names(sorted(n for n in named if n)) == CORE


def test_native_or_zero_versions_have_an_upper_bound():
    for line in PYPROJECT["project"]["dependencies"] + [r for v in PYPROJECT["project"]["optional-dependencies"].values()
                                                         for r in v]:
        name = _names([line]).pop()
        if name in {"zxing-cpp", "pillow", "pillow-heif", "cryptography", "fastapi", "uvicorn", "httpx",
                    "psycopg", "pydantic", "starlette", "fpdf2", "ruff"}:
            assert "<" in line or "~=" in line, f"{line!r} has no upper bound"


def test_constraints_pin_every_declared_package():
    pinned = {re.sub(r"[-_.]+", "-", line.split("==")[0]).lower()
              for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines()
              if "==" in line and not line.startswith("#")}
    declared = CORE.union(*EXTRAS.values()) - {"dazu-catastrophe-claims"}
    assert declared <= pinned, sorted(declared - pinned)
