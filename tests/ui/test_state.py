"""The field app's state layer without a running UI: real store files, real photo intake, real
claimcore. Only the phone's GPS is stood in for (plain dicts, as the platform hands them over)."""
from __future__ import annotations

import http.server
import threading
from pathlib import Path

import httpx
import pytest

from fieldapp.state import reference
from fieldapp.state.assignments import AssignmentError, Assignments
from fieldapp.state.capture import PhotoCapture
from fieldapp.state.claims import ClaimsList, load_claim, missing_notice
from fieldapp.state.context import AppContext, SignOutRefused
from fieldapp.state.device import DeviceCredentials, EnrolledUser
from fieldapp.state.enrol import EnrolError, EnrolInput, enroll, parse_qr_payload, read_qr_image
from fieldapp.state.wizard import NewReportWizard

LONGSHUI = "500111100"
GAOKENG = "500111100203"
VALID_ID = "11010519491231002X"
FIX = {"lat": 29.599, "lon": 105.756, "accuracy_m": 12.0}
CORPUS = Path(__file__).resolve().parents[2] / "tests" / "e2e" / "photos"


def _wizard(ctx) -> NewReportWizard:
    return NewReportWizard(ctx.store, "u-liaison", "liaison", LONGSHUI)


def _complete_report(ctx, name="王秀英", coverage="natural_disaster", loss="death") -> str:
    w = _wizard(ctx)
    w.choose_coverage(coverage)
    w.set_fix(FIX)
    w.set_village(GAOKENG)
    w.set_description("暴雨致山体滑坡")
    assert w.next(), w.errors
    w.toggle_loss_type(loss)
    w.set_victim(0, "name", name)
    w.set_victim(0, "id_number", VALID_ID)
    assert w.next(), w.errors
    return w.finish()


# -- wizard -------------------------------------------------------------------------------------
def test_wizard_survives_closing_the_app_at_every_step(tmp_path):
    data = tmp_path / "phone"
    data.mkdir()

    def reopen():
        c = AppContext(data)
        c.start()
        return c, NewReportWizard.resume(c.store, "u-liaison", "liaison", LONGSHUI)

    c = AppContext(data)
    c.start()
    w = _wizard(c)
    assert w.s.township_code == LONGSHUI  # the liaison's own township, preselected
    w.choose_coverage("natural_disaster")
    c.stop()

    c, w = reopen()
    assert (w.step, w.s.coverage) == ("place", "natural_disaster")
    w.set_fix(FIX)
    w.set_village(GAOKENG)
    w.set_place("高坑村3组", persist=False)  # typed, not yet stored ...
    w.set_description("暴雨致山体滑坡")
    assert w.next()  # ... "next" stores it; the claim now exists (as a draft)
    c.stop()

    c, w = reopen()
    assert (w.step, w.s.village_code, w.s.place, w.s.lat) == ("people", GAOKENG, "高坑村3组", FIX["lat"])
    w.toggle_loss_type("house")
    w.set_victim(0, "name", "王秀英")
    w.set_victim(0, "id_number", VALID_ID)
    c.stop()

    c, w = reopen()
    assert w.s.loss_types == ["house"]
    assert (w.s.victims[0].name, w.s.victims[0].id_number) == ("王秀英", VALID_ID)
    claim_id = w.claim_id
    assert w.next()
    w.finish()
    detail = c.store.claims.get(claim_id)
    assert not detail.is_draft and detail.status == "reported"
    assert [p.name for p in detail.persons] == ["王秀英"]
    assert c.store.drafts.list() == []
    assert NewReportWizard.resume(c.store, "u", "liaison", LONGSHUI) is None
    c.stop()


def test_personal_data_never_lands_unencrypted_in_the_database(ctx):
    _complete_report(ctx)
    raw = b"".join(p.read_bytes() for p in ctx.data_dir.glob("store.db*"))
    assert VALID_ID.encode() not in raw
    assert b"13812345678" not in raw


def test_id_number_checked_as_typed_and_bad_input_blocks_the_step(ctx):
    w = _wizard(ctx)
    w.choose_coverage("natural_disaster")
    w.set_village(GAOKENG)
    w.set_description("x")
    assert w.next()
    w.toggle_loss_type("death")
    w.set_victim(0, "name", "李四")
    assert w.set_victim(0, "id_number", "1101051949") == "wizard.error.id_short"
    assert w.set_victim(0, "id_number", "110105194912310021") == "wizard.error.id_invalid"
    assert w.set_victim(0, "phone", "12345") == "wizard.error.phone_invalid"
    assert not w.next() and w.step == "people"
    assert w.set_victim(0, "id_number", VALID_ID.lower()) is None  # lower-case x accepted
    assert w.set_victim(0, "phone", "13812345678") is None
    assert w.next() and w.step == "photos"


def test_place_step_refuses_a_village_of_another_township_and_changes_nothing(ctx):
    w = _wizard(ctx)
    w.choose_coverage("natural_disaster")
    w.set_village(GAOKENG)
    other = reference.village_options("500111102")[0].code
    w.set_village(other)
    assert w.errors["village"] == "wizard.error.village_not_in_township"
    assert w.s.village_code == GAOKENG
    w.set_incident_at("2999-01-01 00:00")
    assert w.errors["incident_at"] == "wizard.error.time_future"
    assert not w.next()  # no description yet
    assert "description" in w.errors


def test_discarding_a_report_withdraws_it_with_a_reason(ctx):
    w = _wizard(ctx)
    w.choose_coverage("fire_explosion")
    w.set_village(GAOKENG)
    w.set_description("重复报案")
    assert w.next()
    w.discard("重复报案")
    detail = ctx.store.claims.get(w.claim_id)
    assert detail.status == "withdrawn" and detail.timeline[-1].reason == "重复报案"
    assert ctx.store.drafts.list() == []


# -- claims list --------------------------------------------------------------------------------
def test_claims_list_filters_and_search(ctx):
    a = _complete_report(ctx, name="王秀英")
    b = _complete_report(ctx, name="张三", coverage="fire_explosion", loss="house")
    lst = ClaimsList(ctx.store, LONGSHUI, "liaison")
    ids = [r.id for r in lst.refresh()]
    assert ids == [b, a]  # newest first
    assert [r.id for r in lst.set_filter(coverage="fire_explosion")] == [b]
    assert [r.id for r in lst.set_filter(coverage=None, search="王秀")] == [a]
    report_no = ctx.store.claims.get(b).report_no
    assert [r.id for r in lst.set_filter(search=report_no)] == [b]
    assert [r.id for r in lst.set_filter(search="", village_code=GAOKENG)] == [b, a]
    other_village = reference.village_options(LONGSHUI)[0].code
    assert lst.set_filter(village_code=other_village) == []
    assert lst.set_filter(village_code=None, status="paid") == []
    assert [r.id for r in lst.clear_filters()] == [b, a]


# -- claim screen -------------------------------------------------------------------------------
def test_checklist_missing_list_and_tap_to_mark(ctx):
    claim_id = _complete_report(ctx)
    view = load_claim(ctx.store, claim_id, "liaison", "zh")
    assert view.result is not None and not view.result.complete
    missing_before = len(view.result.missing)
    codes = [line.code for line in view.checklist]
    assert "weather_certificate" in " ".join(codes) or any("weather" in c for c in codes)
    notice = missing_notice(view, "zh")
    assert notice.startswith("补充材料通知") and f"{missing_before} 项" in notice
    assert "submitted" not in view.actions  # incomplete checklist: no submit button
    first = view.checklist[0]
    ctx.store.documents.set_status(claim_id, first.code, "collected", user="u")
    after = load_claim(ctx.store, claim_id, "liaison", "zh")
    assert len(after.result.missing) == missing_before - 1
    assert after.checklist[0].status == "collected"


def test_overview_masks_id_and_phone(ctx):
    from fieldapp.state.claims import mask_person

    claim_id = _complete_report(ctx)
    person = ctx.store.claims.get(claim_id).persons[0]
    shown = mask_person(person, "liaison")
    assert shown["id_number"] != VALID_ID and shown["id_number"].endswith("002X")
    assert VALID_ID[6:14] not in shown["id_number"]


# -- photos -------------------------------------------------------------------------------------
def test_capture_stores_photos_once_and_explains_refusals(ctx):
    claim_id = _complete_report(ctx)
    cap = PhotoCapture(ctx.store, ctx.photo_files, claim_id, "u", "zh")
    photos = [(p.name, p.read_bytes()) for p in sorted(CORPUS.glob("*.jpg"))]
    batch = cap.add(photos + [("截图.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 64), photos[0]], FIX, wait=True)
    assert batch.done and batch.stored == 4  # the repeated photo is the same photo
    assert len(ctx.store.photos.list_for_claim(claim_id)) == 3
    refused = batch.refused
    assert [i.name for i in refused] == ["截图.png"] and "JPEG" in refused[0].message
    for item in batch.items:
        if item.sha256:
            assert ctx.photo_files.path(item.sha256, "thumb").exists()
    # no GPS at the shutter: stored, and flagged as such
    cap.add([("again.jpg", photos[1][1][:-2] + b"\xff\xd9")], None, wait=True)


# -- settings, sign out, enrolment --------------------------------------------------------------
def test_sign_out_refused_while_unsent_data_exists(ctx):
    creds = DeviceCredentials("http://127.0.0.1:9", "dev-1", "tok", EnrolledUser("u", "李", "liaison", LONGSHUI))
    ctx.files.save_credentials(creds)
    ctx.credentials = creds
    _complete_report(ctx)
    with pytest.raises(SignOutRefused) as refused:
        ctx.sign_out()
    assert refused.value.changes > 0
    assert ctx.credentials is creds and ctx.files.load_credentials() == creds  # nothing changed


def test_language_choice_persists(tmp_path):
    c = AppContext(tmp_path)
    assert c.t("app.title") == "大足区巨灾保险"
    c.set_language("en")
    assert AppContext(tmp_path).t("app.title") == "Dazu catastrophe insurance"
    with pytest.raises(ValueError):
        c.set_language("fr")
    assert AppContext(tmp_path).language == "en"


def test_enrolment_qr_payloads_and_images():
    import qrcode

    entry = parse_qr_payload("dazu://enroll?server=https%3A%2F%2F10.0.0.5%3A8700&code=AB12-CD34")
    assert entry == EnrolInput("https://10.0.0.5:8700", "AB12-CD34")
    # Typed without a scheme: HTTPS, except to this machine itself.
    assert parse_qr_payload(" ab12 ", default_server="host:8700") == EnrolInput("https://host:8700", "ab12")
    assert parse_qr_payload("ab12", default_server="127.0.0.1:8700") == EnrolInput("http://127.0.0.1:8700", "ab12")
    pin = "AB:" * 31 + "AB"
    assert parse_qr_payload(f"dazu://enroll?server=https%3A%2F%2Fh%3A1&code=C&pin={pin}").pin == "ab" * 32
    with pytest.raises(EnrolError) as err:
        parse_qr_payload("dazu://enroll?server=https%3A%2F%2Fh%3A1&code=C&pin=abc")
    assert err.value.key == "enrol.error.pin_invalid"
    with pytest.raises(EnrolError) as err:
        parse_qr_payload("", default_server="https://x")
    assert err.value.key == "enrol.error.code_missing"
    import io

    buf = io.BytesIO()
    qrcode.make("dazu://enroll?server=https%3A%2F%2F1.2.3.4%3A8700&code=QR-CODE-1").save(buf, format="PNG")
    assert parse_qr_payload(read_qr_image(buf.getvalue())).code == "QR-CODE-1"
    with pytest.raises(EnrolError):
        read_qr_image(b"not an image")


def test_plain_http_goes_only_to_this_machine_unless_developing(monkeypatch):
    """Victims' personal data never crosses a network in clear text: http:// to another machine
    is refused at enrolment, and a phone enrolled that way before stops syncing."""
    from fieldapp.sync import SyncClient
    from fieldapp.sync.errors import InsecureServer
    from fieldapp.sync.tls import DEV_ALLOW_HTTP_ENV

    monkeypatch.delenv(DEV_ALLOW_HTTP_ENV, raising=False)
    for url in ("http://10.0.0.5:8700", "http://sync.example.cn", "http://[fe80::1]:8700"):
        with pytest.raises(EnrolError) as err:
            parse_qr_payload(f"dazu://enroll?server={url}&code=C")
        assert err.value.key == "enrol.error.http_refused"
    for url in ("http://127.0.0.1:8700", "http://localhost:8700", "http://[::1]:8700", "https://10.0.0.5"):
        assert parse_qr_payload(f"dazu://enroll?server={url}&code=C").server_url == url

    class NoNetwork(httpx.BaseTransport):
        def handle_request(self, request):  # noqa: ANN001, ANN201
            raise AssertionError(f"nothing may be sent to {request.url}")

    with httpx.Client(transport=NoNetwork()) as http_client:
        client = SyncClient(None, None, http_client, base_url="http://10.0.0.5:8700")
        with pytest.raises(InsecureServer):
            client._send("POST", "/api/v1/enroll", auth=False, json={})

    monkeypatch.setenv(DEV_ALLOW_HTTP_ENV, "1")
    assert parse_qr_payload("dazu://enroll?server=http://10.0.0.5:8700&code=C").server_url == "http://10.0.0.5:8700"


class _Portal(http.server.BaseHTTPRequestHandler):
    """A captive portal: answers every request with 200 and an HTML page."""

    def do_POST(self):  # noqa: N802
        body = b"<html>Welcome to the hotel Wi-Fi</html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


def test_enrol_refuses_a_captive_portal_and_an_unreachable_server():
    srv = http.server.HTTPServer(("127.0.0.1", 0), _Portal)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        with httpx.Client() as client:
            with pytest.raises(EnrolError) as err:
                enroll(client, EnrolInput(f"http://127.0.0.1:{srv.server_port}", "CODE"), "phone")
            assert err.value.key == "enrol.error.bad_reply"
            srv_port = srv.server_port
    finally:
        srv.shutdown()
        srv.server_close()
    with httpx.Client() as client, pytest.raises(EnrolError) as err:
        enroll(client, EnrolInput(f"http://127.0.0.1:{srv_port}", "CODE"), "phone")
    assert err.value.key == "enrol.error.unreachable"


# -- assignments --------------------------------------------------------------------------------
def test_assignment_answers_and_costs(ctx):
    claim_id = _complete_report(ctx)
    ctx.store.apply_remote_changes([{
        "entity": "assignment", "id": "a1a1a1a1-0000-4000-8000-000000000001", "version": 1, "op": "upsert",
        "fields": {"claim_id": claim_id, "insurer_code": "cpic", "status": "assigned", "fields": {"kind": "ordinary"},
                   "received_at": "2026-07-01T08:00:00+00:00", "updated_at": "2026-07-01T08:00:00+00:00"}}], None)
    st = Assignments(ctx.store, "u-surveyor", ctx.photo_files)
    aid = "a1a1a1a1-0000-4000-8000-000000000001"
    with pytest.raises(AssignmentError) as err:
        st.decline(aid, "  ")
    assert err.value.key == "assign.error.reason"
    with pytest.raises(AssignmentError):
        st.done(aid)  # not before accepting and arriving
    st.accept(aid)
    st.arrived(aid, FIX)
    receipt = ("r.jpg", (CORPUS / "jpg_xmp__no_exif.jpg").read_bytes())
    notes_before = len(ctx.store.notes.list_for_claim(claim_id))
    photos_before = len(ctx.store.photos.list_for_claim(claim_id))
    outbox_before = ctx.store.outbox.count()
    for amount, rec, key in (("12.345", receipt, "assign.error.amount"), ("0", receipt, "assign.error.amount"),
                             ("120.50", None, "assign.error.receipt_needed"),
                             ("120.50", ("r.pdf", b"%PDF-1.4 not a photo"), "assign.error.receipt")):
        with pytest.raises(AssignmentError) as err:
            st.add_cost(aid, "vehicle", amount, receipt=rec)
        assert err.value.key == key
    assert err.value.params["reason"]  # the intake's own words for the refused receipt
    # refused costs recorded nothing
    assert len(ctx.store.notes.list_for_claim(claim_id)) == notes_before
    assert len(ctx.store.photos.list_for_claim(claim_id)) == photos_before
    assert ctx.store.outbox.count() == outbox_before
    assert st.saved_costs(aid) == []
    entry = st.add_cost(aid, "vehicle", "120.50", "往返", receipt=receipt, fix=FIX)
    assert entry.amount_fen == 12050 and isinstance(entry.amount_fen, int)
    # The cost form lists what is already saved: this one, and a second above a thousand yuan;
    # another person's cost on the same claim is theirs, not this surveyor's.
    ctx.store.notes.add(claim_id, f"[cost] meals 35.00 receipt:{'b' * 64}", author="u-someone-else")
    second = st.add_cost(aid, "other", "1234", "", receipt=("r2.jpg", (CORPUS / "jpg_mobile__jolla.jpg").read_bytes()),
                         fix=FIX)
    saved = st.saved_costs(aid)
    assert [(c.kind, c.amount_fen, c.note, c.receipt_sha256) for c in saved] == [
        ("vehicle", 12050, "往返", entry.receipt_sha256), ("other", 123400, "", second.receipt_sha256)]
    assert ctx.store.photos.get_by_sha(entry.receipt_sha256).claim_id == claim_id  # uploads like a photo
    st.done(aid)
    assert ctx.store.assignments.get(aid).status == "done"
    bodies = [n.text for n in ctx.store.notes.list_for_claim(claim_id)]
    assert len(bodies) == notes_before + 3
    assert f"[cost] vehicle 120.50 往返 receipt:{entry.receipt_sha256}" in bodies
    assert any(b.startswith("[arrived] 29.599000,105.756000") for b in bodies)


# -- documents: the item's template ---------------------------------------------------------------
def test_open_template_writes_the_filled_form_and_explains_refusals(ctx):
    import pypdf

    from fieldapp.state.documents_out import TemplateRefused, open_template, template_dir

    claim_id = _complete_report(ctx)
    report_no = ctx.store.claims.get(claim_id).report_no
    path = open_template(ctx.store, ctx.data_dir, claim_id, "claim_application", lang="zh")
    assert path.parent == template_dir(ctx.data_dir) and path.is_file()
    text = "".join(page.extract_text() or "" for page in pypdf.PdfReader(str(path)).pages)
    assert report_no in text
    assert "王秀英" in text
    assert path.stat().st_mode & 0o077 == 0  # full ID number inside: readable by this app only

    before = sorted(template_dir(ctx.data_dir).iterdir())
    with pytest.raises(TemplateRefused) as refused:
        open_template(ctx.store, ctx.data_dir, "00000000-0000-4000-8000-000000000000", "claim_application")
    assert "本机没有这个案件" in refused.value.message
    w = _wizard(ctx)  # a claim without loss types yet: no checklist can be printed for it
    w.choose_coverage("natural_disaster")
    w.set_village(GAOKENG)
    w.set_description("暴雨")
    assert w.next(), w.errors
    with pytest.raises(TemplateRefused) as refused:
        open_template(ctx.store, ctx.data_dir, w.claim_id, "checklist", lang="en")
    assert "loss types" in refused.value.message
    with pytest.raises(TemplateRefused) as refused:
        open_template(ctx.store, ctx.data_dir, claim_id, "no_such_form")
    assert "no_such_form" in refused.value.message
    assert sorted(template_dir(ctx.data_dir).iterdir()) == before  # refusals write nothing


def test_typed_incident_time_is_kept_without_leaving_the_field(ctx):
    """A tap on "next" need not blur the field first: what was typed is applied by the step."""
    w = _wizard(ctx)
    w.choose_coverage("natural_disaster")
    w.set_village(GAOKENG)
    w.set_description("暴雨")
    before = w.s.incident_at
    w.set_incident_text("2026-07-01 8:30:xx")  # typed, never left
    assert not w.next()
    assert w.errors["incident_at"] == "wizard.error.time_invalid" and w.step == "place"
    assert w.s.incident_at == before and w.time_text == "2026-07-01 8:30:xx"  # kept on screen
    w.set_incident_text("2025-07-01 08:30")
    assert w.next(), w.errors
    assert ctx.store.claims.get(w.claim_id).incident_at.startswith("2025-07-01")
    assert w.time_text is None


def test_enrol_says_wait_when_the_server_slows_down_code_guessing(tmp_path, sqlite_url):
    """After too many wrong codes from one network the server answers 429: the phone says to wait
    (the right code is still valid), not that the code was wrong or the server broken."""
    from starlette.testclient import TestClient

    from sync_server.app import create_app
    from sync_server.core.settings import Settings
    from sync_server.testing import Harness

    settings = Settings(data_dir=tmp_path / "server", database_url=sqlite_url, enroll_fail_limit=2)
    harness = Harness(settings)
    try:
        code = harness.enrollment_code(harness.add_user("liaison", "联络员", "500111001")["id"])
        with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
            keys = []
            for wrong in ("WRNG-0001", "WRNG-0002", "WRNG-0003"):
                with pytest.raises(EnrolError) as err:
                    enroll(client, EnrolInput("http://127.0.0.1", wrong), "phone")
                keys.append(err.value.key)
            assert keys == ["enrol.error.code_rejected"] * 2 + ["enrol.error.too_many_attempts"]
            with pytest.raises(EnrolError) as err:
                enroll(client, EnrolInput("http://127.0.0.1", code), "phone")
            assert err.value.key == "enrol.error.too_many_attempts" and int(err.value.detail) > 0
        assert AppContext(tmp_path).t("enrol.error.too_many_attempts").startswith("登记码错误次数过多")
    finally:
        harness.close()
