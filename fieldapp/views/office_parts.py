"""The parts every section of the office console is drawn with: the Office state of a session,
a section's cached answer from the server and its freshness stamp, an act with its toast, tables,
cards, figures, money and the words of codes, a download offered to save. The console
(views/office.py) and each section module (office_fund, office_pool, office_civil,
office_reports) take them from here."""
from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any, Callable

import flet as ft

from claimcore import workflow
from claimcore.localtime import CHINA_TIME
from fieldapp.state import reference
from fieldapp.state.context import NeedsServer
from fieldapp.state.money import yuan
from fieldapp.state.office import Office, Snapshot
from fieldapp.views import widgets as w


WHEN = "%Y-%m-%d %H:%M"  # how the office types a moment (China time)


def parse_when(text: str) -> dt.datetime:
    """``YYYY-MM-DD HH:MM`` (or a date alone) in China time, as an aware datetime."""
    text = (text or "").strip()
    for fmt in (WHEN, "%Y-%m-%d"):
        try:
            return dt.datetime.strptime(text, fmt).replace(tzinfo=CHINA_TIME)
        except ValueError:
            continue
    raise ValueError(text)


def china_now() -> dt.datetime:
    return dt.datetime.now(CHINA_TIME).replace(second=0, microsecond=0)


def office_of(shell) -> Office:
    office = shell.screen_state.get("office")
    if office is None or office.ctx is not shell.ctx:
        office = shell.screen_state["office"] = Office(shell.ctx)
    return office


# ------------------------------------------------------------------------------- server answers

def load(shell, key: str, fetch: Callable[[], Snapshot | None]) -> Snapshot | None:
    """The server's answer for ``key``: asked once per visit (and after an act or a refresh),
    otherwise the copy kept on the phone, so a redraw never waits on the network."""
    asked: set = shell.screen_state.setdefault("office_asked", set())
    fresh: set = shell.screen_state.setdefault("office_fresh", set())  # answered during this visit
    office = office_of(shell)
    if key not in asked:
        asked.add(key)
        try:
            snap = fetch()
        except NeedsServer as exc:
            shell.screen_state.setdefault("office_refusals", {})[key] = exc.message(shell.ctx.language)
            snap = office.cached(key)
        if snap is not None and snap.fresh:
            fresh.add(key)
        else:
            fresh.discard(key)
        return snap
    snap = office.cached(key)
    return replace(snap, fresh=True) if snap is not None and key in fresh else snap


def forget(shell, *keys: str) -> None:
    """Ask again at the next draw (all keys when none are named)."""
    asked: set = shell.screen_state.setdefault("office_asked", set())
    if keys:
        asked.difference_update(keys)
    else:
        asked.clear()


def stamp(shell, snap: Snapshot | None, key: str) -> ft.Control:
    """When the figures below were taken from the server, and whether they are the kept copy."""
    t = shell.ctx.t
    refused = shell.screen_state.get("office_refusals", {}).pop(key, None)
    if snap is None:
        return ft.Text(refused or t("office.never_loaded"), size=14, color=ft.Colors.ORANGE_900, key=f"stamp-{key}")
    text = t("office.as_of", when=shell.ctx.format_time(snap.fetched_at))
    if not snap.fresh:
        text += " · " + t("office.kept_copy")
    return ft.Text(text, size=13, color=ft.Colors.GREY_700 if snap.fresh else ft.Colors.ORANGE_900,
                   key=f"stamp-{key}")


def act(shell, fn: Callable[[], Any], ok_key: str, *keys: str, form: w.Form | None = None,
        ok_params: dict | Callable[[Any], dict] | None = None) -> Any:
    """Run an act the server records; refused: the reason in the form (or a toast). Done: the
    named answers are asked again and the screen redrawn."""
    ctx = shell.ctx
    done, result = w.attempt(shell, fn, form, (NeedsServer, ValueError))
    if not done:
        return None
    forget(shell, *keys)
    if form is not None:
        form.close()

    def after():
        shell.toast(ctx.t(ok_key, **(ok_params(result) if callable(ok_params) else ok_params or {})))
        shell.render()
    w.after_close(shell, after)
    return result


# ------------------------------------------------------------------------------------ pieces

def table(headers: list[str], rows: list[list[Any]], key: str, numeric: tuple[int, ...] = ()) -> ft.Control:
    """A table that scrolls sideways on a phone rather than squeezing its columns."""
    cols = [ft.DataColumn(ft.Text(h, size=14, weight=ft.FontWeight.W_600), numeric=i in numeric)
            for i, h in enumerate(headers)]
    body = [ft.DataRow(cells=[ft.DataCell(c if isinstance(c, ft.Control) else ft.Text(str(c), size=14))
                              for c in r]) for r in rows]
    return ft.Row([ft.DataTable(columns=cols, rows=body, key=key, column_spacing=18, heading_row_height=44,
                                data_row_min_height=44, data_row_max_height=72)],
                  scroll=ft.ScrollMode.AUTO)


def card(controls: list[ft.Control], key: str | None = None, on_click=None, color=ft.Colors.WHITE) -> ft.Control:
    return ft.Container(ft.Column(controls, spacing=4), padding=ft.Padding.all(12), border_radius=10,
                        border=ft.Border.all(1, ft.Colors.GREY_300), bgcolor=color, key=key,
                        on_click=on_click, ink=on_click is not None)


def figure(label: str, value: str, key: str | None = None) -> ft.Control:
    return ft.Container(ft.Column([ft.Text(label, size=13, color=ft.Colors.GREY_700),
                                   ft.Text(value, size=20, weight=ft.FontWeight.W_600, key=key)], spacing=2),
                        padding=ft.Padding.all(10), border_radius=8, bgcolor=ft.Colors.BLUE_50, width=180)


def money(shell, fen: int | None) -> str:
    return yuan(fen, shell.ctx.language) if fen is not None else "—"


def coverage(shell, code: str | None) -> str:
    return reference.coverage_name(code, shell.ctx.language) if code else "—"


def status(shell, code: str) -> str:
    return workflow.state_label(code, shell.ctx.language)


def claim_line(shell, row, extra: list[ft.Control] | None = None, key: str | None = None) -> ft.Control:
    """One claim in an office list: tap to open it."""
    t = shell.ctx.t
    return card([
        ft.Text(f"{row.report_no} · {row.victim_name or t('home.no_victim')}", size=16, weight=ft.FontWeight.W_600),
        ft.Text(f"{shell.ctx.township_name(row.township_code)} · {coverage(shell, row.coverage)} · "
                f"{status(shell, row.status)}", size=14),
        ft.Text(t("office.reported_at", incident=shell.ctx.format_time(row.incident_at),
                  reported=shell.ctx.format_time(row.reported_at)),
                size=13, color=ft.Colors.GREY_700),
        *(extra or []),
    ], key=key or f"office-claim-{row.report_no}", on_click=lambda e, cid=row.id: shell.go(f"/claim/{cid}"))


def typed(shell, key: str, default: str = "") -> str:
    return shell.screen_state.get(f"typed:{key}", default)


def keep_typed(shell, key: str) -> Callable[[Any], None]:
    """Keep what is typed across a redraw (new data pulled while typing)."""
    def handler(e):
        shell.screen_state[f"typed:{key}"] = e.control.value or ""
    return handler


# ---------------------------------------------------------------------------------- sections


def offer_download(shell, fetch):
    """A click handler: ``fetch()`` -> (file name, bytes) from the server, offered to save. A
    refusal (offline, or the server's) is said in a toast."""
    t = shell.ctx.t

    def handler(e):
        try:
            name, data = fetch()
        except Exception as exc:  # NeedsServer: said in the toast; nothing else reaches here
            shell.toast(exc.message(shell.ctx.language) if hasattr(exc, "message") else str(exc), error=True)
            return

        async def save():
            try:
                await shell.file_picker.save_file(file_name=name, src_bytes=data)
            except Exception as exc:  # no save dialog on this platform
                shell.toast(t("docs.template_failed", error=str(exc)), error=True)
                return
            shell.toast(t("office.report_saved", name=name))
        shell.page.run_task(save)
    return handler
