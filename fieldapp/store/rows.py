"""How rows of the store's tables travel as mutations, shared by the repositories."""
from __future__ import annotations

from .schema import (
    Base,
    Claim,
    Document,
    Note,
    Person,
    Photo,
    Transition,
)


def column_names(model: type[Base]) -> list[str]:
    return [c.key for c in model.__table__.columns]


# Columns that never travel in a mutation: the record id is the mutation's "id", the version is
# the server's, upload_state is this phone's own bookkeeping.
LOCAL_ONLY = {"id", "version", "upload_state"}


SYNCED_MODELS: dict[str, type[Base]] = {
    "claim": Claim, "person": Person, "document": Document, "photo": Photo, "note": Note,
    "transition": Transition,
}


def wire_columns(model: type[Base]) -> list[str]:
    return [c for c in column_names(model) if c not in LOCAL_ONLY]
