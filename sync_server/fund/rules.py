"""The co-insurers' work fund (工作经费) of annex 2, and recovering claims the lead paid for all.

Pure arithmetic on integer fen, no database: the server stores the entries and calls these.

* Income: 2% (``rate_bp`` = 200 basis points, a setting) of each insurer's premium *excluding tax*
  for the policy year, each insurer's contribution rounded half-up to the fen on its own.
* Spending, by the seed's four categories (三、经费列支): publicity 宣传费, survey 查勘费 (the
  surveyors' actual vehicle and meal costs come in here), communication 通讯费 and project work
  项目工作经费; each with date, amount in fen, note and the SHA-256 of its receipt photo.
* Splitting an amount by shares (each insurer's part of the spending, each co-insurer's part of a
  claim the lead paid on behalf of all) uses the **largest-remainder method**, so the parts always
  add up to the amount exactly: every part is first rounded down to the fen; the fen left over go
  one each to the parts with the largest discarded fractions (ties: larger share first, then the
  insurer code), never more than one extra fen to any part.
* The quarterly disclosure splits *that quarter's* spending, so a year's parts are the sum of its
  four quarters' parts and everything published adds up.
* Year end (多退少补): each insurer's contributions minus its part of the year's spending; a
  positive difference is refunded to it, a negative one it tops up. After that the year's fund
  balance is exactly zero.
* A booked entry is never edited (a published quarter must keep adding up): a correction is a
  *reversal* (the same entry with the negative amount) and, for a corrected amount, a
  *replacement*, both dated the day of the correction, so they count in that day's quarter.
  Every total is a plain sum of entries, so a reversal of spending simply subtracts.
* The agreed budget (三、"在区金融发展事务中心及各共保体共同商议确认的范围内列支"): per policy year
  (the calendar year the quarterly disclosure uses) an amount for each spending category, proposed
  by the lead and confirmed by the coordinator. Spending is held to the confirmed amounts: a year
  without a confirmed budget takes no spending at all (nothing was agreed, so nothing is within
  the agreed range), and no category's spending for the year may go above its amount.
* Recovering what the lead paid for all (代付赔款摊回): each co-insurer owes its largest-remainder
  part of every paid claim; the office books what it demanded and what it received, and a wrong
  entry is taken back by a correction (the same rule: counter-entries, never edits).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Iterable, Mapping

from claimcore import entities

TOTAL_BP = 10_000

PUBLICITY = "publicity"
SURVEY = "survey"
COMMUNICATION = "communication"
PROJECT_WORK = "project_work"
CATEGORIES = entities.SPENDING_CATEGORIES  # the contract's word list: PUBLICITY, SURVEY, COMMUNICATION, PROJECT_WORK
CATEGORY_NAMES = {
    PUBLICITY: {"zh": "宣传费", "en": "publicity"},
    SURVEY: {"zh": "查勘费", "en": "survey"},
    COMMUNICATION: {"zh": "通讯费", "en": "communication"},
    PROJECT_WORK: {"zh": "项目工作经费", "en": "project work"},
}

CONTRIBUTION = "contribution"
SPENDING = "spending"
SETTLEMENT = "settlement"  # year-end refund (negative amount to the fund) or top-up (positive)
ENTRY_KINDS = (CONTRIBUTION, SPENDING, SETTLEMENT)

REVERSAL = "reversal"  # takes a booked entry back: its negative amount
REPLACEMENT = "replacement"  # the corrected amount, booked anew
CORRECTIONS = (REVERSAL, REPLACEMENT)

DEFAULT_RATE_BP = 200


class FundError(ValueError):
    """Bad fund input; the message says what is wrong, nothing is recorded."""


def check_shares(shares_bp: Mapping[str, int]) -> None:
    if not shares_bp:
        raise FundError("no insurer shares given")
    bad = [c for c, bp in shares_bp.items() if not isinstance(bp, int) or bp < 0]
    if bad:
        raise FundError(f"shares must be non-negative whole basis points: {', '.join(sorted(bad))}")
    total = sum(shares_bp.values())
    if total != TOTAL_BP:
        raise FundError(f"shares add up to {total} basis points, not {TOTAL_BP}")


def split_by_shares(amount_fen: int, shares_bp: Mapping[str, int]) -> dict[str, int]:
    """Split ``amount_fen`` by shares to the fen with the largest-remainder method (sums exactly)."""
    check_shares(shares_bp)
    if not isinstance(amount_fen, int):
        raise FundError("amounts are whole fen")
    sign = -1 if amount_fen < 0 else 1
    amount = abs(amount_fen)
    floors = {c: amount * bp // TOTAL_BP for c, bp in shares_bp.items()}
    remainders = {c: amount * bp % TOTAL_BP for c, bp in shares_bp.items()}
    left = amount - sum(floors.values())
    order = sorted(shares_bp, key=lambda c: (-remainders[c], -shares_bp[c], c))
    for c in order[:left]:
        floors[c] += 1
    return {c: sign * v for c, v in floors.items()}


def contribution_fen(premium_ex_tax_fen: int, rate_bp: int = DEFAULT_RATE_BP) -> int:
    """One insurer's contribution: its premium excluding tax × rate, rounded half-up to the fen."""
    if premium_ex_tax_fen < 0:
        raise FundError("a premium cannot be negative")
    return (premium_ex_tax_fen * rate_bp * 2 + TOTAL_BP) // (2 * TOTAL_BP)


def contributions(premiums_ex_tax_fen: Mapping[str, int], rate_bp: int = DEFAULT_RATE_BP) -> dict[str, int]:
    return {c: contribution_fen(p, rate_bp) for c, p in premiums_ex_tax_fen.items()}


@dataclass(frozen=True)
class FundEntry:
    kind: str
    on: date
    amount_fen: int
    insurer_code: str | None = None  # who contributed / who is paid back / who settles
    category: str | None = None  # spending only
    note: str = ""
    receipt_sha256: str | None = None
    id: str | None = None
    corrects: str | None = None  # the entry this one corrects
    correction: str | None = None  # REVERSAL or REPLACEMENT when ``corrects`` is set

    def __post_init__(self) -> None:
        if self.kind not in ENTRY_KINDS:
            raise FundError(f"unknown fund entry kind {self.kind!r}")
        if not isinstance(self.amount_fen, int):
            raise FundError("amounts are whole fen (integers)")
        if (self.corrects is None) != (self.correction is None) or (
                self.correction is not None and self.correction not in CORRECTIONS):
            raise FundError("a correction names the entry it corrects and is a reversal or a replacement")
        if self.kind == SPENDING:
            if self.category not in CATEGORIES:
                raise FundError(
                    f"spending category must be one of {', '.join(CATEGORIES)}, not {self.category!r}"
                )
            if self.correction == REVERSAL:
                if self.amount_fen >= 0:
                    raise FundError("a reversal of spending is negative (it takes the spending back)")
            elif self.amount_fen <= 0:
                raise FundError("a spending amount must be positive")
        if self.kind == CONTRIBUTION:
            if self.amount_fen <= 0 or not self.insurer_code:
                raise FundError("a contribution needs an insurer and a positive amount")
        if self.receipt_sha256 is not None:
            h = self.receipt_sha256
            if len(h) != 64 or any(ch not in "0123456789abcdef" for ch in h):
                raise FundError("receipt_sha256 must be 64 lower-case hex digits")

    @property
    def balance_effect(self) -> int:
        """How the entry moves the fund's balance."""
        if self.kind == SPENDING:
            return -self.amount_fen
        return self.amount_fen


def counter_entries(original: FundEntry, on: date, amount_fen: int = 0,
                    ids: tuple[str | None, str | None] = (None, None)) -> tuple[FundEntry, FundEntry | None]:
    """Correct ``original`` without touching it: its reversal and, when ``amount_fen`` > 0 (the
    corrected amount, with the original's sign), its replacement; both dated ``on``."""
    if isinstance(amount_fen, bool) or not isinstance(amount_fen, int) or amount_fen < 0:
        raise FundError("the corrected amount is whole fen, 0 or more (0: take the entry back entirely)")
    if original.id is None:
        raise FundError("only a booked entry (with its id) can be corrected")

    def copy(amount: int, correction: str, entry_id: str | None, receipt: str | None) -> FundEntry:
        return FundEntry(original.kind, on, amount, original.insurer_code, original.category, original.note,
                         receipt, entry_id, corrects=original.id, correction=correction)

    reversal = copy(-original.amount_fen, REVERSAL, ids[0], None)
    if amount_fen == 0:
        return reversal, None
    sign = -1 if original.amount_fen < 0 else 1
    return reversal, copy(sign * amount_fen, REPLACEMENT, ids[1], original.receipt_sha256)


def budget_amounts(amounts: Mapping[str, int]) -> dict[str, int]:
    """A budget's amounts, one per spending category (a category left out gets 0: nothing may be
    spent on it), whole fen, 0 or more."""
    unknown = sorted(set(amounts) - set(CATEGORIES))
    if unknown:
        raise FundError(f"budget categories must be among {', '.join(CATEGORIES)}, not {', '.join(unknown)}")
    out = {}
    for c in CATEGORIES:
        v = amounts.get(c, 0)
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise FundError(f"the budget for {c} must be whole fen, 0 or more")
        out[c] = v
    return out


def spent_in_year(entries: Iterable[FundEntry], year: int, upto: date | None = None) -> dict[str, int]:
    """Each category's spending dated in ``year`` (before ``upto`` when given), corrections
    included: what counts against that year's budget."""
    spent = {c: 0 for c in CATEGORIES}
    for e in entries:
        if e.kind == SPENDING and e.on.year == year and (upto is None or e.on < upto):
            spent[e.category] += e.amount_fen
    return spent


def budget_position(budget: Mapping[str, int] | None, spent: Mapping[str, int]) -> dict[str, dict[str, int | None]]:
    """Per category: the confirmed budget, what was spent against it and what remains (budget and
    remaining are None when no budget is confirmed)."""
    return {c: {"budget_fen": None if budget is None else budget.get(c, 0),
                "spent_fen": spent.get(c, 0),
                "remaining_fen": None if budget is None else budget.get(c, 0) - spent.get(c, 0)}
            for c in CATEGORIES}


def budget_overrun(budget: Mapping[str, int], spent: Mapping[str, int], category: str, amount_fen: int,
                   replacing: int = 0) -> int:
    """By how many fen booking ``amount_fen`` in ``category`` (taking ``replacing`` back first, for
    a correction) would take the year's spending above the confirmed budget; 0 when it fits. A
    booking that lowers the category's spending always fits, even where a category is over."""
    after = spent.get(category, 0) - replacing + amount_fen
    if amount_fen <= replacing:
        return 0
    return max(0, after - budget.get(category, 0))


def quarter_bounds(year: int, quarter: int) -> tuple[date, date]:
    if quarter not in (1, 2, 3, 4):
        raise FundError("quarter must be 1, 2, 3 or 4")
    start = date(year, 3 * quarter - 2, 1)
    end = date(year + 1, 1, 1) if quarter == 4 else date(year, 3 * quarter + 1, 1)
    return start, end


@dataclass
class Disclosure:
    year: int
    quarter: int
    opening_fen: int
    income_fen: int
    income_by_insurer: dict[str, int]
    spending_fen: int
    spending_by_category: dict[str, int]
    settlement_fen: int
    closing_fen: int
    insurer_parts: dict[str, dict[str, int]] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {
            "year": self.year, "quarter": self.quarter,
            "opening_fen": self.opening_fen, "income_fen": self.income_fen,
            "income_by_insurer": self.income_by_insurer,
            "spending_fen": self.spending_fen,
            "spending_by_category": self.spending_by_category,
            "settlement_fen": self.settlement_fen, "closing_fen": self.closing_fen,
            "insurer_parts": self.insurer_parts,
        }


def _in(entries: Iterable[FundEntry], start: date, end: date) -> list[FundEntry]:
    return [e for e in entries if start <= e.on < end]


def quarterly_disclosure(entries: Iterable[FundEntry], shares_bp: Mapping[str, int],
                         year: int, quarter: int) -> Disclosure:
    """The quarterly publication: opening, income, spending by category, closing, each one's part.

    Each insurer's part: what it contributed this quarter, its share of this quarter's spending
    (largest remainder), and its running position for the year so far (contributed minus its
    parts of spending, settlements included).
    """
    check_shares(shares_bp)
    entries = list(entries)
    start, end = quarter_bounds(year, quarter)
    opening = sum(e.balance_effect for e in entries if e.on < start)
    here = _in(entries, start, end)
    income_by = {c: 0 for c in shares_bp}
    for e in here:
        if e.kind == CONTRIBUTION:
            income_by[e.insurer_code] = income_by.get(e.insurer_code, 0) + e.amount_fen
    income = sum(income_by.values())
    by_cat = {c: 0 for c in CATEGORIES}
    for e in here:
        if e.kind == SPENDING:
            by_cat[e.category] += e.amount_fen
    spending = sum(by_cat.values())
    settlement = sum(e.amount_fen for e in here if e.kind == SETTLEMENT)
    closing = opening + income - spending + settlement
    spend_parts = split_by_shares(spending, shares_bp)
    year_pos = year_positions(entries, shares_bp, year, upto_quarter=quarter)
    parts = {
        c: {
            "share_bp": shares_bp[c],
            "contributed_fen": income_by.get(c, 0),
            "spending_part_fen": spend_parts[c],
            "year_position_fen": year_pos[c],
        }
        for c in shares_bp
    }
    return Disclosure(year, quarter, opening, income, income_by, spending, by_cat, settlement,
                      closing, parts)


def year_positions(entries: Iterable[FundEntry], shares_bp: Mapping[str, int], year: int,
                   upto_quarter: int = 4) -> dict[str, int]:
    """Each insurer's contributions minus its parts of spending (quarter by quarter), plus its
    settlements, for ``year`` up to and including ``upto_quarter``."""
    entries = list(entries)
    pos = {c: 0 for c in shares_bp}
    for q in range(1, upto_quarter + 1):
        start, end = quarter_bounds(year, q)
        here = _in(entries, start, end)
        for e in here:
            if e.kind in (CONTRIBUTION, SETTLEMENT) and e.insurer_code in pos:
                pos[e.insurer_code] += e.amount_fen
        spent = sum(e.amount_fen for e in here if e.kind == SPENDING)
        for c, part in split_by_shares(spent, shares_bp).items():
            pos[c] -= part
    return pos


def year_end_settlement(entries: Iterable[FundEntry], shares_bp: Mapping[str, int],
                        year: int) -> dict[str, int]:
    """多退少补: per insurer, the fen the fund pays back (positive) or the insurer tops up
    (negative) so that its contributions equal its part of the year's spending.

    Requires the fund to have started the year at zero (the previous year settled); the
    settlement entries to record are ``SETTLEMENT`` entries of ``-refund`` (money leaves the fund)
    or ``+top_up``.
    """
    entries = list(entries)
    start, _ = quarter_bounds(year, 1)
    opening = sum(e.balance_effect for e in entries if e.on < start)
    if opening != 0:
        raise FundError(f"the fund opened {year} with {opening} fen: settle the previous year first")
    pos = year_positions([e for e in entries if e.kind != SETTLEMENT], shares_bp, year)
    return pos


def settlement_entries(settlement: Mapping[str, int], on: date) -> list[FundEntry]:
    return [
        FundEntry(SETTLEMENT, on, -amount, c,
                  note=("年终退还" if amount > 0 else "年终补缴"))
        for c, amount in sorted(settlement.items()) if amount != 0
    ]


@dataclass(frozen=True)
class Recovery:
    """A claim the lead paid on behalf of all; each co-insurer owes its share back (代付赔款摊回)."""

    claim_id: str
    paid_fen: int
    lead_code: str
    parts: dict[str, int]

    @property
    def to_recover(self) -> dict[str, int]:
        return {c: v for c, v in self.parts.items() if c != self.lead_code}


def recovery_for(claim_id: str, paid_fen: int, shares_bp: Mapping[str, int], lead_code: str) -> Recovery:
    if paid_fen <= 0:
        raise FundError("a paid claim amount must be positive")
    if lead_code not in shares_bp:
        raise FundError(f"lead {lead_code!r} has no share")
    return Recovery(claim_id, paid_fen, lead_code, split_by_shares(paid_fen, shares_bp))


def recoveries_by_insurer(recoveries: Iterable[Recovery]) -> dict[str, int]:
    out: dict[str, int] = {}
    for r in recoveries:
        for c, v in r.to_recover.items():
            out[c] = out.get(c, 0) + v
    return out


# Recovering what co-insurers owe: the lead's office books what it asked each co-insurer for
# (a demand) and what arrived (a receipt). Entries are never edited: a wrong one is taken back by
# a correction, a counter-entry with the negative amount, dated the day it is booked (like the
# fund's reversals), so a position published for a period keeps its figures.
DEMANDED = "demanded"
RECEIVED = "received"
CORRECTION = "correction"
RECOVERY_KINDS = (DEMANDED, RECEIVED, CORRECTION)


@dataclass(frozen=True)
class RecoveryEntry:
    kind: str
    insurer_code: str
    amount_fen: int
    on: date
    id: str | None = None
    corrects: str | None = None  # a correction: the entry it takes back

    def __post_init__(self) -> None:
        if self.kind not in RECOVERY_KINDS:
            raise FundError(f"unknown recovery entry kind {self.kind!r}")
        if isinstance(self.amount_fen, bool) or not isinstance(self.amount_fen, int):
            raise FundError("amounts are whole fen (integers)")
        if (self.kind == CORRECTION) != (self.corrects is not None):
            raise FundError("a correction, and only a correction, names the entry it corrects")
        if self.kind == CORRECTION:
            if self.amount_fen >= 0:
                raise FundError("a correction is negative (it takes a demand or a receipt back)")
        elif self.amount_fen <= 0:
            raise FundError("a demanded or received amount must be positive")


def recovery_reversal(original: RecoveryEntry, on: date, entry_id: str | None = None) -> RecoveryEntry:
    """Take ``original`` back in full, dated ``on``. A correction is final: never corrected itself."""
    if original.kind == CORRECTION:
        raise FundError("a correction cannot be corrected")
    if original.id is None:
        raise FundError("only a booked entry (with its id) can be corrected")
    return RecoveryEntry(CORRECTION, original.insurer_code, -original.amount_fen, on, entry_id,
                         corrects=original.id)


def recovery_positions(owed: Mapping[str, int], entries: Iterable[RecoveryEntry],
                       upto: date | None = None) -> dict[str, dict[str, int]]:
    """Per co-insurer: what it owes (``owed``, from :func:`recoveries_by_insurer`), what was
    demanded and received (entries dated before ``upto``, when given, corrections counted on the
    kind of the entry they take back) and what is outstanding (owed − received).

    Every insurer of ``owed`` is listed, and every insurer with an entry."""
    entries = list(entries)
    kind_of = {e.id: e.kind for e in entries if e.id is not None}
    out = {c: {"owed_fen": v, "demanded_fen": 0, "received_fen": 0} for c, v in owed.items()}
    for e in entries:
        if upto is not None and e.on >= upto:
            continue
        kind = kind_of.get(e.corrects) if e.kind == CORRECTION else e.kind
        if kind not in (DEMANDED, RECEIVED):
            raise FundError(f"correction {e.id} takes back an entry that is not a demand or a receipt")
        row = out.setdefault(e.insurer_code, {"owed_fen": 0, "demanded_fen": 0, "received_fen": 0})
        row[f"{kind}_fen"] += e.amount_fen
    for row in out.values():
        row["outstanding_fen"] = row["owed_fen"] - row["received_fen"]
    return dict(sorted(out.items()))
