"""A report's data from the database: the claims, the rotation's history, the fund and the
recoveries as the period closed, handed to the pure builder (sync_server.reports.rules)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from ..core import rules as core_rules
from ..core.models import Assignment, Claim
from ..events import service as events_service
from ..fund import rules as fundlib
from ..fund import recoveries as recovery_service
from ..fund import service as fund_service
from ..insurers import service as insurers_service
from ..rotation import service as rotation_service
from ..rotation.models import AssignmentDetails
from . import records
from . import rules as reports


def _report_claims(session) -> list[dict]:
    firsts: dict[str, dt.datetime] = {}
    for a, d in session.execute(select(Assignment, AssignmentDetails).join(
            AssignmentDetails, AssignmentDetails.assignment_id == Assignment.id)).all():
        moment = core_rules.aware(d.arrived_at or d.completed_at)
        if moment and (a.claim_id not in firsts or moment < firsts[a.claim_id]):
            firsts[a.claim_id] = moment

    out = []
    for c in session.execute(select(Claim)).scalars():
        data = c.data or {}
        out.append({
            "id": c.id, "coverage": c.coverage, "township_code": c.township_code, "status": c.status,
            "claimed_amount_fen": c.claimed_amount_fen, "paid_amount_fen": c.paid_amount_fen,
            "reported_at": events_service.parse_moment(data.get("reported_at")) or core_rules.aware(c.created_at),
            "surveyed_at": firsts.get(c.id),
            "documents_complete_at": events_service.parse_moment(data.get("submitted_at")),
            "paid_at": events_service.parse_moment(data.get("paid_at")),
        })
    return out


def build_report(session, kind: str, year: int, quarter: int | None,
                 rules: core_rules.RuleSettings | None = None, now: dt.datetime | None = None) -> dict:
    from ..core import domain

    rows = insurers_service.insurer_rows(session)
    insurers = {r["code"]: r["name"] for r in rows if not r["is_lead"]}
    history = [{"at": e.at, "insurer_code": e.insurer_code, "claim_id": e.claim_id, "kind": e.kind}
               for e in rotation_service.log_entries(session)]
    entries, sh = fund_service.fund_entries(session), insurers_service.shares(session)
    quarters = [quarter] if kind == "quarterly" else [1, 2, 3, 4]
    fund = recoveries = None
    if sh and sum(sh.values()) == fundlib.TOTAL_BP:
        fund = {"quarters": [fundlib.quarterly_disclosure(entries, sh, year, q).as_dict() for q in quarters]}
        # As the period closed: claims paid and entries dated before its end; a later correction
        # counts in its own period, so a published report keeps its figures.
        _, end = reports.period_bounds(kind, year, quarter)
        try:
            recoveries = recovery_service.recovery_positions(session, end.date())
        except core_rules.RuleError:  # no lead insurer set: nobody to recover for
            recoveries = None
    settlement = settlement_error = None
    if kind == "annual":
        # The year-end 多退少补 as /fund/settlement computes it (a year not over: as it stands).
        if fund is None:
            settlement_error = "各公司份额合计不为100%，无法计算"
        else:
            try:
                settlement = fundlib.year_end_settlement(entries, sh, year)
            except fundlib.FundError:
                settlement_error = f"{year - 1}年度工作经费尚未年终结算（{year}年初余额不为零），无法计算"
    rules = rules or core_rules.rule_settings()
    return reports.build_report(kind, year, quarter, _report_claims(session), history, fund, insurers,
                                domain.townships(), demo=records.demo_data_present(session),
                                recoveries=recoveries, month_floor=rules.rotation.month_floor, as_of=now,
                                settlement=settlement, settlement_error=settlement_error,
                                names={r["code"]: r["name"] for r in rows},
                                **records.for_report(session, kind, year, quarter))


