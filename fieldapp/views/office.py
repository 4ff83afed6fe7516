"""The office console (/office/<section>[/<item>]): claims overview, dispatch queue, rotation board,
events, reviews, the work fund, reports and conflicts. Wide screens (an office browser) put the
sections on the left and the section beside them; a phone stacks them under a row of section
buttons. Data and acts: fieldapp.state.office (local where the phone holds it, the server's last
answer otherwise, acts refused with the reason when the server cannot be reached)."""
from __future__ import annotations

from typing import Any, Callable

import flet as ft

from claimcore import entities
from fieldapp.state.context import NeedsServer
from fieldapp.state.office import Office
from fieldapp.views import widgets as w
from fieldapp.views.office_parts import (
    act, card, claim_line, coverage, figure, forget, keep_typed, load, money, office_of, stamp, status, table, typed,
)

ICONS = {"overview": ft.Icons.DASHBOARD, "dispatch": ft.Icons.SEND, "rotation": ft.Icons.AUTORENEW,
         "events": ft.Icons.FLOOD, "reviews": ft.Icons.GAVEL, "fund": ft.Icons.ACCOUNT_BALANCE_WALLET,
         "reports": ft.Icons.ASSESSMENT, "conflicts": ft.Icons.CALL_SPLIT}


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
