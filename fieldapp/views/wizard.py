"""New report: coverage → township/village, time, place (GPS) → victims and losses → photos.
Every change is saved as it is made (see fieldapp/state/wizard.py)."""
from __future__ import annotations

import flet as ft

from fieldapp.state import reference
from fieldapp.state.capture import flag_label
from claimcore import document_rules
from claimcore.entities import ID_TYPES
from fieldapp.state.wizard import ID_NUMBER_MAX, RELATIONS, STEPS, NewReportWizard
from fieldapp.views import widgets as w
from fieldapp.views.camera import camera_supported, open_camera
from fieldapp.views.intake import capture_state, photos_busy, pick_photos_action


def wizard_state(shell) -> NewReportWizard:
    ctx = shell.ctx
    wiz = shell.screen_state.get("wizard")
    if wiz is None:
        user = ctx.user
        if not shell.screen_state.pop("wizard_new", False):
            wiz = NewReportWizard.resume(ctx.store, user.id, user.role, user.township_code)
        if wiz is None:
            wiz = NewReportWizard(ctx.store, user.id, user.role, user.township_code)
        shell.screen_state["wizard"] = wiz
    return wiz


def _err(ctx, wiz, key: str) -> str | None:
    code = wiz.errors.get(key)
    return ctx.t(code) if code else None


def build(shell) -> ft.View:
    ctx = shell.ctx
    t = ctx.t
    wiz = wizard_state(shell)
    step = wiz.step
    body = {"coverage": _coverage_step, "place": _place_step, "people": _people_step,
            "photos": _photos_step}[step](shell, wiz)
    progress = ft.Row([
        ft.Container(height=6, expand=True, border_radius=3,
                     bgcolor=ft.Colors.BLUE_700 if i <= wiz.step_index else ft.Colors.GREY_300)
        for i in range(len(STEPS))], spacing=4)
    # The step's buttons stay at the bottom of the screen, under the scrolling form: the thumb
    # finds "next" in the same place on every step, however long the village list is.
    nav = body.pop() if body and getattr(body[-1], "data", None) == "nav" else None
    scroller = ft.Column([progress, ft.Text(t("wizard.saved_hint"), size=13, color=ft.Colors.GREY_700)] + body,
                         scroll=ft.ScrollMode.AUTO, expand=True, spacing=12,
                         horizontal_alignment=ft.CrossAxisAlignment.STRETCH)
    return ft.View(
        route="/new",
        appbar=w.app_bar(shell, t("wizard.title") + " · " + t(f"wizard.step.{step}"), back=True),
        padding=ft.Padding.all(14),
        spacing=8,
        horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
        controls=[scroller] + ([nav] if nav is not None else []),
    )


def _nav(shell, wiz, next_label: str | None = None, on_next=None) -> ft.Control:
    t = shell.ctx.t

    def prev(e):
        wiz.previous()
        shell.render()

    def nxt(e):
        if wiz.next():
            if wiz.step == "photos" and camera_supported(shell.page):
                # The step is for site photos and the phone has a camera: it opens straight away
                # (the picker is on the camera screen too, and its back arrow shows the step).
                open_camera(shell, wiz.claim_id, "/new", submit=submit_report)
                return
            shell.render()
        else:
            shell.render()
            shell.toast(t("wizard.fix_errors"), error=True)

    buttons = []
    if wiz.step_index > 0:
        buttons.append(w.big_button(t("common.previous"), "wizard-prev", prev, filled=False, expand=True))
    buttons.append(w.big_button(next_label or t("common.next"), "wizard-next", on_next or nxt,
                                icon=ft.Icons.ARROW_FORWARD, expand=True))
    return ft.Row(buttons, spacing=12, data="nav")


# -- step 1 ---------------------------------------------------------------------------------
def _coverage_step(shell, wiz) -> list[ft.Control]:
    ctx = shell.ctx

    def choose(code):
        def handler(e):
            wiz.choose_coverage(code)
            shell.render()
            shell.page.run_task(_take_place_fix, shell, wiz)
        return handler

    tiles = []
    for opt in reference.coverage_options(ctx.language):
        selected = wiz.s.coverage == opt.code
        fg = ft.Colors.WHITE if selected else ft.Colors.BLACK
        # A button (not a tappable container): announced as one, named by its coverage.
        tiles.append(ft.Button(
            key=f"coverage-{opt.code}",
            content=ft.Row([
                ft.Icon(getattr(ft.Icons, opt.icon or "SHIELD"), size=30,
                        color=ft.Colors.WHITE if selected else ft.Colors.BLUE_800),
                ft.Text(opt.label, size=17, expand=True, color=fg),
            ], spacing=12),
            style=ft.ButtonStyle(
                padding=ft.Padding.symmetric(horizontal=14, vertical=12),
                bgcolor=ft.Colors.BLUE_800 if selected else ft.Colors.BLUE_50,
                shape=ft.RoundedRectangleBorder(radius=10), elevation=0),
            # no fixed height: a long (English) name wraps onto a second line instead of clipping
            on_click=choose(opt.code),
        ))
    err = _err(ctx, wiz, "coverage")
    return [ft.Text(ctx.t("wizard.choose_coverage"), size=16)] + tiles + ([w.error_text(err)] if err else [])


def _gps_text(shell, wiz) -> str:
    t = shell.ctx.t
    s = wiz.s
    if s.lat is None:
        return t("wizard.gps_none")
    acc = f" ±{s.accuracy_m:.0f} m" if s.accuracy_m is not None else ""
    return t("wizard.gps_fix", lat=f"{s.lat:.5f}", lon=f"{s.lon:.5f}") + acc


def _show_fix(shell, wiz, township_before: str | None) -> None:
    """A fix arrived: redraw the GPS line only (the user may be typing in a field on this step);
    the whole step only when the fix chose the township."""
    if wiz.s.township_code != township_before:
        shell.render()
        return
    label = shell.screen_state.get("wizard_gps_label")
    if label is not None:
        try:
            label.value = _gps_text(shell, wiz)
            label.update()
        except Exception:  # the step is no longer on screen
            pass


async def _take_place_fix(shell, wiz) -> None:
    if wiz.s.lat is not None:
        return
    fix = await shell.current_fix()
    if fix:
        before = wiz.s.township_code
        wiz.set_fix(fix)
        _show_fix(shell, wiz, before)


# -- step 2 ---------------------------------------------------------------------------------
def _place_step(shell, wiz) -> list[ft.Control]:
    ctx = shell.ctx
    t = ctx.t
    s = wiz.s

    def on_township(e):
        wiz.set_township(e.control.value)
        shell.render()

    def village(code):
        def handler(e):
            wiz.set_village(code)
            shell.render()
        return handler

    def on_time(e):
        wiz.set_incident_text(e.control.value or "")
        wiz.apply_incident_text()
        shell.render()

    def refix(e):
        shell.page.run_task(_refix, shell, wiz)

    village_chips = [
        ft.Button(
            key=f"village-{o.code}",
            content=ft.Text(o.label, size=15, color=ft.Colors.WHITE if s.village_code == o.code else ft.Colors.BLACK),
            style=ft.ButtonStyle(
                padding=ft.Padding.symmetric(horizontal=12, vertical=8),
                bgcolor=ft.Colors.BLUE_800 if s.village_code == o.code else ft.Colors.GREY_100,
                side=ft.BorderSide(1, ft.Colors.GREY_400), elevation=0),
            height=w.TOUCH,
            on_click=village(o.code),
        )
        for o in reference.village_options(s.township_code)
    ]
    gps_label = ft.Text(_gps_text(shell, wiz), size=14, expand=True, key="wizard-gps")
    shell.screen_state["wizard_gps_label"] = gps_label
    local_time = wiz.time_text if wiz.time_text is not None else ctx.format_time(s.incident_at)
    # Text fields first, the (long) village list last: the keyboard covers the lower half of a
    # phone screen, and a field typed into should not sit below a list that moves.
    return [
        ft.Row([w.dropdown(key="wizard-township", label=t("wizard.township"), value=s.township_code,
                    options=[ft.DropdownOption(key=o.code, text=o.label) for o in reference.township_options()],
                    on_select=on_township, error_text=_err(ctx, wiz, "township"), text_size=17)]),
        ft.TextField(key="wizard-description", label=t("wizard.description"), value=s.description,
                     error=_err(ctx, wiz, "description"),
                     multiline=True, min_lines=2, max_lines=5,
                     on_change=lambda e: wiz.set_description(e.control.value or "", persist=False),
                     on_blur=lambda e: wiz.set_description(e.control.value or ""), text_size=16),
        ft.TextField(key="wizard-time", label=t("wizard.incident_at"), value=local_time,
                     hint_text="2026-07-01 08:30", on_blur=on_time, on_submit=on_time,
                     on_change=lambda e: wiz.set_incident_text(e.control.value or ""),
                     error=_err(ctx, wiz, "incident_at"), text_size=17),
        ft.TextField(key="wizard-place", label=t("wizard.place"), value=s.place, multiline=True,
                     min_lines=1, max_lines=3,
                     on_change=lambda e: wiz.set_place(e.control.value or "", persist=False),
                     on_blur=lambda e: wiz.set_place(e.control.value or ""),
                     text_size=17),
        ft.Row([ft.Icon(ft.Icons.MY_LOCATION, color=ft.Colors.BLUE_800),
                gps_label,
                ft.TextButton(t("wizard.gps_refresh"), key="wizard-gps-refresh", on_click=refix)]),
        ft.Text(t("wizard.village"), size=15, weight=ft.FontWeight.W_600),
        w.error_text(_err(ctx, wiz, "village"), key="village-error"),
        ft.Row(village_chips, wrap=True, spacing=8, run_spacing=8) if village_chips
        else ft.Text(t("wizard.pick_township_first"), size=14, color=ft.Colors.GREY_700),
        _nav(shell, wiz),
    ]


async def _refix(shell, wiz) -> None:
    fix = await shell.current_fix()
    if fix:
        before = wiz.s.township_code
        wiz.set_fix(fix)
        _show_fix(shell, wiz, before)
    else:
        shell.toast(shell.ctx.t("wizard.gps_failed"), error=True)


# -- step 3 ---------------------------------------------------------------------------------
def _people_step(shell, wiz) -> list[ft.Control]:
    ctx = shell.ctx
    t = ctx.t
    s = wiz.s

    loss_error = w.error_text(_err(ctx, wiz, "loss_types"), key="loss-error")

    def toggle(code):
        # In place, no redraw of the step: the user goes straight on to type names below.
        def handler(e):
            wiz.toggle_loss_type(code)
            e.control.selected = code in wiz.s.loss_types
            msg = _err(ctx, wiz, "loss_types")
            loss_error.value, loss_error.visible = msg or "", bool(msg)
            e.control.update()
            loss_error.update()
        return handler

    loss_chips = [
        ft.Chip(label=ft.Text(o.label, size=16), key=f"loss-{o.code}", selected=o.code in s.loss_types,
                on_select=toggle(o.code), show_checkmark=True)
        for o in reference.loss_type_options(s.coverage, ctx.language)
    ]
    controls: list[ft.Control] = [
        ft.Text(t("wizard.loss_types"), size=15, weight=ft.FontWeight.W_600),
        ft.Row(loss_chips, wrap=True, spacing=8, run_spacing=8),
        loss_error,
    ]
    for i, v in enumerate(s.victims):
        def typed(name, i=i):
            # Every keystroke: kept in memory; the field's own message is updated in place. No
            # redraw of the screen here: replacing controls under the user's thumb loses focus
            # and keystrokes.
            def handler(e):
                err = wiz.set_victim(i, name, e.control.value or "", persist=False)
                if name == "id_number":
                    e.control.error = t(err) if err else None
                    e.control.update()
            return handler

        def left(name, i=i):
            def handler(e):
                err = wiz.set_victim(i, name, e.control.value or "")
                if name in ("id_number", "phone"):
                    e.control.error = t(err) if err else None
                    e.control.update()
            return handler

        def then_focus(handler, field: ft.TextField):
            # The keyboard's "next" key goes on to the ID number: no reach for the field.
            def submitted(e):
                handler(e)
                shell.page.run_task(field.focus)
            return submitted

        def remove(e, i=i):
            wiz.remove_victim(i)
            shell.render()

        id_field = ft.TextField(key=f"victim{i}-id", label=t(f"id_number.{v.id_type}"), value=v.id_number,
                                on_change=typed("id_number"), on_blur=left("id_number"),
                                max_length=ID_NUMBER_MAX[v.id_type],
                                error=_err(ctx, wiz, f"victim{i}.id_number"), text_size=17,
                                capitalization=ft.TextCapitalization.CHARACTERS, autocorrect=False)

        def document(e, i=i, id_field=id_field):
            # In place: the number field takes the document's name, length and rule.
            kind = e.control.value or "resident_id"
            err = wiz.set_victim(i, "id_type", kind)
            id_field.label = t(f"id_number.{kind}")
            id_field.max_length = ID_NUMBER_MAX[kind]
            id_field.error = t(err) if err else None
            id_field.update()

        controls.append(ft.Card(ft.Container(ft.Column([
            ft.Row([ft.Text(t("wizard.victim_n", n=i + 1), size=16, weight=ft.FontWeight.W_600, expand=True),
                    w.icon_button(ft.Icons.DELETE_OUTLINE, t("wizard.remove_victim"), f"victim{i}-remove", remove)
                    if len(s.victims) > 1 else ft.Container()]),
            ft.TextField(key=f"victim{i}-name", label=t("wizard.victim_name"), value=v.name,
                         on_change=typed("name"), on_blur=left("name"),
                         on_submit=then_focus(left("name"), id_field),
                         error=_err(ctx, wiz, f"victim{i}.name"), text_size=17),
            ft.Row([w.dropdown(key=f"victim{i}-id-type", label=t("wizard.id_type"), value=v.id_type,
                        options=[ft.DropdownOption(key=k, text=t(f"id_type.{k}")) for k in ID_TYPES],
                        on_select=document, text_size=16)]),
            id_field,
            ft.TextField(key=f"victim{i}-phone", label=t("wizard.victim_phone"), value=v.phone,
                         on_change=typed("phone"), on_blur=left("phone"), on_submit=left("phone"),
                         keyboard_type=ft.KeyboardType.PHONE,
                         error=_err(ctx, wiz, f"victim{i}.phone"), text_size=17),
            ft.Row([w.dropdown(key=f"victim{i}-relation", label=t("wizard.relation"), value=v.relation,
                        options=[ft.DropdownOption(key=r, text=t(f"relation.{r}")) for r in RELATIONS],
                        on_select=lambda e, i=i: wiz.set_victim(i, "relation", e.control.value or "self"),
                        text_size=16)]),
        ], spacing=10, horizontal_alignment=ft.CrossAxisAlignment.STRETCH), padding=ft.Padding.all(12))))

    def add(e):
        wiz.add_victim()
        shell.render()

    controls.append(w.big_button(t("wizard.add_victim"), "add-victim", add, icon=ft.Icons.PERSON_ADD,
                                 filled=False))
    controls.append(_nav(shell, wiz))
    return controls


# -- step 4 ---------------------------------------------------------------------------------
def submit_report(shell) -> None:
    """Submit the report being entered (the photo step's button, and the camera's when the camera
    was opened from that step)."""
    ctx = shell.ctx
    t = ctx.t
    wiz = wizard_state(shell)
    try:
        claim_id = wiz.finish()
    except ValueError:
        shell.toast(t("wizard.fix_errors"), error=True)
        shell.go("/new")
        return
    shell.screen_state.pop("wizard", None)
    # Said as it is: online, the report is on its way now; offline, it waits for the network.
    shell.toast(t("wizard.done_online" if ctx.sync_status().online else "wizard.done"))
    shell.go(f"/claim/{claim_id}/documents")


def photo_controls(shell, claim_id: str, return_route: str, submit=None) -> list[ft.Control]:
    """The camera and picker buttons, intake progress and refusals, and the thumbnails of one
    claim. The camera comes back to `return_route`; with `submit` (a report's photo step) it
    submits the report too."""
    ctx = shell.ctx
    t = ctx.t
    cap = capture_state(shell, claim_id)
    pick = w.big_button(t("photos.pick"), "add-photos", None, icon=ft.Icons.PHOTO_LIBRARY,
                        filled=not camera_supported(shell.page), expand=True,
                        action=pick_photos_action(shell, claim_id))
    # Where the platform has a camera it comes first; the picker stays beside it (photos taken
    # earlier, or a camera that is refused). A desktop build has the picker only.
    buttons = [pick]
    if camera_supported(shell.page):
        buttons.insert(0, w.big_button(t("photos.camera"), "open-camera",
                                       lambda e: open_camera(shell, claim_id, return_route, submit=submit),
                                       icon=ft.Icons.PHOTO_CAMERA, expand=True))
    controls: list[ft.Control] = [ft.Row(buttons, spacing=12)]
    batch = cap.batch
    if batch is not None:
        if not batch.done:
            controls.append(ft.Text(t("photos.working", done=batch.stored, total=len(batch.items)),
                                    size=15, key="photos-working"))
            controls.append(ft.ProgressBar(value=batch.fraction))
        for item in batch.refused:
            controls.append(ft.Container(ft.Column([
                ft.Text(t("photos.refused", name=item.name), size=15, weight=ft.FontWeight.W_600,
                        color=ft.Colors.RED_800),
                ft.Text(item.message, size=15, color=ft.Colors.RED_800),
            ], spacing=2), bgcolor=ft.Colors.RED_50, padding=ft.Padding.all(10), border_radius=8,
                key=f"refused-{item.name}"))
    photos = ctx.store.photos.list_for_claim(claim_id)
    controls.append(ft.Text(t("photos.count", count=len(photos)), size=15, key="photos-count"))
    statuses = {d.code: d.status for d in ctx.store.claims.get(claim_id).documents}
    if document_rules.report_photos_need_note(statuses.get(document_rules.SITE_PHOTOS), len(photos)):
        # The checklist's 现场照片 is the insurer's survey: these photos do not satisfy it.
        controls.append(ft.Text(t("photos.site_photos_note"), size=13, color=ft.Colors.GREY_800,
                                key="photos-site-note"))
    grid = []
    for p in photos:
        thumb = ctx.photo_files.path(p.sha256, "thumb")
        flag_icon = ft.Icon(ft.Icons.WARNING_AMBER, color=ft.Colors.ORANGE_800, size=18) if p.flags else ft.Container()
        grid.append(ft.Container(
            ft.Stack([
                ft.Image(src=thumb.read_bytes() if thumb.exists() else b"", width=120, height=120,
                         fit=ft.BoxFit.COVER, border_radius=8,
                         semantics_label=t("photos.thumb", time=ctx.format_time(p.taken_at))),
                ft.Container(flag_icon, right=4, top=4),
            ]),
            key=f"photo-{p.sha256[:12]}", on_click=lambda e, pid=p.sha256: shell.go(f"/photo/{pid}"),
            width=120, height=120,
            # The tappable tile is what a screen reader lands on; the image's own label stays inside.
            tooltip=t("photos.thumb", time=ctx.format_time(p.taken_at)),
        ))
    controls.append(ft.Row(grid, wrap=True, spacing=8, run_spacing=8))
    if any(p.flags for p in photos):
        flags = sorted({f for p in photos for f in p.flags})
        controls.append(ft.Text(t("photos.flags_note") + t("common.list_sep").join(flag_label(f, ctx.language)
                                                                                   for f in flags),
                                size=13, color=ft.Colors.ORANGE_900))
    return controls


def _photos_step(shell, wiz) -> list[ft.Control]:
    ctx = shell.ctx
    t = ctx.t

    busy = photos_busy(shell, wiz.claim_id)
    return [ft.Text(t("wizard.photos_intro"), size=15)] + photo_controls(shell, wiz.claim_id, "/new", submit=submit_report) + [
        ft.Row([
            w.big_button(t("common.previous"), "wizard-prev", lambda e: (wiz.previous(), shell.render()),
                         filled=False, expand=True),
            w.big_button(t("wizard.submit"), "wizard-submit", lambda e: submit_report(shell), icon=ft.Icons.SEND,
                         expand=True, disabled=busy),
        ], spacing=12, data="nav"),
    ]
