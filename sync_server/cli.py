"""Command line of the sync server.

    python -m sync_server serve [--host 127.0.0.1] [--port 8700]
    python -m sync_server admin create-user --name NAME --role ROLE [--township CODE] [--insurer CODE] [--json]
    python -m sync_server admin enroll-code USER_ID [--qr FILE.png] [--json]
    python -m sync_server admin revoke-device DEVICE_ID [--json]
    python -m sync_server admin demo-seed [--json]

Settings come from the environment (see sync_server/settings.py). Every command brings the
database schema up to date first, or stops with a clear message when it cannot.
The enrollment QR code holds ``dazu://enroll?server=<DAZU_PUBLIC_URL>&code=<CODE>``.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from urllib.parse import urlencode

from . import accounts
from .db import Database
from .migrate import MigrationError, upgrade
from .settings import Settings

# Modules that may add admin subcommands (``configure_admin(subparsers)``; each subparser sets
# ``run=fn(args, settings) -> int``) and demo data (``demo_seed(db) -> dict``), e.g. issue 5's
# ``admin insurer ...`` and insurer shares. Absent modules are skipped.
PLUGIN_MODULES = ("sync_server.api_coinsurance",)


def _plugins() -> list:
    import importlib

    found = []
    for name in PLUGIN_MODULES:
        try:
            found.append(importlib.import_module(name))
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
    return found


def enrollment_uri(settings: Settings, code: str) -> str:
    return "dazu://enroll?" + urlencode({"server": settings.public_url, "code": code})


def write_qr(path: Path, payload: str) -> None:
    import qrcode

    path.parent.mkdir(parents=True, exist_ok=True)
    img = qrcode.make(payload, error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=8, border=4)
    img.save(str(path))


def _prepare(settings: Settings) -> Database:
    try:
        upgrade(settings.database_url)
    except MigrationError as exc:
        print(f"sync_server: {exc}\n  DATABASE_URL={_redact(settings.database_url)}", file=sys.stderr)
        raise SystemExit(1) from None
    return Database(settings)


def _redact(url: str) -> str:
    # Never print a password from the URL.
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}"
    return url


def _emit(as_json: bool, data: dict, text: str) -> None:
    if as_json:
        print(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        print(text)


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from .app import create_app

    db = _prepare(settings)
    db.dispose()
    if args.public_url:
        settings = settings.with_(public_url=args.public_url)
    app = create_app(settings)
    print(f"sync_server: serving on http://{args.host}:{args.port} (database {_redact(settings.database_url)})",
          flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level, access_log=args.access_log)
    return 0


def cmd_create_user(args: argparse.Namespace, settings: Settings) -> int:
    db = _prepare(settings)
    try:
        with db.write() as session:
            user = accounts.create_user(
                session, name=args.name, role=args.role, township_code=args.township, insurer_code=args.insurer
            )
            data = accounts.user_dict(user)
    except accounts.AccountError as exc:
        _emit(args.json, {"error": exc.code, "message": exc.message}, f"error: {exc.message}")
        return 2
    _emit(args.json, data, f"created user {data['id']} ({data['role']}: {data['name']})")
    return 0


def _issue_code(db: Database, settings: Settings, user_id: str, qr_path: Path | None) -> dict:
    with db.write() as session:
        code, expires = accounts.new_enrollment_code(session, user_id, settings.enroll_code_ttl_hours)
        user = accounts.user_dict(session.get(accounts.User, user_id))
    uri = enrollment_uri(settings, code)
    qr = qr_path or (settings.data_dir / "enroll" / f"{user_id}.png")
    write_qr(Path(qr), uri)
    return {"user": user, "code": code, "expires_at": expires.isoformat(), "qr_png": str(qr), "qr_text": uri}


def cmd_enroll_code(args: argparse.Namespace, settings: Settings) -> int:
    db = _prepare(settings)
    try:
        data = _issue_code(db, settings, args.user_id, Path(args.qr) if args.qr else None)
    except accounts.AccountError as exc:
        _emit(args.json, {"error": exc.code, "message": exc.message}, f"error: {exc.message}")
        return 2
    _emit(args.json, data,
          f"enrollment code for {data['user']['name']}: {data['code']}  (valid until {data['expires_at']})\n"
          f"QR code: {data['qr_png']}")
    return 0


def cmd_revoke_device(args: argparse.Namespace, settings: Settings) -> int:
    db = _prepare(settings)
    try:
        with db.write() as session:
            device = accounts.revoke_device(session, args.device_id)
            data = {"device_id": device.id, "revoked_at": device.revoked_at.isoformat()}
    except accounts.AccountError as exc:
        _emit(args.json, {"error": exc.code, "message": exc.message}, f"error: {exc.message}")
        return 2
    _emit(args.json, data, f"device {data['device_id']} revoked; its next request gets 401")
    return 0


def cmd_demo_seed(args: argparse.Namespace, settings: Settings) -> int:
    from .demo import seed

    db = _prepare(settings)
    result = seed(db)
    for module in _plugins():
        if hasattr(module, "demo_seed"):
            result.setdefault("plugins", {})[module.__name__] = module.demo_seed(db)
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
    _emit(args.json, data, "\n".join(lines))
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
    ec.add_argument("--qr", help="where to write the QR PNG (default DAZU_DATA_DIR/enroll/USER_ID.png)")
    ec.set_defaults(run=cmd_enroll_code)
    rd = asub.add_parser("revoke-device", help="revoke a device token")
    rd.add_argument("device_id")
    rd.set_defaults(run=cmd_revoke_device)
    ds = asub.add_parser("demo-seed", help="demo insurers, users and claims (idempotent)")
    ds.set_defaults(run=cmd_demo_seed)
    for p in (cu, ec, rd, ds):
        p.add_argument("--json", action="store_true", help="print JSON")
    for module in _plugins():
        if hasattr(module, "configure_admin"):
            module.configure_admin(asub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = Settings.from_env()
    return int(args.run(args, settings) or 0)
