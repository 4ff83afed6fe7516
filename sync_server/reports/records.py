"""What people write into the reports of annex 2 (四、工作总结及分析回顾), kept on the server.

The annual report: in January the lead insurer reports on the previous year "从赔付数据、案件分析、
宣传效果、存在的不足与下一步工作打算等多方面形成正式报告，提交区金融发展事务审查". The payment figures are
computed (sync_server.reports.rules); the other four parts are written by the lead's office (adjusters)
and stored here, one draft per year. Submitting records who submitted it and when, with the text as
submitted; the Center (the coordinator) then records its review: accepted, or returned with a
comment.

The narrative is frozen from submission on. A change needs the submission withdrawn (the lead may,
while the Center has not reviewed it) or the Center returning it; it is then edited and submitted
again, a new submission with its own record. Nothing is deleted: every submission, withdrawal and
review stays listed. An accepted report is final.

The quarterly review meeting: "对于上一季度工作进行回顾总结，并结合灾害情况做深入分析和制定相应措施". Its
minutes and the measures agreed are stored per quarter reviewed and printed in that quarter's
report; either office role keeps them.

Every save names the revision it edits, so two people editing at once cannot overwrite each other
without knowing it (409 ``stale_revision``)."""
from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Mapping, Sequence

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from claimcore.localtime import CHINA_TIME

from ..core.error_codes import ERR
from ..core.models import Claim, User
from ..core.rules import RuleError, aware, to_utc
from .models import AnnualReportNarrative, AnnualReportSubmission, QuarterlyReviewMinutes

# The written parts of the annual report, in the notice's order (赔付数据 comes first, computed).
NARRATIVE_SECTIONS: tuple[tuple[str, str], ...] = (
    ("case_analysis", "案件分析"),
    ("publicity", "宣传效果"),
    ("shortcomings", "存在的不足"),
    ("next_steps", "下一步工作打算"),
)


SECTION_KEYS = tuple(k for k, _ in NARRATIVE_SECTIONS)


SECTION_MAX_CHARS = 20_000


# States of a year's annual report.
DRAFT = "draft"  # being written (never submitted, or withdrawn)


SUBMITTED = "submitted"  # with the Center, awaiting its review: frozen


ACCEPTED = "accepted"  # the Center accepted it: final


RETURNED = "returned"  # the Center returned it with a comment: edited and submitted again


STATES = (DRAFT, SUBMITTED, ACCEPTED, RETURNED)


STATE_NAMES = {DRAFT: "草稿", SUBMITTED: "已提交，待区金融中心审查", ACCEPTED: "区金融中心已审查通过",
               RETURNED: "区金融中心退回修改"}


REVIEW_OUTCOMES = (ACCEPTED, RETURNED)


MINUTES_MAX_CHARS = 20_000


MEASURE_MAX_CHARS = 1_000


MAX_MEASURES = 50


def _when(moment: dt.datetime | None) -> str | None:
    return aware(moment).isoformat() if moment is not None else None


def _person(session: Session, user_id: str | None) -> dict | None:
    if user_id is None:
        return None
    user = session.get(User, user_id)
    return {"id": user_id, "name": user.name if user is not None else user_id}


# Advisory lock space of the written report records (two-key form): the annual report on a year,
# and the minutes of a quarter (year * 10 + quarter).
_RECORDS_LOCK = 420_711_306


def _lock(session: Session, key: int) -> None:
    """Saves, submissions and reviews of one record wait for each other, whichever server process
    runs them (PostgreSQL: a transaction-scoped advisory lock; SQLite has one writer at a time).
    Without it two saves of the same revision both pass the revision check, the second overwrites
    the first, and two first saves both insert the record (one fails on its key)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:ns, :k)"), {"ns": _RECORDS_LOCK, "k": key})


def _stale(current: int, expected: int) -> None:
    if current != expected:
        raise RuleError(409, ERR.stale_revision,
                        f"this was saved meanwhile (revision {current}, not {expected}): reload and edit again")


def _submissions(session: Session, year: int) -> list[AnnualReportSubmission]:
    return list(session.execute(select(AnnualReportSubmission).where(AnnualReportSubmission.year == year)
                                .order_by(AnnualReportSubmission.seq)
                                ).scalars())


def _state(last: AnnualReportSubmission | None) -> str:
    if last is None or last.withdrawn_at is not None:
        return DRAFT
    if last.outcome is None:
        return SUBMITTED
    return last.outcome


def _submission_dict(session: Session, s: AnnualReportSubmission) -> dict:
    return {"id": s.id, "revision": s.revision, "submitted_by": _person(session, s.submitted_by),
            "submitted_at": _when(s.submitted_at), "withdrawn_by": _person(session, s.withdrawn_by),
            "withdrawn_at": _when(s.withdrawn_at), "reviewed_by": _person(session, s.reviewed_by),
            "reviewed_at": _when(s.reviewed_at), "outcome": s.outcome, "review_comment": s.review_comment}


def narrative(session: Session, year: int) -> dict:
    """The year's written parts and where the report stands. While submitted or accepted, the
    parts are the text as submitted (which the freeze keeps equal to the draft)."""
    draft = session.get(AnnualReportNarrative, year)
    subs = _submissions(session, year)
    last = subs[-1] if subs else None
    state = _state(last)
    text = dict(draft.sections) if draft is not None else {}
    if state in (SUBMITTED, ACCEPTED):
        text = dict(last.sections)
    return {
        "year": year, "state": state, "state_name": STATE_NAMES[state],
        "frozen": state in (SUBMITTED, ACCEPTED),
        "revision": draft.revision if draft is not None else 0,
        "sections": [{"key": k, "title": title, "text": text.get(k, "")} for k, title in NARRATIVE_SECTIONS],
        "updated_by": _person(session, draft.updated_by) if draft is not None else None,
        "updated_at": _when(draft.updated_at) if draft is not None else None,
        "submission": _submission_dict(session, last) if last is not None else None,
        "submissions": [_submission_dict(session, s) for s in subs],
    }


def save_narrative(session: Session, user: User, year: int, sections: Mapping[str, str], revision: int,
                   now: dt.datetime) -> dict:
    """Save the draft (the parts given; the others stay). Refused while frozen."""
    _lock(session, year)
    state = _state(next(reversed(_submissions(session, year)), None))
    if state == SUBMITTED:
        raise RuleError(409, ERR.report_frozen, "the report is with the Center: withdraw the submission to change it")
    if state == ACCEPTED:
        raise RuleError(409, ERR.report_frozen, "the Center accepted this report: it is final")
    draft = session.get(AnnualReportNarrative, year)
    if draft is None:
        draft = AnnualReportNarrative(year=year, sections={}, revision=0)
        session.add(draft)
    _stale(draft.revision, revision)
    draft.sections = {**(draft.sections or {}), **{k: v for k, v in sections.items() if k in SECTION_KEYS}}
    draft.revision += 1
    draft.updated_by, draft.updated_at = user.id, to_utc(now)
    session.flush()
    return narrative(session, year)


def submit(session: Session, user: User, year: int, revision: int, now: dt.datetime) -> dict:
    """Submit the draft to the Center, as it stands at ``revision``."""
    _lock(session, year)
    if now.astimezone(CHINA_TIME).date() < dt.date(year + 1, 1, 1):
        raise RuleError(409, ERR.year_not_over, f"the report on {year} is submitted from January {year + 1} on")
    subs = _submissions(session, year)
    state = _state(subs[-1] if subs else None)
    if state in (SUBMITTED, ACCEPTED):
        raise RuleError(409, ERR.report_frozen, f"the report on {year} is already {STATE_NAMES[state]}")
    draft = session.get(AnnualReportNarrative, year)
    _stale(draft.revision if draft is not None else 0, revision)
    text = dict(draft.sections) if draft is not None else {}
    missing = [title for k, title in NARRATIVE_SECTIONS if not (text.get(k) or "").strip()]
    if missing:
        raise RuleError(409, ERR.report_incomplete, f"write every part before submitting: {'、'.join(missing)}")
    session.add(AnnualReportSubmission(id=str(uuid.uuid4()), year=year, revision=draft.revision,
                                       sections={k: text[k] for k in SECTION_KEYS},
                                       submitted_by=user.id, submitted_at=to_utc(now), review_comment=""))
    session.flush()
    return narrative(session, year)


def _open_submission(session: Session, year: int) -> AnnualReportSubmission:
    subs = _submissions(session, year)
    if not subs or _state(subs[-1]) != SUBMITTED:
        raise RuleError(409, ERR.not_submitted, f"the report on {year} is not with the Center")
    return subs[-1]


def withdraw(session: Session, user: User, year: int, now: dt.datetime) -> dict:
    """The lead takes its submission back before the Center reviewed it."""
    _lock(session, year)
    s = _open_submission(session, year)
    s.withdrawn_by, s.withdrawn_at = user.id, to_utc(now)
    session.flush()
    return narrative(session, year)


def review(session: Session, user: User, year: int, outcome: str, comment: str, now: dt.datetime) -> dict:
    """The Center's review of the submitted report: accepted (final) or returned (editable again)."""
    _lock(session, year)
    if outcome not in REVIEW_OUTCOMES:
        raise ValueError(outcome)
    if outcome == RETURNED and not comment.strip():
        raise RuleError(422, ERR.reason_required, "a returned report needs a comment saying what to change")
    s = _open_submission(session, year)
    s.reviewed_by, s.reviewed_at, s.outcome, s.review_comment = user.id, to_utc(now), outcome, comment
    session.flush()
    return narrative(session, year)


def minutes(session: Session, year: int, quarter: int) -> dict:
    row = session.get(QuarterlyReviewMinutes, (year, quarter))
    if row is None:
        return {"year": year, "quarter": quarter, "held_on": None, "attendees": "", "minutes": "",
                "measures": [], "revision": 0, "updated_by": None, "updated_at": None}
    return {"year": year, "quarter": quarter, "held_on": row.held_on.isoformat() if row.held_on else None,
            "attendees": row.attendees, "minutes": row.minutes, "measures": list(row.measures or []),
            "revision": row.revision, "updated_by": _person(session, row.updated_by),
            "updated_at": _when(row.updated_at)}


def save_minutes(session: Session, user: User, year: int, quarter: int, *, held_on: dt.date | None,
                 attendees: str, text: str, measures: Sequence[str], revision: int, now: dt.datetime) -> dict:
    _lock(session, year * 10 + quarter)
    row = session.get(QuarterlyReviewMinutes, (year, quarter))
    if row is None:
        row = QuarterlyReviewMinutes(year=year, quarter=quarter, revision=0)
        session.add(row)
    _stale(row.revision or 0, revision)
    row.held_on, row.attendees, row.minutes = held_on, attendees, text
    row.measures = [m.strip() for m in measures if m.strip()]
    row.revision = (row.revision or 0) + 1
    row.updated_by, row.updated_at = user.id, to_utc(now)
    session.flush()
    return minutes(session, year, quarter)


def demo_data_present(session: Session) -> bool:
    """The database holds what ``admin demo-seed`` creates (its users or claims, by their fixed
    ids): its reports are about demo data and must say so."""
    from .. import demo

    users, claims = demo.seeded_ids()
    return (session.execute(select(User.id).where(User.id.in_(users)).limit(1)).first() is not None
            or session.execute(select(Claim.id).where(Claim.id.in_(claims)).limit(1)).first() is not None)


def for_report(session: Session, kind: str, year: int, quarter: int | None) -> dict[str, Any]:
    """What the report of that period prints of the written parts."""
    if kind == "annual":
        return {"narrative": narrative(session, year)}
    return {"review_meeting": minutes(session, year, quarter)}


