"""Least privilege for co-insurer surveyors, on a real database (SQLite and PostgreSQL) over HTTP.

A surveyor offered (or working) a survey pulls what a site survey needs: names, the masked ID
number, the contact phone, the address, site photos. Never a full ID number, a bank account,
medical details or the victims' papers. Its access ends when the survey is declined, times out,
or a set time after completion; the next pull then tells its phone to forget the claim, and the
server stops serving the claim at once. The office and the township's liaison keep full data.
"""
from __future__ import annotations

import datetime as dt
import json
import uuid
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient

from claimcore import entities
from claimcore.masking import mask_id
from claimcore.validators import id_check_character
from sync_server.app import create_app
from sync_server.claims import survey_access
from sync_server.claims.survey_access import MEDICAL_PAPERS, PERSON_VIEW, SURVEY_DOCUMENTS
from sync_server.insurers.models import InsurerTerms

from .conftest import Phone, claim_fields
from .test_rotation_api import Clock

LONGSHUI = "500111100"
POOL = {"lead": 4000, "co1": 2000, "co2": 2000, "co3": 2000}

ID_BODY = "50011119850612347"
ID_NUMBER = ID_BODY + id_check_character(ID_BODY)
BANK_ACCOUNT = "888812345678901234567"  # a passbook account (存折): 21 digits
MOBILE = "13912345678"
NAME = "王秀英"
MEDICAL = "左股骨骨折，住院治疗"
BIRTH_DATE = "1985-06-12"


def new_id() -> str:
    return str(uuid.uuid4())


@pytest.fixture
def world(settings, harness):
    clock = Clock(dt.datetime(2026, 7, 6, 1, 0, tzinfo=dt.timezone.utc))
    for code in POOL:
        harness.add_insurer(code, f"{code} 保险")
    with harness.db.write() as s:
        for position, (code, bp) in enumerate(POOL.items()):
            s.merge(InsurerTerms(insurer_code=code, share_bp=bp, is_lead=code == "lead", position=position))
    app = create_app(settings.with_(extra={"clock": clock}))
    with TestClient(app) as client:
        def phone(role, **kw) -> Phone:
            return Phone(client, harness.actor(role, **kw))

        people = SimpleNamespace(
            adjuster=phone("adjuster"), liaison=phone("liaison", township_code=LONGSHUI),
            **{f"s{n}": phone("surveyor", insurer_code=f"co{n}") for n in (1, 2, 3)},
        )
        yield SimpleNamespace(client=client, clock=clock, harness=harness, p=people)


def reported_claim(w) -> SimpleNamespace:
    """A claim as a liaison records it: a victim with every personal field, papers and photos."""
    liaison = w.p.liaison
    cid, person = new_id(), new_id()
    docs = {code: new_id() for code in ("site_photos", "claimant_id_card", "medical_records", "payee_bank_account")}
    site_photo, paper_photo = new_id(), new_id()
    muts = [
        liaison.mutation("claim", cid, claim_fields(LONGSHUI, address="龙水镇玉峰村3组", loss_types=["house", "medical"])),
        liaison.mutation("person", person, {
            "claim_id": cid, "role_in_claim": "victim", "name": NAME, "id_number": ID_NUMBER, "phone": MOBILE,
            "bank_name": "农商银行", "bank_branch": "龙水支行", "bank_card": BANK_ACCOUNT, "medical": MEDICAL,
            "birth_date": BIRTH_DATE, "gender": "female", "address": "龙水镇玉峰村3组12号",
            "disability_grade": 9}),
    ]
    for code, did in docs.items():
        muts.append(liaison.mutation("document", did, {"claim_id": cid, "code": code, "status": "collected",
                                                        "scan_ref": new_id(), "person_id": person}))
    muts.append(liaison.mutation("photo", site_photo, {"claim_id": cid, "sha256": "a" * 64, "caption": "房屋受损"}))
    muts.append(liaison.mutation("photo", paper_photo, {"claim_id": cid, "sha256": "b" * 64,
                                                         "document_id": docs["claimant_id_card"]}))
    r = liaison.push(muts)
    assert r.status_code == 200, r.text
    assert [x["status"] for x in r.json()["results"]] == ["applied"] * len(muts), r.json()
    return SimpleNamespace(id=cid, person=person, docs=docs, site_photo=site_photo, paper_photo=paper_photo)


def dispatch(w, claim_id) -> dict:
    r = w.client.post(f"/api/v1/claims/{claim_id}/dispatch", headers=w.p.adjuster.headers)
    assert r.status_code == 200, r.text
    return next(a for a in r.json()["assignments"] if a["kind"] != "lead")


def surveyor(w, insurer_code) -> Phone:
    return getattr(w.p, "s" + insurer_code[-1])


def pull_raw(phone: Phone, cursor: str | None = None) -> tuple[str, list[dict], str]:
    """Every page from ``cursor``: (the raw response texts, the changes, the last cursor)."""
    texts, changes = [], []
    while True:
        r = phone.client.get("/api/v1/sync/pull", headers=phone.headers,
                             params={"cursor": cursor} if cursor else {})
        assert r.status_code == 200, r.text
        texts.append(r.text)
        body = r.json()
        changes += body["changes"]
        cursor = body["cursor"]
        if not body["has_more"]:
            return "\n".join(texts), changes, cursor


def ids_of(changes, entity) -> set[str]:
    return {c["id"] for c in changes if c["entity"] == entity}


def claim_rows(changes, claim) -> list[dict]:
    mine = {claim.id, claim.person, claim.site_photo, claim.paper_photo, *claim.docs.values()}
    return [c for c in changes if c["id"] in mine]


def forget_rows(changes) -> list[dict]:
    return [c for c in changes if c["entity"] == "claim_access"]


# ------------------------------------------------------------------------------ what is served

def test_an_offered_surveyor_gets_a_site_survey_view_only(world):
    claim = reported_claim(world)
    offer = dispatch(world, claim.id)
    s = surveyor(world, offer["insurer_code"])
    raw, changes, _ = pull_raw(s)

    # Nowhere in the bytes: the full ID number (in any spelling), the account, medical details,
    # the birth date (exactly what the mask hides), the bank.
    for secret in (ID_NUMBER, ID_NUMBER[6:14], BANK_ACCOUNT, BANK_ACCOUNT[-8:], MEDICAL, BIRTH_DATE, "龙水支行",
                   json.dumps(MEDICAL)[1:-1]):
        assert secret not in raw, secret
    (person,) = [c for c in changes if c["entity"] == "person"]
    f = person["fields"]
    assert f["id_number"] == mask_id(ID_NUMBER) == "500111********" + ID_NUMBER[-4:]
    assert f["name"] == NAME and f["phone"] == MOBILE and f["address"] == "龙水镇玉峰村3组12号"
    assert not {"bank_card", "bank_name", "bank_branch", "medical", "birth_date", "disability_grade"} & set(f)
    # Papers: only the survey's own; their scans are never named. Photos of a paper stay with it.
    assert ids_of(changes, "document") == {claim.docs["site_photos"]}
    (doc,) = [c for c in changes if c["entity"] == "document"]
    assert "scan_ref" not in doc["fields"]
    assert ids_of(changes, "photo") == {claim.site_photo}
    assert claim.id in ids_of(changes, "claim")


def test_office_and_liaison_still_get_full_data(world):
    claim = reported_claim(world)
    dispatch(world, claim.id)
    for who in (world.p.adjuster, world.p.liaison):
        raw, changes, _ = pull_raw(who)
        (person,) = [c for c in changes if c["entity"] == "person"]
        assert person["fields"]["id_number"] == ID_NUMBER
        assert person["fields"]["bank_card"] == BANK_ACCOUNT and person["fields"]["medical"] == MEDICAL
        assert ids_of(changes, "document") == set(claim.docs.values())
        assert ids_of(changes, "photo") == {claim.site_photo, claim.paper_photo}


def test_a_surveyor_cannot_write_a_masked_value_over_the_real_one(world):
    claim = reported_claim(world)
    s = surveyor(world, dispatch(world, claim.id)["insurer_code"])
    _, changes, _ = pull_raw(s)
    (person,) = [c for c in changes if c["entity"] == "person"]
    masked = person["fields"]["id_number"]
    whole = {k: v for k, v in person["fields"].items() if k in entities.PERSON.wire_fields()}
    for fields in ({"id_number": masked}, {"name": "改名"}, whole):
        res = s.push_one("person", claim.person, {"claim_id": claim.id, **fields}, base_version=person["version"])
        assert res["status"] == "rejected" and res["error"].startswith("not_allowed_for_role"), res
    res = s.push_one("person", new_id(), {"claim_id": claim.id, "role_in_claim": "victim", "name": "新人"})
    assert res["status"] == "rejected" and res["error"].startswith("not_allowed_for_role")
    _, full, _ = pull_raw(world.p.adjuster)
    (person,) = [c for c in full if c["entity"] == "person"]
    assert person["fields"]["id_number"] == ID_NUMBER and person["fields"]["name"] == NAME


# ------------------------------------------------------------------------------ when it ends

def _assert_forgotten(w, s: Phone, claim, cursor: str, reason: str) -> None:
    # The phone that held the claim is told to forget it, and nothing of it comes again.
    _, changes, _ = pull_raw(s, cursor)
    (row,) = forget_rows(changes)
    assert row["op"] == "delete" and row["fields"] == {"claim_id": claim.id, "reason": reason}
    assert not claim_rows(changes, claim)
    # A phone starting over gets no row of the claim either, only the instruction.
    raw, fresh, _ = pull_raw(s)
    assert not claim_rows(fresh, claim) and NAME not in raw and mask_id(ID_NUMBER) not in raw
    assert [r["fields"]["claim_id"] for r in forget_rows(fresh)] == [claim.id]
    # Writes are out of scope too, answered like an unknown claim.
    res = s.push_one("note", new_id(), {"claim_id": claim.id, "text": "补充查勘意见"})
    assert res["status"] == "rejected" and res["error"].startswith("claim_not_found")
    # The office and the liaison are never told to forget, and keep everything.
    for who in (w.p.adjuster, w.p.liaison):
        _, office, _ = pull_raw(who)
        assert not forget_rows(office)
        assert claim.person in ids_of(office, "person")


def test_decline_ends_access_and_the_phone_is_told_to_forget(world):
    claim = reported_claim(world)
    offer = dispatch(world, claim.id)
    s = surveyor(world, offer["insurer_code"])
    _, held, cursor = pull_raw(s)
    assert claim.person in ids_of(held, "person")
    r = world.client.post(f"/api/v1/assignments/{offer['id']}/decline", headers=s.headers,
                          json={"reason": "车辆故障"})
    assert r.status_code == 200, r.text
    _assert_forgotten(world, s, claim, cursor, "declined")
    # The next co-insurer has it now, in the same masked view.
    nxt = surveyor(world, r.json()["handed_over"][0]["insurer_code"])
    raw, changes, _ = pull_raw(nxt)
    assert claim.person in ids_of(changes, "person") and ID_NUMBER not in raw


def test_a_time_out_ends_access_even_when_nobody_looked_at_the_rotation(world):
    claim = reported_claim(world)
    offer = dispatch(world, claim.id)
    s = surveyor(world, offer["insurer_code"])
    _, _, cursor = pull_raw(s)
    world.clock.advance(hours=2, minutes=1)  # past the rotation's 2-hour time-out
    _assert_forgotten(world, s, claim, cursor, "timed_out")


def test_access_ends_a_set_time_after_completion(world):
    claim = reported_claim(world)
    offer = dispatch(world, claim.id)
    s = surveyor(world, offer["insurer_code"])
    for action, body in (("accept", None), ("arrive", {"lat": 29.7, "lon": 105.8}), ("complete", None)):
        r = world.client.post(f"/api/v1/assignments/{offer['id']}/{action}", headers=s.headers, json=body)
        assert r.status_code == 200, r.text
    _, held, cursor = pull_raw(s)
    assert claim.person in ids_of(held, "person")
    world.clock.advance(days=29, hours=23)
    _, changes, cursor2 = pull_raw(s)  # the follow-up period: nothing ends yet
    assert not forget_rows(changes)
    assert claim.person in ids_of(pull_raw(s)[1], "person")
    # Past the 30 days, the server stops serving the claim at once, before any pull swept it...
    world.clock.advance(hours=1, seconds=1)
    res = s.push_one("note", new_id(), {"claim_id": claim.id, "text": "回访"})
    assert res["status"] == "rejected" and res["error"].startswith("claim_not_found")
    # ... and the next pull tells the phone to forget it.
    _assert_forgotten(world, s, claim, cursor2, "completed")


def test_the_period_after_completion_is_a_setting(settings, harness):
    assert settings.survey_access_days_after_completion == 30
    from sync_server.core.settings import Settings

    env = {"DAZU_SURVEY_ACCESS_DAYS_AFTER_COMPLETION": "7"}
    assert Settings.from_env(env).survey_access_days_after_completion == 7
    clock = Clock(dt.datetime(2026, 7, 6, 1, 0, tzinfo=dt.timezone.utc))
    for code in POOL:
        harness.add_insurer(code)
    with harness.db.write() as s:
        for position, (code, bp) in enumerate(POOL.items()):
            s.merge(InsurerTerms(insurer_code=code, share_bp=bp, is_lead=code == "lead", position=position))
    app = create_app(settings.with_(extra={"clock": clock}, survey_access_days_after_completion=7))
    with TestClient(app) as client:
        w = SimpleNamespace(client=client, clock=clock, p=SimpleNamespace(
            adjuster=Phone(client, harness.actor("adjuster")),
            liaison=Phone(client, harness.actor("liaison", township_code=LONGSHUI)),
            **{f"s{n}": Phone(client, harness.actor("surveyor", insurer_code=f"co{n}")) for n in (1, 2, 3)}))
        claim = reported_claim(w)
        offer = dispatch(w, claim.id)
        s = surveyor(w, offer["insurer_code"])
        for action in ("accept", "complete"):
            assert client.post(f"/api/v1/assignments/{offer['id']}/{action}", headers=s.headers).status_code == 200
        _, _, cursor = pull_raw(s)
        clock.advance(days=7, seconds=1)
        _, changes, _ = pull_raw(s, cursor)
        assert [r["fields"]["reason"] for r in forget_rows(changes)] == ["completed"]


def test_an_insurer_given_the_claim_again_gets_it_back(world, harness):
    claim = reported_claim(world)
    offer = dispatch(world, claim.id)
    s = surveyor(world, offer["insurer_code"])
    r = world.client.post(f"/api/v1/assignments/{offer['id']}/decline", headers=s.headers, json={"reason": "外出"})
    assert r.status_code == 200
    _, changes, cursor = pull_raw(s)
    assert forget_rows(changes)[0]["op"] == "delete"
    # The office assigns the same insurer again (e.g. an event's central dispatch).
    from sync_server.core.models import Assignment

    with harness.db.write() as session:
        a = Assignment(id=new_id(), claim_id=claim.id, insurer_code=offer["insurer_code"], status="assigned",
                       kind="event")
        session.add(a)
        session.flush()
        survey_access.grant_access(session, claim.id, a.insurer_code)
        from sync_server.core.changelog import reemit_claim

        reemit_claim(session, claim.id)
    _, changes, _ = pull_raw(s, cursor)
    assert [(r["op"], r["fields"]["reason"]) for r in forget_rows(changes)] == [("upsert", "granted")]
    assert claim.person in ids_of(changes, "person")


# ------------------------------------------------------------------------------ the rules' data

def test_every_person_field_has_a_decided_surveyor_view():
    assert set(PERSON_VIEW) == set(entities.PERSON.fields)
    for name, spec in entities.PERSON.fields.items():
        if spec.sealed:
            # Sealed (personal) fields: masked or withheld, except the phone the surveyor calls.
            assert PERSON_VIEW[name] in ("mask", "absent") or name == "phone", name
    assert PERSON_VIEW["id_number"] == "mask"
    assert PERSON_VIEW["bank_card"] == PERSON_VIEW["medical"] == "absent"


def test_survey_documents_are_catalogue_codes_and_no_paper_of_the_victims():
    codes = entities.document_codes()
    assert SURVEY_DOCUMENTS <= codes and MEDICAL_PAPERS <= codes
    assert not SURVEY_DOCUMENTS & MEDICAL_PAPERS
    for paper in ("claimant_id_card", "payee_bank_account", "agent_id_card", "heirs_id_cards",
                  "heirs_household_register", "relocation_list"):
        assert paper not in SURVEY_DOCUMENTS


def test_a_photo_of_a_paper_is_not_downloadable_by_a_surveyor(world):
    import hashlib

    claim = reported_claim(world)
    liaison = world.p.liaison
    shas = {}
    for kind, body in (("site", b"\xff\xd8\xff\xe0site-photo" * 50), ("paper", b"\xff\xd8\xff\xe0id-card" * 50)):
        sha = hashlib.sha256(body).hexdigest()
        r = world.client.patch(f"/api/v1/blobs/{sha}", content=body, headers={
            **liaison.headers, "Upload-Offset": "0", "Upload-Length": str(len(body)),
            "Content-Type": "application/offset+octet-stream"})
        assert r.status_code == 204, r.text
        shas[kind] = sha
    assert liaison.push_one("photo", new_id(), {"claim_id": claim.id, "sha256": shas["site"]})["status"] == "applied"
    assert liaison.push_one("photo", new_id(), {"claim_id": claim.id, "sha256": shas["paper"],
                                                "document_id": claim.docs["claimant_id_card"]})["status"] == "applied"
    s = surveyor(world, dispatch(world, claim.id)["insurer_code"])
    assert world.client.get(f"/api/v1/blobs/{shas['site']}", headers=s.headers).status_code == 200
    hidden = world.client.get(f"/api/v1/blobs/{shas['paper']}", headers=s.headers)
    missing = world.client.get(f"/api/v1/blobs/{'c' * 64}", headers=s.headers)
    assert hidden.status_code == missing.status_code == 404 and hidden.content == missing.content
    for who in (world.p.adjuster, liaison):
        assert world.client.get(f"/api/v1/blobs/{shas['paper']}", headers=who.headers).status_code == 200


def test_a_surveyor_changes_only_the_site_surveys_papers(world):
    """The victims' papers a surveyor is never served are not its to change or attach photos to;
    the survey's own papers it works as before."""
    claim = reported_claim(world)
    s = surveyor(world, dispatch(world, claim.id)["insurer_code"])
    refused = [
        ("document", claim.docs["claimant_id_card"], {"status": "missing"}),
        ("document", claim.docs["medical_records"], {"note": "已看过"}),
        ("document", new_id(), {"code": "payee_bank_account", "status": "collected"}),
        ("document", claim.docs["site_photos"], {"code": "medical_records"}),
        ("photo", new_id(), {"sha256": "c" * 64, "document_id": claim.docs["payee_bank_account"]}),
    ]
    for entity, rid, fields in refused:
        res = s.push_one(entity, rid, {"claim_id": claim.id, **fields})
        assert res["status"] == "rejected" and res["error"].startswith("not_allowed_for_role"), (fields, res)
    for entity, rid, fields in [
        ("document", claim.docs["site_photos"], {"status": "collected", "note": "已现场拍照"}),
        ("document", new_id(), {"code": "survey_record", "status": "collected"}),
        ("photo", new_id(), {"sha256": "d" * 64, "document_id": claim.docs["site_photos"]}),
    ]:
        assert s.push_one(entity, rid, {"claim_id": claim.id, **fields})["status"] == "applied", fields
    _, full, _ = pull_raw(world.p.adjuster)
    (card,) = [c for c in full if c["id"] == claim.docs["claimant_id_card"]]
    assert card["fields"]["status"] == "collected"
