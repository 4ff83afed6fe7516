"""The report wizard takes a visitor with a passport (or another identity document): the number is
checked by the chosen document's rule as typed, saved with its type, shown masked by that type, and
the type survives closing the app mid-report."""
from __future__ import annotations

from claimcore import entities
from fieldapp.i18n import t
from fieldapp.state.claims import load_claim, mask_person
from fieldapp.state.context import AppContext
from fieldapp.state.wizard import ID_NUMBER_ERRORS, NewReportWizard

LONGSHUI = "500111100"
GAOKENG = "500111100203"


def _at_people_step(ctx) -> NewReportWizard:
    w = NewReportWizard(ctx.store, "u-liaison", "liaison", LONGSHUI)
    w.choose_coverage("falling_object")
    w.set_village(GAOKENG)
    w.set_description("游客在宝顶山景区被高空坠物砸伤")
    assert w.next(), w.errors
    w.toggle_loss_type("medical")
    return w


def test_every_document_type_has_its_messages_and_labels():
    assert set(ID_NUMBER_ERRORS) == set(entities.ID_TYPES)
    for kind in entities.ID_TYPES:
        for lang in ("zh", "en"):
            for key in (f"id_type.{kind}", f"id_number.{kind}", *ID_NUMBER_ERRORS[kind]):
                assert t(key, lang) != key, (lang, key)
    assert t("id_type.resident_id", "zh") == "居民身份证" and t("id_type.passport", "zh") == "护照"


def test_the_wizard_saves_a_passport_holder(ctx):
    w = _at_people_step(ctx)
    assert w.s.victims[0].id_type == "resident_id"  # preselected
    w.set_victim(0, "name", "John Smith")
    # A passport number is not a resident ID...
    assert w.set_victim(0, "id_number", "E12345678") == "wizard.error.id_short"
    # ...until the document says passport: the same typing is then judged by the passport rule.
    assert w.set_victim(0, "id_type", "passport") is None
    assert "victim0.id_number" not in w.errors
    assert w.set_victim(0, "id_number", "E12") == "wizard.error.passport_short"
    assert w.set_victim(0, "id_number", "E1234567-X/") == "wizard.error.passport_invalid"
    assert not w.next() and w.step == "people"
    assert w.set_victim(0, "id_number", "e1234 5678") is None
    assert w.next(), w.errors
    claim_id = w.finish()

    person = ctx.store.persons.list_for_claim(claim_id)[0]
    assert (person.name, person.id_type, person.id_number) == ("John Smith", "passport", "E12345678")
    shown = mask_person(person, "liaison")
    assert shown["id_type"] == "passport" and shown["id_number"] == "E1****678"
    view = load_claim(ctx.store, claim_id, "liaison", "zh")
    assert [p.id_type for p in view.detail.persons] == ["passport"]
    # The type travels with the number, never another type alongside it.
    queued = [m["fields"] for m in ctx.store.outbox.pending() if m["entity"] == "person"]
    assert [(f.get("id_type"), f.get("id_number")) for f in queued if "id_type" in f] == [("passport", "E12345678")]


def test_the_document_type_survives_closing_the_app_mid_report(ctx, tmp_path):
    w = _at_people_step(ctx)
    w.set_victim(0, "name", "Anna Meyer")
    w.set_victim(0, "id_type", "foreign_permanent_resident")
    assert w.set_victim(0, "id_number", "KAZ1100901231") == "wizard.error.permanent_residence_short"
    assert w.set_victim(0, "id_number", "KAZ110090123104") == "wizard.error.permanent_residence_invalid"
    assert w.set_victim(0, "id_number", "932682198501010017") is None
    draft = w.s.draft_id
    ctx.stop()

    again = AppContext(tmp_path / "phone")
    again.start()
    try:
        resumed = NewReportWizard.resume(again.store, "u-liaison", "liaison", LONGSHUI, draft)
        v = resumed.s.victims[0]
        assert (v.id_type, v.id_number) == ("foreign_permanent_resident", "932682198501010017")
        # Switching to a document the number does not fit: flagged, and the stored pair untouched.
        assert resumed.set_victim(0, "id_type", "passport") == "wizard.error.passport_invalid"
        stored = again.store.persons.get(v.person_id)
        assert (stored.id_type, stored.id_number) == ("foreign_permanent_resident", "932682198501010017")
        assert not resumed.next()
        resumed.set_victim(0, "id_type", "foreign_permanent_resident")
        assert resumed.next(), resumed.errors
    finally:
        again.stop()
        ctx.start()  # the fixture stops what it started
