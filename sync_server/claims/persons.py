"""The office's search for a person by the number of an identity document
(POST /api/v1/persons/search): which claims name that person, and in what role.

The numbers are sealed at rest (sync_server.core.sealing); the search goes through their blind
index, and the opened number and its document type decide each match."""
from __future__ import annotations

from sqlalchemy import select

from claimcore import validators

from ..core import sealing
from ..core.auth import Caller, refuse
from ..core.changelog import OFFICE_ROLES
from ..core.db import Database
from ..core.error_codes import ERR
from ..core.errors import ApiError
from ..core.models import Record


def search(db: Database, caller: Caller, path: str, id_number: str, id_type: str) -> list[dict]:
    """The persons of every claim with this document number: claim_id, person_id, role_in_claim.
    Only the office (adjusters, the coordinator) searches; ``path`` names the route in the refusal's log."""
    if caller.user.role not in OFFICE_ROLES:
        refuse(caller, "role_not_office", path)
        raise ApiError(403, ERR.forbidden, "only adjusters and the coordinator search persons by ID number")
    try:
        number = validators.validate_identity_number(id_number, id_type)
    except validators.ValidationError as exc:
        # The rule broken, never the number: it is personal data.
        raise ApiError(422, ERR.invalid_id_number, exc.message("en")) from None
    indexes = sealing.sealer_of(db.engine.dialect).blind_indexes(number, id_type)
    with db.read() as session:
        rows = session.execute(
            select(Record)
            .where(Record.id_index.in_(indexes), Record.entity == "person", Record.deleted.is_(False))
            .order_by(Record.claim_id, Record.id)
        ).scalars().all()
        # The index only points; the opened value and its type decide (an index left from an
        # older number never answers for the new one).
        return [{"claim_id": r.claim_id, "person_id": r.id, "role_in_claim": (r.fields or {}).get("role_in_claim")}
                for r in rows if (r.fields or {}).get("id_number") == number
                and ((r.fields or {}).get("id_type") or validators.DEFAULT_ID_TYPE) == id_type]
