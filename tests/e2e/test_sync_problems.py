"""Nothing stranded, in a real browser against the real server: a claim the server refuses stays on
the phone, the sync screen and the claim say what is wrong and what to do (in Chinese), the user
corrects it on the claim, and the server ends up with the whole claim."""
from __future__ import annotations

import time
from pathlib import Path

import httpx

from tests.e2e.conftest import FieldApp, Screen

BAODING = "500111102"
CORRECTED = "6月30日夜间暴雨，猪圈倒塌，已由村委会核实。"


def _store(data_dir: Path):
    from fieldapp.store import open_store

    return open_store(data_dir)


def _claim_from_an_older_app(data_dir: Path, user: dict) -> str:
    """A claim this phone holds whole, whose queued creation an older app version let through with
    an empty account of events (the server requires one)."""
    from sqlalchemy import text

    with _store(data_dir) as store:
        cid = store.claims.create(coverage="natural_disaster", role="liaison", created_by=user["id"],
                                  township_code=BAODING, incident_at="2026-06-30T22:10:00+08:00",
                                  description="暴雨猪圈倒塌", loss_types=["house"])
        with store.engine.begin() as conn:
            conn.execute(text("UPDATE outbox SET fields = json_set(fields, '$.description', '') "
                              "WHERE entity = 'claim' AND entity_id = :id"), {"id": cid})
    return cid


def _problems(data_dir: Path) -> list:
    from fieldapp.sync.push import S_REJECTIONS

    with _store(data_dir) as store:
        return list(store.settings.get(S_REJECTIONS, []) or [])


def _wait(condition, timeout: float = 90) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(1)
    return condition()


def _server_claim(server_url: str, data_dir: Path, claim_id: str) -> dict | None:
    """The claim as the server holds it, read through the phone's own pull (its token)."""
    with _store(data_dir) as store:
        token = store.sync_state.get().token
    cursor = None
    found = None
    with httpx.Client(base_url=server_url, headers={"Authorization": f"Bearer {token}"}, timeout=10) as c:
        while True:
            r = c.get("/api/v1/sync/pull", params={"cursor": cursor} if cursor else {})
            r.raise_for_status()
            body = r.json()
            for ch in body["changes"]:
                if ch["entity"] == "claim" and ch["id"] == claim_id:
                    found = ch["fields"]
            if not body.get("has_more"):
                return found
            cursor = body["cursor"]


def test_a_refused_claim_is_shown_corrected_on_the_phone_and_reaches_the_server(server, workdir, browser):
    app = FieldApp(workdir, "phone-problems", server.url)
    phone = Screen(browser, app.url, "problems")
    try:
        phone.opened(phone.button("登记"))
        code, user = server.code_for("liaison", BAODING)
        phone.type_into("登记码", code)
        phone.tap(phone.button("登记", exact=True), then="确认并开始")
        phone.tap(phone.button("确认并开始"))
        phone.see("我的案件")
        claim_id = _claim_from_an_older_app(app.data, user)
        assert _wait(lambda: any(p["entity"] == "claim" and p["id"] == claim_id for p in _problems(app.data))), \
            "the server's refusal never reached the phone"
        claim = next(p for p in _problems(app.data) if p["entity"] == "claim")
        assert (claim["code"], claim["field"]) == ("required", "description")
        assert _server_claim(server.url, app.data, claim_id) is None
        # The home screen says something was refused; the sync screen says what and where.
        phone.see("项记录被服务器拒绝")
        phone.tap(phone.page.locator("flt-semantics").get_by_text("项记录被服务器拒绝").first, then="需要处理的同步问题")
        phone.see("案件：请填写事故经过")
        phone.see("改正“事故经过”后会自动重新上传")
        phone.see("进度记录：所属案件尚未被服务器接受")  # its "reported" entry waits for the claim
        phone.shot("sync-problem")
        # The claim itself carries the reason too; the user corrects it there.
        phone.tap(phone.button("案件 DZ-").first, then="服务器未接受本案件的部分内容")
        phone.see("案件：请填写事故经过")
        phone.shot("claim-with-problem")
        phone.type_into("事故经过", CORRECTED)
        phone.tap(phone.button("保存更正"), then="已保存")
        assert _wait(lambda: (_server_claim(server.url, app.data, claim_id) or {}).get("description") == CORRECTED)
        held = _server_claim(server.url, app.data, claim_id)
        assert (held["coverage"], held["township_code"], held["loss_types"]) == ("natural_disaster", BAODING, ["house"])
        assert _wait(lambda: _problems(app.data) == []), _problems(app.data)
        phone.page.get_by_text("服务器未接受本案件的部分内容").wait_for(state="detached", timeout=30_000)
        phone.shot("sync-problem-solved")
    except Exception:
        phone.failed(workdir / "phone-problems.log")
        raise
    finally:
        phone.close()
        app.stop()
