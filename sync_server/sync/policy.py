"""What the server accepts from a phone: the record contract (claimcore.entities) applied to pushes.

Every field, limit, word list and role rule comes from the contract, so the server refuses exactly
what the phone's store refuses. The server adds only what a phone cannot know: scope (a liaison's
own township, a claim the user may see), the workflow guards and the co-insurance rules.
Server-managed values (versions, who created a record, timestamps) are never taken from a phone.
"""
from __future__ import annotations

import re
import uuid
from typing import Any, Mapping

from claimcore import entities

from ..core.domain import DomainError

ALL_ROLES = frozenset(entities.USER_ROLES)
FIELD_ROLES = frozenset(entities.FILE_ROLES)  # who works a claim's files (and sees personal data)
# \Z, not $: "$" also matches before a trailing newline, which would let "<hash>\n" through.
SHA256_RE = re.compile(r"^[0-9a-f]{64}\Z")

CLAIM_REQUIRED_ON_CREATE = entities.CLAIM.required()
# Claim fields with a column of their own; the rest live in claims.data.
CLAIM_COLUMNS = frozenset(
    {
        "status", "coverage", "township_code", "village_code", "incident_at", "description",
        "event_id", "claimed_amount_fen", "adjusted_amount_fen", "paid_amount_fen",
        "catalogue_version",
    }
)
# Entities stored as generic records of one claim (the co-insurance entities have their own
# handlers and tables).
RECORD_ENTITIES: tuple[str, ...] = ("person", "document", "photo", "note", "transition")
APPEND_ONLY = frozenset(name for name, e in entities.ENTITIES.items() if e.append_only)


def create_roles(entity: str) -> frozenset[str]:
    """Who may add records of this kind at all (a surveyor does not handle victims' data)."""
    return frozenset(entities.ENTITIES[entity].create_roles)


def is_uuid(value: object) -> bool:
    if not isinstance(value, str) or len(value) != 36:
        return False
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


class ContractRefusal(DomainError):
    """A field that breaks the record contract; ``field`` names it for the push receipt."""

    def __init__(self, exc: entities.ContractError):
        super().__init__(exc.code, f"{exc.entity}.{exc.field}: {exc.message('en')} / {exc.message('zh')}")
        self.field = exc.field


def check_fields(entity: str, fields: Mapping[str, Any], role: str, *, creating: bool = False,
                 current: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The contract's checks for one pushed write (raises :class:`ContractRefusal`); ``current``:
    the record as stored, for the rules spanning fields (a person's ID number and its type)."""
    try:
        return entities.check_fields(entity, fields, role=role, creating=creating, current=current)
    except entities.ContractError as exc:
        raise ContractRefusal(exc) from None
