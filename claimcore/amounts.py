"""Money on a claim: benefit limits, the adjustment, the payee and the payment (the only place for
these rules; the phone's store and the server's push path both call them, so the phone accepts
exactly what the server accepts).

Limits. They are the cooperation agreement's, per policy year (claimcore.agreement: one file a
year in assets/agreement, each labelled with its source; the year is the one of the claim's
**accident**, so the phone and the server pick the same year from the claim's ``incident_at``).
For one claim:

- death, disability and medical share one limit per victim: the death limit, with medical inside
  it when ``medical_included_in_death_limit`` and never above the medical limit per victim; a
  disability is at most grade 1 (100 %);
- house and contents: the per-household limit; resettlement: per person-day × the day cap.
  The sources give no figure for these two; while the agreement leaves them empty only the
  programme's per-event cap bounds them (a single claim cannot exceed a whole event's cap);
- any amount on a claim: never negative, never above the per-event cap (an absurd figure).

The programme's caps. When the adjusted amounts of all claims of one event exceed the per-event
cap, every claim of the event is paid the same share of its adjusted amount: adjusted × cap /
total, in fen, rounded down (so the shares never add up to more than the cap, and equal claims
get equal shares). The per-year cap works the same way over all claims of a policy year, on the
amounts left after their events' reductions. A payment is then at most the smaller share, and
never more than what the cap has left after the payments already made to the pool's other
claims (paid money is not taken back). Declined and withdrawn claims share no cap. The server
knows every claim of an event; it publishes each claim's payable amount and refuses a payment
above it (sync_server.event_caps).

The adjustment: the adjusted amount is the items' sum, or a stated amount with a written reason.
The payment: a payee that is a living person of the claim with a bank account (for a death claim
an heir or the agent named in the power of attorney; never the deceased), an amount no larger
than the adjusted amount nor the payable share, the date and the bank's transfer reference.

Deadlines (Insurance Law art. 23): a decision within 30 days of complete documents, payment
within 10 days of the agreement (approval).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from .agreement import YearTerms, policy_year_of, terms_on
from .catalogue import Catalogue, load_catalogue
from .entities import PERSON_ROLES
from .localtime import china_date
from .money import format_fen

PERSON_CATEGORIES = ("death", "disability", "medical")
# Who may be paid: any person of the claim with a bank account; on a death claim the deceased
# victim never is.
PAYEE_ROLES = PERSON_ROLES
PAYEE_ROLES_DEATH = ("heir", "agent", "payee")
DECISION_DAYS = 30
PAYMENT_DAYS = 10

_TEXT: dict[str, tuple[str, str]] = {
    "negative": ("{label}不能为负数", "{label} cannot be negative"),
    "absurd": ("{label} {amount} 元超过每次事故限额 {limit} 元，请核对",
               "{label} of {amount} yuan exceeds the per-event cap of {limit} yuan; check it"),
    "over_limit": ("{label} {amount} 元超过本案限额 {limit} 元（{basis}）",
                   "{label} of {amount} yuan exceeds this claim's limit of {limit} yuan ({basis})"),
    "adjusted_missing": ("请先填写理算金额", "enter the adjusted amount first"),
    "reason_required": ("理算金额 {amount} 元与损失清单合计 {total} 元不同，请写明理由",
                        "the adjusted amount of {amount} yuan differs from the items' total of "
                        "{total} yuan: give the reason"),
    "payee_invalid": ("收款人须为本案在世的、有银行账号的人员（身故案件为继承人或授权委托书中的代理人）",
                      "the payee must be a living person of this claim with a bank account "
                      "(for a death claim an heir or the agent named in the power of attorney)"),
    "payment_incomplete": ("赔付须填写金额、日期、收款人和转账流水号",
                           "a payment needs the amount, the date, the payee and the transfer "
                           "reference"),
    "paid_over_adjusted": ("赔付金额 {amount} 元超过核定的理算金额 {limit} 元",
                           "the paid amount of {amount} yuan exceeds the adjusted amount of "
                           "{limit} yuan"),
    "paid_over_payable": ("赔付金额 {amount} 元超过本案可赔付金额 {limit} 元（{why}）",
                          "the paid amount of {amount} yuan exceeds this claim's payable amount of "
                          "{limit} yuan ({why})"),
}
_BASIS = {
    "person": ("每人身故/伤残/医疗限额 × {n} 人", "death/disability/medical limit × {n} persons"),
    "medical": ("每人医疗限额 × {n} 人", "medical limit × {n} persons"),
    "house": ("每户房屋及室内财产限额", "house and contents limit per household"),
    "resettlement": ("安置费用每人每天标准 × 天数上限 × {n} 人",
                     "resettlement per person-day × day cap × {n} persons"),
    "total": ("各项限额合计", "sum of the limits"),
}


class AmountError(ValueError):
    """An amount or payment the rules refuse. ``code``: negative, absurd, over_limit,
    adjusted_missing, reason_required, payee_invalid, payment_incomplete, paid_over_adjusted,
    paid_over_payable; ``field``: the claim field to correct. ``message(lang)`` for people.
    A value given as a (zh, en) pair is said in the reader's language."""

    def __init__(self, code: str, field: str, **values: Any) -> None:
        self.code, self.field, self.values = code, field, values
        super().__init__(self.message("en"))

    def message(self, lang: str = "zh") -> str:
        zh, en = _TEXT[self.code]
        values = dict(self.values)
        values.setdefault("label", ("金额", "amount"))
        basis = values.pop("basis", None)
        source = values.pop("source", None)
        if basis is not None:
            key, n = basis
            b = _BASIS[key]
            values["basis"] = (b[0] if lang == "zh" else b[1]).format(n=n) + (
                ("；" if lang == "zh" else "; ") + _pick(source, lang) if source else "")
        values = {k: _pick(v, lang) for k, v in values.items()}
        return (zh if lang == "zh" else en).format(**values)


def _pick(value: Any, lang: str) -> Any:
    if isinstance(value, tuple) and len(value) == 2 and all(isinstance(x, str) for x in value):
        return value[0] if lang == "zh" else value[1]
    return value


def _yuan(fen: int) -> str:
    return format_fen(fen)


@dataclass(frozen=True)
class ClaimLimits:
    """Caps in fen for one claim. ``person``: death + disability + medical together; ``medical``:
    medical alone; ``house``/``resettlement``: None when the agreement has no figure; ``absurd``:
    the programme's per-event cap, above which no single amount can be right. ``terms``: the
    agreement year they come from (its source is said with every limit)."""

    victims: int
    person: int | None
    medical: int | None
    house: int | None
    resettlement: int | None
    absurd: int
    loss_types: tuple[str, ...] = field(default=())
    terms: YearTerms | None = None

    def source(self) -> tuple[str, str] | None:
        """Where the limits come from, (zh, en)."""
        if self.terms is None:
            return None
        return self.terms.source_text("zh"), self.terms.source_text("en")

    @property
    def total(self) -> int | None:
        parts = []
        if any(lt in PERSON_CATEGORIES for lt in self.loss_types):
            parts.append(self.person)
        if "house" in self.loss_types:
            parts.append(self.house)
        if "resettlement" in self.loss_types:
            parts.append(self.resettlement)
        if not parts or any(p is None for p in parts):
            return None
        return sum(parts)  # type: ignore[arg-type]


def limits_for(coverage: str, loss_types: Iterable[str], victims: int,
               catalogue: Catalogue | None = None, *, incident_at: Any = None) -> ClaimLimits:
    """The caps of a claim of ``coverage`` with these loss types and ``victims`` victims (≥ 1),
    from the agreement year of its accident (``incident_at``: ISO text or a datetime; without
    one, this year's). ``catalogue`` (the claim's version) only vouches for the coverage code."""
    (catalogue or load_catalogue()).coverage(coverage)  # an unknown coverage fails here, loudly
    terms = terms_on(incident_at)
    lim = terms.limits(coverage)
    n = max(1, int(victims))
    death = lim.death_per_person_fen
    medical = lim.medical_per_person_fen
    person = None
    if death is not None:
        person = death * n + (0 if lim.medical_included_in_death_limit or medical is None else medical * n)
    resettle = None
    if lim.resettlement_per_person_day_fen is not None and lim.resettlement_max_days is not None:
        resettle = lim.resettlement_per_person_day_fen * lim.resettlement_max_days * n
    return ClaimLimits(n, person, medical * n if medical is not None else None,
                       lim.house_per_household_fen, resettle, terms.caps.per_event_fen,
                       tuple(loss_types), terms)


def victims_of(persons: Iterable[Mapping[str, Any]]) -> int:
    return sum(1 for p in persons if p.get("role_in_claim") == "victim")


def check_amount(amount: int | None, limits: ClaimLimits, *, field: str,
                 label: tuple[str, str]) -> None:
    """A claimed or adjusted total: not negative, not absurd, not above the claim's limit."""
    if amount is None:
        return
    if amount < 0:
        raise AmountError("negative", field, label=label)
    if amount > limits.absurd:
        raise AmountError("absurd", field, label=label, amount=_yuan(amount), limit=_yuan(limits.absurd))
    total = limits.total
    if total is not None and amount > total:
        raise AmountError("over_limit", field, label=label, amount=_yuan(amount), limit=_yuan(total),
                          basis=("total", limits.victims), source=limits.source())


def items_total(items: Iterable[Mapping[str, Any]]) -> int:
    return sum(int(i["amount_fen"]) for i in items)


def check_items(items: Iterable[Mapping[str, Any]], limits: ClaimLimits) -> None:
    """The loss inventory against the caps of each category."""
    items = list(items)
    by_cat: dict[str, int] = {}
    for i in items:
        by_cat[i["category"]] = by_cat.get(i["category"], 0) + int(i["amount_fen"])
    label = ("损失清单", "loss inventory")
    person = sum(by_cat.get(c, 0) for c in PERSON_CATEGORIES)
    checks = [
        (person, limits.person, "person", ("身故/伤残/医疗合计", "death, disability and medical")),
        (by_cat.get("medical", 0), limits.medical, "medical", ("医疗费用", "medical costs")),
        (by_cat.get("house", 0), limits.house, "house", ("房屋及室内财产", "house and contents")),
        (by_cat.get("resettlement", 0), limits.resettlement, "resettlement", ("安置费用", "resettlement")),
    ]
    for amount, cap, basis, what in checks:
        if cap is not None and amount > cap:
            raise AmountError("over_limit", "loss_items", label=what, amount=_yuan(amount),
                              limit=_yuan(cap), basis=(basis, limits.victims), source=limits.source())
    check_amount(items_total(items), limits, field="loss_items", label=label)


def check_adjustment(items: Iterable[Mapping[str, Any]] | None, adjusted: int | None,
                     reason: str | None, limits: ClaimLimits) -> None:
    """Before a claim is adjusted: an amount, within the limits; the items' sum or a reason."""
    if adjusted is None:
        raise AmountError("adjusted_missing", "adjusted_amount_fen")
    items = list(items or ())
    check_items(items, limits)
    check_amount(adjusted, limits, field="adjusted_amount_fen", label=("理算金额", "adjusted amount"))
    total = items_total(items)
    if (not items or total != adjusted) and not (reason or "").strip():
        raise AmountError("reason_required", "adjusted_reason", amount=_yuan(adjusted), total=_yuan(total))


def payee_candidates(persons: Iterable[Mapping[str, Any]], loss_types: Iterable[str]) -> list[str]:
    """Ids of the persons who may be paid: ``persons`` are mappings with ``id``,
    ``role_in_claim`` and ``has_bank_account``."""
    roles = PAYEE_ROLES_DEATH if "death" in set(loss_types) else PAYEE_ROLES
    return [p["id"] for p in persons if p.get("role_in_claim") in roles and p.get("has_bank_account")]


def check_payment(*, paid: int | None, paid_on: str | None, payee_id: str | None,
                  transfer_ref: str | None, adjusted: int | None,
                  persons: Iterable[Mapping[str, Any]], loss_types: Iterable[str],
                  payable: "Payable | None" = None) -> None:
    """Before a claim is marked paid. ``payable``: the claim's share under the programme's caps
    (the server's; see payable_for), when known."""
    if paid is None or not paid_on or not payee_id or not (transfer_ref or "").strip():
        missing = next(f for f, v in (("paid_amount_fen", paid), ("paid_on", paid_on),
                                      ("payee_person_id", payee_id),
                                      ("transfer_ref", (transfer_ref or "").strip())) if not v and v != 0)
        raise AmountError("payment_incomplete", missing)
    if paid < 0:
        raise AmountError("negative", "paid_amount_fen", label=("赔付金额", "paid amount"))
    if adjusted is not None and paid > adjusted:
        raise AmountError("paid_over_adjusted", "paid_amount_fen", amount=_yuan(paid), limit=_yuan(adjusted))
    if payable is not None:
        check_payable(paid, payable)
    if payee_id not in payee_candidates(persons, loss_types):
        raise AmountError("payee_invalid", "payee_person_id")


MONEY_FIELDS = frozenset({"claimed_amount_fen", "adjusted_amount_fen", "loss_items", "loss_types"})


def check_write(changed: Mapping[str, Any], limits: ClaimLimits) -> None:
    """The amounts of one write to a claim (phone store and server push alike)."""
    if changed.get("claimed_amount_fen") is not None:
        check_amount(changed["claimed_amount_fen"], limits, field="claimed_amount_fen",
                     label=("申请金额", "claimed amount"))
    if changed.get("loss_items"):
        check_items(changed["loss_items"], limits)
    if changed.get("adjusted_amount_fen") is not None:
        check_amount(changed["adjusted_amount_fen"], limits, field="adjusted_amount_fen",
                     label=("理算金额", "adjusted amount"))


def check_state(target: str, claim: Mapping[str, Any], persons: Iterable[Mapping[str, Any]],
                limits: ClaimLimits, payable: "Payable | None" = None) -> None:
    """The money a state needs: an adjustment to be adjusted, a valid payment to be paid.
    ``claim``: the claim's fields after the write; ``payable``: its share under the caps."""
    if target == "adjusted":
        check_adjustment(claim.get("loss_items"), claim.get("adjusted_amount_fen"), claim.get("adjusted_reason"),
                         limits)
    elif target == "paid":
        check_payment(paid=claim.get("paid_amount_fen"), paid_on=claim.get("paid_on"),
                      payee_id=claim.get("payee_person_id"), transfer_ref=claim.get("transfer_ref"),
                      adjusted=claim.get("adjusted_amount_fen"), persons=persons,
                      loss_types=claim.get("loss_types") or [], payable=payable)


# ---- the programme's caps: pro-rata shares ----------------------------------------------------

# Claims that will never be paid share no cap.
UNPAID_END_STATES = ("declined", "withdrawn")


def pro_rata(amounts: Mapping[str, int], cap: int) -> dict[str, int]:
    """Each entry's share of a pool capped at ``cap`` (fen): the amount itself while the pool's
    total is within the cap, else amount × cap / total rounded down (the shares never add up to
    more than the cap; equal amounts get equal shares)."""
    total = sum(amounts.values())
    if total <= cap:
        return dict(amounts)
    return {key: amount * cap // total for key, amount in amounts.items()}


def _percent(part: int, whole: int) -> str:
    bp = part * 10_000 // whole  # rounded down, like the shares
    return f"{bp // 100}.{bp % 100:02d}%"


@dataclass(frozen=True)
class PoolClaim:
    """A claim as a capped pool sees it: its adjusted amount, what was paid on it already, its
    event (None: in none) and its policy year (the year of its accident)."""

    id: str
    adjusted_fen: int
    policy_year: int
    event_id: str | None = None
    paid_fen: int = 0


@dataclass(frozen=True)
class PoolShare:
    """One claim's place in one capped pool (``kind``: "event" or "year"). ``total_fen``: the
    pool's amounts before the cap (a year's: after its events' reductions); ``share_fen``: the
    claim's pro-rata share; ``left_fen``: what the cap has left after the payments made to the
    pool's other claims; ``payable_fen``: the smaller of the two."""

    kind: str
    cap_fen: int
    total_fen: int
    share_fen: int
    left_fen: int
    payable_fen: int

    @property
    def over(self) -> bool:
        return self.total_fen > self.cap_fen

    def ratio(self) -> str:
        """The reduction ratio, cap / total, e.g. "75.00%" ("100.00%" within the cap)."""
        return _percent(self.cap_fen, self.total_fen) if self.over else "100.00%"

    def explain(self, lang: str, year: int) -> str:
        zh = lang == "zh"
        if zh:
            pool = "本次事故各案" if self.kind == "event" else f"{year}年度各案"
            cap = "每次事故限额" if self.kind == "event" else "年度限额"
            text = f"{pool}理算合计 {_yuan(self.total_fen)} 元超过{cap} {_yuan(self.cap_fen)} 元，按 {self.ratio()} 比例赔付"
            if self.left_fen < self.share_fen:
                text += f"；已付其他案件后限额余 {_yuan(self.left_fen)} 元"
            return text
        pool = "this event's claims" if self.kind == "event" else f"the claims of policy year {year}"
        cap = "per-event cap" if self.kind == "event" else "per-year cap"
        text = (f"{pool} total {_yuan(self.total_fen)} yuan, over the {cap} of {_yuan(self.cap_fen)} yuan: "
                f"paid at {self.ratio()}")
        if self.left_fen < self.share_fen:
            text += f"; {_yuan(self.left_fen)} yuan of the cap is left after the other claims' payments"
        return text

    def as_dict(self) -> dict[str, Any]:
        return {"cap_fen": self.cap_fen, "total_fen": self.total_fen, "over": self.over, "ratio": self.ratio(),
                "share_fen": self.share_fen, "left_fen": self.left_fen, "payable_fen": self.payable_fen}


@dataclass(frozen=True)
class Payable:
    """What one claim may be paid under the programme's caps, and why."""

    claim_id: str
    adjusted_fen: int
    payable_fen: int
    policy_year: int
    event: PoolShare | None
    year: PoolShare
    terms: YearTerms

    @property
    def reduced(self) -> bool:
        return self.payable_fen < self.adjusted_fen

    def explain(self, lang: str) -> str:
        """Why the payable amount is below the adjusted one ("" when it is not)."""
        parts = [p.explain(lang, self.policy_year) for p in (self.event, self.year)
                 if p is not None and (p.over or p.left_fen < p.share_fen)]
        return ("；" if lang == "zh" else "; ").join(parts)

    def as_dict(self) -> dict[str, Any]:
        """The server's published answer (GET /api/v1/claims/{id}/payable)."""
        return {"claim_id": self.claim_id, "adjusted_fen": self.adjusted_fen, "payable_fen": self.payable_fen,
                "reduced": self.reduced, "policy_year": self.policy_year,
                "event": self.event.as_dict() if self.event is not None else None, "year": self.year.as_dict(),
                "explain_zh": self.explain("zh"), "explain_en": self.explain("en"),
                "source_zh": self.terms.source_text("zh"), "source_en": self.terms.source_text("en"),
                "provisional": self.terms.agreement.provisional}


def _pool_share(kind: str, claim_id: str, amounts: Mapping[str, int], paid: Mapping[str, int],
                cap: int) -> PoolShare:
    share = pro_rata(amounts, cap)[claim_id]
    left = max(0, cap - sum(p for k, p in paid.items() if k != claim_id))
    return PoolShare(kind, cap, sum(amounts.values()), share, left, min(share, left))


def payable_for(claim: PoolClaim, pool: Iterable[PoolClaim], terms: YearTerms | None = None) -> Payable:
    """The payable amount of ``claim`` given ``pool``: the live adjusted claims of its policy
    year and of its event (each event's claims in full for the events of that year; ``claim``
    may be in ``pool`` or not). ``terms``: the claim's agreement year (by default the one of
    ``claim.policy_year``); its caps apply to its event and its year."""
    from .agreement import load_agreements

    terms = terms or load_agreements().for_year(claim.policy_year)
    caps = terms.caps
    rows = {c.id: c for c in pool}
    rows[claim.id] = claim
    events: dict[str, dict[str, int]] = {}
    for c in rows.values():
        if c.event_id is not None:
            events.setdefault(c.event_id, {})[c.id] = c.adjusted_fen
    # Each claim's amount after its event's reduction: what the year's cap is shared on.
    after_event = {c.id: c.adjusted_fen for c in rows.values()}
    for members in events.values():
        after_event.update(pro_rata(members, caps.per_event_fen))
    event = None
    if claim.event_id is not None:
        members = events[claim.event_id]
        event = _pool_share("event", claim.id, members,
                            {k: rows[k].paid_fen for k in members}, caps.per_event_fen)
    in_year = [c.id for c in rows.values() if c.policy_year == claim.policy_year]
    year = _pool_share("year", claim.id, {k: after_event[k] for k in in_year},
                       {k: rows[k].paid_fen for k in in_year}, caps.per_year_fen)
    payable = min(claim.adjusted_fen, year.payable_fen, event.payable_fen if event is not None else year.payable_fen)
    return Payable(claim.id, claim.adjusted_fen, payable, claim.policy_year, event, year, terms)


def pool_claim(claim_id: str, *, adjusted_fen: int, incident_at: Any, event_id: str | None = None,
               paid_fen: int | None = None, fallback_moment: Any = None) -> PoolClaim:
    """A claim's row as a pool sees it; its policy year from its accident (``incident_at``, else
    ``fallback_moment``, e.g. when it was reported)."""
    year = policy_year_of(incident_at) or policy_year_of(fallback_moment)
    if year is None:
        year = terms_on(None).year
    return PoolClaim(claim_id, int(adjusted_fen), year, event_id, int(paid_fen or 0))


def check_payable(paid: int, payable: Payable | Mapping[str, Any]) -> None:
    """A payment within the claim's share under the caps. ``payable``: the server's Payable, or
    its published answer (Payable.as_dict) on the phone."""
    answer = payable.as_dict() if isinstance(payable, Payable) else payable
    limit = answer.get("payable_fen")
    if limit is not None and paid > limit:
        raise AmountError("paid_over_payable", "paid_amount_fen", amount=_yuan(paid), limit=_yuan(limit),
                          why=(answer.get("explain_zh") or answer.get("source_zh") or "",
                               answer.get("explain_en") or answer.get("source_en") or ""))


# ---- deadlines ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Deadlines:
    """Whole days, China time. ``decision_due``/``payment_due``: the last day allowed, or None
    until the clock starts."""

    since_report: int | None
    since_complete: int | None
    decision_due: dt.date | None
    payment_due: dt.date | None
    decided: bool
    paid: bool

    def days_left(self, today: dt.date) -> int | None:
        """Days to the next due date (negative: overdue); None when nothing is due."""
        if not self.decided and self.decision_due is not None:
            return (self.decision_due - today).days
        if self.decided and not self.paid and self.payment_due is not None:
            return (self.payment_due - today).days
        return None


def deadlines(timeline: Iterable[tuple[str, str | dt.datetime]], reported_at: str | dt.datetime | None,
              today: dt.date) -> Deadlines:
    """From the claim's timeline ``(to_status, at)`` pairs. Documents are complete at the first
    ``submitted``; the agreement is the last ``approved``; payment is the last ``paid``."""
    complete = approved = paid = None
    for state, at in timeline:
        day = china_date(at)
        if state == "submitted" and complete is None:
            complete = day
        elif state == "approved":
            approved = day
        elif state == "paid":
            paid = day
    reported = china_date(reported_at)
    return Deadlines(
        since_report=(today - reported).days if reported else None,
        since_complete=(today - complete).days if complete else None,
        decision_due=complete + dt.timedelta(days=DECISION_DAYS) if complete else None,
        payment_due=approved + dt.timedelta(days=PAYMENT_DAYS) if approved else None,
        decided=approved is not None,
        paid=paid is not None,
    )
