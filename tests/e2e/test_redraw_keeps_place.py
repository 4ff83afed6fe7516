"""A pull landing while someone reads keeps their place: the adjuster has scrolled down a claim's
screen; the township's liaison adds a person to that claim from another phone (over the real
server); the adjuster's phone pulls it and shows the person where the reader is, without
throwing the screen back to its top. Screenshots: test-output/screenshots/redraw-*.png."""
from __future__ import annotations

import uuid

import httpx

from tests.e2e.conftest import FieldApp, Screen
from tests.e2e.test_claim_to_payment import enrol

FAST = {"DAZU_SYNC_INTERVAL_S": "2"}


def _top_of(screen: Screen, text: str) -> float:
    box = screen.page.get_by_text(text, exact=True).first.bounding_box()
    assert box is not None, f"{text!r} has no place on screen"
    return box["y"]


def _liaison_adds_a_person(server, claim: dict, name: str) -> None:
    """The claim's township liaison, on a phone of its own: enrolled and pushing over HTTP."""
    code, _user = server.code_for("liaison", claim["township_code"])
    enrolled = httpx.post(f"{server.url}/api/v1/enroll", json={"code": code, "device_name": "联络员手机"},
                          timeout=20)
    assert enrolled.status_code == 200, enrolled.text
    body = enrolled.json()
    push = {"device_id": body["device_id"], "mutations": [{
        "seq": 1, "entity": "person", "id": str(uuid.uuid4()), "op": "upsert", "base_version": None,
        "fields": {"claim_id": claim["id"], "role_in_claim": "agent", "name": name}}]}
    r = httpx.post(f"{server.url}/api/v1/sync/push", json=push,
                   headers={"Authorization": f"Bearer {body['token']}"}, timeout=20)
    assert r.status_code == 200, r.text
    assert [x["status"] for x in r.json()["results"]] == ["applied"]


def test_a_pull_shows_the_new_person_where_the_adjuster_is_reading(server, workdir, browser):
    claim = next(c for c in server.seed["claims"] if c["coverage"] == "falling_object")
    app = FieldApp(workdir, "redraw-adjuster", server.url, env=FAST)
    phone = Screen(browser, app.url, "redraw")
    try:
        enrol(phone, server, "adjuster")
        phone.see("高空坠物伤人救助保险", timeout=60_000)
        phone.tap(phone.page.get_by_text("高空坠物伤人救助保险").first, then="相关人员")
        phone.see("尚未登记人员")
        at_top = _top_of(phone, "相关人员")
        phone.page.mouse.move(206, 600)
        phone.page.mouse.wheel(0, 600)
        phone.page.wait_for_timeout(1_000)
        reading = _top_of(phone, "相关人员")
        assert reading < at_top - 100, (at_top, reading)  # scrolled down by the reader
        phone.shot("scrolled")

        _liaison_adds_a_person(server, claim, "王五")
        phone.see("王五", timeout=60_000)  # the pull redrew the claim's screen
        phone.shot("pulled")
        assert _top_of(phone, "相关人员") == reading, "the redraw moved the reader's place"
    except Exception:
        phone.failed(app.log)
        raise
    finally:
        phone.close()
        app.stop()
