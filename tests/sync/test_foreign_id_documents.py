"""Identity documents of visitors through the real sync path: the phone's store and the server
accept and refuse exactly what claimcore's rule for the person's document type says, a write
changing only the type is judged against the number on file on both sides, and the office's search
never confuses a number of one type with the same characters of another."""
from __future__ import annotations

from sqlalchemy import select

from claimcore import validators, wire
from fieldapp.store import StoreValidationError
from fieldapp.store.outbox import record_mutation
from sync_server.core.models import Record

from .conftest import TOWNSHIP_A, server_records, valid_id_number

PR_2023 = "932682198501010017"
PR_OLD = "KAZ110090123105"
RESIDENT = "500111199001011232"
assert validators.is_valid_identity_number(RESIDENT)

# (id_type, number as typed): valid and invalid for each type, and numbers stated as the wrong type.
CASES = [
    (None, RESIDENT), ("resident_id", RESIDENT[:-1] + "0"), ("resident_id", "E12345678"),
    ("passport", "e1234 5678"), ("passport", "AB12"), ("passport", "E1234567-"), ("passport", RESIDENT),
    ("foreign_permanent_resident", PR_2023), ("foreign_permanent_resident", PR_OLD.lower()),
    ("foreign_permanent_resident", PR_2023[:-1] + "8"), ("foreign_permanent_resident", PR_OLD[:-1] + "6"),
    ("foreign_permanent_resident", RESIDENT), ("foreign_permanent_resident", "9" * 18),
    ("residence_permit", "ab123456"), ("residence_permit", RESIDENT), ("residence_permit", "AB12"),
    ("residence_permit", "AB_123456"), ("visa", "E12345678"),
]


def _adjuster(server, phones):
    phone = phones()
    phone.enroll("adjuster")
    phone.store.writer_role = "adjuster"
    claim_id = phone.new_claim(TOWNSHIP_A)
    phone.sync_until_quiet()
    return phone, claim_id


def _problem(phone, record_id: str) -> dict | None:
    return next((p for p in phone.client.rejections() if p["id"] == record_id), None)


def _force(phone, record_id: str, fields: dict, base_version=None) -> None:
    """Queue what the store refused, as an older or tampered app would have queued it."""
    with phone.store.db.write() as session:  # simulating another app version
        record_mutation(session, phone.store.db.cipher, "person", record_id, fields, base_version=base_version)


def _sync(phone) -> None:
    phone.client.sync_once()
    phone.client.sync_once()


def test_phone_and_server_agree_with_claimcore_for_every_document_type(server, phones):
    phone, claim_id = _adjuster(server, phones)
    verdicts = []
    for id_type, number in CASES:
        expected = validators.is_valid_identity_number(number, id_type)
        try:
            pid = phone.store.persons.add(claim_id, role_in_claim="victim", name="访客", id_type=id_type,
                                          id_number=number)
        except StoreValidationError:
            pid = wire.new_id()
            _force(phone, pid, {"claim_id": claim_id, "role_in_claim": "victim", "name": "访客",
                                "id_type": id_type, "id_number": number})
            verdicts.append((id_type, number, expected, False, pid))
        else:
            verdicts.append((id_type, number, expected, True, pid))
    _sync(phone)
    held = {r["id"]: r["fields"] for r in server_records(server, "person")}
    for id_type, number, expected, phone_took_it, pid in verdicts:
        assert phone_took_it == expected, (id_type, number)
        if expected:
            assert _problem(phone, pid) is None, (id_type, number, _problem(phone, pid))
            assert held[pid]["id_number"] == validators.validate_identity_number(number, id_type)
            assert held[pid].get("id_type") == id_type
            local = phone.store.persons.get(pid)
            assert (local.id_type, local.id_number) == (id_type or "resident_id", held[pid]["id_number"])
        else:
            problem = _problem(phone, pid)
            assert problem is not None and pid not in held, (id_type, number)
            assert number not in str(problem)  # the refusal never echoes the number
    assert sum(v[2] for v in verdicts) >= 7 and sum(not v[2] for v in verdicts) >= 10


def test_a_type_changed_alone_must_fit_the_number_on_file_on_both_sides(server, phones):
    phone, claim_id = _adjuster(server, phones)
    pid = phone.store.persons.add(claim_id, role_in_claim="victim", name="John Smith", id_type="passport",
                                  id_number="E12345678")
    _sync(phone)
    version = phone.store.persons.get(pid).version
    assert version is not None

    try:
        phone.store.persons.update(pid, id_type="resident_id")
    except StoreValidationError as exc:
        assert "证件号码" in exc.message("zh") and "number on file" in exc.message("en")
    else:
        raise AssertionError("the store took a document type that does not fit the number on file")
    _force(phone, pid, {"claim_id": claim_id, "id_type": "resident_id"}, base_version=version)
    _sync(phone)
    problem = _problem(phone, pid)
    assert problem is not None and "id_type" in str(problem)
    assert {r["id"]: r for r in server_records(server, "person")}[pid]["fields"]["id_type"] == "passport"
    phone.client.dismiss_problem("person", pid)

    # The type and its number together: accepted by both, and the number alone is then judged as
    # a resident ID.
    phone.store.persons.update(pid, id_type="resident_id", id_number=RESIDENT)
    _sync(phone)
    assert _problem(phone, pid) is None
    fields = {r["id"]: r for r in server_records(server, "person")}[pid]["fields"]
    assert (fields["id_type"], fields["id_number"]) == ("resident_id", RESIDENT)
    try:
        phone.store.persons.update(pid, id_number="G7654321")
    except StoreValidationError:
        pass
    else:
        raise AssertionError("a passport number was taken as the resident ID on file")


def test_the_office_search_keeps_each_document_type_apart(server, phones):
    phone, claim_id = _adjuster(server, phones)
    resident = phone.store.persons.add(claim_id, role_in_claim="victim", name="张三", id_number=RESIDENT)
    # A residence permit printed with exactly the same characters as that resident ID.
    permit = phone.store.persons.add(claim_id, role_in_claim="claimant", name="Anna", id_type="residence_permit",
                                     id_number=RESIDENT)
    other = valid_id_number()
    phone.store.persons.add(claim_id, role_in_claim="payee", name="李四", id_number=other)
    phone.sync_until_quiet()
    with server.harness.db.read() as s:
        index = dict(s.execute(select(Record.id, Record.id_index).where(Record.entity == "person")).all())
    assert index[resident] and index[permit] and index[resident] != index[permit]

    office = server.actor("coordinator")

    def search(body: dict) -> list[str]:
        r = server.http.post("/api/v1/persons/search", headers=office.headers, json=body)
        assert r.status_code == 200, r.text
        return [m["person_id"] for m in r.json()["matches"]]

    assert search({"id_number": RESIDENT}) == [resident]
    assert search({"id_number": RESIDENT, "id_type": "resident_id"}) == [resident]
    assert search({"id_number": RESIDENT.lower(), "id_type": "residence_permit"}) == [permit]
    r = server.http.post("/api/v1/persons/search", headers=office.headers,
                         json={"id_number": RESIDENT, "id_type": "passport"})
    assert r.status_code == 422 and r.json()["error"] == "invalid_id_number" and RESIDENT not in r.text
    r = server.http.post("/api/v1/persons/search", headers=office.headers,
                         json={"id_number": RESIDENT, "id_type": "visa"})
    assert r.status_code == 422
