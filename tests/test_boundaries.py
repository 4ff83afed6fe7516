"""The packages' boundaries (docs/architecture.md): the phone build carries fieldapp, claimcore and
pdflayer only, so none of them imports the server; the server never imports the phone app."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = {"fieldapp": "sync_server", "claimcore": "sync_server", "pdflayer": "sync_server",
             "sync_server": "fieldapp"}


def _imports(path: Path) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.add(node.module.split(".")[0])
    return out


@pytest.mark.parametrize("package,forbidden", FORBIDDEN.items())
def test_no_import_across_the_boundary(package, forbidden):
    offenders = [str(p.relative_to(ROOT)) for p in sorted((ROOT / package).rglob("*.py"))
                 if forbidden in _imports(p)]
    assert offenders == []
