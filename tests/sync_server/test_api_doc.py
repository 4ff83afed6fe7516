"""docs/api.md and the OpenAPI schema describe the same routes."""
from __future__ import annotations

import re
from pathlib import Path

from sync_server.app import create_app
from sync_server.blobs import routes as blobs_routes
from sync_server.claims import scans
from sync_server.core.settings import Settings
from sync_server.devices import routes as devices_routes
from sync_server.sync import routes as sync_routes

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"


def _documented() -> set[tuple[str, str]]:
    found = set()
    for method, path in re.findall(r"^## `(GET|POST|PATCH|HEAD|PUT|DELETE) ([^`?\s]+)", DOC.read_text(), re.M):
        found.add((method.lower(), path))
    return found


def test_docs_and_openapi_list_the_same_routes(tmp_path):
    app = create_app(Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path}/x.sqlite3"))
    schema = app.openapi()
    served = {(m, p) for p, ops in schema["paths"].items() for m in ops}
    documented = _documented()
    # Routes of plug-in modules are documented in their own sections, possibly elsewhere.
    own = {(m, p) for m, p in served if not _is_plugin(app, p)}
    assert own - documented == set(), f"served but not in docs/api.md: {sorted(own - documented)}"
    assert documented - served == set(), f"in docs/api.md but not served: {sorted(documented - served)}"


def _is_plugin(app, path: str) -> bool:
    return path not in {r.path for router in (devices_routes.router, sync_routes.router, blobs_routes.router) for r in router.routes} | {scans.SCAN_PATH}


def test_push_schema_matches_the_contract(tmp_path):
    schema = create_app(Settings(data_dir=tmp_path)).openapi()
    comps = schema["components"]["schemas"]
    assert set(comps["MutationIn"]["properties"]) == {"seq", "entity", "id", "op", "fields", "base_version"}
    assert set(comps["PushOut"]["properties"]) == {"acked_seq", "results"}
    assert {"seq", "status", "version", "error"} <= set(comps["MutationResult"]["properties"])
    assert set(comps["PullOut"]["properties"]) == {"changes", "cursor", "has_more"}
    assert set(comps["ChangeOut"]["properties"]) == {"entity", "id", "version", "op", "fields"}
    assert set(comps["EnrollOut"]["properties"]) == {"device_id", "token", "user"}
    assert set(comps["UserOut"]["properties"]) == {"id", "name", "role", "township_code", "insurer_code"}
