"""Server settings, read from the environment (12-factor style) or built directly in tests.

    DAZU_DATA_DIR       data folder (default ./data/server); holds the SQLite file and blobs
    DATABASE_URL        SQLAlchemy URL; default sqlite:///<DAZU_DATA_DIR>/server.sqlite3.
                        postgresql://... is accepted and run with the psycopg (v3) driver.
    BLOB_DIR            where photo bytes live (default <DAZU_DATA_DIR>/blobs)
    DAZU_MAX_JSON_BYTES body cap for JSON requests (default 8 MiB)
    DAZU_MAX_BLOB_BYTES largest blob accepted (default 64 MiB)
    DAZU_MAX_PUSH_MUTATIONS  mutations per push request (default 1000)
    DAZU_PULL_LIMIT_MAX largest page a pull returns (default 1000)
    DAZU_ENROLL_CODE_TTL_HOURS  how long an enrollment code stays usable (default 168 = 7 days)
    DAZU_PUBLIC_URL     the URL phones use to reach this server; goes into enrollment QR codes
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path


def normalise_database_url(url: str) -> str:
    """Accept the URL forms people paste (postgres://, postgresql://) and pin the psycopg 3 driver.

    SQLAlchemy's bare ``postgresql://`` means psycopg2, which is not installed here.
    """
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("data/server")
    database_url: str = ""
    blob_dir: Path | None = None
    max_json_bytes: int = 8 * 1024 * 1024
    max_blob_bytes: int = 64 * 1024 * 1024
    max_push_mutations: int = 1000
    pull_limit_default: int = 500
    pull_limit_max: int = 1000
    max_missing_query: int = 1000
    enroll_code_ttl_hours: int = 168
    public_url: str = "http://127.0.0.1:8700"
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        data_dir = Path(self.data_dir)
        object.__setattr__(self, "data_dir", data_dir)
        url = self.database_url or f"sqlite:///{(data_dir / 'server.sqlite3').resolve()}"
        object.__setattr__(self, "database_url", normalise_database_url(url))
        object.__setattr__(self, "blob_dir", Path(self.blob_dir) if self.blob_dir else data_dir / "blobs")

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def with_(self, **changes) -> "Settings":
        return replace(self, **changes)

    @classmethod
    def from_env(cls, environ: dict | None = None) -> "Settings":
        env = os.environ if environ is None else environ

        def num(name: str, default: int) -> int:
            raw = env.get(name)
            if raw is None or raw == "":
                return default
            try:
                return int(raw)
            except ValueError:
                raise SystemExit(f"setting {name} must be an integer, got {raw!r}") from None

        data_dir = Path(env.get("DAZU_DATA_DIR") or "data/server")
        return cls(
            data_dir=data_dir,
            database_url=env.get("DATABASE_URL", ""),
            blob_dir=Path(env["BLOB_DIR"]) if env.get("BLOB_DIR") else None,
            max_json_bytes=num("DAZU_MAX_JSON_BYTES", cls.max_json_bytes),
            max_blob_bytes=num("DAZU_MAX_BLOB_BYTES", cls.max_blob_bytes),
            max_push_mutations=num("DAZU_MAX_PUSH_MUTATIONS", cls.max_push_mutations),
            pull_limit_max=num("DAZU_PULL_LIMIT_MAX", cls.pull_limit_max),
            enroll_code_ttl_hours=num("DAZU_ENROLL_CODE_TTL_HOURS", cls.enroll_code_ttl_hours),
            public_url=env.get("DAZU_PUBLIC_URL", cls.public_url),
        )
