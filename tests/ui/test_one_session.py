"""One phone, one session: a second browser tab of the same app process is told that the app is
open elsewhere and may take over; the tab taken over says so, drops its screen state (no wizard
of its own left to write a draft) and may take it back; a tab that ends frees the slot."""
from __future__ import annotations

import asyncio
import time

import flet as ft

from fieldapp.state.session_slot import ELSEWHERE, TAKEN_OVER, SessionSlot
from fieldapp.views import shell as shell_module
from fieldapp.views.shell import AppShell


class _Page:
    """What AppShell uses of a Flet page, recording what it shows."""

    def __init__(self) -> None:
        self.route = "/"
        self.views: list[ft.View] = []
        self.services: list = []
        self.width = 412
        self.title = ""
        self.fonts = self.theme = self.theme_mode = self.locale_configuration = None
        self.on_route_change = self.on_view_pop = self.on_resize = None
        self.on_connect = self.on_disconnect = self.on_close = None
        self.dialogs_popped = 0

    def update(self) -> None:
        pass

    def run_task(self, fn, *args):
        asyncio.run(fn(*args))

    def pop_dialog(self):
        self.dialogs_popped += 1
        return None

    def show_dialog(self, dialog) -> None:
        pass

    def texts(self) -> list[str]:
        out: list[str] = []

        def walk(c) -> None:
            if isinstance(c, ft.Text) and isinstance(c.value, str):
                out.append(c.value)
            for child in (getattr(c, "controls", None) or []):
                walk(child)
            content = getattr(c, "content", None)
            if content is not None and not isinstance(content, str):
                walk(content)
        for v in self.views:
            for c in v.controls:
                walk(c)
        return out

    def tap(self, key: str) -> None:
        def find(c):
            if getattr(c, "key", None) == key:
                return c
            for child in (getattr(c, "controls", None) or []) + [getattr(c, "content", None)]:
                if child is not None and not isinstance(child, str) and (hit := find(child)) is not None:
                    return hit
            return None
        button = next(b for v in self.views for c in v.controls if (b := find(c)) is not None)
        button.on_click(None)


def _open(ctx, slot) -> tuple[AppShell, _Page]:
    page = _Page()
    shell = AppShell(page, ctx, slot)
    shell.start()
    return shell, page


def test_the_slot_goes_to_the_first_session_and_moves_only_by_taking_over():
    slot, told = SessionSlot(), []
    assert slot.join("a", lambda: told.append("a"))
    assert not slot.join("b", lambda: told.append("b"))
    assert (slot.standing("a"), slot.standing("b")) == (None, ELSEWHERE)
    slot.take_over("b")
    assert told == ["a"] and (slot.standing("a"), slot.standing("b")) == (TAKEN_OVER, None)
    slot.take_over("a")  # taken back
    assert told == ["a", "b"] and slot.holds("a")
    slot.leave("a")  # the tab closed: the other session becomes the app by itself and hears of it
    assert told == ["a", "b", "b"] and slot.holds("b")
    assert not slot.join("c", lambda: told.append("c"))
    slot.leave("b")  # of two waiting, the one opened last is the app
    assert slot.holds("c") and told[-1] == "c"
    slot.leave("c")
    assert slot.join("a2", lambda: None)  # nobody left: a reload opens straight away


def test_second_tab_says_the_app_is_open_elsewhere_takes_over_and_the_first_says_so(ctx):
    slot = SessionSlot()
    first, first_page = _open(ctx, slot)
    assert "此应用已在另一个窗口打开" not in first_page.texts()
    first.screen_state["wizard"] = object()  # a report being entered in the first tab

    second, second_page = _open(ctx, slot)
    assert "此应用已在另一个窗口打开" in second_page.texts()
    assert "在此窗口使用" in second_page.texts()

    second_page.tap("session-take-over")
    assert "此应用已在另一个窗口打开" not in second_page.texts() and second.is_the_app
    assert "本应用已转到另一个窗口使用" in first_page.texts() and "回到此窗口使用" in first_page.texts()
    assert first.screen_state == {}  # its wizard is gone: it cannot save a draft of its own
    first.go("/new")  # a late tap in the old tab draws the notice, not a screen
    assert "本应用已转到另一个窗口使用" in first_page.texts()

    first_page.tap("session-take-over")  # taken back
    assert first.is_the_app and "此应用已在另一个窗口打开" not in first_page.texts()
    assert "本应用已转到另一个窗口使用" in second_page.texts()


def test_a_closed_tab_hands_the_app_over_and_with_none_left_a_reload_needs_no_takeover(ctx):
    slot = SessionSlot()
    first, first_page = _open(ctx, slot)
    second, second_page = _open(ctx, slot)
    assert not second.is_the_app
    first_page.on_disconnect(None)  # the first tab closed: the second one is the app now
    assert second.is_the_app and "此应用已在另一个窗口打开" not in second_page.texts()
    second_page.on_disconnect(None)
    third, third_page = _open(ctx, slot)
    assert third.is_the_app and "此应用已在另一个窗口打开" not in third_page.texts()


def test_a_reloaded_tab_comes_back_as_the_app(ctx):
    slot = SessionSlot()
    shell, page = _open(ctx, slot)
    page.on_disconnect(None)
    page.on_connect(None)
    assert shell.is_the_app and "此应用已在另一个窗口打开" not in page.texts()


def test_english_notice(ctx):
    ctx.set_language("en")
    slot = SessionSlot()
    _open(ctx, slot)
    _, page = _open(ctx, slot)
    assert "This app is open in another window" in page.texts() and "Use it here" in page.texts()


def test_pulled_news_skipped_while_a_form_is_open_waits_for_the_next_draw(ctx):
    """A pull that lands while a form is on screen is not drawn then (typing would be lost), and
    is not forgotten either: the next draw (or the next notice off the form) shows it."""
    shell, page = _open(ctx, SessionSlot())
    assert page.route == "/enrol"  # not enrolled: the enrolment form
    assert not shell._pulled_new_data()
    drawn = []
    shell.render = lambda: drawn.append(page.route)  # noqa: E731 - count draws, not their content
    ctx.store.sync_state.set(cursor="after-a-pull")
    shell._on_state_change("sync")  # on a form: only the sync bar is refreshed
    assert drawn == []
    assert shell._pulled_new_data()  # still news for the next draw
    page.route = "/"
    shell._on_state_change("sync")  # off the form, the next notice draws it
    assert drawn == ["/"]


def test_a_session_gone_without_a_word_loses_the_slot_to_the_next_tab():
    """A tab closed while a frame was being sent to it never says it left: the next tab to open
    is the app straight away, not told that the app is open elsewhere."""
    slot, told, alive = SessionSlot(), [], {"a": True}
    assert slot.join("a", lambda: told.append("a"), lambda: alive["a"])
    assert not slot.join("b", lambda: told.append("b"), lambda: True)  # "a" is still there
    assert not slot.claim_if_gone("b")  # asked again while "a" is there: still elsewhere
    slot.leave("b")
    assert not slot.claim_if_gone("b")  # a session that left claims nothing
    alive["a"] = False  # its tab is gone; no leave() came
    assert slot.join("c", lambda: told.append("c"), lambda: True)
    assert slot.standing("c") is None and not slot.holds("a") and told == []
    assert not slot.join("a", lambda: told.append("a"), lambda: True)  # it comes back: elsewhere
    assert slot.standing("a") == ELSEWHERE


def test_a_tab_told_elsewhere_while_the_app_tab_was_closing_opens_by_itself(ctx, monkeypatch):
    """The app's tab closed while a frame was being sent to it (its socket still closing when the
    next tab opened, and no leave afterwards): the waiting tab opens by itself, without a
    take-over and without any change of the app's state (on the enrolment screen no sync runs);
    while the app's tab is there, it keeps waiting."""
    monkeypatch.setattr(shell_module, "SLOT_RECHECK_S", 0.05)
    slot, alive = SessionSlot(), {"first": True}
    first, first_page = _open(ctx, slot)
    first._connected = lambda: alive["first"]  # noqa: E731 - the web server socket's state
    slot.join(first, first._on_slot_change, first._connected)
    second, second_page = _open(ctx, slot)
    assert "此应用已在另一个窗口打开" in second_page.texts()
    assert not _within(0.5, lambda: second.is_the_app)  # the first tab is still there: it waits
    assert "此应用已在另一个窗口打开" in second_page.texts()
    alive["first"] = False  # its socket closed; no leave() came
    assert _within(5, lambda: second.is_the_app and "此应用已在另一个窗口打开" not in second_page.texts())
    assert not slot.holds(first)


def test_a_waiting_tab_that_closed_stops_asking(ctx, monkeypatch):
    monkeypatch.setattr(shell_module, "SLOT_RECHECK_S", 0.05)
    slot = SessionSlot()
    first, _ = _open(ctx, slot)
    second, second_page = _open(ctx, slot)
    assert _within(5, lambda: second._slot_watch is not None)
    second_page.on_close(None)
    assert _within(5, lambda: second._slot_watch is None)


def _within(seconds: float, condition) -> bool:
    """Whether ``condition`` holds within ``seconds`` (the slot watch runs on its own thread)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return bool(condition())


def test_a_holder_whose_check_fails_counts_as_gone():
    def broken() -> bool:
        raise RuntimeError("An attempt to fetch destroyed session.")
    slot = SessionSlot()
    assert slot.join("a", lambda: None, broken) is True  # its own check is not asked on joining
    assert slot.join("b", lambda: None, lambda: True)


class _Socket:
    def __init__(self, client: str, application: str) -> None:
        from starlette.websockets import WebSocketState

        self.client_state = WebSocketState[client]
        self.application_state = WebSocketState[application]


class _Connection:
    def __init__(self, client: str, application: str = "CONNECTED") -> None:
        self._FletApp__websocket = _Socket(client, application)


class _Session:
    def __init__(self, connection) -> None:
        self.connection = connection


def test_the_shell_reads_its_tab_from_the_web_server_socket(ctx):
    slot = SessionSlot()
    first, first_page = _open(ctx, slot)
    first_page.session = _Session(_Connection("CONNECTED"))
    second, second_page = _open(ctx, slot)
    assert not second.is_the_app  # the first tab is still there
    second_page.on_close(None)
    first_page.session = _Session(_Connection("DISCONNECTED"))  # closed mid-frame: no on_disconnect
    third, third_page = _open(ctx, slot)
    assert third.is_the_app and "此应用已在另一个窗口打开" not in third_page.texts()
    first_page.session = _Session(None)  # Flet's own word that it is gone counts as well
    assert first._connected() is False
    # A send that failed (the tab went while a frame was on its way) before the close was read.
    first_page.session = _Session(_Connection("CONNECTED", "DISCONNECTED"))
    assert first._connected() is False
    first_page.session = _Session(_Connection("CONNECTED", "CONNECTED"))
    assert first._connected() is True


def test_the_web_server_still_keeps_the_socket_where_the_shell_reads_it():
    """The shell reads a private name of the pinned flet-web; when an upgrade renames it, this
    fails (instead of tabs that silently keep the app for an hour)."""
    import inspect

    from flet_web.fastapi.flet_app import FletApp

    assert "self.__websocket = websocket" in inspect.getsource(FletApp.handle)
