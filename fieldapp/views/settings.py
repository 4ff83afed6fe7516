"""Settings: language, server, device, sign out (refused while unsent data exists), about."""
from __future__ import annotations

import flet as ft

from fieldapp.i18n import LANGUAGES, language_name
from fieldapp.state.context import SignOutRefused
from fieldapp.views import widgets as w


def build(shell) -> ft.View:
    ctx = shell.ctx
    t = ctx.t
    creds = ctx.credentials

    def set_lang(e):
        ctx.set_language(e.control.value)
        shell.render()

    def sign_out(e):
        def really():
            try:
                ctx.sign_out()
            except SignOutRefused as refused:
                shell.toast(t("settings.signout_refused", changes=refused.changes, photos=refused.photos,
                              scans=refused.scans), error=True)
                shell.render()
                return
            shell.screen_state.clear()
            shell.go("/enrol")
        changes, photos, scans = ctx.unsent_summary()
        if changes or photos or scans:
            shell.toast(t("settings.signout_refused", changes=changes, photos=photos, scans=scans), error=True)
            return
        shell.confirm(t("settings.signout"), t("settings.signout_confirm"), really)

    controls = [
        # In a row: the named node is the dropdown's own size (w.dropdown).
        ft.Row([w.dropdown(key="settings-language", label=t("settings.language"), value=ctx.language,
                    options=[ft.DropdownOption(key=code, text=language_name(code)) for code in LANGUAGES],
                    on_select=set_lang, text_size=17)]),
        w.section(t("settings.device")),
        w.label_value(t("enrol.user_name"), creds.user.name if creds else None),
        w.label_value(t("enrol.user_role"), t(f"role.{creds.user.role}") if creds else None),
        w.label_value(t("enrol.user_scope"), ctx.township_name(creds.user.township_code)
                      if creds and creds.user.township_code else (ctx.insurer_name(creds.user.insurer_code) if creds else None)),
        w.label_value(t("settings.server"), creds.server_url if creds else ctx.settings.server_url),
        w.label_value(t("settings.device_id"), creds.device_id if creds else None),
        w.label_value(t("settings.data_dir"), str(ctx.data_dir)),
        w.big_button(t("settings.signout"), "sign-out", sign_out, icon=ft.Icons.LOGOUT, filled=False),
        w.section(t("settings.about")),
        ft.Text(t("settings.about_text"), size=14),
    ]
    return ft.View(route="/settings", appbar=w.app_bar(shell, t("settings.title"), back=True),
                   scroll=ft.ScrollMode.AUTO, padding=ft.Padding.all(12), spacing=10,
                   horizontal_alignment=ft.CrossAxisAlignment.STRETCH, controls=controls)
