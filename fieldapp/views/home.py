"""Home by role: sync status always on top; surveyors see their assignments first; adjusters and
liaisons get "new report" and their claims (newest first, filters, search). Wide screens show the
list and the selected claim side by side."""
from __future__ import annotations

import flet as ft

from claimcore import workflow
from fieldapp.state import reference
from fieldapp.state.claims import ClaimsList
from fieldapp.state.office import SECTION_ROLES
from fieldapp.state.wizard import DRAFT_KIND
from fieldapp.views import widgets as w

# Whoever may open any office section gets the way in from home.
OFFICE_SECTIONS_ROLES = frozenset(r for roles in SECTION_ROLES.values() for r in roles)


def claims_state(shell) -> ClaimsList:
    ctx = shell.ctx
    lst = shell.screen_state.get("claims")
    if lst is None:
        lst = ClaimsList(ctx.store, ctx.user.township_code if ctx.user else None, ctx.role)
        shell.screen_state["claims"] = lst
    lst.refresh()  # cheap (one indexed query) and always current after sync or edits
    return lst


def _filters(shell, lst: ClaimsList) -> ft.Control:
    ctx = shell.ctx
    t = ctx.t
    f = lst.filter

    def on_search(e):
        shell.screen_state.pop("search_typed", None)
        lst.set_filter(search=e.control.value or "")
        shell.render()

    def typed(e):
        # kept across a redraw (new data pulled while typing); applied on submit or leaving
        shell.screen_state["search_typed"] = e.control.value or ""

    def pick(name):
        def handler(e):
            value = e.control.value or None
            lst.set_filter(**{name: None if value == "__all__" else value})
            shell.render()
        return handler

    all_opt = ft.DropdownOption(key="__all__", text=t("common.all"))
    status_dd = w.dropdown(
        key="filter-status", label=t("home.filter.status"), value=f.status or "__all__",
        options=[all_opt] + [ft.DropdownOption(key=s, text=workflow.state_label(s, ctx.language))
                             for s in workflow.STATES],
        on_select=pick("status"), expand=True, text_size=15)
    coverage_dd = w.dropdown(
        key="filter-coverage", label=t("home.filter.coverage"), value=f.coverage or "__all__",
        options=[all_opt] + [ft.DropdownOption(key=o.code, text=o.label)
                             for o in reference.coverage_options(ctx.language)],
        on_select=pick("coverage"), expand=True, text_size=15)
    town_dd = w.dropdown(
        key="filter-township", label=t("home.filter.township"), value=f.township_code or "__all__",
        options=[all_opt] + [ft.DropdownOption(key=o.code, text=o.label) for o in reference.township_options()],
        on_select=pick("township_code"), expand=True, text_size=15)
    controls = [
        ft.TextField(key="filter-search", label=t("home.search"),
                     value=shell.screen_state.get("search_typed", f.search), on_change=typed,
                     prefix_icon=ft.Icons.SEARCH, on_submit=on_search, on_blur=on_search, text_size=16),
        ft.Row([status_dd, coverage_dd], spacing=8),
        ft.Row([town_dd], spacing=8),
    ]
    if f.township_code:
        controls[-1].controls.append(w.dropdown(
            key="filter-village", label=t("home.filter.village"), value=f.village_code or "__all__",
            options=[all_opt] + [ft.DropdownOption(key=o.code, text=o.label)
                                 for o in reference.village_options(f.township_code)],
            on_select=pick("village_code"), expand=True, text_size=15))
    return ft.ExpansionTile(
        title=ft.Text(t("home.filters") + (" · " + t("home.filters_on") if f.active else ""), size=16),
        key="filters", expanded=f.active, tile_padding=ft.Padding.symmetric(horizontal=4),
        # A column of its own: full-width search, and room between rows for the floating labels.
        controls=[ft.Container(ft.Column(controls, spacing=14, horizontal_alignment=ft.CrossAxisAlignment.STRETCH),
                               padding=ft.Padding.only(top=6, bottom=8))],
    )


def claim_tile(shell, row, selected: bool = False) -> ft.Control:
    ctx = shell.ctx
    t = ctx.t
    place = " · ".join(x for x in (row.township_name, reference.village_name(row.village_code)
                                   if row.village_code else None) if x)
    badges = [w.chip(workflow.state_label(row.status, ctx.language))]
    if row.is_draft:
        badges.append(w.chip(t("home.draft"), ft.Colors.AMBER_100, ft.Colors.BROWN_800))
    if row.unsynced:
        badges.append(w.chip(t("home.unsynced"), ft.Colors.ORANGE_50, ft.Colors.ORANGE_900))
    badges.append(w.chip(t("home.photos", count=row.photo_count), ft.Colors.GREY_200, ft.Colors.GREY_800))
    return ft.Container(
        key=f"claim-{row.report_no}",
        content=ft.Column([
            ft.Row([
                ft.Icon(getattr(ft.Icons, reference.COVERAGE_ICONS.get(row.coverage, "SHIELD")),
                        color=ft.Colors.BLUE_800),
                ft.Text(row.victim_name or t("home.no_victim"), size=18, weight=ft.FontWeight.W_600,
                        expand=True),
            ]),
            ft.Text(reference.coverage_name(row.coverage, ctx.language), size=15),
            ft.Text(f"{row.report_no} · {ctx.format_time(row.incident_at or row.created_at)}",
                    size=13, color=ft.Colors.GREY_700),
            ft.Text(place or "—", size=14, color=ft.Colors.GREY_800),
            ft.Row(badges, wrap=True, spacing=6, run_spacing=4),
        ], spacing=4),
        padding=ft.Padding.all(12),
        border_radius=10,
        bgcolor=ft.Colors.BLUE_50 if selected else ft.Colors.WHITE,
        border=ft.Border.all(1, ft.Colors.GREY_300),
        on_click=lambda e, cid=row.id: shell.go(f"/claim/{cid}"),
        ink=True,
    )


def _assignments_section(shell) -> list[ft.Control]:
    from fieldapp.views.assignments import assignment_tile

    ctx = shell.ctx
    t = ctx.t
    items = ctx.store.assignments.list()
    if ctx.role != "surveyor":
        # The lead's adjuster surveys every claim: its own lead assignments, not the co-insurers'.
        items = [a for a in items if (a.fields or {}).get("kind") == "lead"
                 and (a.fields or {}).get("surveyor_id") == ctx.user.id]
        if not items:
            return []
    if not items:
        return [w.section(t("assign.title")), ft.Text(t("assign.none"), size=15, color=ft.Colors.GREY_700)]
    open_first = sorted(items, key=lambda a: (a.status not in ("new", "offered", "assigned"), a.received_at))
    return [w.section(t("assign.title"))] + [assignment_tile(shell, a) for a in open_first]


def _reviews_section(shell) -> list[ft.Control]:
    """Claim-authority reviews open for the co-insurers' opinions or votes (every co-insurer is
    informed, whether or not it surveyed the claim)."""
    from fieldapp.state.money import yuan

    ctx = shell.ctx
    t = ctx.t
    if ctx.role not in ("surveyor", "adjuster", "coordinator"):
        return []
    open_ = [r for r in ctx.store.reviews.list() if r.get("status") == "adjusted" and not r.get("cleared")]
    if not open_:
        return []
    out: list[ft.Control] = [w.section(t("review.title"))]
    for r in open_:
        name = reference.coverage_name(r.get("coverage"), ctx.language) if r.get("coverage") else ""
        out.append(ft.Container(ft.Column([
            ft.Text(f"{r.get('report_no') or ''} · {name}", size=16, weight=ft.FontWeight.W_600),
            ft.Text(f"{ctx.township_name(r.get('township_code'))} · {yuan(r.get('amount_fen'), ctx.language)}",
                    size=15),
            ft.Text(r.get("reason_zh") if ctx.language == "zh" else r.get("reason"), size=14,
                    color=ft.Colors.ORANGE_900),
        ], spacing=2), padding=ft.Padding.all(12), border_radius=10, border=ft.Border.all(1, ft.Colors.GREY_300),
            on_click=lambda e, cid=r["claim_id"]: shell.go(f"/review/{cid}"), ink=True,
            key=f"review-{r.get('report_no') or r['claim_id']}"))
    return out


def _list_column(shell, selected_claim: str | None = None) -> list[ft.Control]:
    ctx = shell.ctx
    t = ctx.t
    lst = claims_state(shell)
    controls: list[ft.Control] = [w.sync_bar(shell)]
    if ctx.role in OFFICE_SECTIONS_ROLES:
        controls.append(w.big_button(t("office.open"), "open-office", lambda e: shell.go("/office"),
                                     icon=ft.Icons.DASHBOARD, filled=False))
    if ctx.role in ("surveyor", "adjuster"):
        controls += _assignments_section(shell)
    controls += _reviews_section(shell)
    if ctx.can_report():
        drafts = ctx.store.drafts.list(kind=DRAFT_KIND)
        if drafts:
            controls.append(w.big_button(t("home.continue_draft"), "continue-draft",
                                         lambda e: shell.go("/new"), icon=ft.Icons.EDIT_NOTE,
                                         filled=False))
        controls.append(w.big_button(t("home.new_report"), "new-report", lambda e: _new_report(shell),
                                     icon=ft.Icons.ADD_CIRCLE))
    controls.append(w.section(t("home.my_claims")))
    controls.append(_filters(shell, lst))
    if not lst.rows:
        controls.append(ft.Text(t("home.empty"), size=15, color=ft.Colors.GREY_700))
    controls += [claim_tile(shell, r, selected=(r.id == selected_claim)) for r in lst.rows]
    if lst.has_more:
        def more(e):
            lst.more()
            shell.render()
        controls.append(w.big_button(t("home.more"), "more-claims", more, filled=False))
    return controls


def _new_report(shell) -> None:
    shell.screen_state.pop("wizard", None)
    shell.screen_state["wizard_new"] = True
    shell.go("/new")


def build(shell, selected_claim: str | None = None, tab: str = "overview") -> ft.View:
    ctx = shell.ctx
    t = ctx.t
    user = ctx.user
    title = f"{user.name} · {t('role.' + user.role)}" if user else t("app.title")
    actions = [w.icon_button(ft.Icons.SETTINGS, t("settings.title"), "open-settings",
                             lambda e: shell.go("/settings"), color=ft.Colors.WHITE)]
    if shell.wide:
        from fieldapp.views import claim as claim_view

        detail: list[ft.Control] = (claim_view.content(shell, selected_claim, tab) if selected_claim
                                    else [ft.Text(t("home.pick_claim"), size=16, color=ft.Colors.GREY_700)])
        body = ft.Row([
            ft.Container(ft.Column(_list_column(shell, selected_claim), scroll=ft.ScrollMode.AUTO,
                                   spacing=10, horizontal_alignment=ft.CrossAxisAlignment.STRETCH),
                         width=440),
            ft.VerticalDivider(width=1),
            ft.Container(ft.Column(detail, scroll=ft.ScrollMode.AUTO, spacing=10,
                                   horizontal_alignment=ft.CrossAxisAlignment.STRETCH), expand=True,
                         padding=ft.Padding.symmetric(horizontal=12)),
        ], expand=True, vertical_alignment=ft.CrossAxisAlignment.START)
        return ft.View(route="/", appbar=w.app_bar(shell, title, actions=actions), controls=[body],
                       padding=ft.Padding.all(12))
    return ft.View(
        route="/",
        appbar=w.app_bar(shell, title, actions=actions),
        scroll=ft.ScrollMode.AUTO,
        padding=ft.Padding.all(12),
        spacing=10,
        horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
        controls=_list_column(shell),
    )
