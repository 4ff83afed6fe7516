"""Command line of the sync server.

    python -m sync_server serve [--host 127.0.0.1] [--port 8700] [--tls-cert FILE --tls-key FILE]
                                [--workers N]      N server processes on one port (PostgreSQL only)
    python -m sync_server admin create-user --name NAME --role ROLE [--township CODE] [--insurer CODE] [--json]
    python -m sync_server admin enroll-code USER_ID [--qr FILE.png] [--json]
    python -m sync_server admin revoke-device DEVICE_ID [--json]
    python -m sync_server admin demo-seed [--json]
    python -m sync_server admin seal-existing [--no-compact] [--json]     (sync_server/core/seal_admin.py)
    python -m sync_server admin rotate-seal-key [--no-compact] [--json]
    python -m sync_server admin clean-blobs [--older-than-hours N] [--json]
    python -m sync_server audit verify [--json]    walk the audit log's hash chain; exit 1 naming
                                                   the first row that was altered or removed

Settings come from the environment (see sync_server/settings.py). Every command brings the
database schema up to date first, or stops with a clear message when it cannot.
The enrollment QR code holds ``dazu://enroll?server=<DAZU_PUBLIC_URL>&code=<CODE>``, plus
``&pin=<SHA-256 of the certificate>`` when DAZU_TLS_CERT names the server's certificate.
"""
from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import sys
from pathlib import Path
from urllib.parse import urlencode

from sqlalchemy import select

from .audit import service as audit_service
from .core import seal_admin, sealing
from .command import emit, prepare, qr_dir, redact
from .core.db import Database
from .core.error_codes import ERR
from .core.settings import Settings
from .devices import service as accounts
from .devices.models import EnrollmentCode
from .insurers import admin as insurers_admin

# The key under which `admin demo-seed --json` prints the co-insurance pool's demo data (its
# shares, contacts, premiums and a survey); dev.py and the tests read it.
COINSURANCE_DEMO_KEY = "coinsurance"


def certificate_pin(cert_file: Path) -> str:
    """SHA-256 of the first certificate in a PEM file (the server's own, before any chain)."""
    import hashlib
    import re
    import ssl

    found = re.search(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----",
                      Path(cert_file).read_text(encoding="ascii"), re.S)
    if found is None:
        raise SystemExit(f"{cert_file}: no PEM certificate in it")
    return hashlib.sha256(ssl.PEM_cert_to_DER_cert(found.group(0))).hexdigest()


def enrollment_uri(settings: Settings, code: str) -> str:
    query = {"server": settings.public_url, "code": code}
    if settings.tls_cert:
        # The phone checks the server's certificate against this before sending anything, so a
        # self-signed district certificate is as safe as one a public authority signed.
        query["pin"] = certificate_pin(settings.tls_cert)
    return "dazu://enroll?" + urlencode(query)


def write_qr(path: Path, payload: str) -> None:
    """The PNG holds the enrollment code: only the server's account may read it (0600 in 0700)."""
    import qrcode

    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    img = qrcode.make(payload, error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=8, border=4)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        os.fchmod(f.fileno(), 0o600)  # an existing file keeps its old mode through O_CREAT
        img.save(f, format="PNG")


class KeyValueFormatter(logging.Formatter):
    """One line per event: ``ts=... level=... logger=... <message>``; the server's own security
    events are ``key=value`` throughout (ids, roles and codes, never names or ID numbers)."""

    def __init__(self, with_pid: bool = False) -> None:
        super().__init__()
        self.with_pid = with_pid  # several worker processes: which one wrote the line

    def format(self, record: logging.LogRecord) -> str:
        ts = dt.datetime.fromtimestamp(record.created, dt.timezone.utc).isoformat(timespec="milliseconds")
        message = record.getMessage()
        if record.exc_info:
            message += " exc=" + repr(self.formatException(record.exc_info))
        message = message.replace("\r", "\\r").replace("\n", "\\n")
        pid = f" pid={record.process}" if self.with_pid else ""
        return f"ts={ts} level={record.levelname.lower()} logger={record.name}{pid} {message}"


def configure_logging(level: str, with_pid: bool = False) -> None:
    """The security log: the server's loggers (``sync_server.*``) to stderr, one line per event."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(KeyValueFormatter(with_pid))
    logger = logging.getLogger("sync_server")
    for old in list(logger.handlers):
        logger.removeHandler(old)
    logger.addHandler(handler)
    logger.setLevel(getattr(logging, level.upper(), logging.INFO) if isinstance(level, str) else level)
    logger.propagate = False


WORKERS_NEED_POSTGRES = (
    "error: --workers {n} needs PostgreSQL (DATABASE_URL=postgresql://...). SQLite is one file that "
    "one process writes at a time: several server processes on it would queue behind each other's "
    "write locks and gain nothing. Serve SQLite with one process (--workers 1, the default)."
)


# How long the supervising process waits for a worker's answer before it kills and replaces it.
# A starting worker is a fresh interpreter that imports the whole server before it can answer;
# on a busy two-core host that took longer than uvicorn's 5 s, and workers were killed while
# starting, over and over.
WORKER_HEALTHCHECK_SECONDS = 60


def serve_log_config(level: str, workers: int) -> dict:
    """uvicorn's logging with the server's security log (``sync_server.*``, KeyValueFormatter) in
    it. uvicorn applies this dict in every worker process it starts, so each worker logs the same
    way; with several workers every line names its process (``pid=``), access lines included."""
    import copy

    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    if workers > 1:
        access = config["formatters"]["access"]
        access["fmt"] = "pid=%(process)d " + access["fmt"]
    config["formatters"]["security"] = {"()": f"{__name__}.KeyValueFormatter", "with_pid": workers > 1}
    config["handlers"]["security"] = {"formatter": "security", "class": "logging.StreamHandler",
                                      "stream": "ext://sys.stderr"}
    config["loggers"]["sync_server"] = {"handlers": ["security"], "propagate": False,
                                        "level": level.upper() if isinstance(level, str) else level}
    return config


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from .app import create_app

    if args.workers < 1:
        print("error: --workers must be 1 or more", file=sys.stderr)
        return 2
    if args.workers > 1 and settings.is_sqlite:
        # Refused before anything starts: no migration, no key file, no socket.
        print(WORKERS_NEED_POSTGRES.format(n=args.workers), file=sys.stderr)
        return 2
    if args.public_url:
        settings = settings.with_(public_url=args.public_url)
    cert = args.tls_cert or settings.tls_cert
    key = args.tls_key or settings.tls_key
    if bool(cert) != bool(key):
        print("error: --tls-cert and --tls-key go together (or DAZU_TLS_CERT and DAZU_TLS_KEY)", file=sys.stderr)
        return 2
    tls = {"ssl_certfile": str(cert), "ssl_keyfile": str(key)} if cert else {}
    # Each worker is a fresh interpreter that builds its app with create_app(), which reads the
    # environment: the settings resolved here go there, and must come back unchanged.
    env = settings.to_env()
    if args.workers > 1 and Settings.from_env(env) != settings:
        print("error: these settings cannot be passed to worker processes through the environment",
              file=sys.stderr)
        return 2
    db = prepare(settings)
    if args.workers > 1:
        # The seal key file is made here, once, before any worker starts (each worker would
        # otherwise race to make the first key on its first sealed write).
        sealing.Sealer.from_settings(settings).newest()
    db.dispose()
    configure_logging(args.log_level, with_pid=args.workers > 1)
    scheme = "https" if cert else "http"
    run = {"host": args.host, "port": args.port, "log_level": args.log_level, "access_log": args.access_log,
           "log_config": serve_log_config(args.log_level, args.workers), **tls}
    if args.workers == 1:
        app = create_app(settings)
        print(f"sync_server: serving on {scheme}://{args.host}:{args.port} "
              f"(database {redact(settings.database_url)})", flush=True)
        uvicorn.run(app, **run)
        return 0
    os.environ.update(env)
    print(f"sync_server: serving on {scheme}://{args.host}:{args.port} with {args.workers} worker processes "
          f"(database {redact(settings.database_url)})", flush=True)
    uvicorn.run("sync_server.app:create_app", factory=True, workers=args.workers,
                timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS, **run)
    return 0


def cmd_create_user(args: argparse.Namespace, settings: Settings) -> int:
    db = prepare(settings)
    try:
        with db.write() as session:
            user = accounts.create_user(
                session, name=args.name, role=args.role, township_code=args.township, insurer_code=args.insurer
            )
            data = accounts.user_dict(user)
            audit_service.record(session, "admin create-user", audit_service.ADMIN_CLI, object_kind="user",
                         object_ids=[user.id], outcome=user.role)
    except accounts.AccountError as exc:
        emit(args.json, {"error": exc.code, "message": exc.message}, f"error: {exc.message}")
        return 2
    emit(args.json, data, f"created user {data['id']} ({data['role']}: {data['name']})")
    return 0


def _issue_code(db: Database, settings: Settings, user_id: str, qr_path: Path | None) -> dict:
    with db.write() as session:
        code, expires = accounts.new_enrollment_code(session, user_id, settings.enroll_code_ttl_hours)
        user = accounts.user_dict(session.get(accounts.User, user_id))
        row = session.execute(select(EnrollmentCode).where(
            EnrollmentCode.code_hash == accounts.hash_secret(accounts.normalise_code(code)))).scalar_one()
        # One file per code, so that using or sweeping one code never removes another's QR.
        qr = Path(qr_path or (qr_dir(settings) / f"{user_id}-{row.id}.png")).resolve()
        row.qr_path = str(qr)
        audit_service.record(session, "admin enroll-code", audit_service.ADMIN_CLI, object_kind="user", object_ids=[user_id],
                     outcome="issued")
    uri = enrollment_uri(settings, code)
    if qr_path is None:
        # Our own folder is made 0700 even when an older version left it open; a folder the
        # operator chose with --qr is left as it is (only the file is 0600).
        qr_dir(settings).mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(qr_dir(settings), 0o700)
    write_qr(qr, uri)
    return {"user": user, "code": code, "expires_at": expires.isoformat(), "qr_png": str(qr), "qr_text": uri}


def cmd_enroll_code(args: argparse.Namespace, settings: Settings) -> int:
    db = prepare(settings)
    try:
        data = _issue_code(db, settings, args.user_id, Path(args.qr) if args.qr else None)
    except accounts.AccountError as exc:
        emit(args.json, {"error": exc.code, "message": exc.message}, f"error: {exc.message}")
        return 2
    emit(args.json, data,
          f"enrollment code for {data['user']['name']}: {data['code']}  (valid until {data['expires_at']})\n"
          f"QR code: {data['qr_png']}")
    return 0


def cmd_revoke_device(args: argparse.Namespace, settings: Settings) -> int:
    db = prepare(settings)
    try:
        with db.write() as session:
            device = accounts.revoke_device(session, args.device_id)
            data = {"device_id": device.id, "revoked_at": device.revoked_at.isoformat()}
            audit_service.record(session, "admin revoke-device", audit_service.ADMIN_CLI, object_kind="device",
                         object_ids=[device.id], outcome="revoked")
    except accounts.AccountError as exc:
        emit(args.json, {"error": exc.code, "message": exc.message}, f"error: {exc.message}")
        return 2
    emit(args.json, data, f"device {data['device_id']} revoked; its next request gets 401")
    return 0


def cmd_demo_seed(args: argparse.Namespace, settings: Settings) -> int:
    from .demo import seed

    db = prepare(settings)
    result = seed(db)
    result["plugins"] = {COINSURANCE_DEMO_KEY: insurers_admin.demo_seed(db)}
    audit_service.append(db, "admin demo-seed", audit_service.ADMIN_CLI, object_kind="claim",
                 object_ids=[c["id"] if isinstance(c, dict) else c for c in result["claims"]],
                 outcome="created" if result["created"] else "present")
    codes = []
    for user in result["users"]:
        codes.append({**_issue_code(db, settings, user["id"], None)})
    data = {**result, "enrollment": codes}
    lines = ["Demo data (演示数据, not real people or companies' staff):"]
    for c in codes:
        u = c["user"]
        scope = u["township_code"] or u["insurer_code"] or "all"
        lines.append(f"  {u['role']:<11} {u['name']:<16} scope={scope:<10} code={c['code']}  QR={c['qr_png']}")
    lines.append(f"  claims: {len(result['claims'])} ({'created' if result['created'] else 'already present'})")
    emit(args.json, data, "\n".join(lines))
    return 0


def cmd_clean_blobs(args: argparse.Namespace, settings: Settings) -> int:
    from .blobs.store import BlobStore, clean

    hours = settings.blob_cleanup_hours if args.older_than_hours is None else args.older_than_hours
    if hours < 0:
        emit(args.json, {"error": ERR.invalid_age, "message": "--older-than-hours must be 0 or more"},
              "error: --older-than-hours must be 0 or more")
        return 2
    db = prepare(settings)
    try:
        data = {"older_than_hours": hours, **clean(db, BlobStore(settings.blob_dir), hours)}
    finally:
        db.dispose()
    emit(args.json, data, f"removed {data['partial_files']} partial uploads ({data['partial_bytes']} bytes), "
                           f"{data['lock_files']} lock files and {data['blobs']} unreferenced blobs "
                           f"({data['blob_bytes']} bytes) older than {hours:g} hours")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m sync_server", description="Dazu sync server")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="upgrade the schema, then serve HTTP")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8700)
    serve.add_argument("--public-url", default="", help="URL phones use (enrollment QR); default DAZU_PUBLIC_URL")
    serve.add_argument("--log-level", default="info")
    serve.add_argument("--access-log", action=argparse.BooleanOptionalAction, default=True)
    serve.add_argument("--tls-cert", type=Path, help="PEM certificate (chain): serve HTTPS (default DAZU_TLS_CERT)")
    serve.add_argument("--tls-key", type=Path, help="PEM private key of --tls-cert (default DAZU_TLS_KEY)")
    serve.add_argument("--workers", type=int, default=1,
                       help="server processes sharing the port (default 1); more than 1 needs PostgreSQL")
    serve.set_defaults(run=cmd_serve)

    admin = sub.add_parser("admin", help="users, devices, demo data")
    asub = admin.add_subparsers(dest="admin_command", required=True)
    cu = asub.add_parser("create-user", help="create a user")
    cu.add_argument("--name", required=True)
    cu.add_argument("--role", required=True, choices=accounts.ROLES)
    cu.add_argument("--township", help="township code (liaisons), e.g. 500111100 for 龙水镇")
    cu.add_argument("--insurer", help="insurer code (surveyors)")
    cu.set_defaults(run=cmd_create_user)
    ec = asub.add_parser("enroll-code", help="issue a one-time enrollment code and its QR PNG")
    ec.add_argument("user_id")
    ec.add_argument("--qr", help="where to write the QR PNG (default DAZU_DATA_DIR/enroll/USER_ID-N.png); "
                                 "removed once the code is used or expired")
    ec.set_defaults(run=cmd_enroll_code)
    rd = asub.add_parser("revoke-device", help="revoke a device token")
    rd.add_argument("device_id")
    rd.set_defaults(run=cmd_revoke_device)
    ds = asub.add_parser("demo-seed", help="demo insurers, users and claims (idempotent)")
    ds.set_defaults(run=cmd_demo_seed)
    cb = asub.add_parser("clean-blobs", help="remove abandoned partial uploads, stale lock files and "
                                             "unreferenced blobs older than DAZU_BLOB_CLEANUP_HOURS")
    cb.add_argument("--older-than-hours", type=float, default=None, help="default DAZU_BLOB_CLEANUP_HOURS (168)")
    cb.set_defaults(run=cmd_clean_blobs)
    for p in (cu, ec, rd, ds, cb):
        p.add_argument("--json", action="store_true", help="print JSON")
    insurers_admin.configure(asub)  # admin insurer ...: the pool's insurers, shares, contacts, premiums
    seal_admin.configure_admin(asub)  # admin seal-existing, rotate-seal-key: personal data sealed at rest

    au = sub.add_parser("audit", help="the audit log")
    ausub = au.add_subparsers(dest="audit_command", required=True)
    av = ausub.add_parser("verify", help="walk the hash chain; exit 1 naming the first altered or removed row")
    av.add_argument("--json", action="store_true", help="print JSON")
    av.set_defaults(run=cmd_audit_verify)
    return parser


def cmd_audit_verify(args: argparse.Namespace, settings: Settings) -> int:
    db = prepare(settings)
    try:
        verdict = audit_service.verify(db)
    finally:
        db.dispose()
    data = verdict.as_dict()
    if verdict.ok:
        emit(args.json, data, f"audit log intact: {verdict.rows} rows, head seq {verdict.head_seq} "
                               f"hash {verdict.head_hash}")
        return 0
    emit(args.json, data, f"audit log BROKEN at row {verdict.broken_seq}: {verdict.problem}\n"
                           f"(rows 1..{verdict.head_seq} are intact; last good hash {verdict.head_hash})")
    return 1


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = Settings.from_env()
    return int(args.run(args, settings) or 0)
