"""The claim JSON the documents are filled from (shape: docs/claim-json.md), and its validation.

Validation collects every problem before failing, so the person at the office printer sees the
whole list at once instead of fixing one field per attempt.
"""
from __future__ import annotations

import copy
import uuid
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import partial
from typing import Any

from claimcore import amounts, entities
from fieldapp.documents import catalogue_view, places

# The forms print heirs as claimants and the head of household on its own line (head_name), so a
# claim JSON names the other person roles only.
ROLES = tuple(r for r in entities.PERSON_ROLES if r not in ("heir", "household_head"))
LOSS_TYPES = entities.LOSS_TYPES
DOCUMENT_STATUSES = entities.DOCUMENT_STATUSES
SEVERITIES = ("collapsed", "severe", "moderate", "minor")
ATTORNEY_SCOPES = ("report", "documents", "sign", "notices", "payment")
DEFAULT_ATTORNEY_SCOPE = ("report", "documents", "sign", "notices")

_TOP_FIELDS = {
    "claim_id", "report_no", "policy_no", "coverage", "catalogue_version", "township_code",
    "village_code", "address", "incident_at", "description", "loss_types", "persons", "losses",
    "other_compensation_fen", "other_compensation_note", "document_statuses", "household",
    "power_of_attorney", "conditions", "attached_to", "loss_items", "payee_person_id",
}
_PERSON_FIELDS = {
    "id", "role", "name", "id_type", "id_number", "phone", "relation", "bank_name", "bank_account", "account_type",
}
ACCOUNT_TYPES = ("card", "passbook")
# purchase_date and damage_extent: what the loss inventory's columns ask of a property line, as a
# loss item (claimcore.entities LOSS_ITEM_KEYS) holds them; both optional.
_LOSS_FIELDS = {"loss_type", "item", "quantity", "unit_price_fen", "amount_fen", "note", "purchase_date",
                "damage_extent"}
DAMAGE_EXTENT_MAX_LEN = 50  # a loss item's damage_extent in the record contract
_HOUSEHOLD_FIELDS = {
    "head_name", "head_id_type", "head_id_number", "address", "size", "disaster_type", "disaster_at", "casualties",
    "rooms", "contents_loss_fen", "relocated", "relocated_to", "verifier", "verified_on",
}
_ROOM_FIELDS = {"room", "structure", "severity", "note"}
_ATTORNEY_FIELDS = {"scope", "valid_from", "valid_until"}
# Who is paid when nobody is named: the first person the payment rule allows
# (claimcore.amounts.payee_candidates), looking first at a person entered as payee, then the
# applicants, then the victim; anyone else after them.
_PAYEE_PREFERENCE = ("payee", "claimant", "heir", "victim")


class ClaimJsonError(ValueError):
    """The claim JSON is not usable; ``problems`` lists every reason, each prefixed by its path."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("invalid claim JSON:\n" + "\n".join(f"  - {p}" for p in self.problems))


class _Checker:
    def __init__(self) -> None:
        self.problems: list[str] = []

    def add(self, path: str, message: str) -> None:
        self.problems.append(f"{path}: {message}")

    def unknown_fields(self, path: str, obj: dict, allowed: set[str]) -> None:
        for key in sorted(set(obj) - allowed):
            self.add(f"{path}{key}" if path else key, "unknown field")

    def text(self, obj: dict, key: str, path: str, *, required: bool = False, max_len: int = 2000) -> str:
        value = obj.get(key)
        if value is None or value == "":
            if required:
                self.add(path + key, "required")
            return ""
        if not isinstance(value, str):
            self.add(path + key, f"must be a string, not {type(value).__name__}")
            return ""
        if len(value) > max_len:
            self.add(path + key, f"longer than {max_len} characters")
        return value.strip()

    def fen(self, obj: dict, key: str, path: str, *, required: bool = False) -> int | None:
        value = obj.get(key)
        if value is None:
            if required:
                self.add(path + key, "required (an amount in fen)")
            return None
        # bool is an int subclass and a float may already have lost a fen: both are refused.
        if isinstance(value, bool) or not isinstance(value, int):
            self.add(path + key, f"amounts are integer fen (1 yuan = 100 fen), not {value!r}")
            return None
        if value < 0:
            self.add(path + key, "must not be negative")
            return None
        return value

    def count(self, obj: dict, key: str, path: str, *, minimum: int = 0) -> int | None:
        value = obj.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            self.add(path + key, f"must be a whole number >= {minimum}, not {value!r}")
            return None
        return value

    def moment(self, obj: dict, key: str, path: str, *, required: bool = False) -> str:
        value = self.text(obj, key, path, required=required, max_len=40)
        if value:
            try:
                datetime.fromisoformat(value)
            except ValueError:
                self.add(path + key, f"not an ISO 8601 date-time: {value!r}")
                return ""
        return value

    def uuid(self, obj: dict, key: str, path: str) -> str:
        """An optional UUID, normalised to lower case as the record contract keeps it."""
        value = obj.get(key)
        if value is None or value == "":
            return ""
        try:
            if not isinstance(value, str):
                raise ValueError
            obj[key] = str(uuid.UUID(value))
        except ValueError:
            self.add(path + key, f"not a UUID: {value!r}")
            return ""
        return obj[key]

    def day(self, obj: dict, key: str, path: str) -> str:
        value = self.text(obj, key, path, max_len=40)
        if value:
            try:
                date.fromisoformat(value[:10])
            except ValueError:
                self.add(path + key, f"not an ISO 8601 date: {value!r}")
                return ""
        return value


def _id_type(check: _Checker, obj: dict, key: str, path: str) -> str | None:
    """The identity document ``obj[key]`` names (claimcore.entities.ID_TYPES). Absent or null is a
    resident ID (every claim JSON written before other documents were accepted) and is dropped from
    the normalised copy, which keeps old claims exactly as they were; None for an unknown type,
    whose number then cannot be checked."""
    value = obj.get(key)
    if value is None:
        obj.pop(key, None)
        return catalogue_view.DEFAULT_ID_TYPE
    if value not in catalogue_view.ID_TYPES:
        check.add(path + key, f"must be one of {', '.join(catalogue_view.ID_TYPES)}, not {value!r}")
        return None
    return value


def _quantity(check: _Checker, loss: dict, path: str) -> Decimal | None:
    value = loss.get("quantity")
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        check.add(path + "quantity", "must be a number")
        return None
    try:
        quantity = Decimal(str(value)) if isinstance(value, (int, float, str)) else None
    except InvalidOperation:
        quantity = None
    if quantity is None or not quantity.is_finite() or quantity <= 0:
        check.add(path + "quantity", f"must be a positive number, not {value!r}")
        return None
    return quantity


def validate_claim_json(obj: Any) -> dict:
    """Check a claim dict against docs/claim-json.md; return a normalised copy.

    Raises ClaimJsonError listing every problem: unknown coverage, catalogue version, township or
    village, identity document types, bad identity document numbers (each by its type's rule) or
    bank-card numbers, amounts that are not integer fen, line amounts that do not equal quantity x
    unit price, unknown roles, loss types, document codes or statuses, fields the shape does not
    have.
    """
    check = _Checker()
    if not isinstance(obj, dict):
        raise ClaimJsonError([f"(top level): must be a JSON object, not {type(obj).__name__}"])
    claim = copy.deepcopy(obj)
    check.unknown_fields("", claim, _TOP_FIELDS)

    claim_id = check.text(claim, "claim_id", "", required=True, max_len=64)
    if claim_id:
        try:
            uuid.UUID(claim_id)
        except ValueError:
            check.add("claim_id", f"not a UUID: {claim_id!r}")
    check.text(claim, "report_no", "", required=True, max_len=40)
    check.text(claim, "policy_no", "", max_len=60)

    version = check.text(claim, "catalogue_version", "", max_len=40) or None
    catalogue = None
    try:
        catalogue = catalogue_view.catalogue(version)
    except catalogue_view.UnknownCatalogueVersion as exc:
        check.add("catalogue_version", str(exc))
    coverage = check.text(claim, "coverage", "", required=True, max_len=60)
    allowed_loss_types: tuple[str, ...] = LOSS_TYPES
    if coverage and catalogue is not None:
        if not catalogue_view.has_coverage(catalogue, coverage):
            known = ", ".join(catalogue_view.coverage_codes(catalogue))
            check.add("coverage", f"unknown coverage {coverage!r} (known: {known})")
        else:
            allowed_loss_types = catalogue_view.coverage_loss_types(catalogue, coverage)
            _check_rider(check, claim, catalogue, coverage)

    township = check.text(claim, "township_code", "", required=True, max_len=12)
    if township and places.township_name(township) is None:
        check.add("township_code", f"unknown township code {township!r} (not one of Dazu's 27)")
    village = check.text(claim, "village_code", "", max_len=12)
    if village:
        owner = places.village_township(village)
        if owner is None:
            check.add("village_code", f"unknown village code {village!r}")
        elif township and owner != township:
            check.add("village_code", f"village {village} belongs to township {owner}, not {township}")
    check.text(claim, "address", "", max_len=200)
    check.moment(claim, "incident_at", "", required=True)
    check.text(claim, "description", "", max_len=20000)

    loss_types = claim.get("loss_types")
    if not isinstance(loss_types, list) or not loss_types:
        check.add("loss_types", "required: a non-empty list of loss types")
        loss_types = []
    else:
        for index, code in enumerate(loss_types):
            if code not in LOSS_TYPES:
                check.add(f"loss_types[{index}]", f"unknown loss type {code!r} (one of {', '.join(LOSS_TYPES)})")
            elif code not in allowed_loss_types:
                check.add(f"loss_types[{index}]", f"coverage {coverage} does not cover {code!r}")
        if len(set(map(str, loss_types))) != len(loss_types):
            check.add("loss_types", "lists a loss type twice")

    persons = claim.get("persons")
    if not isinstance(persons, list):
        check.add("persons", "required: a list of people (at least the victim)")
        persons = []
    role_counts = dict.fromkeys(ROLES, 0)
    person_ids: set[str] = set()
    for index, person in enumerate(persons):
        path = f"persons[{index}]."
        if not isinstance(person, dict):
            check.add(path[:-1], "must be an object")
            continue
        check.unknown_fields(path, person, _PERSON_FIELDS)
        person_id = check.uuid(person, "id", path)
        if person_id:
            if person_id in person_ids:
                check.add(path + "id", "the same id as another person")
            person_ids.add(person_id)
        role = person.get("role")
        if role not in ROLES:
            check.add(path + "role", f"must be one of {', '.join(ROLES)}, not {role!r}")
        else:
            role_counts[role] += 1
        check.text(person, "name", path, required=True, max_len=60)
        account_type = person.get("account_type", "card")
        if account_type not in ACCOUNT_TYPES:
            check.add(path + "account_type", f"must be one of {', '.join(ACCOUNT_TYPES)}, not {account_type!r}")
        account_check = catalogue_view.check_passbook if account_type == "passbook" else catalogue_view.check_bank_card
        id_type = _id_type(check, person, "id_type", path)
        for key, validator in (
            ("id_number", None if id_type is None else partial(catalogue_view.check_id_number, id_type=id_type)),
            ("phone", catalogue_view.check_mobile),
            ("bank_account", account_check),
        ):
            value = check.text(person, key, path, max_len=40)
            if value and validator is not None:
                normalised, problem = validator(value)
                if problem:
                    check.add(path + key, problem)
                else:
                    person[key] = normalised
        check.text(person, "relation", path, max_len=40)
        check.text(person, "bank_name", path, max_len=80)
    if role_counts["victim"] != 1:
        check.add("persons", f"needs exactly one person with role victim (found {role_counts['victim']})")
    for role in ("payee", "agent"):
        if role_counts[role] > 1:
            check.add("persons", f"at most one {role} (found {role_counts[role]})")

    losses = claim.get("losses", [])
    if not isinstance(losses, list):
        check.add("losses", "must be a list")
        losses = []
    for index, loss in enumerate(losses):
        path = f"losses[{index}]."
        if not isinstance(loss, dict):
            check.add(path[:-1], "must be an object")
            continue
        check.unknown_fields(path, loss, _LOSS_FIELDS)
        code = loss.get("loss_type")
        if code not in loss_types:
            check.add(path + "loss_type", f"{code!r} is not one of the claim's loss_types")
        check.text(loss, "item", path, required=True, max_len=200)
        check.text(loss, "note", path, max_len=200)
        check.day(loss, "purchase_date", path)
        check.text(loss, "damage_extent", path, max_len=DAMAGE_EXTENT_MAX_LEN)
        quantity = _quantity(check, loss, path)
        unit = check.fen(loss, "unit_price_fen", path)
        amount = check.fen(loss, "amount_fen", path, required=True)
        if quantity is not None and unit is not None and amount is not None:
            expected = quantity * unit
            if expected != amount:
                check.add(path + "amount_fen", f"{amount} is not quantity x unit_price_fen = {expected}")

    _check_loss_items(check, claim)
    _check_payee(check, claim, persons, loss_types)

    claim.setdefault("other_compensation_fen", 0)
    check.fen(claim, "other_compensation_fen", "")
    check.text(claim, "other_compensation_note", "", max_len=200)

    statuses = claim.get("document_statuses", {})
    if not isinstance(statuses, dict):
        check.add("document_statuses", "must be an object {document code: status}")
    else:
        known_documents = catalogue_view.document_codes(catalogue) if catalogue is not None else None
        for code, status in statuses.items():
            if known_documents is not None and code not in known_documents:
                check.add(f"document_statuses.{code}", "unknown document code in the catalogue")
            if status not in DOCUMENT_STATUSES:
                check.add(f"document_statuses.{code}", f"status must be one of {', '.join(DOCUMENT_STATUSES)}, not {status!r}")

    household = claim.get("household")
    if household is not None:
        _check_household(check, household)
    attorney = claim.get("power_of_attorney")
    if attorney is not None:
        _check_attorney(check, attorney)

    if check.problems:
        raise ClaimJsonError(check.problems)
    claim.setdefault("losses", [])
    claim.setdefault("document_statuses", {})
    return claim


def _check_loss_items(check: _Checker, claim: dict) -> None:
    """The loss inventory as the adjuster itemised it: each item by the record contract's own rule
    (claimcore.entities, the one the phone's store and the server apply), every bad item listed."""
    items = claim.get("loss_items")
    if items is None:
        return
    if not isinstance(items, list):
        check.add("loss_items", "must be a list of loss items")
        return
    most = entities.ENTITIES["claim"].fields["loss_items"].max_length
    if most is not None and len(items) > most:
        check.add("loss_items", f"at most {most} items (found {len(items)})")
    for index, item in enumerate(items):
        path = f"loss_items[{index}]"
        if not isinstance(item, dict):
            check.add(path, "must be an object")
            continue
        unknown = set(item) - set(entities.LOSS_ITEM_KEYS)
        if unknown:
            check.unknown_fields(path + ".", item, set(entities.LOSS_ITEM_KEYS))
            continue
        try:
            (items[index],) = entities.check_value("claim", "loss_items", [item])
        except entities.ContractError as exc:
            # The contract numbers items from 1 within the list it was given (here one item).
            reason = exc.detail[1] or exc.message("en")
            check.add(path, "item" + reason[len("item 1"):] if reason.startswith("item 1") else reason)


def _check_payee(check: _Checker, claim: dict, persons: list, loss_types: list) -> None:
    """``payee_person_id``: absent, the payment rule picks the payee; null, nobody can be printed
    (the boxes are left for hand-filling); else the ``id`` of a person the rule allows to be paid
    whatever their account (never the deceased victim of a death claim)."""
    if "payee_person_id" not in claim or claim["payee_person_id"] is None:
        return
    payee_id = check.uuid(claim, "payee_person_id", "")
    if not payee_id:
        return
    index = next((i for i, p in enumerate(persons) if isinstance(p, dict) and p.get("id") == payee_id), None)
    if index is None:
        check.add("payee_person_id", "names no person of this claim (persons[].id)")
        return
    codes = [code for code in loss_types if isinstance(code, str)]
    if str(index) not in amounts.payee_candidates(_money_persons(persons, codes, any_account=True), codes):
        what = persons[index].get("role")
        check.add("payee_person_id", f"the {what} may not be paid on this claim (a death claim pays an heir "
                                     "(a claimant), the agent or the payee; never the deceased)")


def _money_persons(persons: list, loss_types: list, *, any_account: bool = False) -> list[dict]:
    """The claim JSON's persons as claimcore.amounts reads them, ``id`` being the index in
    ``persons``, in the order of _PAYEE_PREFERENCE. On a death claim the claim JSON's claimants are
    the heirs (docs/claim-json.md: heirs apply in a death claim), so they go in as heirs."""
    death = "death" in loss_types
    out = []
    for index, person in enumerate(persons):
        if not isinstance(person, dict):
            continue
        role = person.get("role")
        out.append({"id": str(index), "role_in_claim": "heir" if death and role == "claimant" else role,
                    "has_bank_account": any_account or bool(person.get("bank_account"))})
    return sorted(out, key=lambda p: payee_preference(p["role_in_claim"]))


def payee_preference(role: str | None) -> int:
    """Sort key: whom to look at first for the payee."""
    return _PAYEE_PREFERENCE.index(role) if role in _PAYEE_PREFERENCE else len(_PAYEE_PREFERENCE)


def payee_person(claim: dict) -> dict | None:
    """The person the forms print as payee (收款人) of a validated claim: the one named by
    ``payee_person_id``; without it the first of claimcore.amounts.payee_candidates (a person with
    a bank account; on a death claim an heir, the agent or the payee, never the deceased victim);
    None when nobody qualifies, and when ``payee_person_id`` is null."""
    persons = claim.get("persons") or []
    if "payee_person_id" in claim:
        wanted = claim["payee_person_id"]
        return next((p for p in persons if wanted is not None and p.get("id") == wanted), None)
    codes = claim.get("loss_types") or []
    candidates = amounts.payee_candidates(_money_persons(persons, codes), codes)
    return persons[int(candidates[0])] if candidates else None


def _check_rider(check: _Checker, claim: dict, catalogue, coverage: str) -> None:
    """A rider whose cause evidence comes from its main coverage must name that coverage, and
    conditions (e.g. frontline_worker) must be the catalogue's."""
    attached = check.text(claim, "attached_to", "", max_len=60)
    rider = catalogue.coverage(coverage)
    if attached and attached not in rider.attaches_to:
        where = ", ".join(rider.attaches_to) or "no main coverage"
        check.add("attached_to", f"{coverage} attaches to {where}, not {attached!r}")
    elif not attached and rider.cause_evidence_from_main:
        check.add("attached_to", f"required for the rider {coverage}: one of {', '.join(rider.attaches_to)}")
    conditions = claim.get("conditions", [])
    if not isinstance(conditions, list):
        check.add("conditions", "must be a list of condition codes")
        return
    for index, code in enumerate(conditions):
        if code not in catalogue.conditions or code == "by_agent":
            known = ", ".join(c for c in catalogue.conditions if c != "by_agent")
            check.add(f"conditions[{index}]", f"unknown condition {code!r} (known: {known}; "
                                              "by_agent follows from a person with role agent)")


def _check_household(check: _Checker, household: Any) -> None:
    path = "household."
    if not isinstance(household, dict):
        check.add("household", "must be an object")
        return
    check.unknown_fields(path, household, _HOUSEHOLD_FIELDS)
    check.text(household, "head_name", path, max_len=60)
    head_id_type = _id_type(check, household, "head_id_type", path)
    head_id = check.text(household, "head_id_number", path, max_len=40)
    if "head_id_type" in household and not head_id:
        # Without its own number the head's is taken from the claim's person of that name, with
        # that person's type: a type here would describe nothing.
        check.add(path + "head_id_type", "only together with head_id_number")
    if head_id and head_id_type is not None:
        normalised, problem = catalogue_view.check_id_number(head_id, head_id_type)
        if problem:
            check.add(path + "head_id_number", problem)
        else:
            household["head_id_number"] = normalised
    check.text(household, "address", path, max_len=200)
    check.count(household, "size", path, minimum=1)
    check.text(household, "disaster_type", path, max_len=60)
    check.moment(household, "disaster_at", path)
    casualties = household.get("casualties")
    if casualties is not None:
        if not isinstance(casualties, dict):
            check.add(path + "casualties", "must be an object {dead, injured, missing}")
        else:
            check.unknown_fields(path + "casualties.", casualties, {"dead", "injured", "missing"})
            for key in ("dead", "injured", "missing"):
                check.count(casualties, key, path + "casualties.")
    rooms = household.get("rooms", [])
    if not isinstance(rooms, list):
        check.add(path + "rooms", "must be a list")
        rooms = []
    for index, room in enumerate(rooms):
        room_path = f"{path}rooms[{index}]."
        if not isinstance(room, dict):
            check.add(room_path[:-1], "must be an object")
            continue
        check.unknown_fields(room_path, room, _ROOM_FIELDS)
        check.text(room, "room", room_path, required=True, max_len=60)
        check.text(room, "structure", room_path, max_len=60)
        check.text(room, "note", room_path, max_len=200)
        if room.get("severity") not in SEVERITIES:
            check.add(room_path + "severity", f"must be one of {', '.join(SEVERITIES)}, not {room.get('severity')!r}")
    check.fen(household, "contents_loss_fen", path)
    relocated = household.get("relocated")
    if relocated is not None and not isinstance(relocated, bool):
        check.add(path + "relocated", "must be true or false")
    check.text(household, "relocated_to", path, max_len=200)
    check.text(household, "verifier", path, max_len=60)
    check.day(household, "verified_on", path)


def _check_attorney(check: _Checker, attorney: Any) -> None:
    path = "power_of_attorney."
    if not isinstance(attorney, dict):
        check.add("power_of_attorney", "must be an object")
        return
    check.unknown_fields(path, attorney, _ATTORNEY_FIELDS)
    scope = attorney.get("scope")
    if scope is not None:
        if not isinstance(scope, list) or not scope:
            check.add(path + "scope", "must be a non-empty list")
        else:
            for index, code in enumerate(scope):
                if code not in ATTORNEY_SCOPES:
                    check.add(f"{path}scope[{index}]", f"must be one of {', '.join(ATTORNEY_SCOPES)}, not {code!r}")
    check.day(attorney, "valid_from", path)
    check.day(attorney, "valid_until", path)
