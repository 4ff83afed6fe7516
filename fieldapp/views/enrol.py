"""Enrol: server address + enrollment code (typed or from a QR image), then confirm the user."""
from __future__ import annotations

import flet as ft

from fieldapp.state.enrol import EnrolError, parse_qr_payload, read_qr_image
from fieldapp.views import widgets as w


def _form(shell) -> dict:
    ctx = shell.ctx
    return shell.screen_state.setdefault("enrol", {
        "server": ctx.settings.server_url, "code": "", "error": "", "pending": None, "busy": False,
    })


def build(shell) -> ft.View:
    ctx = shell.ctx
    t = ctx.t
    form = _form(shell)
    pending = form["pending"]
    if pending is not None:
        return _confirm_view(shell, form)

    def set_field(name):
        def handler(e):
            form[name] = e.control.value
        return handler

    def submit(_e=None):
        form["error"] = ""
        try:
            entry = parse_qr_payload(form["code"], default_server=form["server"])
        except EnrolError as err:
            form["error"] = t(err.key)
            shell.render()
            return
        form["busy"] = True
        shell.render()
        try:
            form["pending"] = ctx.request_enrolment(entry)
            form["server"] = entry.server_url
        except EnrolError as err:
            form["error"] = t(err.key)
        finally:
            form["busy"] = False
        shell.render()

    def on_qr(files):
        try:
            text = read_qr_image(files[0].bytes or b"")
            entry = parse_qr_payload(text, default_server=form["server"])
            form["code"] = entry.code
            form["server"] = entry.server_url
            form["error"] = ""
        except EnrolError as err:
            form["error"] = t(err.key)
        shell.render()

    return ft.View(
        route="/enrol",
        appbar=w.app_bar(shell, t("enrol.title")),
        scroll=ft.ScrollMode.AUTO,
        padding=ft.Padding.all(16),
        horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
        controls=[
            ft.Text(t("app.title"), size=22, weight=ft.FontWeight.BOLD),
            ft.Text(t("enrol.intro"), size=16),
            ft.TextField(label=t("enrol.server"), key="enrol-server", value=form["server"],
                         on_change=set_field("server"), keyboard_type=ft.KeyboardType.URL,
                         text_size=17, hint_text="https://192.168.1.10:8700"),
            ft.TextField(label=t("enrol.code"), key="enrol-code", value=form["code"],
                         on_change=set_field("code"), on_submit=submit, text_size=17,
                         autocorrect=False, capitalization=ft.TextCapitalization.CHARACTERS),
            w.big_button(t("enrol.scan_qr"), "enrol-qr", None, icon=ft.Icons.QR_CODE_SCANNER,
                         filled=False, action=shell.pick_action(on_qr, multiple=False)),
            w.error_text(form["error"], key="enrol-error"),
            ft.ProgressBar(visible=form["busy"]),
            w.big_button(t("enrol.submit"), "enrol-submit", submit, icon=ft.Icons.LOGIN,
                         disabled=form["busy"], expand=False),
            ft.Text(t("enrol.help"), size=14, color=ft.Colors.GREY_700),
        ],
    )


def _confirm_view(shell, form) -> ft.View:
    ctx = shell.ctx
    t = ctx.t
    creds = form["pending"]
    user = creds.user

    def confirm(_e):
        ctx.confirm_enrolment(creds)
        shell.screen_state.pop("enrol", None)
        shell.go("/")

    def cancel(_e):
        form["pending"] = None
        shell.render()

    scope = ctx.township_name(user.township_code) if user.township_code else (
        ctx.insurer_name(user.insurer_code) if user.insurer_code else t("enrol.scope_all"))
    return ft.View(
        route="/enrol",
        appbar=w.app_bar(shell, t("enrol.confirm_title")),
        padding=ft.Padding.all(16),
        scroll=ft.ScrollMode.AUTO,
        horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
        controls=[
            ft.Text(t("enrol.confirm_intro"), size=16),
            ft.Card(ft.Container(ft.Column([
                w.label_value(t("enrol.user_name"), user.name),
                w.label_value(t("enrol.user_role"), t(f"role.{user.role}")),
                w.label_value(t("enrol.user_scope"), scope),
                w.label_value(t("enrol.server"), creds.server_url),
            ], spacing=10), padding=ft.Padding.all(16))),
            ft.Row([
                w.big_button(t("common.back"), "enrol-cancel", cancel, filled=False, expand=True),
                w.big_button(t("enrol.confirm"), "enrol-confirm", confirm, icon=ft.Icons.CHECK,
                             expand=True),
            ], spacing=12),
        ],
    )
