"""The office console (/office/<section>[/<item>]): claims overview, dispatch queue, rotation board,
events, reviews, the work fund, reports and conflicts. Wide screens (an office browser) put the
sections on the left and the section beside them; a phone stacks them under a row of section
buttons. Data and acts: fieldapp.state.office (local where the phone holds it, the server's last
answer otherwise, acts refused with the reason when the server cannot be reached)."""
from __future__ import annotations

from dataclasses import replace
from typing import Any, Callable

import flet as ft

from claimcore import entities, workflow
from fieldapp.state import reference
from fieldapp.state.context import NeedsServer
from fieldapp.state.money import yuan
from fieldapp.state.office import Office, Snapshot
from fieldapp.views import widgets as w

ICONS = {"overview": ft.Icons.DASHBOARD, "dispatch": ft.Icons.SEND, "rotation": ft.Icons.AUTORENEW,
         "events": ft.Icons.FLOOD, "reviews": ft.Icons.GAVEL, "fund": ft.Icons.ACCOUNT_BALANCE_WALLET,
         "reports": ft.Icons.ASSESSMENT, "conflicts": ft.Icons.CALL_SPLIT}


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

def _overview(shell, office: Office, item: str | None) -> list[ft.Control]:
    ctx = shell.ctx
    t = ctx.t
    ov = office.overview()
    out: list[ft.Control] = []

    def search(e):
        shell.screen_state["typed:office-search"] = e.control.value or ""
        shell.render()
    out.append(ft.TextField(key="office-search", label=t("office.search"), value=typed(shell, "office-search"),
                            prefix_icon=ft.Icons.SEARCH, on_submit=search, on_blur=search,
                            on_change=keep_typed(shell, "office-search"), helper=t("office.search_hint")))
    wanted = typed(shell, "office-search").strip()
    if wanted:
        found = office.search(wanted)
        out.append(w.section(t("office.search_results", n=len(found))))
        out += [claim_line(shell, r) for r in found] or [ft.Text(t("office.search_none"), size=15)]
    out.append(ft.Row([
        figure(t("office.total_claims"), str(ov.total), key="office-total"),
        figure(t("office.claimed"), money(shell, ov.claimed_fen)),
        figure(t("office.adjusted"), money(shell, ov.adjusted_fen)),
        figure(t("office.paid"), money(shell, ov.paid_fen)),
    ], wrap=True, spacing=8, run_spacing=8))
    out.append(w.section(t("office.overdue", n=len(ov.overdue))))
    if not ov.overdue:
        out.append(ft.Text(t("office.overdue_none"), size=15, color=ft.Colors.GREY_700))
    for o in ov.overdue:
        out.append(claim_line(shell, o.row, [ft.Text(
            t(f"office.overdue_{o.what}", due=o.due.isoformat(), n=o.days_over), size=14,
            color=ft.Colors.RED_800, weight=ft.FontWeight.W_600)], key=f"overdue-{o.row.report_no}"))
    headers = [t("office.count"), t("office.claimed"), t("office.adjusted"), t("office.paid")]

    def rows(groups, name):
        return [[name(g.code), g.count, money(shell, g.claimed_fen), money(shell, g.adjusted_fen),
                 money(shell, g.paid_fen)] for g in groups]
    out += [w.section(t("office.by_township")),
            table([t("home.filter.township"), *headers], rows(ov.by_township, ctx.township_name),
                  "table-township", (1, 2, 3, 4)),
            w.section(t("office.by_coverage")),
            table([t("home.filter.coverage"), *headers], rows(ov.by_coverage, lambda c: coverage(shell, c)),
                  "table-coverage", (1, 2, 3, 4)),
            w.section(t("office.by_status")),
            table([t("home.filter.status"), *headers], rows(ov.by_status, lambda c: status(shell, c)),
                  "table-status", (1, 2, 3, 4))]
    return out


def _dispatch(shell, office: Office, item: str | None) -> list[ft.Control]:
    ctx = shell.ctx
    t = ctx.t
    queue = office.dispatch_queue()
    chosen: set = shell.screen_state.setdefault("dispatch_chosen", set())
    chosen &= {r.id for r in queue}
    out: list[ft.Control] = [w.section(t("office.queue", n=len(queue)))]
    if not queue:
        out.append(ft.Text(t("office.queue_empty"), size=15, color=ft.Colors.GREY_700))

    def run(ids):
        def go():
            results = office.dispatch(ids)
            refused = {cid: why for cid, why in results.items() if why}
            if refused:
                raise NeedsServer("refused", "; ".join(refused.values()))
            return results
        act(shell, go, "office.dispatched", "assignments", "rotation", ok_params={"n": len(ids)})
        chosen.difference_update(ids)

    def toggle(cid):
        def handler(e):
            (chosen.add if e.control.value else chosen.discard)(cid)
            shell.render()
        return handler

    for r in queue:
        out.append(claim_line(shell, r, [ft.Row([
            # The box and its label as one TOUCH-high target (Flutter's web checkbox is 40 px).
            ft.Container(ft.Checkbox(label=t("office.choose"), value=r.id in chosen, key=f"choose-{r.report_no}",
                                     on_change=toggle(r.id)), height=w.TOUCH),
            ft.OutlinedButton(t("office.dispatch_one"), key=f"dispatch-{r.report_no}", height=w.TOUCH,
                              on_click=lambda e, cid=r.id: run([cid])),
        ], spacing=8)], key=f"queue-{r.report_no}"))
    if queue:
        out.append(w.big_button(t("office.dispatch_chosen", n=len(chosen)), "dispatch-chosen",
                                lambda e: run(sorted(chosen)), icon=ft.Icons.SEND, disabled=not chosen))
    snap = load(shell, "assignments", office.assignments)
    rot = load(shell, "rotation", office.rotation)
    out.append(w.section(t("office.waiting_answers")))
    out.append(stamp(shell, snap, "assignments"))
    from fieldapp.state.office import deadline_of

    timeout = int(((rot.data if rot else {}) or {}).get("settings", {}).get("timeout_minutes") or 0)
    waiting = [a for a in (snap.data.get("assignments", []) if snap else [])
               if a.get("status") == "assigned" and a.get("kind") != "lead"]
    names = {r.id: r.report_no for r in office.store.claims.office_rows()}
    if snap and not waiting:
        out.append(ft.Text(t("office.waiting_none"), size=15, color=ft.Colors.GREY_700))
    for a in waiting:
        due = deadline_of(a, timeout) if timeout else None
        out.append(card([
            ft.Text(f"{ctx.insurer_name(a['insurer_code'])} · {names.get(a['claim_id'], a['claim_id'][:8])}",
                    size=16, weight=ft.FontWeight.W_600),
            ft.Text(t("office.offered_at", when=ctx.format_time(a.get("assigned_at")))
                    + (" · " + t("office.answer_by", when=ctx.format_time(due)) if due else ""), size=14),
        ], key=f"waiting-{a['id'][:8]}"))
    return out


def _reviews(shell, office: Office, item: str | None) -> list[ft.Control]:
    ctx = shell.ctx
    t = ctx.t
    groups = office.reviews()
    out: list[ft.Control] = []
    if not groups:
        out.append(ft.Text(t("office.reviews_none"), size=15, color=ft.Colors.GREY_700))
    colors = {"cleared": (ft.Colors.GREEN_50, ft.Colors.GREEN_900),
              "consultation_due": (ft.Colors.ORANGE_50, ft.Colors.ORANGE_900),
              "votes": (ft.Colors.PURPLE_50, ft.Colors.PURPLE_900),
              "window_open": (ft.Colors.BLUE_50, ft.Colors.BLUE_900)}
    from claimcore.authority import Tier

    for tier in ("full_consultation", "inform_coinsurers"):
        rows = groups.get(tier, [])
        if not rows:
            continue
        out.append(w.section(t("common.aside", text=Tier(tier).label(ctx.language), aside=len(rows))))
        for r in rows:
            bg, fg = colors[r.state]
            out.append(card([
                ft.Row([ft.Text(f"{r.report_no} · {coverage(shell, r.coverage)}", size=16,
                                weight=ft.FontWeight.W_600, expand=True),
                        w.chip(t(f"office.review.{r.state}"), bg, fg)]),
                ft.Text(f"{ctx.township_name(r.township_code)} · {money(shell, r.amount_fen)}", size=15),
                ft.Text(r.reason, size=14, color=ft.Colors.GREY_800),
            ], key=f"office-review-{r.report_no}", on_click=lambda e, cid=r.claim_id: shell.go(f"/review/{cid}")))
    return out


def _conflicts(shell, office: Office, item: str | None) -> list[ft.Control]:
    ctx = shell.ctx
    t = ctx.t
    snap = load(shell, "conflicts", office.conflicts)
    out: list[ft.Control] = [stamp(shell, snap, "conflicts")]
    rows = snap.data.get("conflicts", []) if snap else []
    if snap and not rows:
        out.append(ft.Text(t("office.conflicts_none"), size=15, color=ft.Colors.GREY_700))
    numbers = {r.id: r.report_no for r in office.store.claims.office_rows()}
    for c in rows:
        ent = entities.ENTITIES.get(c.get("entity"))
        spec = ent.fields.get(c.get("field")) if ent else None
        what = (spec.title(ctx.language) if spec else c.get("field")) or ""

        def settle(restore: bool, c=c):
            act(shell, lambda: office.settle_conflict(c, restore), "office.conflict_settled", "conflicts")
        out.append(card([
            ft.Text(f"{numbers.get(c.get('claim_id'), (c.get('claim_id') or '')[:8])} · {what}", size=16,
                    weight=ft.FontWeight.W_600),
            ft.Text(t("office.conflict_kept", value=_shown(c.get("kept_value"))), size=15),
            ft.Text(t("office.conflict_other", value=_shown(c.get("other_value"))), size=15,
                    color=ft.Colors.ORANGE_900),
            ft.Text(ctx.format_time(c.get("created_at")), size=13, color=ft.Colors.GREY_700),
            ft.Row([ft.OutlinedButton(t("office.conflict_keep"), key=f"conflict-keep-{c['id']}", height=w.TOUCH,
                                      on_click=lambda e, c=c: settle(False, c)),
                    ft.FilledButton(t("office.conflict_restore"), key=f"conflict-restore-{c['id']}",
                                    height=w.TOUCH, on_click=lambda e, c=c: settle(True, c))],
                   wrap=True, spacing=8),
        ], key=f"conflict-{c['id']}"))
    return out


def _shown(value: Any) -> str:
    if value is None or value == "":
        return "—"
    return str(value)


def _builders() -> dict[str, Callable]:
    from fieldapp.views import office_fund, office_pool, office_reports

    return {"overview": _overview, "dispatch": _dispatch, "rotation": office_pool.rotation,
            "events": office_pool.events, "reviews": _reviews, "fund": office_fund.fund,
            "reports": office_reports.reports, "conflicts": _conflicts}


# ------------------------------------------------------------------------------------- frame

def _nav(shell, sections: tuple[str, ...], current: str, vertical: bool) -> ft.Control:
    t = shell.ctx.t
    buttons = []
    for s in sections:
        selected = s == current
        cls = ft.FilledButton if selected else ft.OutlinedButton
        buttons.append(cls(content=ft.Text(t(f"office.section.{s}"), size=16), icon=ICONS[s],
                           key=f"office-nav-{s}", height=w.TOUCH,
                           on_click=lambda e, s=s: shell.go(f"/office/{s}"),
                           width=200 if vertical else None))
    if vertical:
        return ft.Column(buttons, spacing=8, width=210)
    return ft.Row(buttons, wrap=True, spacing=6, run_spacing=6)


def build(shell, section: str = "", item: str | None = None) -> ft.View:
    ctx = shell.ctx
    t = ctx.t
    office = office_of(shell)
    sections = office.sections()
    if not sections:
        return ft.View(route="/office", appbar=w.app_bar(shell, t("office.title"), back=True),
                       controls=[ft.Text(t("office.not_for_role"), size=16)])
    if section not in sections:
        section = sections[0]
    if shell.screen_state.get("office_section") != (section, item):
        shell.screen_state["office_section"] = (section, item)
        forget(shell)  # a new visit asks the server again
    if not ctx.insurers_known():
        try:
            ctx.load_insurers()
        except NeedsServer:
            pass  # codes stand in for names until the server is reached

    def refresh(e):
        forget(shell)
        shell.render()
    actions = [w.icon_button(ft.Icons.REFRESH, t("office.refresh"), "office-refresh", refresh,
                             color=ft.Colors.WHITE)]
    body = _builders()[section](shell, office, item)
    title = f"{t('office.title')} · {t('office.section.' + section)}"
    appbar = w.app_bar(shell, title, back=True, actions=actions)
    if shell.wide:
        content = ft.Row([
            ft.Container(_nav(shell, sections, section, True), padding=ft.Padding.only(right=8)),
            ft.VerticalDivider(width=1),
            # The leading gap keeps an outlined field's floating label (drawn above its box) inside
            # the scrolling column, which clips at its top edge.
            ft.Container(ft.Column([ft.Container(height=2), *body], scroll=ft.ScrollMode.AUTO, spacing=10,
                                   horizontal_alignment=ft.CrossAxisAlignment.STRETCH),
                         expand=True, padding=ft.Padding.symmetric(horizontal=12)),
        ], expand=True, vertical_alignment=ft.CrossAxisAlignment.START)
        return ft.View(route=f"/office/{section}", appbar=appbar, controls=[content], padding=ft.Padding.all(12))
    return ft.View(route=f"/office/{section}", appbar=appbar, scroll=ft.ScrollMode.AUTO,
                   padding=ft.Padding.all(12), spacing=10, horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
                   controls=[_nav(shell, sections, section, False), ft.Divider(height=1), *body])


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
