"""Demo data (演示数据): nine insurers, one user per role and a few claims. Idempotent.

Everything here is DEMO data: users and claims carry 演示 in their names and descriptions; the
insurers are the co-insurance pool's shape (the lead 人保财险大足支公司 plus eight co-insurers)
with plausible names, not the real pool's contract data. Shares and availability are the
co-insurance module's business and are added by its own demo seed.
"""
from __future__ import annotations

import uuid

from sqlalchemy import select

from .core import domain
from .core.changelog import record_change
from .core.db import Database
from .core.models import Claim, Insurer, User
from .devices import service as accounts
from .fund import service as fund_service
from .sync.claims import claim_snapshot

_NS = uuid.UUID("6f1d0c1e-6a59-4e0c-9d37-1f0a3c5b2d10")
LEAD_INSURER = "picc"
DEMO_INSURERS = (
    ("picc", "人保财险大足支公司"),
    ("cpic", "太平洋财险大足支公司"),
    ("pingan", "平安财险大足支公司"),
    ("chinalife", "国寿财险大足支公司"),
    ("ccic", "大地财险大足支公司"),
    ("sunshine", "阳光财险大足支公司"),
    ("taiping", "太平财险大足支公司"),
    ("ancheng", "安诚财险大足支公司"),
    ("huaan", "华安财险大足支公司"),
)
SERVER_DEVICE = "server"


def demo_id(name: str) -> str:
    return str(uuid.uuid5(_NS, name))


def _users() -> list[dict]:
    longshui = domain.township_code_by_name("龙水镇")
    baoding = domain.township_code_by_name("宝顶镇")
    return [
        {"key": "coordinator", "name": "演示·区金融中心", "role": "coordinator"},
        {"key": "adjuster", "name": "演示·人保理赔员", "role": "adjuster"},
        {"key": "liaison-longshui", "name": "演示·龙水镇联络员", "role": "liaison", "township_code": longshui},
        {"key": "liaison-baoding", "name": "演示·宝顶镇联络员", "role": "liaison", "township_code": baoding},
        {"key": "surveyor-cpic", "name": "演示·太保查勘员", "role": "surveyor", "insurer_code": "cpic"},
        {"key": "surveyor-pingan", "name": "演示·平安查勘员", "role": "surveyor", "insurer_code": "pingan"},
    ]


def _claims() -> list[dict]:
    longshui = domain.township_code_by_name("龙水镇")
    baoding = domain.township_code_by_name("宝顶镇")
    tangxiang = domain.township_code_by_name("棠香街道")
    return [
        {"key": "flood-longshui", "coverage": "natural_disaster", "township_code": longshui,
         "incident_at": "2026-07-12T03:40:00+08:00", "loss_types": ["house"],
         "description": "演示：暴雨致房屋进水，部分墙体开裂"},
        {"key": "falling-longshui", "coverage": "falling_object", "township_code": longshui,
         "incident_at": "2026-06-02T16:15:00+08:00", "loss_types": ["medical"],
         "description": "演示：行人被高空坠落花盆砸伤头部"},
        {"key": "fire-baoding", "coverage": "fire_explosion", "township_code": baoding,
         "incident_at": "2026-05-20T22:05:00+08:00", "loss_types": ["house"],
         "description": "演示：民房厨房起火，屋内财产受损"},
        {"key": "drowning-tangxiang", "coverage": "drowning", "township_code": tangxiang,
         "incident_at": "2026-08-03T18:30:00+08:00", "loss_types": ["death"],
         "description": "演示：公共水域溺水事故"},
    ]


def seed(db: Database) -> dict:
    created = False
    with db.write() as session:
        for code, name in DEMO_INSURERS:
            if session.get(Insurer, code) is None:
                session.add(Insurer(code=code, name=name))
                created = True
        session.flush()
        users = []
        for spec in _users():
            uid = demo_id("user:" + spec["key"])
            user = session.get(User, uid)
            if user is None:
                user = accounts.create_user(
                    session, name=spec["name"], role=spec["role"], township_code=spec.get("township_code"),
                    insurer_code=spec.get("insurer_code"), user_id=uid,
                )
                created = True
            users.append({**accounts.user_dict(user), "demo_key": spec["key"]})  # dev.py run: one phone each
        adjuster_id = demo_id("user:adjuster")
        claims = []
        for spec in _claims():
            cid = demo_id("claim:" + spec["key"])
            claim = session.get(Claim, cid)
            if claim is None:
                fields = {k: v for k, v in spec.items() if k != "key"}
                claim = Claim(
                    id=cid, version=1, status="reported", coverage=fields["coverage"],
                    township_code=fields["township_code"], incident_at=fields["incident_at"],
                    description=fields["description"], catalogue_version=domain.catalogue_version(),
                    # A report number in the phones' own format (DZ-date-device tag-number), so
                    # demo claims read like real ones on screen and on the printed forms.
                    data={"loss_types": fields["loss_types"],
                          "report_no": f"DZ-{fields['incident_at'][:10].replace('-', '')}-DEMO-{len(claims) + 1:04d}"},
                    field_versions={k: [1, SERVER_DEVICE] for k in fields}, created_by=adjuster_id,
                )
                session.add(claim)
                session.flush()
                record_change(session, "claim", cid, claim_snapshot(claim), version=1, claim_id=cid)
                created = True
            claims.append({"id": cid, "township_code": claim.township_code, "coverage": claim.coverage})
    return {
        "created": created,
        "insurers": [{"code": c, "name": n, "lead": c == LEAD_INSURER} for c, n in DEMO_INSURERS],
        "users": users,
        "claims": claims,
    }


def seeded_ids() -> tuple[list[str], list[str]]:
    """The ids the seed gives its users and its claims: (user ids, claim ids)."""
    return ([demo_id("user:" + spec["key"]) for spec in _users()],
            [demo_id("claim:" + spec["key"]) for spec in _claims()])


# The demo work fund's agreed budget for a year (fen per spending category): the year's demo
# contributions (2% of the demo pool's premium) shared out; DEMO figures, not a real agreement.
DEMO_FUND_BUDGET = {"publicity": 6_000_000, "survey": 4_000_000, "communication": 1_000_000,
                    "project_work": 5_000_000}


def seed_fund_budget(session, year: int) -> None:  # noqa: ANN001
    """The year's demo budget, as the notice has it agreed: proposed by the lead's demo adjuster,
    confirmed by the demo coordinator. Only when the year has no budget yet (idempotent)."""
    import datetime as dt



    adjuster, coordinator = session.get(User, demo_id("user:adjuster")), session.get(User, demo_id("user:coordinator"))
    if adjuster is None or coordinator is None or fund_service.fund_budget(session, year)["confirmed"] is not None:
        return
    now = dt.datetime.now(dt.timezone.utc)
    proposed = fund_service.propose_budget(session, adjuster, year, DEMO_FUND_BUDGET, "演示：年度经费预算", now)["proposed"]
    if proposed is not None:
        fund_service.confirm_budget(session, coordinator, year, proposed["version"], now)


def existing_demo_users(db: Database) -> list[dict]:
    with db.read() as session:
        ids = [demo_id("user:" + spec["key"]) for spec in _users()]
        return [accounts.user_dict(u) for u in session.execute(select(User).where(User.id.in_(ids))).scalars()]
