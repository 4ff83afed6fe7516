"""Route string -> the stack of views to show."""
from __future__ import annotations

import flet as ft

from fieldapp.views import widgets as w


def build_views(shell, route: str) -> list[ft.View]:
    import importlib

    def screen_module(name: str):
        # Imported on first use: a phone opening the enrol screen loads nothing else.
        return importlib.import_module(f"fieldapp.views.{name}")

    parts = [p for p in route.split("?")[0].split("/") if p]
    if not parts:
        return [screen_module("home").build(shell)]
    head = parts[0]
    if head == "enrol":
        return [screen_module("enrol").build(shell)]
    if head == "new":
        screen = screen_module("wizard").build(shell)
    elif head == "claim" and len(parts) >= 2:
        tab = parts[2] if len(parts) >= 3 else "overview"
        if shell.wide:
            # Desktop: the list and the claim side by side, one view.
            return [screen_module("home").build(shell, selected_claim=parts[1], tab=tab)]
        screen = screen_module("claim").build(shell, parts[1], tab)
    elif head == "photo" and len(parts) >= 2:
        screen = screen_module("photo").build(shell, parts[1])
    elif head == "camera" and len(parts) >= 2:
        screen = screen_module("camera").build(shell, parts[1])
    elif head == "assignment" and len(parts) >= 2:
        screen = screen_module("assignments").build(shell, parts[1])
    elif head == "review" and len(parts) >= 2:
        screen = screen_module("review").build(shell, parts[1])
    elif head == "office":
        screen = screen_module("office").build(shell, parts[1] if len(parts) >= 2 else "",
                                               parts[2] if len(parts) >= 3 else None)
    elif head == "sync":
        screen = screen_module("sync").build(shell)
    elif head == "settings":
        screen = screen_module("settings").build(shell)
    else:
        return [screen_module("home").build(shell)]
    return [screen_module("home").build(shell), screen]


def error_view(shell, route: str, exc: Exception) -> ft.View:
    t = shell.ctx.t
    return ft.View(
        route=route,
        appbar=w.app_bar(shell, t("error.title"), back=True),
        controls=[
            ft.Text(t("error.screen_failed"), size=18),
            ft.Text(f"{type(exc).__name__}: {exc}", selectable=True, color=ft.Colors.RED_700),
            w.big_button(t("common.home"), "error-home", lambda e: shell.go("/"), icon=ft.Icons.HOME),
        ],
    )
