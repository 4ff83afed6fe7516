"""The store's modules form a tree under the facade: every repository works on the db object it is
given, so none may import the facade (``fieldapp.store.store``) or the package that re-exports it,
and the modules never import each other in a circle. Read from the source with ``ast``, so an
import hidden behind ``if TYPE_CHECKING:`` or inside a function counts too."""
from __future__ import annotations

import ast
from pathlib import Path

import fieldapp.store

PACKAGE = "fieldapp.store"
STORE_DIR = Path(fieldapp.store.__file__).parent
# Modules allowed to import the facade: the package itself (it re-exports it) and the facade.
FACADE_USERS = {"__init__", "store"}


def store_imports(source: str) -> set[str]:
    """The fieldapp.store modules a source file of the package imports, as module names
    ("store", "outbox", ...; "" for the package itself)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == PACKAGE or alias.name.startswith(PACKAGE + "."):
                    found.add(alias.name[len(PACKAGE) + 1:])
        elif isinstance(node, ast.ImportFrom):
            if node.level == 1:
                module = node.module
            elif node.level == 0 and node.module and (node.module == PACKAGE
                                                       or node.module.startswith(PACKAGE + ".")):
                module = node.module[len(PACKAGE) + 1:] or None
            else:
                continue
            if module is None:  # from . import a, b: each name may be a module of the package
                submodules = {alias.name for alias in node.names if (STORE_DIR / f"{alias.name}.py").exists()}
                found.update(submodules or {""})
            else:
                found.add(module.split(".")[0])
    return found


def graph() -> dict[str, set[str]]:
    return {path.stem: store_imports(path.read_text(encoding="utf-8")) for path in STORE_DIR.glob("*.py")}


def test_the_check_sees_a_facade_import_however_it_is_written():
    for source in ("from .store import Store\n",
                   "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .store import Store\n",
                   "from . import store\n",
                   "from fieldapp.store.store import Store\n",
                   "import fieldapp.store.store\n",
                   "def f():\n    from fieldapp.store import open_store\n"):
        assert store_imports(source) & {"store", ""}, source
    assert store_imports("from . import contract\nfrom .schema import Claim\n") == {"contract", "schema"}


def test_no_repository_imports_the_facade():
    edges = graph()
    assert edges["outbox"] >= {"db", "schema"}, "the graph is read from the real files"
    offenders = {name: sorted(deps & {"store", ""}) for name, deps in edges.items()
                 if name not in FACADE_USERS and deps & {"store", ""}}
    assert offenders == {}


def test_the_store_modules_import_no_circle():
    edges = {name: {d for d in deps if d and d != name} for name, deps in graph().items() if name != "__init__"}
    done: set[str] = set()

    def visit(name: str, path: tuple[str, ...]) -> None:
        assert name not in path, " -> ".join((*path, name))
        if name in done:
            return
        for dep in sorted(edges.get(name, ())):
            visit(dep, (*path, name))
        done.add(name)

    for name in sorted(edges):
        visit(name, ())
