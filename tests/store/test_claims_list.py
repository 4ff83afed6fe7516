"""The claims list, claim details, drafts, and what survives a reopen."""
from __future__ import annotations

import pytest

from fieldapp.store import StoreValidationError, open_store

from .conftest import at, intake, new_claim


def _many(store, n=75):
    ids = []
    for i in range(n):
        township = "500111001" if i % 3 else "500111102"
        ids.append(new_claim(store, at=at(i), township_code=township, village_code=None,
                             address=f"地点{i:03d}"))
    return ids


def test_keyset_pages_cover_everything_newest_first_once(store):
    ids = _many(store)
    seen, key = [], None
    while True:
        page = store.claims.list_page(limit=30, after=key)
        seen.extend(r.id for r in page.rows)
        key = page.next_key
        if key is None:
            break
    assert seen == list(reversed(ids))
    assert [len(store.claims.list_page(limit=30, offset=o).rows) for o in (0, 30, 60)] == [30, 30, 15]


def test_rows_carry_township_name_photo_count_victim_and_sync_mark(store):
    ids = _many(store, 6)
    store.photos.add(ids[5], intake("a"))
    store.photos.add(ids[5], intake("b"))
    store.persons.add(ids[5], role_in_claim="claimant", name="申请人")
    store.persons.add(ids[5], role_in_claim="victim", name="受害人")
    store.outbox.ack(10**6)
    store.claims.update(ids[4], description="changed")
    rows = {r.id: r for r in store.claims.list_page().rows}
    assert rows[ids[5]].photo_count == 2 and rows[ids[4]].photo_count == 0
    assert rows[ids[5]].victim_name == "受害人" and rows[ids[4]].victim_name is None
    assert rows[ids[0]].township_name == "宝顶镇" and rows[ids[1]].township_name == "龙岗街道"
    assert [r.unsynced for r in store.claims.list_page().rows if r.unsynced] == [True]
    assert rows[ids[4]].unsynced and not rows[ids[5]].unsynced


def test_filters_and_search(store):
    ids = _many(store, 12)
    store.claims.transition(ids[3], "registered", role="adjuster", user="a")
    assert [r.id for r in store.claims.list_page(status="registered").rows] == [ids[3]]
    assert len(store.claims.list_page(township_code="500111102").rows) == 4
    assert [r.id for r in store.claims.list_page(search="地点007").rows] == [ids[7]]
    store.persons.add(ids[2], role_in_claim="victim", name="王小明")
    assert [r.id for r in store.claims.list_page(search="小明").rows] == [ids[2]]
    assert store.claims.list_page(search="%").rows == []  # wildcards are literal
    with pytest.raises(StoreValidationError):
        store.claims.list_page(limit=0)


def test_detail_has_everything(store):
    cid = new_claim(store)
    store.persons.add(cid, role_in_claim="victim", name="张三")
    store.documents.set_status(cid, "weather_certificate", "missing", note="等待气象局出具")
    store.photos.add(cid, intake(1), fix={"lat": 29.7, "lon": 105.7, "altitude": 380.0, "accuracy_m": 8.0,
                                          "fix_time": "2026-07-01T08:00:00+08:00"},
                     taken_at="2026-07-01T08:00:05+08:00", user="adj")
    store.notes.add(cid, "现场查勘完成")
    d = store.claims.get(cid)
    assert d.report_no.startswith("DZ-") and d.township_name == "龙岗街道" and d.catalogue_version
    assert [p.name for p in d.persons] == ["张三"]
    assert d.documents[0].note == "等待气象局出具"
    assert (d.photos[0].lat, d.photos[0].fix_at) == (29.7, "2026-07-01T00:00:00.000000+00:00")
    assert [n.text for n in d.notes] == ["现场查勘完成"]
    assert [t.to_status for t in d.timeline] == ["reported"]
    assert "status" in d.pending_fields


def test_report_numbers_are_unique_and_readable(store):
    numbers = [store.claims.get(new_claim(store)).report_no for _ in range(5)]
    assert len(set(numbers)) == 5
    assert all(n.split("-")[0] == "DZ" and len(n.split("-")[1]) == 8 for n in numbers)
    assert [int(n.rsplit("-", 1)[1]) for n in numbers] == [1, 2, 3, 4, 5]


def test_photo_upload_state_only_moves_forward(store):
    cid = new_claim(store)
    store.photos.add(cid, intake(1))
    sha = intake(1).sha256
    assert store.photos.mark_uploaded(sha, "preview") == "preview"
    assert [u.upload_state for u in store.photos.pending_upload()] == ["preview"]
    assert store.photos.mark_uploaded(sha, "original") == "original"
    assert store.photos.mark_uploaded(sha, "preview") == "original"
    assert store.photos.pending_upload() == []
    other = new_claim(store)
    with pytest.raises(StoreValidationError):
        store.photos.add(other, intake(1))


def test_a_run_of_uploads_is_marked_in_one_write_in_order(store):
    cid = new_claim(store)
    for n in (2, 3):
        store.photos.add(cid, intake(n))
    a, b = intake(2).sha256, intake(3).sha256
    # In order, never backwards, a photo no longer on the phone passed over.
    store.photos.mark_all_uploaded([(a, "preview"), (b, "original"), ("f" * 64, "original"), (a, "original"),
                                    (b, "preview")])
    assert {p.sha256: p.upload_state for p in store.photos.list_for_claim(cid)} == {a: "original", b: "original"}
    assert store.photos.pending_upload() == []
    with pytest.raises(StoreValidationError):
        store.photos.mark_all_uploaded([(a, "thumbnail")])


def test_draft_and_everything_survive_reopen(data_dir):
    s = open_store(data_dir)
    s.drafts.save("draft-1", {"coverage": "fire_explosion", "place": "宝顶镇"}, step="place")
    s.drafts.save("draft-1", {"coverage": "fire_explosion", "place": "宝顶镇", "victims": 2}, step="victims")
    cid = new_claim(s)
    s.settings.set("language", "en")
    s.close()
    s = open_store(data_dir)
    try:
        d = s.drafts.load("draft-1")
        assert (d.step, d.data) == ("victims", {"coverage": "fire_explosion", "place": "宝顶镇", "victims": 2})
        assert s.outbox.count() == 2  # drafts are local only
        assert s.claims.get(cid).status == "reported" and s.settings.get("language") == "en"
        assert [x.id for x in s.drafts.list()] == ["draft-1"]
        assert s.drafts.delete("draft-1") and s.drafts.load("draft-1") is None
    finally:
        s.close()


def test_pragmas(store):
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000


def test_creating_the_claim_removes_its_draft_in_the_same_transaction(store):
    draft_id = "6f1c1f8e-2b7a-4c55-9a51-3f0f7f8a9b10"
    store.drafts.save(draft_id, {"coverage": "fire_explosion"}, step="victims")
    store.drafts.save("other-draft", {"coverage": "drowning"})
    cid = new_claim(store, claim_id=draft_id, coverage="fire_explosion")
    assert cid == draft_id and store.drafts.load(draft_id) is None
    assert store.drafts.load("other-draft") is not None
    with pytest.raises(StoreValidationError):
        new_claim(store, claim_id=draft_id)  # the same report cannot be made twice
    with pytest.raises(StoreValidationError):
        new_claim(store, claim_id="draft-7")  # ids are UUIDs on the wire
    assert store.claims.count() == 1


def test_existing_ids(store):
    ids = _many(store, 3)
    missing = "0f8fad5b-d9cb-469f-a165-70867728950e"
    assert store.claims.existing_ids([*ids, missing] * 300) == set(ids)
    assert store.claims.existing_ids([]) == set()
