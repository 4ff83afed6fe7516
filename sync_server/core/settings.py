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
    DAZU_AUTH_FAIL_LIMIT         wrong or revoked tokens per client address within the window
                                 before further wrong ones are answered 429 (default 20; 0 = off)
    DAZU_ENROLL_FAIL_LIMIT       wrong enrollment codes per client address within the window
                                 before every enrollment from it is answered 429 (default 10)
    DAZU_ENROLL_PREFIX_FAIL_LIMIT  wrong codes sharing their first four characters, from any
                                 address, before that prefix is answered 429 (default 5)
    DAZU_AUTH_FAIL_WINDOW_SECONDS  the window of those counts (default 900 = 15 minutes)
    DAZU_UPLOAD_QUOTA_BYTES  bytes one device may hold in unfinished uploads (default 256 MiB)
    DAZU_BLOB_CLEANUP_HOURS  age after which `admin clean-blobs` removes abandoned partial uploads,
                        stale lock files and unreferenced blobs (default 168 = 7 days)
    DAZU_SURVEY_ACCESS_DAYS_AFTER_COMPLETION  days a co-insurer's surveyors keep a completed
                        survey's claim (default 30); then their phones are told to forget it
    DAZU_SEAL_KEY       the server key sealing personal data at rest: base64 of 32 random bytes
                        (several comma-separated, the newest last); unset: the key file below
    DAZU_SEAL_KEY_FILE  the key file (default <DAZU_DATA_DIR>/keys/server.key, made on first use,
                        mode 0600); see sync_server/sealing.py and docs/security.md
    DAZU_REQUEST_THREADS  worker threads per server process for the request handlers that block
                        (database, files; default 8): more only add contention for Python's lock
                        (200 phones at once: each request cost about a third more CPU with 40)
    DAZU_TLS_CERT, DAZU_TLS_KEY  PEM certificate (chain) and key: `serve` speaks HTTPS itself, and
                        enrollment QR codes carry the certificate's SHA-256 for the phone to pin
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
    auth_fail_limit: int = 20
    enroll_fail_limit: int = 10
    enroll_prefix_fail_limit: int = 5
    auth_fail_window_seconds: int = 900
    upload_quota_bytes: int = 256 * 1024 * 1024
    blob_cleanup_hours: int = 168
    survey_access_days_after_completion: int = 30
    request_threads: int = 8
    seal_key_file: Path | None = None
    seal_key: str = field(default="", repr=False)  # a secret: never in a repr or a log
    tls_cert: Path | None = None
    tls_key: Path | None = None
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        data_dir = Path(self.data_dir)
        object.__setattr__(self, "data_dir", data_dir)
        url = self.database_url or f"sqlite:///{(data_dir / 'server.sqlite3').resolve()}"
        object.__setattr__(self, "database_url", normalise_database_url(url))
        object.__setattr__(self, "blob_dir", Path(self.blob_dir) if self.blob_dir else data_dir / "blobs")
        if self.request_threads < 1:
            raise ValueError(f"request_threads must be at least 1, got {self.request_threads}")

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def with_(self, **changes) -> "Settings":
        return replace(self, **changes)

    def to_env(self) -> dict[str, str]:
        """The environment ``from_env`` reads back into these same settings: how ``serve --workers``
        gives each worker process exactly the configuration the command line resolved. Only what
        the environment can say crosses (``extra`` and the limits without a variable cannot)."""
        return {
            "DAZU_DATA_DIR": str(self.data_dir),
            "DATABASE_URL": self.database_url,
            "BLOB_DIR": str(self.blob_dir),
            "DAZU_MAX_JSON_BYTES": str(self.max_json_bytes),
            "DAZU_MAX_BLOB_BYTES": str(self.max_blob_bytes),
            "DAZU_MAX_PUSH_MUTATIONS": str(self.max_push_mutations),
            "DAZU_PULL_LIMIT_MAX": str(self.pull_limit_max),
            "DAZU_ENROLL_CODE_TTL_HOURS": str(self.enroll_code_ttl_hours),
            "DAZU_PUBLIC_URL": self.public_url,
            "DAZU_AUTH_FAIL_LIMIT": str(self.auth_fail_limit),
            "DAZU_ENROLL_FAIL_LIMIT": str(self.enroll_fail_limit),
            "DAZU_ENROLL_PREFIX_FAIL_LIMIT": str(self.enroll_prefix_fail_limit),
            "DAZU_AUTH_FAIL_WINDOW_SECONDS": str(self.auth_fail_window_seconds),
            "DAZU_UPLOAD_QUOTA_BYTES": str(self.upload_quota_bytes),
            "DAZU_BLOB_CLEANUP_HOURS": str(self.blob_cleanup_hours),
            "DAZU_SURVEY_ACCESS_DAYS_AFTER_COMPLETION": str(self.survey_access_days_after_completion),
            "DAZU_REQUEST_THREADS": str(self.request_threads),
            "DAZU_SEAL_KEY_FILE": str(self.seal_key_file) if self.seal_key_file else "",
            "DAZU_SEAL_KEY": self.seal_key,
            "DAZU_TLS_CERT": str(self.tls_cert) if self.tls_cert else "",
            "DAZU_TLS_KEY": str(self.tls_key) if self.tls_key else "",
        }

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
            auth_fail_limit=num("DAZU_AUTH_FAIL_LIMIT", cls.auth_fail_limit),
            enroll_fail_limit=num("DAZU_ENROLL_FAIL_LIMIT", cls.enroll_fail_limit),
            enroll_prefix_fail_limit=num("DAZU_ENROLL_PREFIX_FAIL_LIMIT", cls.enroll_prefix_fail_limit),
            auth_fail_window_seconds=num("DAZU_AUTH_FAIL_WINDOW_SECONDS", cls.auth_fail_window_seconds),
            upload_quota_bytes=num("DAZU_UPLOAD_QUOTA_BYTES", cls.upload_quota_bytes),
            blob_cleanup_hours=num("DAZU_BLOB_CLEANUP_HOURS", cls.blob_cleanup_hours),
            survey_access_days_after_completion=num("DAZU_SURVEY_ACCESS_DAYS_AFTER_COMPLETION",
                                                    cls.survey_access_days_after_completion),
            request_threads=num("DAZU_REQUEST_THREADS", cls.request_threads),
            seal_key_file=Path(env["DAZU_SEAL_KEY_FILE"]) if env.get("DAZU_SEAL_KEY_FILE") else None,
            seal_key=env.get("DAZU_SEAL_KEY", ""),
            tls_cert=Path(env["DAZU_TLS_CERT"]) if env.get("DAZU_TLS_CERT") else None,
            tls_key=Path(env["DAZU_TLS_KEY"]) if env.get("DAZU_TLS_KEY") else None,
        )
