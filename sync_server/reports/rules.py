"""What the quarterly review and the annual report of annex 2 (四、工作总结及分析回顾) say, as data.

    build_report(kind, year, quarter, claims, rotation_history, fund, insurers, ...,
                 recoveries=None) -> dict

The report is rendered by render_xlsx.to_xlsx (one sheet per section) and render_pdf.to_pdf;
both say what this module says, and nothing of their own.

``claims`` are plain dicts (the server's adapter, sync_server.reports.service, builds them): ``id``,
``coverage``, ``township_code``, ``status``, ``claimed_amount_fen``, ``paid_amount_fen`` and the
moments ``reported_at``, ``surveyed_at``, ``documents_complete_at``, ``paid_at`` (aware datetimes
or None). A claim belongs to the period its ``reported_at`` falls in (China time). Durations are
whole days between those moments; a claim without the later moment is left out of that measure
and the count says how many were measured.

``recoveries`` (optional): per co-insurer ``owed_fen``, ``demanded_fen``, ``received_fen``,
``outstanding_fen`` as they stood at the end of the period (fund.recovery_positions); the report
lists them with the insurers' names and a totals row.

``month_floor`` (optional): how many co-insurers must take part in surveys each month (annex 2
二(二) "每月至少确保1-2家共保公司参与"; the rotation's ``month_floor``). Each month of the period is then
reported as met or not: the co-insurers that accepted a survey in it, counted as the rotation
counts them. A month not over at ``as_of`` that has not met it yet is ``in_progress``, one not
begun ``not_started``.

``settlement`` (annual): the year-end 多退少补 per insurer (fund.year_end_settlement: positive = the
fund refunds, negative = the insurer tops up), or ``settlement_error`` saying why it cannot be
computed; ``names`` names every insurer of the pool, the lead included.

``narrative`` (annual) and ``review_meeting`` (quarterly): what people wrote (sync_server.reports.records).

``demo``: the data came from the demo seed; every page, sheet and the JSON say 演示数据.
"""
from __future__ import annotations

import datetime as dt
from statistics import median
from typing import Any, Iterable, Mapping

from claimcore.localtime import CHINA_TIME

from ..fund import rules as fund

CHINA = CHINA_TIME

COVERAGE_NAMES = {
    "natural_disaster": "自然灾害", "crowd_stampede": "拥挤踩踏", "terrorism": "恐怖活动",
    "falling_object": "高空坠物", "mental_patient": "精神病人伤人", "municipal_facility": "市政设施",
    "fire_explosion": "火灾爆炸", "infectious_disease": "法定传染病", "violent_crime": "重大恶性案件",
    "good_samaritan": "见义勇为", "resettlement": "附加安置费用", "drowning": "附加公共区域溺水",
}
STATUS_NAMES = {
    "reported": "已报案", "registered": "已立案", "survey_dispatched": "已派查勘", "surveyed": "已查勘",
    "collecting": "收集资料", "submitted": "已提交", "under_review": "审核中", "incomplete": "资料不全",
    "declined": "拒赔", "adjusted": "已理算", "approved": "已核准", "stamped": "已用印", "paid": "已赔付",
    "closed": "已结案", "withdrawn": "已撤案", "reopened": "重开",
}
CATEGORY_NAMES = {code: names["zh"] for code, names in fund.CATEGORY_NAMES.items()}  # the fund's own word list
DURATIONS = (
    ("report_to_survey", "surveyed_at", "报案→查勘"),
    ("report_to_documents", "documents_complete_at", "报案→资料齐全"),
    ("report_to_payment", "paid_at", "报案→赔付"),
)


class ReportError(ValueError):
    pass


def period_bounds(kind: str, year: int, quarter: int | None) -> tuple[dt.datetime, dt.datetime]:
    if kind == "annual":
        return dt.datetime(year, 1, 1, tzinfo=CHINA), dt.datetime(year + 1, 1, 1, tzinfo=CHINA)
    if kind != "quarterly" or quarter not in (1, 2, 3, 4):
        raise ReportError("a report is 'annual', or 'quarterly' with quarter 1-4")
    start = dt.datetime(year, 3 * quarter - 2, 1, tzinfo=CHINA)
    end = (dt.datetime(year + 1, 1, 1, tzinfo=CHINA) if quarter == 4
           else dt.datetime(year, 3 * quarter + 1, 1, tzinfo=CHINA))
    return start, end


def _group(claims: list[dict], key: str, names: Mapping[str, str] | None = None) -> list[dict]:
    out: dict[str, dict] = {}
    for c in claims:
        code = c.get(key) or "-"
        row = out.setdefault(code, {"code": code, "name": (names or {}).get(code, code),
                                    "count": 0, "claimed_fen": 0, "paid_fen": 0})
        row["count"] += 1
        row["claimed_fen"] += c.get("claimed_amount_fen") or 0
        row["paid_fen"] += c.get("paid_amount_fen") or 0
    return sorted(out.values(), key=lambda r: (-r["count"], r["code"]))


def _days(a: dt.datetime | None, b: dt.datetime | None) -> int | None:
    if a is None or b is None:
        return None
    return (b - a).days


DEMO_NOTICE = "演示数据：非真实案件与合同数据"
FLOOR_STATES = {"met": "已达到", "not_met": "未达到", "in_progress": "本月进行中，尚未达到",
                "not_started": "未开始"}


def build_report(kind: str, year: int, quarter: int | None, claims: Iterable[dict],
                 rotation_history: Iterable[dict], fund: dict | None,
                 insurers: Mapping[str, str], township_names: Mapping[str, str] | None = None,
                 demo: bool = False, recoveries: Mapping[str, Mapping[str, int]] | None = None, *,
                 month_floor: int | None = None, as_of: dt.datetime | None = None,
                 settlement: Mapping[str, int] | None = None, settlement_error: str | None = None,
                 names: Mapping[str, str] | None = None, narrative: dict | None = None,
                 review_meeting: dict | None = None) -> dict[str, Any]:
    start, end = period_bounds(kind, year, quarter)
    in_period = [c for c in claims if c.get("reported_at") and start <= c["reported_at"] < end]
    durations = {}
    for name, field, label in DURATIONS:
        values = [d for c in in_period if (d := _days(c["reported_at"], c.get(field))) is not None]
        durations[name] = {
            "label": label, "measured": len(values),
            "mean": round(sum(values) / len(values), 1) if values else None,
            "median": median(values) if values else None,
            "max": max(values) if values else None,
        }
    months = []
    cursor = start
    while cursor < end:
        months.append(f"{cursor.year:04d}-{cursor.month:02d}")
        cursor = (cursor.replace(year=cursor.year + 1, month=1) if cursor.month == 12
                  else cursor.replace(month=cursor.month + 1))
    participation = {code: {m: 0 for m in months} for code in insurers}
    for h in rotation_history:
        if h["kind"] != "accepted":
            continue
        at = h["at"] if isinstance(h["at"], dt.datetime) else dt.datetime.fromisoformat(h["at"])
        if not start <= at < end:
            continue
        month = f"{at.astimezone(CHINA).year:04d}-{at.astimezone(CHINA).month:02d}"
        participation.setdefault(h["insurer_code"], {m: 0 for m in months})[month] += 1
    all_names = {**insurers, **(names or {})}
    out = {
        "kind": kind, "year": year, "quarter": quarter, "demo": demo,
        "title": (f"{year}年第{quarter}季度巨灾保险理赔工作回顾" if kind == "quarterly"
                  else f"{year}年度巨灾保险工作报告"),
        "period": {"from": start.date().isoformat(), "to": (end - dt.timedelta(days=1)).date().isoformat()},
        "claims": {
            "total": len(in_period),
            "by_coverage": _group(in_period, "coverage", COVERAGE_NAMES),
            "by_township": _group(in_period, "township_code", township_names or {}),
            "by_status": _group(in_period, "status", STATUS_NAMES),
        },
        "amounts": {
            "claimed_fen": sum(c.get("claimed_amount_fen") or 0 for c in in_period),
            "paid_fen": sum(c.get("paid_amount_fen") or 0 for c in in_period),
        },
        "durations_days": durations,
        "rotation": {
            "months": months,
            "insurers": [
                {"insurer_code": code, "name": insurers.get(code, code), "by_month": participation[code],
                 "total": sum(participation[code].values())}
                for code in participation
            ],
        },
        "fund": fund,
        "recoveries": _recovery_table(recoveries, insurers, end) if recoveries is not None else None,
    }
    if demo:
        out["demo_notice"] = DEMO_NOTICE
    if month_floor is not None:
        out["rotation"]["floor"] = _month_floor(months, participation, month_floor, all_names, as_of)
    if kind == "annual" and (settlement is not None or settlement_error is not None):
        out["settlement"] = _settlement_table(settlement, settlement_error, all_names, year)
    if narrative is not None:
        out["narrative"] = narrative
    if review_meeting is not None:
        out["review_meeting"] = review_meeting
    return out


def _month_start(month: str) -> dt.datetime:
    return dt.datetime(int(month[:4]), int(month[5:]), 1, tzinfo=CHINA)


def _month_floor(months: list[str], participation: Mapping[str, Mapping[str, int]], required: int,
                 names: Mapping[str, str], as_of: dt.datetime | None) -> dict:
    """Per month: the co-insurers that took part (accepted a survey) and whether the floor was met."""
    rows = []
    for m in months:
        start = _month_start(m)
        end = (start.replace(year=start.year + 1, month=1) if start.month == 12
               else start.replace(month=start.month + 1))
        codes = sorted(c for c, by_month in participation.items() if by_month.get(m, 0) > 0)
        if len(codes) >= required:
            status = "met"
        elif as_of is not None and as_of < start:
            status = "not_started"
        elif as_of is not None and as_of < end:
            status = "in_progress"
        else:
            status = "not_met"
        rows.append({"month": m, "participants": codes, "participant_names": [names.get(c, c) for c in codes],
                     "count": len(codes), "required": required, "met": status == "met", "status": status,
                     "status_name": FLOOR_STATES[status]})
    judged = [r for r in rows if r["status"] in ("met", "not_met")]
    return {"required": required, "months": rows, "months_met": sum(r["met"] for r in judged),
            "months_judged": len(judged)}


def _settlement_table(settlement: Mapping[str, int] | None, error: str | None, names: Mapping[str, str],
                      year: int) -> dict:
    if settlement is None:
        return {"year": year, "insurers": [], "error": error}
    rows = [{"insurer_code": c, "name": names.get(c, c), "amount_fen": v,
             "refund_fen": max(v, 0), "top_up_fen": max(-v, 0)} for c, v in settlement.items()]
    return {"year": year, "insurers": rows, "error": None,
            "total": {"refund_fen": sum(r["refund_fen"] for r in rows),
                      "top_up_fen": sum(r["top_up_fen"] for r in rows)}}


RECOVERY_FIGURES = (("owed_fen", "应摊回"), ("demanded_fen", "已发函追偿"), ("received_fen", "已收回"),
                    ("outstanding_fen", "未收回"))


def _recovery_table(positions: Mapping[str, Mapping[str, int]], insurers: Mapping[str, str],
                    end: dt.datetime) -> dict:
    rows = [{"insurer_code": code, "name": insurers.get(code, code),
             **{k: p.get(k, 0) for k, _ in RECOVERY_FIGURES}} for code, p in positions.items()]
    return {"as_of": (end - dt.timedelta(days=1)).date().isoformat(), "insurers": rows,
            "total": {k: sum(r[k] for r in rows) for k, _ in RECOVERY_FIGURES}}


def submission_lines(nar: dict | None) -> list[list[str]]:
    """The report's state and its last submission, as label/value pairs."""
    if not nar:
        return []
    out = [["报告状态", nar["state_name"]]]
    sub = nar.get("submission")
    if sub:
        out.append(["提交", f"{(sub['submitted_by'] or {}).get('name', '')} · {_moment(sub['submitted_at'])}"])
        if sub.get("withdrawn_at"):
            out.append(["撤回", f"{(sub['withdrawn_by'] or {}).get('name', '')} · {_moment(sub['withdrawn_at'])}"])
        if sub.get("reviewed_at"):
            out.append(["区金融中心审查", f"{(sub['reviewed_by'] or {}).get('name', '')} · "
                                   f"{_moment(sub['reviewed_at'])} · {STATE_NAMES_REVIEW.get(sub['outcome'], '')}"])
            if sub.get("review_comment"):
                out.append(["审查意见", sub["review_comment"]])
    return out


STATE_NAMES_REVIEW = {"accepted": "通过", "returned": "退回修改"}


def _moment(iso: str | None) -> str:
    """A stored moment as Dazu's wall clock, to the minute."""
    if not iso:
        return ""
    return dt.datetime.fromisoformat(iso).astimezone(CHINA).strftime("%Y-%m-%d %H:%M")


def fund_disclosures(report: dict) -> list[dict]:
    fund = report.get("fund")
    if not fund:
        return []
    return fund.get("quarters") or [fund]


def spending_by_category(report: dict) -> dict[str, int]:
    """The period's spending per category: every quarter of it (the whole year in the annual report)."""
    total = {k: 0 for k in CATEGORY_NAMES}
    for d in fund_disclosures(report):
        for k, v in d["spending_by_category"].items():
            total[k] = total.get(k, 0) + v
    return total
