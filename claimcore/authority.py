"""Claim-authority tiers and the share-weighted vote of the co-insurers (the only place for them).

The seed notice (annex 2, 共保机构运营机制 (一)) sets who decides a claim by its single-claim amount:

- under 100,000 yuan: the lead insurer decides alone (全权处理);
- 100,000 to 200,000 yuan inclusive: before confirming, the lead informs every co-insurer and
  considers their opinions; if they cannot agree, the lead's opinion stands;
- 300,000 yuan and above: all co-insurers consult in a meeting called by the lead; if they cannot
  agree, the lead organises a vote **weighted by underwriting shares** and the result stands.

**[open]** The seed skips 200,000.01–299,999.99 yuan. :class:`Thresholds` puts that gap in the
full-consultation tier by default (the safer reading) and makes it, and every threshold, a setting.
**[open]** "single claim" is read per claim (one household or one person's case); aggregating is
the caller's choice of the amount it passes.

Amounts are integer fen (1 yuan = 100 fen), never float.

The vote (:func:`weighted_vote`)
--------------------------------
- Shares are basis points (1 bp = 0.01 %) and must sum to exactly 10,000.
- ``votes`` maps insurer code to the option it chose ("approve", "reject", or any proposal text,
  e.g. "approve:120000.00"). An insurer missing from ``votes``, or voting ``None`` or
  :data:`ABSTAIN`, abstains: its share counts for no option.
- Default basis ``"all"``: an option wins outright with **more than half of all shares**
  (≥ 5,001 bp). The decision binds every co-insurer's money, so absent insurers do not lower the
  bar; this is the safe reading of "按承保份额进行投票决议". Basis ``"cast"`` counts only the
  shares that voted (a setting, for a consortium agreement that says so).
- If no option has that majority and the top options are **tied**, the tie rule applies. Default
  :attr:`TieRule.LEAD_DECIDES`: the tied option the lead insurer voted for wins, because the seed
  has the lead organise the vote and, in the lower tier, lets the lead's opinion stand when the
  insurers cannot agree. :attr:`TieRule.NO_DECISION` leaves a tie undecided.
- Otherwise (no majority, no tie the rule can break) the vote is **undecided**: ``outcome`` is None
  and the lead calls another round (e.g. between the two leading options). Nothing is guessed.
- The result keeps the arithmetic: per-option totals, who voted what, abstentions, the basis and
  the threshold, so the minutes can show how the decision came about.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Mapping

TOTAL_SHARES_BP = 10_000
ABSTAIN = "abstain"


class Tier(str, enum.Enum):
    LEAD_ALONE = "lead_alone"
    INFORM_COINSURERS = "inform_coinsurers"
    FULL_CONSULTATION = "full_consultation"

    def label(self, lang: str = "zh") -> str:
        zh, en = _TIER_LABELS[self]
        return zh if lang == "zh" else en


_TIER_LABELS = {
    Tier.LEAD_ALONE: ("首席承保人全权处理", "lead insurer decides alone"),
    Tier.INFORM_COINSURERS: ("告知各共保方并听取意见，不能统一时以首席承保人意见为准",
                             "inform every co-insurer and consider their opinions; "
                             "the lead's opinion stands if they cannot agree"),
    Tier.FULL_CONSULTATION: ("全体共保人会商，不能一致时按承保份额投票决议",
                             "all co-insurers consult; if they cannot agree, a vote weighted by "
                             "shares decides"),
}


def _require_fen(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int amount in fen, not {type(value).__name__} "
                        f"({value!r}); money is never float")
    if value < 0:
        raise ValueError(f"{name} must not be negative: {value} fen")
    return value


@dataclass(frozen=True)
class Thresholds:
    """Tier thresholds in fen. Defaults follow the seed; ``gap_policy`` covers the amounts between
    ``inform_to_inclusive`` and ``consult_from`` that the seed does not mention."""

    inform_from: int = 100_000_00
    inform_to_inclusive: int = 200_000_00
    consult_from: int = 300_000_00
    gap_policy: Tier = Tier.FULL_CONSULTATION

    def __post_init__(self) -> None:
        for name in ("inform_from", "inform_to_inclusive", "consult_from"):
            _require_fen(getattr(self, name), name)
        if not (0 < self.inform_from <= self.inform_to_inclusive < self.consult_from):
            raise ValueError(
                "thresholds must satisfy 0 < inform_from <= inform_to_inclusive < consult_from, "
                f"got {self.inform_from}, {self.inform_to_inclusive}, {self.consult_from} fen")
        policy = Tier(self.gap_policy)  # accepts the enum or its string value
        if policy is Tier.LEAD_ALONE:
            # The tiers only grow with the amount: a larger claim never gets less oversight.
            raise ValueError("gap_policy must be inform_coinsurers or full_consultation")
        object.__setattr__(self, "gap_policy", policy)


DEFAULT_THRESHOLDS = Thresholds()


def tier_for_amount(amount_fen: int, thresholds: Thresholds = DEFAULT_THRESHOLDS) -> Tier:
    """The claim-authority tier for a single claim of ``amount_fen``."""
    _require_fen(amount_fen, "amount_fen")
    if amount_fen < thresholds.inform_from:
        return Tier.LEAD_ALONE
    if amount_fen <= thresholds.inform_to_inclusive:
        return Tier.INFORM_COINSURERS
    if amount_fen < thresholds.consult_from:
        return thresholds.gap_policy
    return Tier.FULL_CONSULTATION


# The options of an approval vote, as the minutes name them; any other proposal text is its own name.
_OPTION_NAMES = {"approve": ("同意", "approve"), "reject": ("不同意", "reject")}


class TieRule(str, enum.Enum):
    LEAD_DECIDES = "lead_decides"
    NO_DECISION = "no_decision"


class VoteError(ValueError):
    """The inputs of a vote are inconsistent (shares not summing to 10,000, unknown voter...)."""


@dataclass(frozen=True)
class VoteResult:
    """A vote and its arithmetic.

    ``outcome``: the winning option, or None when undecided. ``decided_by``: ``"majority"``,
    ``"tie_break_lead"`` or ``"undecided"``. ``totals_bp``: basis points per option, largest first.
    ``ballots``: insurer code → option for those who voted. ``abstained``: codes whose shares
    counted for no option. ``basis_bp``: the shares the majority is measured against;
    ``threshold_bp``: the smallest total that wins outright (more than half of ``basis_bp``).
    ``tied``: the options sharing the top total when more than one does.
    """

    outcome: str | None
    decided_by: str
    totals_bp: dict[str, int]
    ballots: dict[str, str]
    abstained: tuple[str, ...]
    cast_bp: int
    basis: str
    basis_bp: int
    threshold_bp: int
    tie_rule: TieRule
    lead_code: str
    tied: tuple[str, ...] = field(default=())

    @property
    def decided(self) -> bool:
        return self.outcome is not None

    def explain(self, lang: str = "zh") -> str:
        """One line for the minutes: totals, threshold and how the outcome came about."""
        def name(opt: str) -> str:
            return _OPTION_NAMES[opt][0 if lang == "zh" else 1] if opt in _OPTION_NAMES else opt

        totals = ", ".join(f"{name(opt)} {bp / 100:.2f}%" for opt, bp in self.totals_bp.items()) or "—"
        if lang == "zh":
            outcome = name(self.outcome) if self.outcome else ""
            how = {"majority": f"“{outcome}”超过半数",
                   "tie_break_lead": f"票数相同，按首席承保人意见“{outcome}”",
                   "undecided": "未形成决议，需再次表决"}[self.decided_by]
            return (f"表决（按承保份额）：{totals}；弃权/缺席 {len(self.abstained)} 家；"
                    f"通过线 {self.threshold_bp / 100:.2f}%；{how}")
        how = {"majority": f"'{self.outcome}' has a majority",
               "tie_break_lead": f"tie broken by the lead's vote: '{self.outcome}'",
               "undecided": "undecided, another round is needed"}[self.decided_by]
        return (f"share-weighted vote: {totals}; {len(self.abstained)} abstained or absent; "
                f"threshold {self.threshold_bp / 100:.2f}%; {how}")


def weighted_vote(
    votes: Mapping[str, str | None],
    shares_bp: Mapping[str, int],
    *,
    lead_code: str,
    tie_rule: TieRule | str = TieRule.LEAD_DECIDES,
    basis: str = "all",
) -> VoteResult:
    """Decide a co-insurers' vote weighted by underwriting shares (rules in the module docstring).

    Raises :class:`VoteError` when shares are not positive ints summing to 10,000 bp, when a voter
    or the lead has no share, or when an option is not a non-blank string.
    """
    tie_rule = TieRule(tie_rule)
    if basis not in ("all", "cast"):
        raise VoteError(f"basis must be 'all' or 'cast', not {basis!r}")
    if not shares_bp:
        raise VoteError("no shares given")
    for code, bp in shares_bp.items():
        if not isinstance(code, str) or not code:
            raise VoteError(f"insurer code must be a non-empty string, not {code!r}")
        if isinstance(bp, bool) or not isinstance(bp, int) or bp <= 0:
            raise VoteError(f"share of {code!r} must be a positive int in basis points, "
                            f"not {bp!r}")
    total = sum(shares_bp.values())
    if total != TOTAL_SHARES_BP:
        raise VoteError(f"shares must sum to {TOTAL_SHARES_BP} basis points (100%), not {total}")
    if lead_code not in shares_bp:
        raise VoteError(f"the lead insurer {lead_code!r} has no share")
    unknown = sorted(set(votes) - set(shares_bp))
    if unknown:
        raise VoteError(f"votes from insurers without a share: {', '.join(map(str, unknown))}")

    ballots: dict[str, str] = {}
    for code, option in votes.items():
        if option is None or option == ABSTAIN:
            continue
        if not isinstance(option, str) or not option.strip():
            raise VoteError(f"vote of {code!r} must be a non-blank option string, not {option!r}")
        ballots[code] = option.strip()
    abstained = tuple(sorted(code for code in shares_bp if code not in ballots))

    totals: dict[str, int] = {}
    for code, option in ballots.items():
        totals[option] = totals.get(option, 0) + shares_bp[code]
    # Largest first; equal totals in option-name order so the record reads the same every time.
    totals = dict(sorted(totals.items(), key=lambda kv: (-kv[1], kv[0])))
    cast_bp = sum(totals.values())
    basis_bp = TOTAL_SHARES_BP if basis == "all" else cast_bp
    threshold_bp = basis_bp // 2 + 1  # strictly more than half, in whole basis points

    def result(outcome: str | None, how: str, tied: tuple[str, ...] = ()) -> VoteResult:
        return VoteResult(outcome, how, totals, dict(sorted(ballots.items())), abstained, cast_bp,
                          basis, basis_bp, threshold_bp, tie_rule, lead_code, tied)

    if not totals:
        return result(None, "undecided")
    top_option, top_bp = next(iter(totals.items()))
    if top_bp >= threshold_bp:
        return result(top_option, "majority")
    tied = tuple(opt for opt, bp in totals.items() if bp == top_bp)
    if len(tied) > 1:
        lead_choice = ballots.get(lead_code)
        if tie_rule is TieRule.LEAD_DECIDES and lead_choice in tied:
            return result(lead_choice, "tie_break_lead", tied)
        return result(None, "undecided", tied)
    return result(None, "undecided")
