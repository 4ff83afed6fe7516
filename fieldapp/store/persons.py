"""Persons of a claim; their identity, phone, bank and medical details sealed at rest."""
from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from claimcore import entities
from claimcore.validators import DEFAULT_ID_TYPE

from . import contract
from ._base import (
    NotFoundError,
    StoreValidationError,
    check_uuid,
    new_id,
    now_iso,
)
from .crypto import FieldCipher, aad_for
from .db import Repo
from .outbox import record_mutation
from .records import (
    PersonRecord,
)
from .schema import (
    Person,
)

# Wire field name -> persons column, for the values sealed at rest.
PERSON_SEALED_FIELDS: dict[str, str] = {
    "id_number": "id_number_enc",
    "phone": "phone_enc",
    "bank_card": "bank_card_enc",
    "medical": "medical_enc",
}
assert entities.sealed_fields("person") == frozenset(PERSON_SEALED_FIELDS), "every sealed field has a column"

PERSON_EDITABLE = frozenset({"role_in_claim", "relation", "name", "id_type", "id_number", "phone", "bank_card",
                             "bank_name", "medical"})

# A sealed value is bound to the field's name as it was first sealed: the bank card was named
# bank_account then, and renaming its label would make every sealed account unreadable.
_SEAL_LABELS = {"bank_card": "bank_account"}


def seal_person_value(cipher: FieldCipher, person_id: str, name: str, value: Any) -> bytes | None:
    if value is None:
        return None
    return cipher.seal_bytes(json.dumps(value, ensure_ascii=False).encode("utf-8"),
                             aad_for("persons", _SEAL_LABELS.get(name, name), person_id))


def open_person_value(cipher: FieldCipher, person_id: str, name: str, sealed: bytes | None) -> Any:
    if sealed is None:
        return None
    return json.loads(cipher.open_bytes(sealed, aad_for("persons", _SEAL_LABELS.get(name, name), person_id)))


def person_record(cipher: FieldCipher, p: Person) -> PersonRecord:
    opened = {name: open_person_value(cipher, p.id, name, getattr(p, col))
              for name, col in PERSON_SEALED_FIELDS.items()}
    return PersonRecord(id=p.id, claim_id=p.claim_id, role_in_claim=p.role_in_claim, relation=p.relation, name=p.name,
                        bank_name=p.bank_name, created_at=p.created_at, updated_at=p.updated_at,
                        version=p.version, id_type=p.id_type or DEFAULT_ID_TYPE, **opened)


def _validate_person_fields(fields: dict[str, Any], role: str | None = None, *,
                            creating: bool = False, current: PersonRecord | None = None) -> dict[str, Any]:
    unknown = sorted(set(fields) - PERSON_EDITABLE)
    if unknown:
        raise StoreValidationError("error.store.person_field_fixed", field=unknown[0])
    fields = {k: (v.strip() or None) if isinstance(v, str) and k != "role_in_claim" else v
              for k, v in fields.items()}
    # The stored document type and number: a write changing one is checked against the other.
    stored = {"id_type": current.id_type, "id_number": current.id_number} if current is not None else None
    return contract.check("person", fields, role=role, creating=creating, current=stored)


class PersonsRepo(Repo):
    """Victims, claimants, payees, agents and heirs of a claim. ID number, phone, bank account and
    medical details are sealed at rest; records come back decrypted."""

    def add(self, claim_id: str, *, role_in_claim: str, name: str | None = None, relation: str | None = None,
            id_number: str | None = None, phone: str | None = None, bank_card: str | None = None,
            bank_name: str | None = None, medical: Any = None, person_id: str | None = None,
            id_type: str | None = None) -> str:
        values = _validate_person_fields({
            "role_in_claim": role_in_claim, "name": name, "relation": relation, "id_type": id_type,
            "id_number": id_number, "phone": phone, "bank_card": bank_card, "bank_name": bank_name,
            "medical": medical},
            self._db.writer_role, creating=True)
        person_id = check_uuid(person_id, "person_id") if person_id is not None else new_id()
        stamp = now_iso()
        with self._db.write() as session:
            self._claim(session, claim_id)
            p = Person(id=person_id, claim_id=claim_id, role_in_claim=values["role_in_claim"],
                       relation=values["relation"], id_type=values["id_type"],
                       name=values["name"], bank_name=values["bank_name"], created_at=stamp,
                       updated_at=stamp, version=None)
            for wire_name, col in PERSON_SEALED_FIELDS.items():
                setattr(p, col, seal_person_value(self._c, person_id, wire_name, values[wire_name]))
            session.add(p)
            wire = {"claim_id": claim_id, "created_at": stamp,
                    **{k: v for k, v in values.items() if v is not None}}
            record_mutation(session, self._c, "person", person_id, wire)
            return person_id

    def update(self, person_id: str, **fields: Any) -> frozenset[str]:
        with self._db.write() as session:
            p = session.get(Person, person_id)
            if p is None:
                raise NotFoundError("person", person_id)
            current = person_record(self._c, p)
            values = _validate_person_fields(fields, self._db.writer_role, current=current)
            if "id_type" in values and values["id_type"] is None:
                values["id_type"] = DEFAULT_ID_TYPE  # no type is a resident ID: not a change
            changed = {k: v for k, v in values.items() if getattr(current, k) != v}
            if not changed:
                return frozenset()
            for k, v in changed.items():
                if k in PERSON_SEALED_FIELDS:
                    setattr(p, PERSON_SEALED_FIELDS[k], seal_person_value(self._c, person_id, k, v))
                else:
                    setattr(p, k, v)
            p.updated_at = now_iso()
            record_mutation(session, self._c, "person", person_id, {"claim_id": p.claim_id, **changed},
                            base_version=p.version)
            return frozenset(changed)

    def remove(self, person_id: str) -> None:
        with self._db.write() as session:
            p = session.get(Person, person_id)
            if p is None:
                raise NotFoundError("person", person_id)
            claim_id, version = p.claim_id, p.version
            session.delete(p)
            record_mutation(session, self._c, "person", person_id, {"claim_id": claim_id},
                            op="delete", base_version=version)

    def get(self, person_id: str) -> PersonRecord:
        with self._db.read() as session:
            p = session.get(Person, person_id)
            if p is None:
                raise NotFoundError("person", person_id)
            return person_record(self._c, p)

    def claims_with_id_number(self, id_number: str) -> set[str]:
        """The claims naming a person with exactly this ID number (sealed at rest: each is opened
        and compared, never searched by substring)."""
        wanted = (id_number or "").strip().upper()
        if not wanted:
            return set()
        with self._db.read() as session:
            rows = session.execute(select(Person.id, Person.claim_id, Person.id_number_enc)
                                   .where(Person.id_number_enc.is_not(None))).all()
        return {cid for pid, cid, sealed in rows
                if str(open_person_value(self._c, pid, "id_number", sealed) or "").upper() == wanted}

    def list_for_claim(self, claim_id: str) -> list[PersonRecord]:
        with self._db.read() as session:
            rows = session.scalars(select(Person).where(Person.claim_id == claim_id)
                                   .order_by(Person.created_at, Person.id)).all()
            return [person_record(self._c, p) for p in rows]

