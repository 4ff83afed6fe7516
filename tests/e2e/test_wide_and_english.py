"""The screens nobody walks on a phone: an office browser (1280×800, list and claim side by side)
and the whole app in English after the language switch in settings. Screenshots of each go to
test-output/screenshots/ (wide-*, english-*) to be looked at."""
from __future__ import annotations

import re

from tests.e2e.conftest import DESKTOP, FieldApp, Screen


def _demo_claim(server, coverage: str) -> str:
    return next(c["id"] for c in server.seed["claims"] if c["coverage"] == coverage)


def test_office_browser_side_by_side_then_english(server, workdir, browser):
    app = FieldApp(workdir, "office-adjuster", server.url)
    wide = Screen(browser, app.url, "wide", viewport=DESKTOP)
    phone = None
    try:
        wide.opened(wide.button("登记"))
        code, user = server.code_for("adjuster")
        wide.type_into("登记码", code)
        wide.tap(wide.button("登记", exact=True), then=user["name"])
        wide.see(user["name"])
        wide.tap(wide.button("确认并开始"))
        # The adjuster sees every demo claim once the first pull is in; nothing is chosen yet.
        wide.see("高空坠物伤人救助保险", timeout=60_000)
        wide.shot("home")
        tile = wide.page.get_by_text("高空坠物伤人救助保险").first
        wide.tap(tile, then="相关人员")
        # Side by side: the list is still there next to the claim.
        wide.see("我的案件")
        wide.shot("claim-overview")
        wide.tap(wide.button("资料", exact=True), then="还缺")
        wide.shot("claim-documents")
        wide.tap(wide.button("进度", exact=True))
        wide.shot("claim-timeline")

        # -- English: the switch in settings ---------------------------------------------------
        wide.appbar_action("设置")
        wide.see("退出登记")
        # The language dropdown, named by its label (its tooltip); its menu items carry the names.
        wide.tap(wide.button("语言", exact=True))
        wide.tap(wide.page.get_by_role("menuitem", name="English").or_(wide.button("English")).first,
                 then="Settings")
        wide.shot("settings-english")
        wide.back()
        wide.see("My claims")
        wide.shot("home-english")
        tile = wide.page.get_by_text(re.compile("Falling object")).first
        wide.tap(tile, then="People")
        wide.tap(wide.button("Documents", exact=True))
        wide.shot("claim-documents-english")

        # The same data folder at phone size (one browser session at a time, as on a phone):
        # English everywhere, one column.
        wide.close()
        phone = Screen(browser, app.url, "english")
        phone.see("My claims", timeout=60_000)
        phone.shot("home")
        phone.tap(phone.button("New report"), then="Choose the coverage")
        phone.shot("wizard-coverage")
        phone.tap(phone.button("Natural disaster"), then="Village")
        phone.shot("wizard-place")
        phone.back()
        tile = phone.page.get_by_text(re.compile("Falling object")).first
        phone.tap(tile, then="People")
        phone.shot("claim-overview")
        phone.tap(phone.button("Documents", exact=True))
        phone.shot("claim-documents")
        phone.page.mouse.click(28, 28)  # back home
        phone.page.wait_for_timeout(500)
        phone.tap(phone.page.locator("flt-semantics").get_by_text(re.compile("waiting")).first, then="Sync now")
        phone.shot("sync")
    except Exception:
        (phone or wide).failed(workdir / "office-adjuster.log")
        raise
    finally:
        if phone is None:
            wide.close()
        if phone is not None:
            phone.close()
        app.stop()
