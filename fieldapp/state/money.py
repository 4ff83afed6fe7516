"""The claim's road to payment on the claim screen: amounts, the loss inventory, the
claim-authority step as the server last published it, the payee choices and the deadlines.

The rules are claimcore's (amounts, authority, workflow); this module only reads the phone's
store and puts them in the words of the screen.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from claimcore import amounts, authority
from claimcore.localtime import to_china_time
from claimcore.money import format_fen, parse_yuan
from fieldapp.i18n import t

# Claim states in which each piece of money may still be edited (the office corrects before the
# next step; a paid claim's figures are history).
CLAIMED_EDITABLE = ("reported", "registered", "survey_dispatched", "surveyed", "collecting", "incomplete",
                    "submitted", "under_review", "reopened")
ADJUSTMENT_EDITABLE = ("under_review", "reopened")
PAYMENT_EDITABLE = ("stamped",)


def yuan(fen: int | None, lang: str) -> str | None:
    if fen is None:
        return None
    return t("money.amount_yuan", lang, amount=format_fen(fen))


def to_fen(text: str) -> int:
    """What the user typed in yuan → fen (claimcore.money: MoneyError with a zh/en message)."""
    return parse_yuan((text or "").strip())


@dataclass(frozen=True)
class AuthorityState:
    """The claim-authority step for the claim's current adjusted amount.

    ``known``: the server's published review is about this amount (otherwise the phone shows the
    tier it can compute and waits for the server). ``cleared``: 已核赔 may be offered."""

    amount_fen: int
    tier: authority.Tier
    known: bool
    cleared: bool
    reason: str
    doc: dict[str, Any] = field(default_factory=dict)

    @property
    def consultation(self) -> dict[str, Any] | None:
        return self.doc.get("consultation")

    @property
    def opinions(self) -> list[dict[str, Any]]:
        return list(self.doc.get("opinions") or [])

    @property
    def vote(self) -> dict[str, Any] | None:
        return self.doc.get("vote")

    def hours_left(self, now: dt.datetime) -> float | None:
        """The opinion window's countdown (inform tier)."""
        ends = self.doc.get("window_ends_at")
        if not ends:
            return None
        return (dt.datetime.fromisoformat(ends) - now).total_seconds() / 3600


def authority_state(store: Any, claim_id: str, amount_fen: int | None, lang: str) -> AuthorityState | None:
    if amount_fen is None:
        return None
    tier = authority.tier_for_amount(amount_fen)
    if tier is authority.Tier.LEAD_ALONE:
        return AuthorityState(amount_fen, tier, True, True, tier.label(lang))
    doc = store.reviews.get(claim_id) or {}
    if doc.get("amount_fen") != amount_fen:
        return AuthorityState(amount_fen, tier, False, False, t("authority.waiting_server", lang))
    reason = doc.get("reason_zh") if lang == "zh" else doc.get("reason")
    return AuthorityState(amount_fen, tier, True, bool(doc.get("cleared")), reason or "", doc)


def review_state(doc: dict[str, Any], lang: str) -> AuthorityState:
    """A review a co-insurer's phone holds without the claim itself."""
    tier = authority.Tier(doc["tier"])
    reason = doc.get("reason_zh") if lang == "zh" else doc.get("reason")
    return AuthorityState(int(doc["amount_fen"]), tier, True, bool(doc.get("cleared")), reason or "", doc)


def payee_options(detail: Any) -> list[tuple[str, str]]:
    """(person id, label) of the persons who may be paid (claimcore.amounts' rule)."""
    persons = [{"id": p.id, "role_in_claim": p.role_in_claim, "has_bank_account": bool(p.bank_card)}
               for p in detail.persons]
    allowed = set(amounts.payee_candidates(persons, detail.loss_types or []))
    return [(p.id, p.name or "—") for p in detail.persons if p.id in allowed]


def person_name(detail: Any, person_id: str | None) -> str | None:
    return next((p.name for p in detail.persons if p.id == person_id), None)


def deadlines(detail: Any, today: dt.date | None = None) -> amounts.Deadlines:
    today = today or to_china_time(dt.datetime.now(dt.timezone.utc)).date()
    steps = [(s.to_status, s.at) for s in detail.timeline]
    reported = next((s.at for s in detail.timeline if s.to_status == "reported"), detail.created_at)
    return amounts.deadlines(steps, reported, today)


def limits_text(detail: Any, lang: str) -> str:
    """The claim's caps with their source: the cooperation agreement of the accident's year."""
    persons = [{"role_in_claim": p.role_in_claim} for p in detail.persons]
    lim = amounts.limits_for(detail.coverage, detail.loss_types or [], amounts.victims_of(persons),
                             incident_at=detail.incident_at)
    parts = []
    if lim.person is not None:
        parts.append(t("money.limit_person", lang, amount=yuan(lim.person, lang)))
    if "house" in (detail.loss_types or []):
        parts.append(t("money.limit_house", lang, amount=yuan(lim.house, lang)) if lim.house is not None
                     else t("money.limit_house_unset", lang))
    note = lim.terms.source_text(lang)
    return t("money.limits", lang, parts=t("money.limits_sep", lang).join(parts), note=note)
