"""Claim authority on the database: the tier of an adjusted amount and the share-weighted vote come
from claimcore.authority only; here the review is opened, published to the co-insurers, its
consultation and opinions recorded, and the workflow's guard on adjusted -> approved answered."""
from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from claimcore import authority as ca
from claimcore import entities
from claimcore.localtime import format_china_time

from ..core.changelog import record_change
from ..core.error_codes import ERR
from ..core.models import Claim, User
from ..core.rules import RuleError, RuleSettings, aware, to_utc
from ..insurers import service as insurers_service
from ..rotation import service as rotation_service
from .models import AuthorityReview, Consultation, Opinion


def _lock_claim(session: Session, claim_id: str) -> None:
    """Whoever opens, answers or publishes a claim's review waits for the others, in whichever
    server process they run: on PostgreSQL the claim's row lock, held to the end of the
    transaction. Without it two first opinions both open the review (one fails on its key) and
    two publications hand the co-insurers one version twice. SQLite has one writer at a time."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(Claim.id).where(Claim.id == claim_id).with_for_update())


def _review(session: Session, claim: Claim, settings: RuleSettings, now: dt.datetime) -> AuthorityReview | None:
    """The review of the claim's current adjusted amount, opened (co-insurers informed) on first
    sight of that amount. A changed amount opens a new review: opinions were about the old one."""
    amount = claim.adjusted_amount_fen
    if amount is None:
        return None
    _lock_claim(session, claim.id)
    review = session.get(AuthorityReview, claim.id, populate_existing=True)
    tier = ca.tier_for_amount(amount, settings.thresholds)
    if review is not None and review.amount_fen == amount:
        return review
    if review is None:
        review = AuthorityReview(claim_id=claim.id)
        session.add(review)
    review.amount_fen, review.tier, review.opened_at, review.result = amount, tier.value, now, None
    review.window_ends_at = now + settings.opinion_window if tier is ca.Tier.INFORM_COINSURERS else None
    session.flush()
    return review


def _publish_review(session: Session, claim: Claim, review: AuthorityReview, view: dict) -> None:
    """Inform every co-insurer: a public feed entry with the amount, tier, consultation, opinions
    and outcome (no personal data: the claim's people never leave its scope)."""
    review.version = (review.version or 0) + 1
    doc = {k: v for k, v in view.items() if k != "claim_id"}
    doc.update(report_no=(claim.data or {}).get("report_no"), coverage=claim.coverage,
               township_code=claim.township_code, status=claim.status)
    record_change(session, "authority_review", claim.id, doc, version=review.version)


_REASONS = {
    "lead_alone": ("首席承保人全权处理", "lead insurer decides alone"),
    "all_opined": ("各共保方均已提出意见，由首席承保人形成最终理赔意见",
                   "every co-insurer gave its opinion"),
    "window_over": ("意见征询期已过，以首席承保人意见为准",
                    "opinion window closed; the lead's opinion stands"),
    "waiting_opinions": ("等待共保方意见：{missing}（截至 {until}）",
                         "waiting for opinions from {missing} until {until}"),
    "consultation_required": ("须先召开赔案处理会商会议并登记会议记录，再表决",
                              "the consultation meeting must be recorded before any vote"),
    "agreed": ("全体共保人会商一致同意", "all co-insurers agreed in consultation"),
    "vote_approved": ("按承保份额投票通过", "share-weighted vote approved"),
    "vote_rejected": ("按承保份额投票未通过，须重新理算", "share-weighted vote rejected the amount"),
    "waiting_votes": ("会商后表决中，等待：{missing}", "consultation: waiting for {missing}"),
    "vote_undecided": ("表决未形成决议，需再次表决", "vote undecided"),
}


def _blanks(params: dict, names: dict[str, str] | None = None) -> dict[str, str]:
    """The reason's blanks: with ``names`` (the Chinese text) the insurers by name and the
    window's end in China time; without (the English one) the codes and ISO time."""
    out: dict[str, str] = {}
    if "missing" in params:
        out["missing"] = ("、".join(names.get(c, c) for c in params["missing"]) if names is not None
                          else ", ".join(params["missing"]))
    if "until" in params:
        until = params["until"].isoformat()
        out["until"] = format_china_time(until) if names is not None else until
    return out


def consultation_dict(c: Consultation | None) -> dict | None:
    if c is None:
        return None
    return {"id": c.id, "held_at": aware(c.held_at).isoformat(), "attendees": list(c.attendees),
            "engage_assessor": c.engage_assessor, "engage_lawyer": c.engage_lawyer,
            "minutes": c.minutes, "recorded_by": c.recorded_by}


def _consultation(session: Session, claim_id: str, amount_fen: int) -> Consultation | None:
    return session.execute(
        select(Consultation).where(Consultation.claim_id == claim_id, Consultation.amount_fen == amount_fen)
        .order_by(Consultation.created_at.desc())).scalars().first()


def authority_view(session: Session, settings: RuleSettings, claim_id: str, now: dt.datetime) -> dict:
    claim = rotation_service._claim(session, claim_id)
    review = _review(session, claim, settings, now)
    if review is None:
        return {"claim_id": claim_id, "amount_fen": None, "tier": None, "cleared": False,
                "reason": "no adjusted amount yet", "reason_zh": "尚未理算", "opinions": [], "vote": None,
                "consultation": None, "missing": []}
    tier = ca.Tier(review.tier)
    lead = insurers_service.lead_code(session)
    sh = insurers_service.shares(session)
    opinions = session.execute(
        select(Opinion).where(Opinion.claim_id == claim_id, Opinion.amount_fen == review.amount_fen)
        .order_by(Opinion.created_at)).scalars().all()
    latest: dict[str, Opinion] = {}
    for o in opinions:
        latest[o.insurer_code] = o  # the latest opinion of each insurer counts
    co = sorted(c for c in sh if c != lead)
    missing = [c for c in co if c not in latest]
    meeting = _consultation(session, claim_id, review.amount_fen) if tier is ca.Tier.FULL_CONSULTATION else None
    vote = None
    params: dict[str, str] = {}
    if tier is ca.Tier.LEAD_ALONE:
        cleared, why = True, "lead_alone"
    elif tier is ca.Tier.INFORM_COINSURERS:
        window_over = now >= aware(review.window_ends_at)
        cleared = not missing or window_over
        why = "all_opined" if not missing else "window_over" if window_over else "waiting_opinions"
        params = {"missing": missing, "until": aware(review.window_ends_at)}
    else:
        votes = {c: o.vote for c, o in latest.items()}
        agreed = not missing and all(v == "approve" for c, v in votes.items() if c != lead)
        try:  # first: a pool whose shares cannot carry a vote is said at once, meeting or not
            result = ca.weighted_vote(votes, sh, lead_code=lead)
        except ca.VoteError as exc:
            raise RuleError(409, ERR.shares_incomplete, f"the pool's shares cannot carry a vote: {exc}") from None
    if tier is ca.Tier.FULL_CONSULTATION and meeting is None:
        cleared, why = False, "consultation_required"
    elif tier is ca.Tier.FULL_CONSULTATION:
        vote = {"outcome": result.outcome, "decided_by": result.decided_by, "totals_bp": result.totals_bp,
                "ballots": result.ballots, "abstained": list(result.abstained), "basis_bp": result.basis_bp,
                "threshold_bp": result.threshold_bp, "explain": result.explain("zh"),
                "explain_en": result.explain("en")}
        if agreed:
            cleared, why = True, "agreed"
        elif result.outcome == "approve":
            cleared, why = True, "vote_approved"
        elif result.decided:
            cleared, why = False, "vote_rejected"
        else:
            cleared, why = False, ("waiting_votes" if missing else "vote_undecided")
            params = {"missing": missing}
    zh, en = _REASONS[why]
    reason, reason_zh = en.format(**_blanks(params)), zh.format(**_blanks(params, insurers_service.names(session)))
    view = {
        "claim_id": claim_id, "amount_fen": review.amount_fen, "tier": tier.value,
        "tier_label": tier.label("zh"), "opened_at": aware(review.opened_at).isoformat(),
        "window_ends_at": aware(review.window_ends_at).isoformat() if review.window_ends_at else None,
        "cleared": cleared, "reason_code": why, "reason": reason, "reason_zh": reason_zh, "missing": missing,
        "consultation": consultation_dict(meeting),
        "opinions": [{"insurer_code": o.insurer_code, "vote": o.vote, "opinion": o.opinion,
                      "user_id": o.user_id, "at": aware(o.created_at).isoformat()} for o in latest.values()],
        "vote": vote,
    }
    result_doc = {"cleared": cleared, "reason": reason, "vote": vote,
                  "opinions": len(latest), "consultation": meeting.id if meeting else None}
    if review.result != result_doc:
        review.result = result_doc  # stored with its arithmetic, shown as stored
        if tier is not ca.Tier.LEAD_ALONE:
            _publish_review(session, claim, review, view)
    return view


def claim_moved(session: Session, settings: RuleSettings, claim: Claim, now: dt.datetime) -> None:
    """The co-insurers' copy of a review follows its claim's state (approved, re-adjusted...)."""
    review = session.get(AuthorityReview, claim.id)
    if review is None or review.tier == ca.Tier.LEAD_ALONE.value or review.amount_fen != claim.adjusted_amount_fen:
        return
    _publish_review(session, claim, review, authority_view(session, settings, claim.id, now))


def record_consultation(session: Session, settings: RuleSettings, claim_id: str, user: User, *,
                        held_at: dt.datetime, attendees: list[str], engage_assessor: bool,
                        engage_lawyer: bool, minutes: str, now: dt.datetime) -> dict:
    """The lead calls the meeting (annex 2); it is recorded before any vote on the amount."""
    claim = rotation_service._claim(session, claim_id)
    review = _review(session, claim, settings, now)
    if review is None or review.tier != ca.Tier.FULL_CONSULTATION.value:
        raise RuleError(409, ERR.no_consultation_tier,
                        "only a claim in the full-consultation tier (300,000 yuan or more) has a consultation")
    known = set(insurers_service.shares(session))
    unknown = sorted(set(attendees) - known)
    if unknown:
        raise RuleError(422, ERR.invalid_insurer, f"not insurers of the pool: {', '.join(unknown)}")
    if not attendees:
        raise RuleError(422, ERR.attendees_required, "name the co-insurers present")
    if held_at.tzinfo is None:
        raise RuleError(422, ERR.invalid_datetime, "held_at needs a UTC offset")
    if held_at > now + dt.timedelta(minutes=5):
        raise RuleError(422, ERR.invalid_datetime, "a consultation is recorded after it was held")
    row = Consultation(id=str(uuid.uuid4()), claim_id=claim_id, amount_fen=review.amount_fen,
                       held_at=to_utc(held_at), attendees=sorted(set(attendees)), engage_assessor=engage_assessor,
                       engage_lawyer=engage_lawyer, minutes=minutes, recorded_by=user.id, created_at=now)
    session.add(row)
    session.flush()
    return authority_view(session, settings, claim_id, now)


def add_opinion(session: Session, settings: RuleSettings, claim_id: str, user: User, vote: str,
                opinion: str, now: dt.datetime, *, opinion_id: str | None = None) -> dict:
    claim = rotation_service._claim(session, claim_id)
    review = _review(session, claim, settings, now)
    if review is None or review.tier == ca.Tier.LEAD_ALONE.value:
        raise RuleError(409, ERR.no_review, "this claim has no co-insurer review open")
    if user.role == "surveyor":
        insurer = user.insurer_code
    elif user.role == "adjuster":
        insurer = insurers_service.lead_code(session)
    else:
        raise RuleError(403, ERR.forbidden, "only co-insurers' surveyors and the lead's adjusters give opinions")
    if insurer not in insurers_service.shares(session):
        raise RuleError(403, ERR.forbidden, "your insurer has no share in the pool")
    if review.tier == ca.Tier.FULL_CONSULTATION.value and _consultation(session, claim_id, review.amount_fen) is None:
        raise RuleError(409, ERR.consultation_required,
                        "record the consultation meeting (POST /claims/{id}/consultations) before any vote")
    if vote not in entities.VOTES:
        raise RuleError(422, ERR.invalid_vote, "vote must be approve, reject or abstain")
    session.add(Opinion(id=opinion_id or str(uuid.uuid4()), claim_id=claim_id, amount_fen=review.amount_fen,
                        insurer_code=insurer, user_id=user.id, vote=vote, opinion=opinion, created_at=now))
    session.flush()
    return authority_view(session, settings, claim_id, now)


def authority_cleared(session: Session, settings: RuleSettings, claim: Claim, now: dt.datetime) -> bool:
    """The workflow's guard on adjusted -> approved: is the claim-authority step done (the lead
    alone below the first tier, the co-insurers informed, or the consultation and the vote)?"""
    try:
        return bool(authority_view(session, settings, claim.id, now)["cleared"])
    except RuleError:
        return False


