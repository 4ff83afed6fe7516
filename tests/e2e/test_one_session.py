"""One phone, one session, in a real browser: a second tab of the same field app says that the app
is open in another window and offers to take over; taking over makes it the app and the first tab
says it was taken over (with a button to take it back); when the app's tab closes, the other
tab becomes the app by itself, and a tab opened when none is left needs no takeover."""
from __future__ import annotations

from tests.e2e.conftest import FieldApp, Screen

UNUSED_SERVER = "https://127.0.0.1:9"  # only preset on the enrol screen; never contacted here


def test_second_tab_takes_over_and_the_first_says_so(workdir, browser):
    app = FieldApp(workdir, "phone-one-session", UNUSED_SERVER)
    first = second = third = None
    try:
        first = Screen(browser, app.url, "session-first")
        first.opened(first.button("登记"))

        second = Screen(browser, app.url, "session-second")
        second.see("此应用已在另一个窗口打开", timeout=90_000)
        second.shot("open-elsewhere")
        first.see("登记")  # the first tab is still the app

        second.tap(second.button("在此窗口使用"), then="登记")
        second.shot("taken-over-here")
        first.see("本应用已转到另一个窗口使用")
        first.see("回到此窗口使用")
        first.shot("taken-over")

        # Taken back, and the second tab is the one that says so now.
        first.tap(first.button("回到此窗口使用"), then="登记")
        second.see("本应用已转到另一个窗口使用")

        # The first tab closes: the second one becomes the app by itself; once it closes too, a
        # new tab opens straight into the app.
        first.close()
        first = None
        second.see("登记", timeout=60_000)
        second.page.get_by_text("本应用已转到另一个窗口使用").wait_for(state="detached", timeout=30_000)
        second.shot("other-closed")
        second.close()
        second = None
        third = Screen(browser, app.url, "session-third")
        third.opened(third.button("登记"))
        third.shot("reopened")
    except Exception:
        for screen in (first, second, third):
            if screen is not None:
                screen.failed(app.log)
        raise
    finally:
        for screen in (first, second, third):
            if screen is not None:
                screen.close()
        app.stop()
