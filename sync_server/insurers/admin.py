"""``python -m sync_server admin insurer …``: the co-insurance pool's insurers.

    admin insurer list                                    every insurer, share, lead, contacts, leave
    admin insurer add CODE --name NAME [--share BP] [--position N]
    admin insurer rename CODE --name NAME                 the name reports and screens show
    admin insurer set-share CODE BP                       basis points; the pool must add to 10,000
                                                          before the fund and votes accept it
    admin insurer set-lead CODE                           exactly one lead (the others lose the flag)
    admin insurer add-contact CODE --name NAME [--phone P] [--user USER_ID]
    admin insurer leave CODE --from ISO --to ISO [--note TEXT]   the contact is away (rotation skips)

Every command takes ``--json``. Bad input prints one clear line to stderr, exits 2 and changes
nothing. ``demo_seed(db)`` gives the demo pool plausible shares (marked as demo data).
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import sys
import unicodedata
import uuid

from sqlalchemy import select

from ..audit import service as audit_service
from ..core import rules as core_rules
from ..core.db import Database
from ..core.models import Claim, Insurer, User
from ..fund import service as fund_service
from ..fund.models import Premium
from ..rotation import service as rotation_service
from . import service as insurers_service
from .models import InsurerContact, InsurerTerms

CODE_RE = re.compile(r"^[a-z][a-z0-9_-]{1,31}$")

# DEMO shares (演示份额): plausible for a nine-insurer pool led by PICC; not the real contract's.
DEMO_SHARES = {
    "picc": 3500, "cpic": 1200, "pingan": 1200, "chinalife": 1000, "ccic": 800,
    "sunshine": 700, "taiping": 600, "ancheng": 500, "huaan": 500,
}
DEMO_LEAD = "picc"
DEMO_TOTAL_PREMIUM_EX_TAX_FEN = 8_000_000_00  # 8,000,000 yuan for the whole pool (demo figure)


class AdminError(Exception):
    pass


MAX_NAME = 100


def insurer_name(value: str) -> str:
    """An insurer's name as shown on screens and in the reports: 1-100 characters, no control or
    format characters (line breaks, NUL, bidi overrides, zero-width characters), which would
    break a report or make two names look alike."""
    name = (value or "").strip()
    if not name:
        raise AdminError("an insurer needs a name")
    if len(name) > MAX_NAME:
        raise AdminError(f"an insurer's name has at most {MAX_NAME} characters")
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp") for ch in name):
        raise AdminError("an insurer's name must not hold control, format or unassigned characters")
    return name


def rename(session, code: str, name: str) -> Insurer:
    """The rule behind `admin insurer rename` and POST /api/v1/insurers/{code}/rename."""
    insurer = session.get(Insurer, code)
    if insurer is None:
        raise AdminError(f"no insurer {code!r}")
    insurer.name = insurer_name(name)
    session.flush()
    return insurer


def _terms(session, code: str) -> InsurerTerms:
    if session.get(Insurer, code) is None:
        raise AdminError(f"no insurer {code!r} (add it first: admin insurer add {code} --name ...)")
    t = session.get(InsurerTerms, code)
    if t is None:
        t = InsurerTerms(insurer_code=code, share_bp=0, is_lead=False, position=_next_position(session))
        session.add(t)
    return t


def _next_position(session) -> int:
    rows = session.execute(select(InsurerTerms.position)).scalars().all()
    return (max(rows) + 1) if rows else 1


def _share(value: str) -> int:
    try:
        bp = int(value)
    except ValueError:
        raise AdminError(f"share must be whole basis points (e.g. 1200 for 12%), got {value!r}") from None
    if not 0 <= bp <= 10_000:
        raise AdminError(f"share must be between 0 and 10000 basis points, got {bp}")
    return bp


def _when(value: str, name: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise AdminError(f"{name} must be an ISO date-time such as 2026-08-01T00:00+08:00, got {value!r}") from None
    if moment.tzinfo is None:
        raise AdminError(f"{name} needs a UTC offset (e.g. +08:00): {value!r}")
    return core_rules.to_utc(moment)


def cmd_list(args, session) -> dict:
    rows = insurers_service.insurer_rows(session)
    total = sum(r["share_bp"] for r in rows)
    return {"insurers": rows, "total_share_bp": total, "shares_complete": total == 10_000}


def cmd_add(args, session) -> dict:
    if not CODE_RE.match(args.code):
        raise AdminError("insurer code: 2-32 lower-case letters, digits, '-' or '_', starting with a letter")
    if session.get(Insurer, args.code) is not None:
        raise AdminError(f"insurer {args.code!r} exists already (use set-share / set-lead)")
    session.add(Insurer(code=args.code, name=insurer_name(args.name)))
    session.flush()
    t = _terms(session, args.code)
    t.share_bp = _share(args.share) if args.share is not None else 0
    if args.position is not None:
        t.position = args.position
    session.flush()
    return cmd_list(args, session)


def cmd_rename(args, session) -> dict:
    rename(session, args.code, args.name)
    return cmd_list(args, session)


def cmd_set_share(args, session) -> dict:
    t = _terms(session, args.code)
    t.share_bp = _share(args.bp)
    t.updated_at = dt.datetime.now(dt.timezone.utc)
    session.flush()
    return cmd_list(args, session)


def cmd_set_lead(args, session) -> dict:
    target = _terms(session, args.code)
    for t in session.execute(select(InsurerTerms)).scalars():
        t.is_lead = False
    target.is_lead = True
    session.flush()
    return cmd_list(args, session)


def cmd_add_contact(args, session) -> dict:
    _terms(session, args.code)
    if args.user:
        user = session.get(User, args.user)
        if user is None or user.insurer_code != args.code:
            raise AdminError(f"user {args.user} is not a user of insurer {args.code}")
    session.add(InsurerContact(id=str(uuid.uuid4()), insurer_code=args.code, name=args.name,
                               phone=args.phone, user_id=args.user))
    session.flush()
    return cmd_list(args, session)


def cmd_leave(args, session) -> dict:
    _terms(session, args.code)
    start, end = _when(args.start, "--from"), _when(args.end, "--to")
    try:
        insurers_service.add_leave(session, args.code, start, end, args.note or "")  # the same rules as the office's route
    except core_rules.RuleError as exc:
        raise AdminError(exc.message) from None
    return cmd_list(args, session)


def _text(data: dict) -> str:
    lines = []
    for r in data["insurers"]:
        lead = "首席" if r["is_lead"] else "    "
        lines.append(f"{lead} {r['code']:<10} {r['share_bp'] / 100:6.2f}%  {r['name']}")
        for c in r["contacts"]:
            lines.append(f"       查勘联系人 {c['name']} {c['phone'] or ''}")
        for w in r["leave"]:
            lines.append(f"       休假 {w['from']} — {w['to']} {w['note']}")
    mark = "" if data["shares_complete"] else "  (NOT 100%: the fund and votes refuse incomplete shares)"
    lines.append(f"total {data['total_share_bp'] / 100:.2f}%{mark}")
    return "\n".join(lines)


def _runner(fn):
    def run(args: argparse.Namespace, settings) -> int:  # noqa: ANN001
        from ..command import prepare

        db = prepare(settings)
        try:
            with db.write() as session:
                data = fn(args, session)
                if fn is not cmd_list:
                    audit_service.record(session, f"admin insurer {args.insurer_command}", audit_service.ADMIN_CLI,
                                 object_kind="insurer", object_ids=[args.code], outcome="ok")
        except AdminError as exc:
            print(f"admin insurer: {exc}", file=sys.stderr)
            return 2
        finally:
            db.dispose()
        print(json.dumps(data, ensure_ascii=False, indent=2) if args.json else _text(data))
        return 0

    return run


def configure(subparsers) -> None:  # noqa: ANN001
    ins = subparsers.add_parser("insurer", help="co-insurance pool: shares, lead, contacts, leave")
    isub = ins.add_subparsers(dest="insurer_command", required=True)
    parsers = []
    p = isub.add_parser("list", help="insurers with shares, lead, contacts and leave")
    p.set_defaults(run=_runner(cmd_list))
    parsers.append(p)
    p = isub.add_parser("add", help="add an insurer")
    p.add_argument("code")
    p.add_argument("--name", required=True)
    p.add_argument("--share", help="basis points (1200 = 12%%)")
    p.add_argument("--position", type=int, help="place in the rotation's base order")
    p.set_defaults(run=_runner(cmd_add))
    parsers.append(p)
    p = isub.add_parser("rename", help="change an insurer's name (reports and screens show it)")
    p.add_argument("code")
    p.add_argument("--name", required=True)
    p.set_defaults(run=_runner(cmd_rename))
    parsers.append(p)
    p = isub.add_parser("set-share", help="set an insurer's share in basis points")
    p.add_argument("code")
    p.add_argument("bp")
    p.set_defaults(run=_runner(cmd_set_share))
    parsers.append(p)
    p = isub.add_parser("set-lead", help="make this insurer the lead (首席承保人)")
    p.add_argument("code")
    p.set_defaults(run=_runner(cmd_set_lead))
    parsers.append(p)
    p = isub.add_parser("add-contact", help="name a surveyor contact")
    p.add_argument("code")
    p.add_argument("--name", required=True)
    p.add_argument("--phone")
    p.add_argument("--user", help="the contact's user id (a surveyor of this insurer)")
    p.set_defaults(run=_runner(cmd_add_contact))
    parsers.append(p)
    p = isub.add_parser("leave", help="the contact is on leave: the rotation skips this insurer")
    p.add_argument("code")
    p.add_argument("--from", dest="start", required=True, help="ISO date-time with offset")
    p.add_argument("--to", dest="end", required=True, help="ISO date-time with offset")
    p.add_argument("--note")
    p.set_defaults(run=_runner(cmd_leave))
    parsers.append(p)
    for p in parsers:
        p.add_argument("--json", action="store_true", help="print JSON")


def demo_seed(db: Database) -> dict:
    """DEMO shares, the lead, the demo surveyors as contacts, this year's premiums. Idempotent."""
    from ..core.settings import Settings  # noqa: F401  (settings come from the environment here)

    year = dt.date.today().year
    with db.write() as session:
        present = {i.code for i in session.execute(select(Insurer)).scalars()}
        for position, (code, bp) in enumerate(DEMO_SHARES.items()):
            if code not in present:
                continue
            t = session.get(InsurerTerms, code)
            if t is None:
                session.add(InsurerTerms(insurer_code=code, share_bp=bp, is_lead=code == DEMO_LEAD,
                                         position=position))
        session.flush()
        for user in session.execute(select(User).where(User.role == "surveyor")).scalars():
            known = session.execute(select(InsurerContact).where(InsurerContact.user_id == user.id)).scalar()
            if known is None and user.insurer_code:
                session.add(InsurerContact(id=str(uuid.uuid4()), insurer_code=user.insurer_code,
                                           name=user.name, phone=None, user_id=user.id))
        settings = core_rules.rule_settings()
        for code, bp in DEMO_SHARES.items():
            if code in present and session.get(Premium, (year, code)) is None:
                fund_service.set_premium(session, settings, year, code, DEMO_TOTAL_PREMIUM_EX_TAX_FEN * bp // 10_000,
                               dt.date(year, 1, 15), None)
        from ..demo import seed_fund_budget

        seed_fund_budget(session, year)  # spending needs the year's confirmed budget
        # One survey dispatched through the rotation itself (so its log, details and turn are real
        # and a demo surveyor can answer it): the Longshui flood, by the demo adjuster.
        from ..core.models import Assignment
        from ..demo import demo_id

        flood, adjuster = demo_id("claim:flood-longshui"), session.get(User, demo_id("user:adjuster"))
        dispatched = session.execute(select(Assignment.id).where(Assignment.claim_id == flood)).first()
        if dispatched is None and adjuster is not None and session.get(Claim, flood) is not None:
            rotation_service.dispatch_claim(session, settings, flood, adjuster, dt.datetime.now(dt.timezone.utc))
        rows = insurers_service.insurer_rows(session)
        # Which co-insurer's surveyor holds the demo survey (dev.py run says whom to try first).
        offered = session.execute(select(Assignment.insurer_code).where(
            Assignment.claim_id == flood, Assignment.insurer_code != DEMO_LEAD)).scalar()
    return {"demo": True, "note": "演示数据：份额、联系人与保费均为演示用，非真实合同数据",
            "shares": {r["code"]: r["share_bp"] for r in rows}, "lead": DEMO_LEAD, "premium_year": year,
            "survey": {"claim_id": flood, "insurer_code": offered} if offered else None}
