"""A pull that lands while someone reads far down a claim keeps their place.

The adjuster has scrolled to the bottom of a claim, to its workflow buttons. The liaison fills in
the claimed amount on her own phone; the adjuster's phone pulls it and redraws the claim. The
adjuster must still be where she was, with the button under her thumb, and not thrown back to the
top (a redraw builds a new screen, which Flutter shows from the top unless the app scrolls it back).
"""
from __future__ import annotations

from tests.e2e.conftest import FieldApp, Screen
from tests.e2e.test_claim_to_payment import (FAST, PHOTOS, _store, drained, enrol, fill, open_claim, press,
                                             report, until)

ACCOUNT = ("7月2日夜间持续强降雨，屋后山体滑坡，泥石流冲入院内，正房后墙及厨房倒塌，室内家具、"
           "家电和存粮被掩埋，户主及家人已转移至村委会安置点，村组干部已到场核实。")
VICTIM = "罗德芳"
BUTTON = "转为：已立案"


def _top_of(screen: Screen, name: str) -> float | None:
    """Where a button is on screen (its top edge), or None when it is not drawn at all."""
    button = screen.page.get_by_role("button", name=name, exact=True).first
    if not button.count():
        return None
    box = button.bounding_box()
    return None if box is None else box["y"]


def test_a_pulled_change_does_not_move_the_claim_being_read(server, workdir, browser):
    apps = {name: FieldApp(workdir, f"place-{name}", server.url, env=FAST) for name in ("liaison", "adjuster")}
    screens: dict[str, Screen] = {}
    try:
        screens["liaison"] = liaison = Screen(browser, apps["liaison"].url, "place-liaison")
        enrol(liaison, server, "liaison", township_code="500111100")
        screens["adjuster"] = adjuster = Screen(browser, apps["adjuster"].url, "place-adjuster")
        enrol(adjuster, server, "adjuster")

        report(liaison, ACCOUNT, ("房屋及室内财产",), VICTIM, None, PHOTOS[:1])
        liaison.see("还缺", timeout=30_000)
        liaison.tab("概况", then="相关人员")
        drained(apps["liaison"])
        with _store(apps["liaison"]) as store:
            claim_id = next(r.id for r in store.claims.list_page(limit=100).rows if r.victim_name == VICTIM)

        # The adjuster reads the claim down to its workflow buttons, at the bottom of the screen.
        until("the claim on the adjuster's phone", lambda: _claim(apps["adjuster"], claim_id) is not None)
        adjuster.reload(then=VICTIM)
        open_claim(adjuster, VICTIM)
        adjuster.find(BUTTON)
        for _ in range(6):
            adjuster.page.mouse.move(206, 550)
            adjuster.page.mouse.wheel(0, 600)
            adjuster.page.wait_for_timeout(300)
        adjuster.page.wait_for_timeout(1000)  # the scroll's last position reaches the app
        before = _top_of(adjuster, BUTTON)
        assert before is not None and 0 <= before <= 915, before
        tab = _top_of(adjuster, "概况")
        assert tab is None or tab < 0, f"the claim is short enough to show its tabs from the bottom ({tab})"
        adjuster.shot("read-to-the-bottom")

        # The liaison fills in the claimed amount; the adjuster's phone pulls it and redraws.
        press(liaison, "填写申请金额", then="申请金额（元）")
        fill(liaison, "申请金额（元）", "86000")
        liaison.tap(liaison.button("保存", exact=True))
        liaison.find("86,000.00 元")
        drained(apps["liaison"])
        until("the amount on the adjuster's phone", lambda: (_claim(apps["adjuster"], claim_id) or {}).get("claimed"))
        adjuster.page.wait_for_timeout(3000)  # the redraw, and the scroll back to where she was
        adjuster.shot("after-the-pull")

        after = _top_of(adjuster, BUTTON)
        assert after is not None and 0 <= after <= 915, f"the button left the screen: {before} -> {after}"
        assert abs(after - before) <= 80, f"the claim moved under the reader: {before} -> {after}"
        tab = _top_of(adjuster, "概况")
        assert tab is None or tab < 0, f"the screen went back to the top ({tab})"
        # ...and what she sees is the new claim: the amount came with the redraw, no navigation.
        adjuster.top()
        adjuster.see("86,000.00 元")
    except BaseException:
        for name, screen in screens.items():
            screen.failed(apps[name].log)
        raise
    finally:
        for screen in screens.values():
            screen.close()
        for app in apps.values():
            app.stop()


def _claim(app, claim_id: str) -> dict | None:
    with _store(app) as store:
        try:
            c = store.claims.get(claim_id)
        except LookupError:
            return None
        return {"claimed": c.claimed_amount_fen}
