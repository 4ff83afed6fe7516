"""The browser echoes every route the app pushes to its history; an echo that comes after a later
tap (a tab tapped right after a submit opened another one) must not take the screen back."""
from __future__ import annotations

from types import SimpleNamespace

from fieldapp.state.session_slot import SessionSlot
from fieldapp.views.shell import AppShell
from tests.ui.test_one_session import _Page


class _BrowserPage(_Page):
    """The fake page with a browser history: pushes are kept, their echoes sent by the test."""

    def __init__(self) -> None:
        super().__init__()
        self.pushed: list[str] = []

    async def push_route(self, route: str) -> None:
        self.pushed.append(route)


def test_a_late_echo_of_an_earlier_route_does_not_take_the_screen_back(ctx):
    page = _BrowserPage()
    shell = AppShell(page, ctx, SessionSlot())
    shell.start()
    drawn: list[str] = []
    shell.render = lambda: drawn.append(page.route)  # noqa: E731 - which screen each draw shows
    shell.go("/settings")
    shell.go("/sync")  # tapped before the first push came back
    assert page.pushed == ["/settings", "/sync"] and drawn == ["/settings", "/sync"]

    def echo(route: str) -> None:  # what Flet does with the browser's route change
        page.route = route
        page.on_route_change(SimpleNamespace(route=route))

    echo("/settings")  # the late echo: the screen stays on the later route, not drawn again
    assert page.route == "/sync" and drawn == ["/settings", "/sync"]
    echo("/sync")  # the echo of the route shown: drawn as before
    assert page.route == "/sync" and drawn[-1] == "/sync"
    echo("/settings")  # the user's back button: not an echo any more, followed
    assert page.route == "/settings" and drawn[-1] == "/settings"
