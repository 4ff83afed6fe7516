"""The app frame: font and theme, routing, services (file picker, GPS), refresh on state changes.

Routes: /enrol, / (home), /new (report wizard), /claim/<id>[/<tab>], /photo/<id>, /camera/<claim id>,
/assignment/<id>, /review/<claim id>, /office/<section>[/<item>], /sync, /settings. The view stack is always [home, current] so the system back
gesture and the app bar's back arrow return home. Screens are functions `build(shell) -> ft.View`
in the sibling modules; they read state from `shell.ctx` and call its actions, nothing else.
"""
from __future__ import annotations

import asyncio
import dataclasses
import logging
import threading
from typing import Any, Callable

import flet as ft

from fieldapp.state.context import AppContext
from fieldapp.state.session_slot import ELSEWHERE, TAKEN_OVER, SessionSlot
from fieldapp.views.widgets import FONT_FAMILY, touch_theme

log = logging.getLogger(__name__)

# The GB2312 subset covers everyday Chinese; names with rarer characters need GBK, which is three
# times larger. Field phones favour the smaller download; set DAZU_FONT=GBK to switch.
FONT_FILES = {"GB2312": "fonts/NotoSansSC-GB2312.otf", "GBK": "fonts/NotoSansSC-GBK.otf"}
WIDE_LAYOUT_MIN_WIDTH = 900
# The locale Flutter's built-in texts follow, by the app's language (fieldapp.i18n.LANGUAGES).
UI_LOCALES = {"zh": ft.Locale("zh", "CN"), "en": ft.Locale("en", "US")}
# How often a session told the app is open elsewhere asks whether the app's tab is gone.
SLOT_RECHECK_S = 1.0


class AppShell:
    def __init__(self, page: ft.Page, ctx: AppContext, slot: SessionSlot | None = None):
        self.page = page
        self.ctx = ctx
        # One phone, one session: the app process's slot (web mode: each browser tab is a
        # session of the same data folder); None where only one session can exist.
        self.slot = slot
        self.screen_state: dict[str, Any] = {}  # per-screen UI state that survives re-renders
        self._render_lock = threading.RLock()
        self._unsubscribe: Callable[[], None] | None = None
        # A dialog of the claim screen is open: pulled data waits (a redraw under an open dialog
        # orphans it on screen, and it can no longer be closed).
        self.form_dialog_open = False
        self._toasts = 0
        self.file_picker = ft.FilePicker()  # save_file (documents); picking uses one per button
        self._pickers: dict[str, ft.FilePicker] = {}  # pick_action(key=...): one picker per key, reused
        self.geolocator = None
        self._render_pending = False
        self._route_echoes: list[str] = []  # routes pushed to the browser, their echo still to come
        self._drawn_wide: bool | None = None  # the layout last drawn (see _on_resize)
        self._drawn_cursor: str | None = None  # the pull cursor the screen was drawn at
        self.sync_bar: ft.Container | None = None  # the one on screen, redrawn on sync progress
        self._slot_watch: threading.Thread | None = None  # asks for the slot while this one waits
        self._left = threading.Event()  # this session's tab closed or disconnected

    # -- start ---------------------------------------------------------------------------------
    def start(self) -> None:
        import os

        page = self.page
        font = FONT_FILES.get(os.environ.get("DAZU_FONT", "GB2312"), FONT_FILES["GB2312"])
        page.fonts = {FONT_FAMILY: font}
        page.theme = touch_theme(font_family=FONT_FAMILY, color_scheme_seed=ft.Colors.BLUE_800,
                                 visual_density=ft.VisualDensity.STANDARD)
        page.theme_mode = ft.ThemeMode.LIGHT
        page.title = self.ctx.t("app.title")
        page.services.append(self.file_picker)
        try:
            from flet_geolocator import Geolocator

            self.geolocator = Geolocator()
            page.services.append(self.geolocator)
        except ImportError:  # a build without the GPS extension: photos get the "no fix" flag
            self.geolocator = None
        page.on_route_change = self._on_route_change
        page.on_view_pop = self._on_view_pop
        page.on_resize = self._on_resize
        self._subscribe()
        self._join_slot()
        # A browser reload (or a dropped connection) comes back to this same session: listen
        # again and redraw, or the screen would stop following the sync. A tab closed or gone
        # frees the slot, so the next tab (or this one reloaded) opens without taking over.
        page.on_disconnect = lambda e: (self._unsubscribe_all(), self._leave_slot())
        page.on_connect = lambda e: (self._subscribe(), self._join_slot(), self.render())
        page.on_close = lambda e: (self._unsubscribe_all(), self._leave_slot())
        route = page.route or "/"
        if not self.ctx.enrolled:
            route = "/enrol"
        if route != page.route:
            page.route = route
        self.render()

    def _subscribe(self) -> None:
        if self._unsubscribe is None:
            self._unsubscribe = self.ctx.subscribe(self._on_state_change)

    def _unsubscribe_all(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    # -- one session per phone ----------------------------------------------------------------
    def _join_slot(self) -> None:
        self._left.clear()
        if self.slot is not None:
            self.slot.join(self, self._on_slot_change, self._connected)

    def _leave_slot(self) -> None:
        self._left.set()
        if self.slot is not None:
            self.slot.leave(self)

    def _connected(self) -> bool:
        """Whether this session's tab is still there. Flet tells a session it was disconnected
        only when its connection ends cleanly; a tab closed while a frame was being sent to it
        ends the connection with an error and no on_disconnect, and the session would keep the
        app from every other tab for Flet's whole session timeout (an hour). So the socket's own
        state is read too (the web server's; a private name of the pinned flet-web, read with
        care: unknown means connected)."""
        try:
            connection = self.page.session.connection
        except RuntimeError:  # the session is destroyed
            return False
        except AttributeError:  # not a Flet session (a test page): it says when it leaves
            return True
        if connection is None:
            return False
        socket = getattr(connection, "_FletApp__websocket", None)
        # Either side says it: the browser's close was received (client), or a send failed
        # (application: the tab went while a frame was on its way).
        return all(getattr(getattr(socket, side, None), "name", "CONNECTED") != "DISCONNECTED"
                   for side in ("client_state", "application_state"))

    @property
    def is_the_app(self) -> bool:
        """True unless another session of this app process is the app now."""
        return self.slot is None or self.slot.holds(self)

    def take_over(self) -> None:
        """This session becomes the app (the other one stops and says it was taken over)."""
        if self.slot is not None:
            self.slot.take_over(self)
        self.render()

    def _on_slot_change(self) -> None:
        """Another session took over, or the one that was the app ended. Taken over, this session
        drops its screen state (a report wizard, a photo intake, open dialogs) so that it writes
        nothing more and leaves no draft of its own; when it takes over again it starts afresh
        from the store, as the other session would."""
        if not self.is_the_app:
            self.screen_state.clear()
            self.form_dialog_open = False
            self.sync_bar = None
        try:
            self.page.run_task(self._close_dialogs_and_render)
        except Exception:  # session already closed
            log.debug("redraw after the slot changed failed", exc_info=True)

    async def _close_dialogs_and_render(self) -> None:
        if not self.is_the_app:
            for _ in range(5):  # a dialog left open would sit over the notice
                try:
                    if self.page.pop_dialog() is None:
                        break
                except Exception:
                    break
        self.render()

    def _watch_the_slot(self) -> None:
        """While this session waits, it asks every SLOT_RECHECK_S whether the app's tab is gone.
        A tab closed as this one opened (its socket still closing), or closed while a frame was on
        its way, never says it left; nothing else would prompt the asking (on the enrolment screen
        no sync runs at all). Stops once this session is the app or its own tab is gone."""
        with self._render_lock:
            if self.slot is None or self._slot_watch is not None:
                return
            self._slot_watch = threading.Thread(target=self._ask_for_the_slot, daemon=True,
                                                name="slot-watch")
        self._slot_watch.start()

    def _ask_for_the_slot(self) -> None:
        try:
            while not self._left.wait(SLOT_RECHECK_S):
                if self.is_the_app or not self._connected():
                    return
                if self.slot.claim_if_gone(self):
                    self.page.run_task(self._render_async)
                    return
        except Exception:  # the session closed under the watch
            log.debug("slot watch ended", exc_info=True)
        finally:
            with self._render_lock:
                self._slot_watch = None

    def _session_notice(self, route: str) -> ft.View:
        """What a session that is not the app shows: why, and a button to use the app here."""
        from fieldapp.views import widgets as w

        t = self.ctx.t
        standing = self.slot.standing(self) if self.slot is not None else None
        key = standing or ELSEWHERE
        button = "session.take_back" if standing == TAKEN_OVER else "session.take_over"
        return ft.View(route=route, controls=[ft.SafeArea(ft.Column([
            ft.Icon(ft.Icons.PHONELINK_LOCK, size=48, color=ft.Colors.BLUE_800),
            ft.Text(t(f"session.{key}_title"), size=22, weight=ft.FontWeight.W_600,
                    text_align=ft.TextAlign.CENTER, key="session-notice"),
            ft.Text(t(f"session.{key}_body"), size=16, text_align=ft.TextAlign.CENTER),
            w.big_button(t(button), "session-take-over", lambda e: self.take_over(), icon=ft.Icons.LOGIN),
        ], spacing=16, horizontal_alignment=ft.CrossAxisAlignment.CENTER,
            alignment=ft.MainAxisAlignment.CENTER, expand=True), expand=True)],
            horizontal_alignment=ft.CrossAxisAlignment.STRETCH, padding=ft.Padding.all(24))

    # -- navigation ----------------------------------------------------------------------------
    def go(self, route: str) -> None:
        if self.page.route == route:
            self.render()
            return
        self.page.route = route
        self.render()
        # Keep the browser's address bar and history in step (back button, reload).
        self._route_echoes = (self._route_echoes + [route])[-8:]
        self.page.run_task(self._push_route, route)

    async def _push_route(self, route: str) -> None:
        try:
            await self.page.push_route(route)
        except Exception:  # the client may be gone; the screen already shows the route
            log.debug("push_route failed", exc_info=True)
            self._route_echoes = [r for r in self._route_echoes if r != route]

    def _on_route_change(self, e: Any) -> None:
        """The browser's route changed: its echo of a route `go` pushed, or the user's back or
        forward. An echo of a push that a later tap overtook (a tab tapped right after a submit
        that opened another one) must not take the screen back to it."""
        route = getattr(e, "route", None)
        if route in self._route_echoes:
            del self._route_echoes[:self._route_echoes.index(route) + 1]
            if self._route_echoes:  # a later push is on its way: the screen shows that one
                self.page.route = self._route_echoes[-1]
                return
        self.render()

    def back(self) -> None:
        self.go("/")

    async def _on_view_pop(self, e: ft.ViewPopEvent) -> None:
        self.go("/")

    def _on_resize(self, e) -> None:
        """Redraw only when the layout changes (phone <-> side by side). A phone's keyboard also
        resizes the page; a full redraw then would replace the text field being typed into."""
        if self.wide != self._drawn_wide:
            self.render()

    @property
    def wide(self) -> bool:
        width = self.page.width or 0
        return width >= WIDE_LAYOUT_MIN_WIDTH

    # -- rendering -----------------------------------------------------------------------------
    def _follow_language(self) -> None:
        """Flutter's own words (a text field's "18 characters remaining", a dialog's "Dismiss")
        in the UI's language: a screen reader in the Chinese UI must not read them in English."""
        locale = UI_LOCALES.get(self.ctx.language, UI_LOCALES["zh"])
        current = self.page.locale_configuration
        if current is None or current.current_locale != locale:
            self.page.locale_configuration = ft.LocaleConfiguration(
                supported_locales=list(UI_LOCALES.values()), current_locale=locale)

    def render(self) -> None:
        from fieldapp.views import router

        with self._render_lock:
            route = self.page.route or "/"
            if not self.ctx.enrolled and route != "/enrol":
                route = "/enrol"
                self.page.route = route
            self.page.title = self.ctx.t("app.title")
            self._follow_language()
            if not self.is_the_app:
                self.sync_bar = None
                self.page.views.clear()
                self.page.views.append(self._session_notice(route))
                self.page.update()
                self._watch_the_slot()
                return
            # The cursor is read BEFORE the screen reads the store: a pull landing while the
            # screen is built then still counts as new and redraws it (read after, the screen
            # showed the data from before the pull and no later pull notice redrew it).
            if self.ctx.store is not None:
                try:
                    self._drawn_cursor = self.ctx.store.sync_state.get().cursor
                except Exception:  # store closing
                    pass
            try:
                views = router.build_views(self, route)
            except Exception as exc:  # a broken screen must not leave a blank page in the field
                log.exception("screen %s failed", route)
                views = [router.error_view(self, route, exc)]
            self._drawn_wide = self.wide
            views = _on_the_views_shown(self.page.views, views)
            self.page.views.clear()
            self.page.views.extend(views)
            self.page.update()

    # Screens with a form whose typing a redraw would interrupt (focus, caret and the phone's
    # keyboard are lost when a text field is replaced): pulled data waits for the next navigation
    # there. (The assignment screen holds the cost form: its own answers show at once anyway.)
    FORM_ROUTES = ("/new", "/enrol", "/settings", "/assignment/")

    def _pulled_new_data(self) -> bool:
        """True while a pull applied changes the screen has not drawn (the pull cursor moved since
        the last draw). Only a draw records the cursor: a notice skipped because a form is open
        leaves the news for the next one."""
        store = self.ctx.store
        if store is None:
            return False
        try:
            return store.sync_state.get().cursor != self._drawn_cursor
        except Exception:  # store closing
            return False

    def _on_state_change(self, what: str) -> None:
        """State changed, maybe on another thread. Sync progress redraws the sync bar only; a pull
        that brought new data redraws the screen (a new assignment, a claim's status set in the
        office) unless the user is in a form; anything else redraws the screen. Redraws are
        coalesced, so a burst of reports costs one."""
        try:
            if not self.is_the_app:
                return
            route = self.page.route or "/"
            if what == "sync" and route != "/sync":
                if not (self._pulled_new_data() and not route.startswith(self.FORM_ROUTES)
                        and not self.form_dialog_open):
                    self.page.run_task(self._refresh_sync_bar)
                    return
            with self._render_lock:
                if self._render_pending:
                    return
                self._render_pending = True
            self.page.run_task(self._render_async)
        except Exception:  # session already closed
            log.debug("refresh after %s failed", what, exc_info=True)

    async def _render_async(self) -> None:
        with self._render_lock:
            self._render_pending = False
        self.render()

    async def _refresh_sync_bar(self) -> None:
        from fieldapp.views.widgets import sync_bar_content

        bar = self.sync_bar
        if bar is None:
            return
        try:
            bar.content = sync_bar_content(self)
            bar.update()
        except Exception:  # the bar is no longer on screen (another route is showing)
            log.debug("sync bar refresh skipped", exc_info=True)

    # -- feedback ------------------------------------------------------------------------------
    def toast(self, text: str, error: bool = False) -> None:
        self._toasts += 1
        # Flet compares dialogs by value: a toast equal to one still showing (the same words
        # twice within its 4 s) would be refused as "already open"; the count makes each its own.
        self.page.show_dialog(ft.SnackBar(
            ft.Text(text, color=ft.Colors.WHITE, size=16),
            bgcolor=ft.Colors.RED_700 if error else ft.Colors.GREY_900,
            duration=ft.Duration(seconds=4), data=self._toasts,
        ))

    def confirm(self, title: str, body: str, on_yes: Callable[[], None], yes_key: str = "common.ok") -> None:
        dialog: ft.AlertDialog

        def close(_e: Any = None) -> None:
            self.page.pop_dialog()

        def yes(_e: Any) -> None:
            self.page.pop_dialog()
            on_yes()

        dialog = ft.AlertDialog(
            modal=True,
            title=ft.Text(title),
            content=ft.Text(body),
            actions=[
                ft.TextButton(self.ctx.t("common.cancel"), key="dialog-cancel", on_click=close),
                ft.FilledButton(self.ctx.t(yes_key), key="dialog-yes", on_click=yes),
            ],
        )
        self.page.show_dialog(dialog)

    # -- files and GPS -------------------------------------------------------------------------
    def pick_action(self, on_files: Callable[[list[ft.FilePickerFile]], None], *, key: str | None = None,
                    images_only: bool = True, multiple: bool = True) -> ft.PickFiles:
        """A click action that opens the file chooser inside the user's gesture (web needs that).

        Every action gets a FilePicker of its own whose result goes to this action's ``on_files``:
        the client opens the chooser before the click reaches Python, so a picker shared by all
        buttons cannot know which one was tapped (the last button drawn used to get every file).
        Flet registers the picker with the page when it is made and drops it once no control
        holds its action any more. ``key`` (e.g. the button's key, for screens with many such
        buttons) keeps one picker per key across redraws instead: its result goes to the handler
        of the button last drawn with that key. The chosen files arrive with their bytes
        (`with_data`): in web mode there is no path.
        """
        picker = self._pickers.get(key) if key is not None else None
        if picker is None:
            registers_itself = _in_page_context()  # then Flet registers the picker as it is made
            picker = ft.FilePicker(on_result=_deliver_to(on_files))
            if not registers_itself:
                self.page.services.append(picker)  # made outside a page context: attach it here
            if key is not None:
                self._pickers[key] = picker
        else:
            picker.on_result = _deliver_to(on_files)
        return ft.PickFiles(
            picker,
            file_type=ft.FilePickerFileType.CUSTOM if images_only else ft.FilePickerFileType.ANY,
            allowed_extensions=["jpg", "jpeg", "png", "heic", "heif", "webp"] if images_only else None,
            allow_multiple=multiple,
            with_data=True,
        )

    async def current_fix(self) -> dict | None:
        """The device's GPS fix now, or None when there is none (no permission, no signal)."""
        if self.geolocator is None:
            return None
        try:
            pos = await asyncio.wait_for(self.geolocator.get_current_position(), timeout=10)
        except Exception:
            log.info("no GPS fix", exc_info=True)
            return None
        if pos is None or pos.latitude is None:
            return None
        ts = getattr(pos, "timestamp", None)
        return {
            "lat": float(pos.latitude),
            "lon": float(pos.longitude),
            "alt": float(pos.altitude) if pos.altitude is not None else None,
            "accuracy_m": float(pos.accuracy) if pos.accuracy is not None else None,
            "at": ts.isoformat() if hasattr(ts, "isoformat") else None,
        }


def _deliver_to(on_files: Callable[[list[ft.FilePickerFile]], None]) -> Callable[[Any], None]:
    """The result handler of one pick action: its files (if any were chosen) to its own handler."""
    def on_result(e: Any) -> None:
        files = getattr(e, "files", None)
        if files:
            on_files(list(files))
    return on_result


def _in_page_context() -> bool:
    """Inside a page's event, task or thread Flet registers a new service with that page itself."""
    try:
        ft.context.page  # noqa: B018 - raises RuntimeError outside a page context
    except RuntimeError:
        return False
    return True


# A view's own settings, carried onto the view already shown for the same route.
_VIEW_SETTINGS = tuple(f.name for f in dataclasses.fields(ft.View)
                       if not f.name.startswith("_") and f.name not in ("key", "route", "services", "controls"))


def _on_the_views_shown(shown: list, views: list[ft.View]) -> list[ft.View]:
    """A redraw of a scrolling screen already shown (a pull landing, a dialog answered) keeps its
    place: the view on the page for the same route is kept, so Flutter keeps its scroll position
    and the reader is not thrown back to the top of a long claim (a new view object is a new page
    to Flutter, scrolled to its top). The new drawing goes into it as one new column: Flet would
    match the old and new controls that carry the same key and freeze the new ones, and screens
    update some of the controls they just drew in place (the sync bar, the GPS line). A view that
    does not scroll is replaced as it comes."""
    by_route = {v.route: v for v in shown if isinstance(v, ft.View)}
    out = []
    for view in views:
        if view.scroll is None:
            out.append(view)
            continue
        view.controls = [ft.Column(view.controls, spacing=view.spacing, alignment=view.vertical_alignment,
                                   horizontal_alignment=view.horizontal_alignment)]
        old = by_route.get(view.route)
        if old is None or type(old) is not type(view) or old.scroll is None:
            out.append(view)
            continue
        for name in _VIEW_SETTINGS + ("controls",):
            setattr(old, name, getattr(view, name))
        out.append(old)
    return out
