"""The client against the real app in-process: one phone, the whole round trip."""
from __future__ import annotations

from fieldapp.sync import Refused

from .conftest import TOWNSHIP_A, blob_exists, server_claim, server_counts, server_records, valid_id_number


def test_round_trip_claim_person_document_photo_note(server, phones):
    phone = phones()
    phone.enroll("liaison", township_code=TOWNSHIP_A)
    cid = phone.new_claim(address="龙岗街道学坝社区 3 组", claimed_amount_fen=1_234_500)
    pid = phone.store.persons.add(cid, role_in_claim="victim", name="张三", id_number=valid_id_number(), phone="13812345678")
    phone.store.documents.set_status(cid, "claimant_id_card", "collected")
    sha = phone.add_photo(cid, seed=1)
    phone.store.notes.add(cid, "现场已拍照")
    assert phone.client.has_work()

    report = phone.client.sync_once()
    assert report.rejected == 0, phone.client.rejections()
    assert phone.store.outbox.count() == 0
    assert not phone.client.has_work()
    claim = server_claim(server, cid)
    assert claim["address"] == "龙岗街道学坝社区 3 组" and claim["claimed_amount_fen"] == 1_234_500
    persons = server_records(server, "person")
    assert [p["id"] for p in persons] == [pid] and persons[0]["fields"]["name"] == "张三"
    assert blob_exists(server, sha)
    photo = server_records(server, "photo")[0]
    assert photo["fields"]["sha256"] == sha and blob_exists(server, photo["fields"]["preview_sha256"])
    counts = server_counts(server)
    assert counts == {"claim": 1, "person": 1, "document": 1, "photo": 1, "note": 1, "transition": 1}
    # The phone's report number and the photo's evidence reach the office.
    assert claim["report_no"] == phone.store.claims.get(cid).report_no
    assert photo["fields"]["fix_accuracy_m"] == 5 and photo["fields"]["flags"] == []
    timeline = server_records(server, "transition")[0]
    assert timeline["fields"]["to_status"] == "reported" and timeline["fields"]["role"] == "liaison"
    detail = phone.store.claims.get(cid)
    assert detail.version == claim["version"]
    assert detail.report_no.startswith("DZ-")  # the phone's own number survives the echo
    st = phone.client.status()
    assert st.pending_changes == 0 and st.pending_photos == 0 and st.last_error is None and st.last_sync_at


def test_second_phone_receives_everything(server, phones):
    a, b = phones("a"), phones("b")
    a.enroll("liaison", township_code=TOWNSHIP_A)
    b.enroll("liaison", township_code=TOWNSHIP_A)
    cid = a.new_claim()
    a.store.persons.add(cid, role_in_claim="victim", name="李四", id_number=valid_id_number())
    a.sync_until_quiet()
    b.client.sync_once()
    got = b.store.claims.get(cid)
    assert got.description == "房屋被洪水冲毁" and got.township_code == TOWNSHIP_A
    assert [p.name for p in got.persons] == ["李四"]
    assert len(got.timeline) == 1 and got.timeline[0].to_status == "reported"
    assert got.notes == []
    assert got.report_no == a.store.claims.get(cid).report_no


def test_bad_enrolment_code_is_refused_and_changes_nothing(server, phones):
    phone = phones()
    try:
        phone.client.enroll("http://127.0.0.1", "AAAA-BBBB-CCCC", "x")
    except Refused as exc:
        assert exc.code == "invalid_code" and "登记码" in exc.message("zh")
    else:
        raise AssertionError("an unknown code must be refused")
    assert phone.store.sync_state.get().token is None


def test_progress_reports_items_and_bytes(server, phones):
    phone = phones()
    phone.enroll("liaison", township_code=TOWNSHIP_A)
    cid = phone.new_claim()
    shas = [phone.add_photo(cid, size=300_000, seed=60 + i) for i in range(3)]
    seen = []
    phone.client.progress_callback = seen.append
    phone.client.sync_once()
    photos = [p for p in seen if p.phase == "photos"]
    last = photos[-1]
    expected = sum(phone.files.path(s, k).stat().st_size for s in shas for k in ("original", "preview"))
    assert (last.items_done, last.items_total) == (6, 6)
    assert last.bytes_done == last.bytes_total == expected
    assert all(a.bytes_done <= b.bytes_done for a, b in zip(photos, photos[1:])), "bytes only go up"
    pushes = [p for p in seen if p.phase == "push"]
    assert pushes[-1].items_done == pushes[-1].items_total > 0
    assert seen[-1].phase == "done"
