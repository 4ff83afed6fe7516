"""The harness itself: a page whose Flutter engine crashed is reloaded once, and the app carries on
from where it was (its state lives in the app's process, not in the page); a form not sent yet is
typed again."""
from __future__ import annotations

from tests.e2e.conftest import SLOW_FRAMES, FieldApp, Screen

UNUSED_SERVER = "https://127.0.0.1:9"  # only preset on the enrol screen; never contacted here

# What the engine's trap does to a page: the Flutter view is gone (blank, no semantics) and the
# console says why.
_CRASH = """() => { document.querySelector('flutter-view').remove();
  setTimeout(() => { throw new WebAssembly.RuntimeError('memory access out of bounds'); }, 0); }"""


def _crashed_again(phone: Screen, app: FieldApp) -> Screen:
    """A fresh Screen on the app whose page crashed before any wait (its reload still unused)."""
    phone.close()
    phone = Screen(phone.browser, app.url, "harness")
    phone.opened(phone.button("登记"))
    with phone.page.expect_event("pageerror"):
        phone.page.evaluate(_CRASH)
    return phone


def test_a_page_whose_engine_crashed_is_reloaded_once_and_said_so(workdir, browser):
    app = FieldApp(workdir, "phone-harness", UNUSED_SERVER)
    phone = None
    try:
        phone = Screen(browser, app.url, "harness")
        phone.opened(phone.button("登记"))
        phone.type_into("登记码", "ABCD2345")
        phone.page.evaluate(_CRASH)
        phone.see("登记码")  # blank at first; reloaded after the first 30 s
        assert phone._crash_reloads == 1
        assert phone.field("登记码").input_value() == "ABCD2345"  # the form, not sent yet, typed again
        assert "the page's renderer crashed (pageerror: RuntimeError: memory access out of bounds); reloaded" \
            in SLOW_FRAMES.read_text(encoding="utf-8").splitlines()[-2]
        # A screenshot after a crash shows the screen redrawn, never the crashed canvas's last frame.
        phone = _crashed_again(phone, app)
        shot = phone.shot("after-crash")
        assert shot.name.endswith("-after-crash.png") and phone._crash_reloads == 1
        assert phone.field("登记码").is_visible()
        # A second crash of the same screen is not hidden: no reload, so the wait fails.
        errors = sum(line.startswith("pageerror:") for line in phone.console)
        with phone.page.expect_event("pageerror"):
            phone.page.evaluate(_CRASH)
        assert sum(line.startswith("pageerror:") for line in phone.console) == errors + 1
        assert phone.reload_if_crashed("the second crash") is False
        assert phone._crash_reloads == 1
        # ... nor a screenshot of it: its file says the renderer crashed.
        assert phone.shot("second").name.endswith("-second-RENDERER-CRASHED.png")
    finally:
        if phone is not None:
            phone.close()
        app.stop()
