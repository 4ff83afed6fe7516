"""The programme's caps on the server: each claim's payable amount under the per-event and per-year
caps of the cooperation agreement (the rule is claimcore.amounts.payable_for; this module finds
the claims it is applied to).

    payable(session, claim, values)        what the claim may be paid now (the push path's payment
                                           check gives it to claimcore.amounts.check_payment)
    GET /api/v1/claims/{claim_id}/payable  the same answer, for the phone to show before paying
                                           (sync_server.claims.routes)

The pools: every claim with an adjusted amount that is not declined or withdrawn. An event's pool
is its claims (``claims.event_id``, as GET /api/v1/events/{id} lists them); a policy year's pool
is the claims whose accident falls in that year (claimcore.agreement), after their events'
reductions. What was paid already counts against the cap (a paid, closed or reopened claim's paid
amount), so payments made one after another never add up to more than a cap. Payments take turns
(an advisory lock on PostgreSQL) so two made at once cannot both count on the same remainder."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from claimcore import amounts

from ..core.models import Claim

# Claims whose paid amount has left the pool's cap.
PAID_STATES = ("paid", "closed", "reopened")


PAYMENT_LOCK_KEY = 4_207_113_014


def lock_payments(session: Session) -> None:
    """Payments checked against a cap take turns on PostgreSQL (SQLite writers do anyway)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": PAYMENT_LOCK_KEY})


def _pool_claim(row: Any) -> amounts.PoolClaim:
    paid = row.paid_amount_fen if row.status in PAID_STATES else 0
    return amounts.pool_claim(row.id, adjusted_fen=row.adjusted_amount_fen, incident_at=row.incident_at,
                              event_id=row.event_id, paid_fen=paid, fallback_moment=row.created_at)


def payable(session: Session, claim: Claim, values: dict[str, Any] | None = None) -> amounts.Payable | None:
    """The claim's payable amount, or None before it has an adjusted amount. ``values``: the
    claim's fields as a write would leave them (default: as stored)."""
    values = values if values is not None else {}
    adjusted = values.get("adjusted_amount_fen", claim.adjusted_amount_fen)
    if adjusted is None:
        return None
    me = amounts.pool_claim(claim.id, adjusted_fen=adjusted, incident_at=values.get("incident_at", claim.incident_at),
                            event_id=values.get("event_id", claim.event_id), fallback_moment=claim.created_at)
    rows = session.execute(
        select(Claim.id, Claim.event_id, Claim.status, Claim.adjusted_amount_fen, Claim.paid_amount_fen,
               Claim.incident_at, Claim.created_at)
        .where(Claim.adjusted_amount_fen.is_not(None), Claim.status.not_in(amounts.UNPAID_END_STATES),
               Claim.id != claim.id)).all()
    pool = [_pool_claim(r) for r in rows]
    # The year's claims, and every claim of the events they (or this claim) are in.
    events = {c.event_id for c in pool if c.policy_year == me.policy_year and c.event_id} | {me.event_id}
    pool = [c for c in pool if c.policy_year == me.policy_year or (c.event_id is not None and c.event_id in events)]
    return amounts.payable_for(me, pool)


