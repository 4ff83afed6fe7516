"""Money on a claim: benefit limits, the adjustment, the payee and the payment (the only place for
these rules; the phone's store and the server's push path both call them, so the phone accepts
exactly what the server accepts).

Limits. The coverage catalogue carries the per-person limits of the cooperation agreement as
**configurable defaults** (``benefit_limits`` in assets/catalogue: Chongqing's municipal minimum
until the year's policy contract says otherwise; change them there). For one claim:

- death, disability and medical share one limit per victim: the death limit (100,000 yuan by
  default), with medical inside it when ``medical_included_in_death_limit`` and never above the
  medical limit (10,000 yuan by default) per victim; a disability is at most grade 1 (100 %);
- house and contents: the per-household limit; resettlement: per person-day × the day cap.
  The sources give no figure for these two; while the catalogue leaves them empty only the
  programme's per-event cap bounds them (a single claim cannot exceed a whole event's cap);
- any amount on a claim: never negative, never above the per-event cap (an absurd figure).

The adjustment: the adjusted amount is the items' sum, or a stated amount with a written reason.
The payment: a payee that is a living person of the claim with a bank account (for a death claim
an heir or the agent named in the power of attorney; never the deceased), an amount no larger
than the adjusted amount, the date and the bank's transfer reference.

Deadlines (Insurance Law art. 23): a decision within 30 days of complete documents, payment
within 10 days of the agreement (approval).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from .catalogue import Catalogue, load_catalogue
from .entities import PERSON_ROLES
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
}
_BASIS = {
    "person": ("每人身故/伤残/医疗限额 × {n} 人", "death/disability/medical limit × {n} persons"),
    "medical": ("每人医疗限额 × {n} 人", "medical limit × {n} persons"),
    "house": ("每户房屋及室内财产限额", "house and contents limit per household"),
    "resettlement": ("安置费用每人每天标准 × 天数上限 × {n} 人",
                     "resettlement per person-day × day cap × {n} persons"),
    "total": ("各项限额合计", "sum of the limits"),
}
DEFAULTS_NOTE = ("限额为默认值（重庆市最低标准），以当年保险合同为准",
                 "limits are defaults (Chongqing's minimum) until the year's policy contract says "
                 "otherwise")


class AmountError(ValueError):
    """An amount or payment the rules refuse. ``code``: negative, absurd, over_limit,
    adjusted_missing, reason_required, payee_invalid, payment_incomplete, paid_over_adjusted;
    ``field``: the claim field to correct. ``message(lang)`` for people."""

    def __init__(self, code: str, field: str, **values: Any) -> None:
        self.code, self.field, self.values = code, field, values
        super().__init__(self.message("en"))

    def message(self, lang: str = "zh") -> str:
        zh, en = _TEXT[self.code]
        values = dict(self.values)
        label = values.pop("label", ("金额", "amount"))
        values["label"] = label[0] if lang == "zh" else label[1]
        basis = values.pop("basis", None)
        if basis is not None:
            key, n = basis
            b = _BASIS[key]
            values["basis"] = (b[0] if lang == "zh" else b[1]).format(n=n) + (
                "；" + DEFAULTS_NOTE[0] if lang == "zh" else "; " + DEFAULTS_NOTE[1])
        return (zh if lang == "zh" else en).format(**values)


def _yuan(fen: int) -> str:
    return format_fen(fen)


@dataclass(frozen=True)
class ClaimLimits:
    """Caps in fen for one claim. ``person``: death + disability + medical together; ``medical``:
    medical alone; ``house``/``resettlement``: None when the catalogue has no figure; ``absurd``:
    the programme's per-event cap, above which no single amount can be right."""

    victims: int
    person: int | None
    medical: int | None
    house: int | None
    resettlement: int | None
    absurd: int
    loss_types: tuple[str, ...] = field(default=())

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
               catalogue: Catalogue | None = None) -> ClaimLimits:
    """The caps of a claim of ``coverage`` with these loss types and ``victims`` victims (≥ 1)."""
    cat = catalogue or load_catalogue()
    lim = cat.coverage(coverage).limits
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
                       lim.house_per_household_fen, resettle, cat.caps.per_event_fen,
                       tuple(loss_types))


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
                          basis=("total", limits.victims))


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
                              limit=_yuan(cap), basis=(basis, limits.victims))
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
                  persons: Iterable[Mapping[str, Any]], loss_types: Iterable[str]) -> None:
    """Before a claim is marked paid."""
    if paid is None or not paid_on or not payee_id or not (transfer_ref or "").strip():
        missing = next(f for f, v in (("paid_amount_fen", paid), ("paid_on", paid_on),
                                      ("payee_person_id", payee_id),
                                      ("transfer_ref", (transfer_ref or "").strip())) if not v and v != 0)
        raise AmountError("payment_incomplete", missing)
    if paid < 0:
        raise AmountError("negative", "paid_amount_fen", label=("赔付金额", "paid amount"))
    if adjusted is not None and paid > adjusted:
        raise AmountError("paid_over_adjusted", "paid_amount_fen", amount=_yuan(paid), limit=_yuan(adjusted))
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
                limits: ClaimLimits) -> None:
    """The money a state needs: an adjustment to be adjusted, a valid payment to be paid.
    ``claim``: the claim's fields after the write."""
    if target == "adjusted":
        check_adjustment(claim.get("loss_items"), claim.get("adjusted_amount_fen"), claim.get("adjusted_reason"),
                         limits)
    elif target == "paid":
        check_payment(paid=claim.get("paid_amount_fen"), paid_on=claim.get("paid_on"),
                      payee_id=claim.get("payee_person_id"), transfer_ref=claim.get("transfer_ref"),
                      adjusted=claim.get("adjusted_amount_fen"), persons=persons,
                      loss_types=claim.get("loss_types") or [])


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


def _day(moment: str | dt.datetime | None) -> dt.date | None:
    from .localtime import to_china_time

    if moment is None:
        return None
    if isinstance(moment, str):
        try:
            moment = dt.datetime.fromisoformat(moment.replace("Z", "+00:00"))
        except ValueError:
            return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return to_china_time(moment).date()


def deadlines(timeline: Iterable[tuple[str, str | dt.datetime]], reported_at: str | dt.datetime | None,
              today: dt.date) -> Deadlines:
    """From the claim's timeline ``(to_status, at)`` pairs. Documents are complete at the first
    ``submitted``; the agreement is the last ``approved``; payment is the last ``paid``."""
    complete = approved = paid = None
    for state, at in timeline:
        day = _day(at)
        if state == "submitted" and complete is None:
            complete = day
        elif state == "approved":
            approved = day
        elif state == "paid":
            paid = day
    reported = _day(reported_at)
    return Deadlines(
        since_report=(today - reported).days if reported else None,
        since_complete=(today - complete).days if complete else None,
        decision_due=complete + dt.timedelta(days=DECISION_DAYS) if complete else None,
        payment_due=approved + dt.timedelta(days=PAYMENT_DAYS) if approved else None,
        decided=approved is not None,
        paid=paid is not None,
    )
