"""Small building blocks shared by the screens: large touch targets, wrapping text, the sync bar."""
from __future__ import annotations

import asyncio
from typing import Any, Callable

import flet as ft

from claimcore import entities
from fieldapp.state.money import to_fen

FONT_FAMILY = "NotoSansSC"
TOUCH = 52  # minimum height of anything tappable, in logical pixels (thumb-sized, gloves too)
# Padding that makes a one-line button of the theme's 14 px label (20 px line) TOUCH high. Flutter
# on the web (and desktop) shrink-wraps buttons to 40 px, as it would for a mouse: field phones
# open the app in a browser too, and are held in gloves.
_BUTTON_PADDING = ft.Padding.symmetric(horizontal=16, vertical=(TOUCH - 20) // 2)


def touch_theme(**kw) -> ft.Theme:
    """The app's theme: every kind of button and chip at least TOUCH high unless it says otherwise."""
    style = ft.ButtonStyle(padding=_BUTTON_PADDING)
    return ft.Theme(
        button_theme=ft.ButtonTheme(style=style),
        filled_button_theme=ft.FilledButtonTheme(style=style),
        outlined_button_theme=ft.OutlinedButtonTheme(style=style),
        text_button_theme=ft.TextButtonTheme(style=style),
        chip_theme=ft.ChipTheme(padding=ft.Padding.symmetric(horizontal=8, vertical=13)),
        **kw)


def icon_button(icon: ft.IconData, label: str, key: str, on_click: Callable[[Any], None], *,
                color: str | None = None) -> ft.IconButton:
    """An icon-only button, TOUCH square, named on the button itself: a tooltip alone names a
    wrapper around it, and a screen reader reaching the button says only "button"."""
    return ft.IconButton(icon=ft.Icon(icon, semantics_label=label, color=color), key=key, tooltip=label,
                         on_click=on_click, icon_color=color,
                         size_constraints=ft.BoxConstraints(min_width=TOUCH, min_height=TOUCH))


def app_bar(shell, title: str, back: bool = False, actions: list[ft.Control] | None = None) -> ft.AppBar:
    return ft.AppBar(
        title=ft.Text(title, size=20, weight=ft.FontWeight.W_600, max_lines=2),
        leading=icon_button(ft.Icons.ARROW_BACK, shell.ctx.t("common.back"), "back",
                            lambda e: shell.back()) if back else None,
        automatically_imply_leading=False,
        bgcolor=ft.Colors.BLUE_800,
        color=ft.Colors.WHITE,
        actions=actions or [],
    )


def big_button(text: str, key: str, on_click: Callable[[Any], None] | None = None, *,
               icon: ft.IconData | None = None, filled: bool = True, disabled: bool = False,
               action: Any = None, expand: bool = False, danger: bool = False) -> ft.Control:
    cls = ft.FilledButton if filled else ft.OutlinedButton
    style = ft.ButtonStyle(
        padding=ft.Padding.symmetric(horizontal=20, vertical=14),
        # A style's text_style replaces the theme's, font family included: name it again.
        text_style=ft.TextStyle(size=17, font_family=FONT_FAMILY),
        bgcolor=ft.Colors.RED_700 if (danger and filled) else None,
    )
    # No fixed height: the padding makes a one-line button TOUCH high, and a label that needs two
    # lines (English is longer than Chinese) makes the button taller instead of being clipped.
    kwargs: dict[str, Any] = dict(content=ft.Text(text, size=17, text_align=ft.TextAlign.CENTER),
                                  icon=icon, key=key, on_click=on_click,
                                  disabled=disabled, style=style, expand=expand)
    if action is not None:
        kwargs["action"] = action
    return cls(**kwargs)


def section(title: str) -> ft.Control:
    return ft.Container(ft.Text(title, size=16, weight=ft.FontWeight.W_600, color=ft.Colors.BLUE_900),
                        padding=ft.Padding.only(top=12, bottom=4))


def label_value(label: str, value: str | None) -> ft.Control:
    return ft.Row(
        [ft.Text(label, size=15, color=ft.Colors.GREY_700, width=110),
         ft.Text(value or "—", size=16, expand=True)],
        vertical_alignment=ft.CrossAxisAlignment.START,
        wrap=False,
    )


def error_text(text: str | None, key: str = "error") -> ft.Control:
    return ft.Text(text or "", key=key, color=ft.Colors.RED_700, size=15, visible=bool(text))


def chip(text: str, color: str = ft.Colors.BLUE_50, fg: str = ft.Colors.BLUE_900) -> ft.Control:
    return ft.Container(ft.Text(text, size=13, color=fg), bgcolor=color,
                        padding=ft.Padding.symmetric(horizontal=8, vertical=3),
                        border_radius=12)


def sync_bar_content(shell) -> ft.Control:
    ctx = shell.ctx
    t = ctx.t
    st = ctx.sync_status()
    if st.running:
        icon, color, state = ft.Icons.SYNC, ft.Colors.BLUE_700, t("sync.state.running")
    elif st.online:
        icon, color, state = ft.Icons.CLOUD_DONE, ft.Colors.GREEN_700, t("sync.state.online")
    elif st.online is None:
        icon, color, state = ft.Icons.CLOUD_QUEUE, ft.Colors.GREY_700, t("sync.state.unknown")
    else:
        icon, color, state = ft.Icons.CLOUD_OFF, ft.Colors.ORANGE_800, t("sync.state.offline")
    scans = getattr(st, "pending_scans", 0)
    waiting = (t("sync.waiting_scans", changes=st.pending_changes, photos=st.pending_photos, scans=scans)
               if scans else t("sync.waiting", changes=st.pending_changes, photos=st.pending_photos))
    last = t("sync.last", when=ctx.format_time(st.last_sync)) if st.last_sync else t("sync.never")
    lines = [ft.Text(state + " · " + waiting, size=15, weight=ft.FontWeight.W_600, color=color),
             ft.Text(last, size=13, color=ft.Colors.GREY_700)]
    if st.problems:
        lines.append(ft.Text(t("sync.problems_count", n=st.problems), size=14, color=ft.Colors.RED_900,
                             weight=ft.FontWeight.W_600))
    return ft.Row([
        ft.Icon(icon, color=color, size=28),
        ft.Column(lines, spacing=0, expand=True),
        ft.Icon(ft.Icons.CHEVRON_RIGHT, color=ft.Colors.GREY_600),
    ], vertical_alignment=ft.CrossAxisAlignment.CENTER)


def sync_bar(shell) -> ft.Control:
    """Online or not, what waits, last sync: on the home screen at all times. Tap for details."""
    bar = ft.Container(
        key="sync-bar",
        content=sync_bar_content(shell),
        padding=ft.Padding.symmetric(horizontal=12, vertical=8),
        bgcolor=ft.Colors.GREY_100,
        border_radius=10,
        on_click=lambda e: shell.go("/sync"),
        ink=True,
    )
    shell.sync_bar = bar
    return bar


def problem_card(shell, problem, *, with_claim: bool) -> ft.Control:
    """One refused record: which claim, what happened, what to do, and a way to set it aside."""
    t = shell.ctx.t

    def dismiss(e):
        shell.ctx.dismiss_problem(problem)
        shell.render()

    lines: list[ft.Control] = []
    if with_claim and problem.claim_id:
        lines.append(ft.TextButton(t("sync.problem_claim", report_no=problem.report_no or problem.claim_id[:8]),
                                   key=f"problem-{problem.record_id}-claim", height=TOUCH,
                                   on_click=lambda e: shell.go(f"/claim/{problem.claim_id}/overview")))
    lines += [ft.Text(problem.what, size=15, color=ft.Colors.RED_900),
              ft.Text(problem.todo, size=14, color=ft.Colors.GREY_800)]
    buttons: list[ft.Control] = [ft.OutlinedButton(t("sync.problem_dismiss"), key=f"problem-{problem.record_id}-dismiss",
                                                   on_click=dismiss, height=TOUCH)]
    if problem.field is not None:
        spec = entities.ENTITIES[problem.entity].fields[problem.field]
        box = ft.TextField(label=spec.title(shell.ctx.language), value=problem.current,
                           key=f"problem-{problem.record_id}-value", multiline=spec.kind == "text",
                           text_style=ft.TextStyle(font_family=FONT_FAMILY))

        def save(e):
            try:
                shell.ctx.correct_problem(problem, box.value or "")
            except ValueError as exc:
                message = exc.message(shell.ctx.language) if hasattr(exc, "message") else str(exc)
                shell.toast(message, error=True)
                return
            shell.toast(t("sync.problem_saved"))
            shell.render()

        lines.append(box)
        buttons.append(ft.FilledButton(t("sync.problem_save"), key=f"problem-{problem.record_id}-save",
                                       on_click=save, height=TOUCH))
    lines.append(ft.Row(buttons, alignment=ft.MainAxisAlignment.END, wrap=True, spacing=8, run_spacing=8))
    return ft.Container(ft.Column(lines, spacing=4), bgcolor=ft.Colors.RED_50, padding=ft.Padding.all(10),
                        border_radius=8, key=f"problem-{problem.record_id}")


# ------------------------------------------------------------------------------ form dialogs

def after_close(shell, fn) -> None:
    """``fn`` a moment after a dialog closed: a redraw in the same frame as the close leaves
    Flutter's dialog route standing."""
    async def later():
        await asyncio.sleep(0.15)
        fn()

    shell.page.run_task(later)


def attempt(shell, fn: Callable[[], Any], form: "Form | None" = None,
            refusals: tuple[type[Exception], ...] = (ValueError,)) -> tuple[bool, Any]:
    """Run ``fn``: (True, its result), or (False, None) once its refusal is said, in the user's
    language, inside the form (or as a toast without one)."""
    try:
        return True, fn()
    except refusals as exc:
        text = exc.message(shell.ctx.language) if hasattr(exc, "message") else str(exc)
        if form is not None:
            form.fail(text)
        else:
            shell.toast(text, error=True)
        return False, None


class Form:
    """A form in a dialog: ``close()`` shuts this dialog only (a toast is a dialog too, and must
    not be the one closed); ``fail(text)`` shows a refusal inside it, where it is seen (a toast
    under a modal dialog is hidden from the screen reader and half from the eye)."""

    def __init__(self, shell, dlg: ft.AlertDialog, error: ft.Text):
        self.shell, self.dlg, self.error = shell, dlg, error

    def close(self) -> None:
        self.shell.form_dialog_open = False
        self.dlg.open = False
        self.dlg.update()

    def fail(self, text: str) -> None:
        self.error.value, self.error.visible = text, True
        self.shell.page.update()


def form_dialog(shell, title: str, controls: list[ft.Control], ok_text: str, on_ok, key: str) -> None:
    """``on_ok(form)`` saves; see :class:`Form`."""
    t = shell.ctx.t
    error = error_text(None, key=f"{key}-error")
    dlg = ft.AlertDialog(modal=True, title=ft.Text(title),
                         content=ft.Column(controls + [error], tight=True, scroll=ft.ScrollMode.AUTO, spacing=8,
                                           width=380))
    form = Form(shell, dlg, error)

    def cancel(e) -> None:
        form.close()
        after_close(shell, shell.render)  # what the sync pulled while the form was open

    dlg.actions = [ft.TextButton(t("common.cancel"), key=f"{key}-cancel", on_click=cancel),
                   ft.FilledButton(ok_text, key=f"{key}-ok", on_click=lambda e: on_ok(form))]
    shell.form_dialog_open = True
    shell.page.show_dialog(dlg)


def field(label: str, key: str, value: str = "", **kw) -> ft.TextField:
    return ft.TextField(label=label, key=key, value=value, text_size=16, **kw)


def fen_of(shell, field: ft.TextField, *, required: bool = True) -> int | None:
    """The yuan typed into ``field`` as fen, or None after marking the field."""
    ctx = shell.ctx
    text = (field.value or "").strip()
    if not text and not required:
        return None
    try:
        return to_fen(text)
    except (ValueError, TypeError) as exc:
        field.error = exc.message(ctx.language) if hasattr(exc, "message") else ctx.t("money.bad_amount")
        shell.page.update()
        return None


def dropdown(*, label: str, **kwargs: Any) -> ft.Dropdown:
    """A dropdown a screen reader can name: Flutter's dropdown leaves its label out of the
    semantics, so the label is also its tooltip. In a stretched column put it in a row, so the
    named node is the dropdown's own size (stretched, a tap on it lands beside the dropdown)."""
    return ft.Dropdown(label=label, tooltip=label, **kwargs)
