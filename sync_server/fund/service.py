"""The work fund on the database (sync_server.fund.rules is the pure arithmetic): spending and its
caps, premiums and contributions, corrections, the quarterly disclosure, the agreed budget and the
co-insurers' comments (their recoveries of what the lead paid for all: sync_server.fund.recoveries).
Spending takes turns under a lock, so two cannot both pass the balance check."""
from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from claimcore import entities
from claimcore.localtime import to_china_time

from ..core.error_codes import ERR
from ..core.models import Assignment, Insurer, User
from ..core.rules import RuleError, RuleSettings, aware, rule_settings, to_utc
from ..insurers import service as insurers_service
from ..insurers.models import InsurerContact
from . import rules as fundlib
from .models import FundBudget, FundBudgetLine, FundComment, FundEntryRow, Premium


def _fund_entry(r: FundEntryRow) -> fundlib.FundEntry:
    return fundlib.FundEntry(r.kind, r.on, r.amount_fen, r.insurer_code, r.category, r.note, r.receipt_sha256,
                             r.id, corrects=r.corrects, correction=r.correction)


def fund_entries(session: Session) -> list[fundlib.FundEntry]:
    rows = session.execute(select(FundEntryRow).order_by(FundEntryRow.on, FundEntryRow.created_at)).scalars()
    return [_fund_entry(r) for r in rows]


def fund_entry_list(session: Session, viewer: User | None = None) -> list[dict]:
    """Every booked entry, each saying which entry it corrects and which reversal corrected it.

    A surveyor sees every entry's figures (each co-insurer may know how its fund is spent) but only
    the receipts of its own insurer's costs: a receipt's hash is the key to a photo."""
    rows = session.execute(select(FundEntryRow).order_by(FundEntryRow.on, FundEntryRow.created_at)).scalars().all()
    reversed_by = {r.corrects: r.id for r in rows if r.correction == fundlib.REVERSAL}
    out = [fund_entry_dict(r, corrected_by=reversed_by.get(r.id)) for r in rows]
    if viewer is not None and viewer.role not in entities.OFFICE_ROLES:
        for e in out:
            if viewer.role != "surveyor" or e["insurer_code"] is None or e["insurer_code"] != viewer.insurer_code:
                e["receipt_sha256"] = None
    return out


FUND_LOCK_KEY = 4_207_113_007  # spendings take turns, so two cannot both pass the balance check


# A survey's costs are booked while the survey is on or once it is done (never on an offer).
SURVEY_COST_STATUSES = ("accepted", "arrived", "completed")


def _lock_fund(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": FUND_LOCK_KEY})


def fund_balance(session: Session) -> int:
    """The fund's balance now: contributions and settlements in, spending out (corrections included)."""
    spent = session.execute(select(func.coalesce(func.sum(FundEntryRow.amount_fen), 0))
                            .where(FundEntryRow.kind == fundlib.SPENDING)).scalar()
    other = session.execute(select(func.coalesce(func.sum(FundEntryRow.amount_fen), 0))
                            .where(FundEntryRow.kind != fundlib.SPENDING)).scalar()
    return int(other) - int(spent)


# Who books the work fund: the lead insurer manages it (由首席承保人…负责工作经费管理), the
# coordinator supervises it and confirms its budget; surveyors log their own survey costs.
FUND_BOOKERS = ("adjuster",)


LEAD_BOOKS = ("the lead insurer books the work fund (its adjusters); the coordinator supervises it and "
              "confirms its budget")


def _lead_books(actor: User | None) -> None:
    """Premiums, spending and corrections are the lead's to book (``None``: the server itself,
    e.g. the demo seed)."""
    if actor is not None and actor.role not in FUND_BOOKERS:
        raise RuleError(403, ERR.forbidden, LEAD_BOOKS)


def _check_caps(session: Session, settings: RuleSettings, amount_fen: int, category: str | None,
                assignment_id: str | None, replacing: int = 0, on: dt.date | None = None) -> None:
    """The per-entry and per-survey caps, the confirmed budget of the year of ``on``, then the
    balance (``replacing``: the amount a correction takes back before booking ``amount_fen``)."""
    if amount_fen > settings.fund_entry_max_fen:
        raise RuleError(422, ERR.amount_over_cap, f"one spending is at most {settings.fund_entry_max_fen} fen")
    if category == fundlib.SURVEY:
        if amount_fen > settings.survey_cost_max_fen:
            raise RuleError(422, ERR.amount_over_cap, f"one survey cost is at most {settings.survey_cost_max_fen} fen")
        if assignment_id is not None:
            so_far = session.execute(select(func.coalesce(func.sum(FundEntryRow.amount_fen), 0)).where(
                FundEntryRow.kind == fundlib.SPENDING, FundEntryRow.assignment_id == assignment_id)).scalar()
            if int(so_far) - replacing + amount_fen > settings.survey_total_max_fen:
                raise RuleError(422, ERR.amount_over_cap, f"the costs of one survey add up to at most "
                                                        f"{settings.survey_total_max_fen} fen ({so_far} booked)")
    _lock_fund(session)
    if on is not None and category is not None:
        _check_budget(session, on.year, category, amount_fen, replacing)
    balance = fund_balance(session)
    if amount_fen > replacing and balance + replacing - amount_fen < 0:
        raise RuleError(409, ERR.fund_insufficient, f"the work fund holds {balance} fen: this spending would take "
                                                  "it below zero (book the contributions first)")


def _survey_assignment(session: Session, actor: User, assignment_id: str | None,
                       claim_id: str | None) -> Assignment:
    """The caller's insurer's assignment the survey cost belongs to: accepted, arrived or done."""
    a = None
    if assignment_id is not None:
        a = session.get(Assignment, assignment_id)
    elif claim_id is not None:
        a = session.execute(select(Assignment).where(
            Assignment.claim_id == claim_id, Assignment.insurer_code == (actor.insurer_code or ""))
            .order_by(Assignment.created_at.desc())).scalars().first()
    if a is None or a.insurer_code != actor.insurer_code or (claim_id is not None and a.claim_id != claim_id):
        raise RuleError(404, ERR.not_found, "no such assignment")
    if a.status not in SURVEY_COST_STATUSES:
        raise RuleError(409, ERR.assignment_not_accepted,
                        "survey costs are booked on a survey the insurer accepted (or completed)")
    return a


def log_spending(session: Session, actor: User, *, on: dt.date, amount_fen: int, category: str,
                 note: str = "", receipt_sha256: str | None = None, insurer_code: str | None = None,
                 assignment_id: str | None = None, entry_id: str | None = None, device_id: str | None = None,
                 claim_id: str | None = None, settings: RuleSettings | None = None) -> dict:
    """Spending from the work fund: the one place for its rules, whether it arrives over HTTP
    (POST /fund/entries) or from a surveyor's phone through sync (entity ``cost``).

    A surveyor logs only its own insurer's survey costs (vehicle, meals), on a survey that insurer
    accepted, always with a receipt photo; the lead's adjusters log any category (the coordinator
    supervises and books nothing: LEAD_BOOKS). Every spending is within the year's confirmed
    budget (_check_budget). A receipt must be on the server and the caller's to name (its device uploaded it,
    or it belongs to a record the caller sees: sync_server.blobs.provenance), else it is refused like a
    receipt never uploaded. Every spending is held to the caps and never takes the balance below
    zero. The receipt becomes a blob reference the office and that insurer's surveyors may read."""
    from ..blobs import provenance
    from ..blobs.models import Blob

    settings = settings or rule_settings()
    if actor.role == "surveyor":
        if category != fundlib.SURVEY or not receipt_sha256:
            raise RuleError(403, ERR.forbidden, "surveyors log survey costs with a receipt photo only")
        insurer_code = actor.insurer_code
        assignment_id = _survey_assignment(session, actor, assignment_id, claim_id).id
    elif actor.role not in FUND_BOOKERS:
        raise RuleError(403, ERR.forbidden, LEAD_BOOKS + "; a surveyor logs its own survey costs")
    elif assignment_id is not None:
        a = session.get(Assignment, assignment_id)
        if a is None:
            raise RuleError(404, ERR.not_found, "no such assignment")
    if insurer_code is not None and session.get(Insurer, insurer_code) is None:
        raise RuleError(422, ERR.invalid_insurer, f"no insurer {insurer_code}")
    try:
        entry = fundlib.FundEntry(fundlib.SPENDING, on, amount_fen, insurer_code, category, note,
                                  receipt_sha256, entry_id)
    except fundlib.FundError as exc:
        raise RuleError(422, ERR.invalid_fund_entry, str(exc)) from None
    if receipt_sha256 and (session.get(Blob, receipt_sha256) is None or device_id is None
                           or not provenance.may_reference(session, actor, device_id, receipt_sha256)):
        raise RuleError(422, ERR.receipt_not_uploaded, "the receipt photo is not on the server: upload it, "
                                                     "then book the cost")
    _check_caps(session, settings, amount_fen, category, assignment_id, on=on)
    booked = add_fund_entry(session, entry, actor, assignment_id=assignment_id)
    if receipt_sha256:
        provenance.add_blob_ref(session, receipt_sha256, "cost", booked["id"], insurer_code=insurer_code)
    return booked


def add_fund_entry(session: Session, entry: fundlib.FundEntry, actor: User, *,
                   assignment_id: str | None = None, policy_year: int | None = None,
                   reason: str | None = None) -> dict:
    row = FundEntryRow(id=entry.id or str(uuid.uuid4()), kind=entry.kind, on=entry.on, amount_fen=entry.amount_fen,
                       insurer_code=entry.insurer_code, category=entry.category, note=entry.note,
                       receipt_sha256=entry.receipt_sha256, assignment_id=assignment_id,
                       policy_year=policy_year, created_by=actor.id if actor else None,
                       corrects=entry.corrects, correction=entry.correction, reason=reason)
    session.add(row)
    session.flush()
    return fund_entry_dict(row)


def fund_entry_dict(r: FundEntryRow, *, corrected_by: str | None = None) -> dict:
    return {"id": r.id, "kind": r.kind, "on": r.on.isoformat(), "amount_fen": r.amount_fen,
            "insurer_code": r.insurer_code, "category": r.category, "note": r.note,
            "receipt_sha256": r.receipt_sha256, "assignment_id": r.assignment_id,
            "policy_year": r.policy_year, "corrects": r.corrects, "correction": r.correction,
            "reason": r.reason, "corrected_by": corrected_by}


def correct_fund_entry(session: Session, actor: User, entry_id: str, reason: str, amount_fen: int,
                       today: dt.date, settings: RuleSettings | None = None) -> dict:
    """Correct a booked entry with counter-entries dated ``today`` (fund.counter_entries): the
    published quarters keep their figures, the correction counts in today's quarter. Once per
    entry; a reversal is final; a contribution is corrected by entering its premium again."""
    from sqlalchemy.exc import IntegrityError

    _lead_books(actor)
    row = session.execute(select(FundEntryRow).where(FundEntryRow.id == entry_id).with_for_update()
                          ).scalar_one_or_none()
    if row is None:
        raise RuleError(404, ERR.not_found, "no such fund entry")
    if row.kind == fundlib.CONTRIBUTION:
        raise RuleError(409, ERR.use_premium, "a contribution follows its premium: enter the premium again "
                                            "(POST /fund/premiums) and its contribution is booked anew")
    if row.correction == fundlib.REVERSAL:
        raise RuleError(409, ERR.is_reversal, "a reversal is itself a correction and cannot be corrected")
    done = session.execute(select(FundEntryRow.id).where(FundEntryRow.corrects == row.id,
                                                         FundEntryRow.correction == fundlib.REVERSAL)).scalar()
    if done is not None:
        raise RuleError(409, ERR.already_corrected, f"this entry was corrected already (reversal {done}); "
                                                  "correct its replacement instead")
    reason = (reason or "").strip()
    if not reason:
        raise RuleError(422, ERR.reason_required, "a correction needs a reason")
    try:
        reversal, replacement = fundlib.counter_entries(_fund_entry(row), today, amount_fen,
                                                        ids=(str(uuid.uuid4()), str(uuid.uuid4())))
    except fundlib.FundError as exc:
        raise RuleError(422, ERR.invalid_amount, str(exc)) from None
    if row.kind == fundlib.SPENDING and amount_fen:
        # A corrected amount is spending like any other: the same caps, the same balance, and
        # the budget of today's year, where its reversal and replacement both count.
        _check_caps(session, settings or rule_settings(), amount_fen, row.category, row.assignment_id,
                    replacing=row.amount_fen, on=today)
    try:
        booked = [add_fund_entry(session, e, actor, assignment_id=row.assignment_id, policy_year=row.policy_year,
                                 reason=reason) for e in (reversal, replacement) if e is not None]
    except IntegrityError:  # another office booked the same correction a moment earlier
        raise RuleError(409, ERR.already_corrected, "this entry was corrected already") from None
    return {"reversal": booked[0], "replacement": booked[1] if replacement is not None else None}


def set_premium(session: Session, settings: RuleSettings, year: int, insurer_code: str,
                premium_ex_tax_fen: int, received_on: dt.date, actor: User | None) -> dict:
    """Enter an insurer's premium (excl. tax) for a policy year and book its 2% contribution.
    Entering it again replaces the contribution booked for that year (nothing doubles)."""
    _lead_books(actor)
    if session.get(Insurer, insurer_code) is None:
        raise RuleError(404, ERR.not_found, f"no insurer {insurer_code}")
    if isinstance(premium_ex_tax_fen, bool) or not isinstance(premium_ex_tax_fen, int) or premium_ex_tax_fen <= 0:
        raise RuleError(422, ERR.invalid_amount, "premium_ex_tax_fen must be a positive integer (fen)")
    amount = fundlib.contribution_fen(premium_ex_tax_fen, settings.fund_rate_bp)
    note = f"{year}保单年度保费（不含税）{premium_ex_tax_fen}分 × {settings.fund_rate_bp / 100:g}%"
    try:
        entry = fundlib.FundEntry(fundlib.CONTRIBUTION, received_on, amount, insurer_code, note=note)
    except fundlib.FundError as exc:  # a premium so small that its contribution rounds to 0 fen
        raise RuleError(422, ERR.invalid_amount, f"the contribution of a premium of {premium_ex_tax_fen} fen "
                                               f"is {amount} fen: {exc}") from None
    row = session.get(Premium, (year, insurer_code))
    if row is None:
        row = Premium(policy_year=year, insurer_code=insurer_code, premium_ex_tax_fen=premium_ex_tax_fen)
        session.add(row)
    row.premium_ex_tax_fen = premium_ex_tax_fen
    for old in session.execute(select(FundEntryRow).where(
            FundEntryRow.kind == fundlib.CONTRIBUTION, FundEntryRow.insurer_code == insurer_code,
            FundEntryRow.policy_year == year)).scalars():
        session.delete(old)
    booked = add_fund_entry(session, entry, actor, policy_year=year)
    return {"policy_year": year, "insurer_code": insurer_code, "premium_ex_tax_fen": premium_ex_tax_fen,
            "contribution": booked}


def fund_disclosure(session: Session, year: int, quarter: int) -> dict:
    """The quarter's publication, with the year's budget as it stood at the quarter's end
    (confirmed amounts, spent, remaining) and the co-insurers' comments on it."""
    entries = fund_entries(session)
    try:
        out = fundlib.quarterly_disclosure(entries, insurers_service.shares(session), year, quarter).as_dict()
    except fundlib.FundError as exc:
        raise RuleError(409, ERR.fund_error, str(exc)) from None
    _, end = fundlib.quarter_bounds(year, quarter)
    confirmed = _confirmed_budget(session, year)
    out["budget"] = {
        "version": confirmed.version if confirmed else None,
        "confirmed_at": _iso(confirmed.confirmed_at) if confirmed else None,
        "confirmed_by_name": _user_name(session, confirmed.confirmed_by) if confirmed else None,
        "by_category": fundlib.budget_position(_budget_amounts(session, confirmed) if confirmed else None,
                                               fundlib.spent_in_year(entries, year, upto=end)),
    }
    out["comments"] = fund_comments(session, year, quarter)
    return out


def _iso(moment: dt.datetime | None) -> str | None:
    return aware(moment).isoformat() if moment is not None else None


def _user_name(session: Session, user_id: str | None) -> str | None:
    user = session.get(User, user_id) if user_id else None
    return user.name if user is not None else None


def _budget_versions(session: Session, year: int) -> list[FundBudget]:
    return list(session.execute(select(FundBudget).where(FundBudget.policy_year == year)
                                .order_by(FundBudget.version)).scalars())


def _confirmed_budget(session: Session, year: int) -> FundBudget | None:
    """The version in force: the latest one confirmed. A change proposed since is not in force
    until it is confirmed in its turn."""
    confirmed = [b for b in _budget_versions(session, year) if b.confirmed_at is not None]
    return confirmed[-1] if confirmed else None


def _budget_amounts(session: Session, budget: FundBudget) -> dict[str, int]:
    lines = session.execute(select(FundBudgetLine).where(FundBudgetLine.budget_id == budget.id)).scalars()
    return fundlib.budget_amounts({ln.category: ln.amount_fen for ln in lines})


def _budget_dict(session: Session, budget: FundBudget | None) -> dict | None:
    if budget is None:
        return None
    return {"version": budget.version, "amounts": _budget_amounts(session, budget), "note": budget.note,
            "proposed_by": budget.proposed_by, "proposed_by_name": _user_name(session, budget.proposed_by),
            "proposed_at": _iso(budget.proposed_at),
            "confirmed_by": budget.confirmed_by, "confirmed_by_name": _user_name(session, budget.confirmed_by),
            "confirmed_at": _iso(budget.confirmed_at)}


def _spent_in_year(session: Session, year: int) -> dict[str, int]:
    return fundlib.spent_in_year(fund_entries(session), year)


def fund_budget(session: Session, year: int) -> dict:
    """A policy year's budget: the version in force (``confirmed``), a change waiting for the
    coordinator (``proposed``), and per category the confirmed amount, spent and remaining."""
    versions = _budget_versions(session, year)
    confirmed = _confirmed_budget(session, year)
    latest = versions[-1] if versions else None
    pending = latest if latest is not None and latest.confirmed_at is None else None
    return {"year": year, "confirmed": _budget_dict(session, confirmed), "proposed": _budget_dict(session, pending),
            "by_category": fundlib.budget_position(_budget_amounts(session, confirmed) if confirmed else None,
                                                   _spent_in_year(session, year))}


def _below_spent(session: Session, year: int, amounts: dict[str, int]) -> None:
    spent = _spent_in_year(session, year)
    short = [c for c in fundlib.CATEGORIES if amounts[c] < spent[c]]
    if short:
        raise RuleError(409, ERR.budget_below_spent, "a budget cannot be below what the year has already spent: "
                        + ", ".join(f"{c} {amounts[c]} < {spent[c]} fen spent" for c in short))


def propose_budget(session: Session, actor: User, year: int, amounts: dict[str, int], note: str,
                   now: dt.datetime) -> dict:
    """The lead proposes a year's budget, or a change to it: a new version, in force only once the
    coordinator confirms it (the confirmed one stays in force meanwhile). Proposing what the
    latest version already says changes nothing."""
    if actor.role not in FUND_BOOKERS:
        raise RuleError(403, ERR.forbidden, "the lead insurer proposes the work fund's budget (its adjusters); "
                                          "the coordinator confirms it")
    try:
        amounts = fundlib.budget_amounts(amounts)
    except fundlib.FundError as exc:
        raise RuleError(422, ERR.invalid_budget, str(exc)) from None
    note = (note or "").strip()
    _lock_fund(session)
    versions = _budget_versions(session, year)
    latest = versions[-1] if versions else None
    if latest is not None and _budget_amounts(session, latest) == amounts and latest.note == note:
        return fund_budget(session, year)
    _below_spent(session, year, amounts)
    budget = FundBudget(id=str(uuid.uuid4()), policy_year=year, version=(latest.version + 1) if latest else 1,
                        note=note, proposed_by=actor.id, proposed_at=to_utc(now))
    session.add(budget)
    session.flush()
    session.add_all(FundBudgetLine(budget_id=budget.id, category=c, amount_fen=v) for c, v in amounts.items())
    session.flush()
    return fund_budget(session, year)


def confirm_budget(session: Session, actor: User, year: int, version: int, now: dt.datetime) -> dict:
    """The coordinator confirms the version it read (共同商议确认): refused when the lead has
    proposed another since, so nothing is confirmed unseen. Confirming it again changes nothing."""
    if actor.role != "coordinator":
        raise RuleError(403, ERR.forbidden, "the coordinator confirms the work fund's budget; the lead insurer "
                                          "proposes it")
    _lock_fund(session)
    versions = _budget_versions(session, year)
    if not versions:
        raise RuleError(404, ERR.not_found, f"no budget was proposed for {year}")
    latest = versions[-1]
    if version != latest.version:
        raise RuleError(409, ERR.budget_changed, f"the latest budget for {year} is version {latest.version}, "
                                               f"not {version}: read it, then confirm that one")
    if latest.confirmed_at is None:
        _below_spent(session, year, _budget_amounts(session, latest))
        latest.confirmed_by, latest.confirmed_at = actor.id, to_utc(now)
        session.flush()
    return fund_budget(session, year)


def _check_budget(session: Session, year: int, category: str, amount_fen: int, replacing: int = 0) -> None:
    """Spending only within the confirmed budget (在…共同商议确认的范围内列支); a correction that
    lowers the spending always passes."""
    if amount_fen <= replacing:
        return
    confirmed = _confirmed_budget(session, year)
    if confirmed is None:
        raise RuleError(409, ERR.no_budget, f"no confirmed budget for {year}: the lead insurer proposes it and the "
                                          "coordinator confirms it before any spending")
    budget, spent = _budget_amounts(session, confirmed), _spent_in_year(session, year)
    over = fundlib.budget_overrun(budget, spent, category, amount_fen, replacing)
    if over:
        raise RuleError(409, ERR.over_budget, f"{category}: the confirmed budget for {year} is {budget[category]} fen "
                                            f"and {spent[category]} fen is booked; this would go {over} fen over it")


def fund_comments(session: Session, year: int, quarter: int) -> list[dict]:
    rows = session.execute(select(FundComment, User.name).join(User, User.id == FundComment.author_id)
                           .where(FundComment.policy_year == year, FundComment.quarter == quarter)
                           .order_by(FundComment.created_at, FundComment.id)).all()
    return [{"id": c.id, "year": c.policy_year, "quarter": c.quarter, "insurer_code": c.insurer_code,
             "author_id": c.author_id, "author_name": name, "text": c.text, "created_at": _iso(c.created_at)}
            for c, name in rows]


def _member_insurer(session: Session, actor: User) -> str:
    """The insurer a member of the pool speaks for: a surveyor its own (or the insurer it is a
    named contact of), an adjuster the lead. The coordinator supervises; it is not a member."""
    if actor.role == "surveyor":
        code = actor.insurer_code or session.execute(select(InsurerContact.insurer_code).where(
            InsurerContact.user_id == actor.id)).scalar()
        if code:
            return code
    elif actor.role == "adjuster":
        return insurers_service.lead_code(session)
    raise RuleError(403, ERR.forbidden, "comments on the fund are the co-insurers' (建议权): a surveyor for its "
                                      "insurer, or the lead's adjusters")


def add_fund_comment(session: Session, actor: User, year: int, quarter: int, text: str,
                     now: dt.datetime) -> dict:
    """A co-insurer's comment on a quarter's disclosure (使用方式的建议权), once the quarter has begun
    (Dazu's calendar). Recorded as written, never edited."""
    insurer = _member_insurer(session, actor)
    text = (text or "").strip()
    if not text:
        raise RuleError(422, ERR.text_required, "a comment needs its text")
    start, _ = fundlib.quarter_bounds(year, quarter)
    if to_china_time(now).date() < start:
        raise RuleError(409, ERR.quarter_not_started, f"{year} Q{quarter} has not begun: nothing is disclosed yet")
    row = FundComment(id=str(uuid.uuid4()), policy_year=year, quarter=quarter, insurer_code=insurer,
                      author_id=actor.id, text=text, created_at=to_utc(now))
    session.add(row)
    session.flush()
    return next(c for c in fund_comments(session, year, quarter) if c["id"] == row.id)
