"""A co-insurer surveyor's phone, with the real SyncClient against the real server (SQLite and
PostgreSQL): it holds a survey's claim in the masked view, and forgets the claim entirely, keeping
nothing readable in its database file, once the survey is declined."""
from __future__ import annotations

import pytest

from claimcore.masking import mask_id
from fieldapp.state.assignments import Assignments
from fieldapp.state.claims import mask_person
from fieldapp.store import NotFoundError
from fieldapp.sync.push import S_REJECTIONS
from sync_server.insurers.models import InsurerTerms

from .conftest import TOWNSHIP_A, valid_id_number

POOL = {"lead": 4000, "co1": 3000, "co2": 3000}
NAME = "赵春梅"
ADDRESS = "龙岗街道北山路77号"
DESCRIPTION = "山洪冲毁赵家厨房与猪圈"
BANK_ACCOUNT = "6222020200000000006"


@pytest.fixture
def pool(server):
    for code in POOL:
        server.harness.add_insurer(code, f"{code} 保险")
    with server.harness.db.write() as s:
        for position, (code, bp) in enumerate(POOL.items()):
            s.merge(InsurerTerms(insurer_code=code, share_bp=bp, is_lead=code == "lead", position=position))
    return server


def _claim_with_victim(phones, id_number: str):
    liaison = phones("liaison")
    liaison.enroll("liaison", township_code=TOWNSHIP_A)
    cid = liaison.new_claim(description=DESCRIPTION, address=ADDRESS)
    liaison.store.persons.add(cid, role_in_claim="victim", name=NAME, id_number=id_number, phone="13912345678",
                              bank_card=BANK_ACCOUNT, bank_name="农商银行", medical={"injury": "右臂骨折"})
    liaison.add_photo(cid, seed=1)
    liaison.sync_until_quiet()
    return liaison, cid


def _dispatch(server, claim_id: str) -> dict:
    adjuster = server.harness.actor("adjuster")
    r = server.http.post(f"/api/v1/claims/{claim_id}/dispatch", headers=adjuster.headers)
    assert r.status_code == 200, r.text
    return next(a for a in r.json()["assignments"] if a["kind"] != "lead")


def _surveyor(phones, insurer_code: str):
    s = phones("surveyor")
    s.enroll("surveyor", insurer_code=insurer_code)
    s.sync_until_quiet()
    return s


def _file_bytes(phone) -> bytes:
    data = b""
    for p in sorted(phone.store.db_path.parent.glob(phone.store.db_path.name + "*")):
        data += p.read_bytes()
    return data


def test_the_surveyor_phone_holds_the_masked_view_only(pool, phones):
    id_number = valid_id_number()
    _, cid = _claim_with_victim(phones, id_number)
    offer = _dispatch(pool, cid)
    s = _surveyor(phones, offer["insurer_code"])
    (victim,) = s.store.persons.list_for_claim(cid)
    # The store takes the masked value as the server sent it, and the screens show it as such.
    assert victim.id_number == mask_id(id_number) and victim.name == NAME
    assert victim.bank_card is None and victim.medical is None and victim.phone == "13912345678"
    assert mask_person(victim, "surveyor")["id_number"] == mask_id(id_number)
    assert s.store.persons.claims_with_id_number(id_number) == set()
    assert id_number.encode() not in _file_bytes(s) and BANK_ACCOUNT.encode() not in _file_bytes(s)


def test_after_a_decline_the_phone_forgets_the_claim_entirely(pool, phones):
    id_number = valid_id_number()
    liaison, cid = _claim_with_victim(phones, id_number)
    offer = _dispatch(pool, cid)
    s = _surveyor(phones, offer["insurer_code"])
    assert s.store.claims.get(cid).description == DESCRIPTION
    assert NAME.encode() in _file_bytes(s)  # what the search below would find if anything stayed
    # The surveyor's own work on the claim, unsent, and then the decline (offline: one sync).
    s.store.notes.add(cid, "现场道路中断，车辆无法到达", author=s.user["id"])
    own_photo = s.add_photo(cid, seed=7)
    Assignments(s.store, s.user["id"], s.files).decline(offer["id"], "车辆故障，今日无法到场")
    s.sync_until_quiet()

    # Push went first: the note and the decline reached the server before the phone forgot.
    from sqlalchemy import select

    from sync_server.core.models import Assignment, Record

    with pool.harness.db.read() as session:
        notes = [r.fields.get("text") for r in session.scalars(
            select(Record).where(Record.claim_id == cid, Record.entity == "note"))]
        assert "现场道路中断，车辆无法到达" in notes and "[declined] 车辆故障，今日无法到场" in notes
        assert session.get(Assignment, offer["id"]).status == "declined"

    # Nothing of the claim is left on the phone: no record, no queued change, no file...
    with pytest.raises(NotFoundError):
        s.store.claims.get(cid)
    assert s.store.persons.list_for_claim(cid) == []
    assert s.store.photos.list_for_claim(cid) == [] and s.store.notes.list_for_claim(cid) == []
    assert s.store.documents.list_for_claim(cid) == []
    with pytest.raises(NotFoundError):
        s.store.claims.timeline(cid)
    assert s.store.outbox.count() == 0
    assert not s.files.has(own_photo) and not s.files.path(own_photo, "preview").exists()
    assert not [p for p in s.store.settings.get(S_REJECTIONS, []) or [] if p.get("claim_id") == cid]
    # ... and nothing readable in the database file (secure delete, the write-ahead log emptied).
    data = _file_bytes(s)
    for text in (NAME, ADDRESS, DESCRIPTION, "现场道路中断", mask_id(id_number), id_number):
        assert text.encode() not in data, text
    # The assignment itself (the insurer's own record) stays, showing it was declined.
    assert s.store.assignments.get(offer["id"]).status == "declined"
    # The liaison's phone, pulling the same feed, keeps everything.
    liaison.sync_until_quiet()
    assert liaison.store.persons.list_for_claim(cid)[0].id_number == id_number


def test_changes_still_queued_for_a_forgotten_claim_are_dropped_with_it(pool, phones):
    _, cid = _claim_with_victim(phones, valid_id_number())
    offer = _dispatch(pool, cid)
    s = _surveyor(phones, offer["insurer_code"])
    r = pool.http.post(f"/api/v1/assignments/{offer['id']}/decline", headers=s.client._auth(),
                       json={"reason": "人员外出"})
    assert r.status_code == 200, r.text
    # A note written after the push of this sync and before its pull: the server would refuse
    # it (the claim is out of scope now), and it is about the claim: it goes with the claim.
    s.client.push()
    s.store.notes.add(cid, "迟到的备注", author=s.user["id"])
    s.client.pull()
    with pytest.raises(NotFoundError):
        s.store.claims.get(cid)
    assert s.store.outbox.count() == 0
    assert "迟到的备注".encode() not in _file_bytes(s)
