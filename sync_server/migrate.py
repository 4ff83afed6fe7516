"""Bring a database schema up to date with Alembic (programmatic; no alembic.ini needed).

    upgrade(url)         run every migration up to head
    current_revision(url), head_revision()
"""
from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine

from .core.settings import normalise_database_url

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


class MigrationError(RuntimeError):
    pass


def alembic_config(database_url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    # '%' would be read as interpolation by configparser
    cfg.set_main_option("sqlalchemy.url", normalise_database_url(database_url).replace("%", "%%"))
    return cfg


def head_revision() -> str | None:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    heads = script.get_heads()
    if len(heads) > 1:
        raise MigrationError(f"migrations have several heads {heads}; merge them first")
    return heads[0] if heads else None


def current_revision(database_url: str) -> str | None:
    engine = create_engine(normalise_database_url(database_url))
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def upgrade(database_url: str, revision: str = "head") -> None:
    url = normalise_database_url(database_url)
    if url.startswith("sqlite:///"):
        Path(url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
    try:
        command.upgrade(alembic_config(url), revision)
    except Exception as exc:  # turn any driver/migration failure into one clear message
        raise MigrationError(
            f"could not bring the database schema up to date ({type(exc).__name__}: {exc})"
        ) from exc
