"""One claim: overview, photos, documents (checklist and the one missing list), timeline, and the
workflow actions this role may take next."""
from __future__ import annotations

import flet as ft

from claimcore import document_rules, entities, workflow
from claimcore.money import format_fen
from fieldapp.state import reference
from fieldapp.state.claims import SETTABLE_STATUSES, TRANSITIONS_NEEDING_REASON, load_claim, mask_person, missing_notice
from fieldapp.views import widgets as w

TABS = ("overview", "photos", "documents", "timeline")


def build(shell, claim_id: str, tab: str = "overview") -> ft.View:
    ctx = shell.ctx
    return ft.View(
        route=f"/claim/{claim_id}/{tab}",
        appbar=w.app_bar(shell, ctx.t("claim.title"), back=True),
        scroll=ft.ScrollMode.AUTO,
        padding=ft.Padding.all(12),
        spacing=10,
        horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
        controls=content(shell, claim_id, tab),
    )


def content(shell, claim_id: str, tab: str) -> list[ft.Control]:
    ctx = shell.ctx
    t = ctx.t
    view = load_claim(ctx.store, claim_id, ctx.role, ctx.language)
    d = view.detail
    tab = tab if tab in TABS else "overview"
    header = [
        ft.Text(f"{reference.coverage_name(d.coverage, ctx.language)}", size=19, weight=ft.FontWeight.W_600),
        ft.Row([w.chip(workflow.state_label(d.status, ctx.language)),
                ft.Text(d.report_no, size=14, color=ft.Colors.GREY_700)],
               wrap=True, spacing=8),
        # One row of equal tabs in every language ("Documents" is wider than 资料): narrow side
        # padding, the label shrinks to fit rather than the row wrapping onto a second line.
        ft.Row([
            ft.Button(content=ft.Text(t(f"claim.tab.{name}"), size=15, no_wrap=True, max_lines=1,
                                      overflow=ft.TextOverflow.FADE),
                      key=f"tab-{name}", expand=True,
                      style=ft.ButtonStyle(bgcolor=ft.Colors.BLUE_800 if name == tab else None,
                                           color=ft.Colors.WHITE if name == tab else None,
                                           padding=ft.Padding.symmetric(horizontal=4),
                                           text_style=ft.TextStyle(size=15, font_family=w.FONT_FAMILY)),
                      on_click=lambda e, n=name: shell.go(f"/claim/{claim_id}/{n}"), height=w.TOUCH)
            for name in TABS], spacing=4),
    ]
    body = {"overview": _overview, "photos": _photos, "documents": _documents,
            "timeline": _timeline}[tab](shell, view)
    problems = ctx.sync_problems(claim_id)
    if problems:
        header.append(ft.Text(t("claim.problems_title"), size=16, weight=ft.FontWeight.W_600,
                              color=ft.Colors.RED_900))
        header += [w.problem_card(shell, p, with_claim=False) for p in problems]
    return header + body


def _overview(shell, view) -> list[ft.Control]:
    ctx = shell.ctx
    t = ctx.t
    d = view.detail
    place = " · ".join(x for x in (d.township_name, reference.village_name(d.village_code)
                                   if d.village_code else None, d.address) if x)
    rows = [
        w.label_value(t("claim.incident_at"), ctx.format_time(d.incident_at)),
        w.label_value(t("claim.place"), place),
        w.label_value(t("claim.gps"), f"{d.lat:.5f}, {d.lon:.5f}" if d.lat is not None else None),
        w.label_value(t("claim.losses"), t("common.list_sep").join(reference.loss_type_name(x, ctx.language)
                                                                   for x in d.loss_types)),
        w.label_value(t("claim.claimed"), format_fen(d.claimed_amount_fen) + " " + t("common.yuan")
                      if d.claimed_amount_fen is not None else None),
        w.label_value(t("claim.adjusted"), format_fen(d.adjusted_amount_fen) + " " + t("common.yuan")
                      if d.adjusted_amount_fen is not None else None),
        w.label_value(t("claim.paid"), format_fen(d.paid_amount_fen) + " " + t("common.yuan")
                      if d.paid_amount_fen is not None else None),
        w.label_value(t("claim.description"), d.description),
    ]
    if d.pending_fields:
        rows.append(ft.Text(t("claim.unsynced"), size=14, color=ft.Colors.ORANGE_900))
    people = [w.section(t("claim.people"))]
    for p in d.persons:
        m = mask_person(p, ctx.role)
        people.append(ft.Container(ft.Column([
            ft.Text(f"{m['name']} · {t('person.' + p.role_in_claim)}", size=17, weight=ft.FontWeight.W_600),
            w.label_value(t(f"id_number.{m['id_type']}"), m["id_number"]),
            w.label_value(t("wizard.victim_phone"), m["phone"]),
            w.label_value(t("wizard.relation"), t(f"relation.{m['relation']}") if m["relation"] else None),
            w.label_value(t("person.bank_card"), m["bank_card"]) if m["bank_card"] else ft.Container(),
        ], spacing=4), padding=ft.Padding.all(10), border=ft.Border.all(1, ft.Colors.GREY_300),
            border_radius=8))
    if not d.persons:
        people.append(ft.Text(t("claim.no_people"), size=15, color=ft.Colors.GREY_700))
    from fieldapp.views import claim_money

    if ctx.role in entities.FILE_ROLES and d.status not in workflow.TERMINAL_STATES:
        people.append(w.big_button(t("person.add"), "person-add", lambda e: claim_money.person_dialog(shell, d),
                                   filled=False, icon=ft.Icons.PERSON_ADD))

    return rows + people + claim_money.sections(shell, view) + _actions(shell, view)


def _actions(shell, view) -> list[ft.Control]:
    ctx = shell.ctx
    t = ctx.t
    d = view.detail
    if not view.actions:
        return []
    out: list[ft.Control] = [w.section(t("claim.actions"))]

    def do(target):
        def run_with(reason: str | None):
            async def go():
                fix = await shell.current_fix()
                try:
                    ctx.store.claims.transition(
                        d.id, target, role=ctx.role, user=ctx.user.id, reason=reason,
                        lat=fix["lat"] if fix else None, lon=fix["lon"] if fix else None,
                        checklist_complete=bool(view.result and view.result.complete),
                        authority_cleared=view.authority_cleared,
                        survey_participant=ctx.role == "surveyor")
                except ValueError as exc:
                    shell.toast(exc.message(ctx.language) if hasattr(exc, "message") else str(exc), error=True)
                    return
                ctx.data_changed()
                shell.toast(t("claim.moved", state=workflow.state_label(target, ctx.language)))
                shell.render()
            shell.page.run_task(go)

        def handler(e):
            label = workflow.state_label(target, ctx.language)
            if target == "paid":
                from fieldapp.views.claim_money import payment_dialog

                payment_dialog(shell, d, lambda: run_with(None))
            elif target in TRANSITIONS_NEEDING_REASON or workflow.find_transition(d.status, target).needs_reason:
                _ask_reason(shell, label, run_with)
            else:
                _confirm(shell, target, label, lambda: run_with(None))
        return handler

    for target in view.actions:
        out.append(w.big_button(t("claim.move_to", state=workflow.state_label(target, ctx.language)),
                                f"action-{target}", do(target), filled=target not in ("withdrawn",),
                                icon=ft.Icons.ARROW_FORWARD))
    if view.authority_waiting:
        out.append(ft.Text(t("authority.approve_waits"), size=14, color=ft.Colors.GREY_700))
    return out


def _confirm(shell, target: str, label: str, then) -> None:
    """Every step says what it will do before it does it."""
    t = shell.ctx.t
    from fieldapp.i18n import has_key

    key = f"confirm.{target}"
    text = t(key) if has_key(key) else t("confirm.generic", state=label)


    dlg = ft.AlertDialog(modal=True, title=ft.Text(t("claim.move_to", state=label)), content=ft.Text(text, size=16))

    def close(e=None):
        shell.form_dialog_open = False
        dlg.open = False  # this dialog, not a toast that may be showing over it
        dlg.update()

    def ok(e):
        close()
        w.after_close(shell, then)

    dlg.actions = [ft.TextButton(t("common.cancel"), key="confirm-cancel", on_click=close),
                   ft.FilledButton(t("common.ok"), key="confirm-ok", on_click=ok)]
    shell.form_dialog_open = True  # no redraw under an open dialog: it would orphan it
    shell.page.show_dialog(dlg)


def _ask_reason(shell, title: str, then) -> None:
    t = shell.ctx.t
    field = ft.TextField(label=t("claim.reason"), key="reason-field", multiline=True, min_lines=2)


    dlg = ft.AlertDialog(modal=True, title=ft.Text(title), content=field)

    def close(e=None):
        shell.form_dialog_open = False
        dlg.open = False
        dlg.update()

    def ok(e):
        if not (field.value or "").strip():
            field.error = t("claim.reason_needed")
            shell.page.update()
            return
        close()
        reason = field.value.strip()
        w.after_close(shell, lambda: then(reason))

    dlg.actions = [ft.TextButton(t("common.cancel"), key="reason-cancel", on_click=close),
                   ft.FilledButton(t("common.ok"), key="reason-ok", on_click=ok)]
    shell.form_dialog_open = True
    shell.page.show_dialog(dlg)


def _photos(shell, view) -> list[ft.Control]:
    from fieldapp.views.wizard import photo_controls

    return photo_controls(shell, view.detail.id, f"/claim/{view.detail.id}/photos")


def _documents(shell, view) -> list[ft.Control]:
    ctx = shell.ctx
    t = ctx.t
    d = view.detail
    if not d.loss_types:
        return [ft.Text(t("docs.no_loss_types"), size=15)]
    if view.checklist_error:
        return [w.error_text(view.checklist_error)]
    allowed = SETTABLE_STATUSES.get(ctx.role, ())
    out: list[ft.Control] = []
    # Past collection the files are with the lead insurer: no buttons the store would refuse.
    documents_open = document_rules.documents_open_to(d.status, ctx.role)
    if not documents_open:
        allowed = ()
        out.append(ft.Text(document_rules.DocumentsClosed(d.status, ctx.role).message(ctx.language),
                           size=15, color=ft.Colors.GREY_800, key="docs-closed"))
    photo_count = len(ctx.store.photos.list_for_claim(d.id))
    res = view.result
    if res is not None:
        if res.complete:
            out.append(ft.Text(t("docs.complete"), size=16, color=ft.Colors.GREEN_800, key="docs-complete"))
        else:
            out.append(ft.Container(ft.Column(
                [ft.Text(t("docs.missing_title", count=len(res.missing)), size=16, weight=ft.FontWeight.W_600,
                         color=ft.Colors.RED_900)] +
                [ft.Text(f"{i}. {m.text(ctx.language)}", size=15) for i, m in enumerate(res.missing, 1)],
                spacing=4), bgcolor=ft.Colors.RED_50, padding=ft.Padding.all(10), border_radius=8,
                key="missing-list"))

        def show_notice(e):
            # The notice's own first line is its title: shown once, as the dialog's title.
            title, _, body = missing_notice(view, ctx.language).partition("\n")

            def as_pdf(e):
                shell.page.pop_dialog()
                _open_template(shell, d.id, "checklist")  # the printed checklist marks what is missing

            shell.page.show_dialog(ft.AlertDialog(
                title=ft.Text(title),
                content=ft.Column([ft.Text(body.strip(), size=16, selectable=True)],
                                  scroll=ft.ScrollMode.AUTO, height=500),
                actions=[ft.TextButton(t("docs.notice_pdf"), key="notice-pdf", icon=ft.Icons.PICTURE_AS_PDF,
                                       on_click=as_pdf),
                         ft.TextButton(t("common.ok"), key="notice-close", on_click=lambda e: shell.page.pop_dialog())]))

        # Only while something is missing: a complete claim has nothing to ask the victim for.
        if not res.complete:
            out.append(w.big_button(t("docs.show_notice"), "show-notice", show_notice, icon=ft.Icons.LIST_ALT,
                                    filled=False))
    for line in view.checklist:
        def set_status(status, code=line.code):
            def handler(e):
                try:
                    ctx.store.documents.set_status(d.id, code, status, user=ctx.user.id)
                except ValueError as exc:
                    shell.toast(str(exc), error=True)
                shell.render()
            return handler

        def attach(files, code=line.code):
            f = files[0]
            try:
                # The type comes from the bytes (claimcore.filetypes), never from the file name.
                ctx.store.documents.attach_scan(d.id, code, f.bytes or b"", user=ctx.user.id)
                shell.toast(t("docs.scan_saved"))
                ctx.data_changed()
            except ValueError as exc:
                shell.toast(exc.message(ctx.language) if hasattr(exc, "message") else str(exc), error=True)
            shell.render()

        color = {"missing": ft.Colors.RED_700, "collected": ft.Colors.BLUE_700,
                 "verified": ft.Colors.GREEN_700, "not_applicable": ft.Colors.GREY_600}[line.status]
        group = (t("docs.group", rule=line.item.group_label.get(ctx.language), n=line.item.group_min_required)
                 if line.item.group and line.item.group_label else None)
        buttons = [ft.OutlinedButton(t(f"docstatus.{st}"), key=f"doc-{line.code}-{st}",
                                     on_click=set_status(st), disabled=(st == line.status),
                                     style=ft.ButtonStyle(text_style=ft.TextStyle(size=14, font_family=w.FONT_FAMILY)),
                                     height=w.TOUCH)
                   for st in allowed if st != "not_applicable" or line.item.not_applicable_allowed
                   or not line.item.mandatory]
        if ctx.role in entities.FILE_ROLES and documents_open:  # scans are personal data: not on co-insurers' phones
            buttons.append(ft.OutlinedButton(t("docs.attach_scan"), key=f"doc-{line.code}-scan",
                                             icon=ft.Icons.ATTACH_FILE,
                                             action=shell.pick_action(attach, key=f"doc-{line.code}-scan",
                                                                      images_only=False, multiple=False),
                                             height=w.TOUCH))
        out.append(ft.Container(ft.Column([
            ft.Row([ft.Icon(ft.Icons.CIRCLE, color=color, size=14),
                    ft.Text(line.label, size=16, weight=ft.FontWeight.W_600, expand=True)]),
            ft.Text(t("docs.issuer", issuer=line.issuer) + (" · " + t("docs.optional") if not line.item.mandatory else ""),
                    size=13, color=ft.Colors.GREY_700),
            # Why it is asked for: the notice's words, or the assumption of practice.
            ft.Text(t(f"docs.basis.{line.item.basis.source}" if line.item.basis.stated else "docs.basis.unstated",
                      text=line.item.basis.explanation.get(ctx.language)),
                    size=13, color=ft.Colors.GREY_800, key=f"doc-{line.code}-basis"),
            ft.Text(group, size=13, color=ft.Colors.BLUE_900) if group else ft.Container(),
            ft.Text(t("docs.status", status=t(f"docstatus.{line.status}")) +
                    (" · " + t("docs.has_scan") if line.has_scan else ""), size=14, color=color),
            # The claim's photos do not make this item: say why next to 缺 (claimcore.document_rules).
            ft.Text(t("docs.site_photos_note", count=photo_count), size=13, color=ft.Colors.GREY_800,
                    key=f"doc-{line.code}-photos-note")
            if line.code == document_rules.SITE_PHOTOS
            and document_rules.report_photos_need_note(line.status, photo_count) else ft.Container(),
            ft.Row(buttons, wrap=True, spacing=6, run_spacing=6),
            ft.TextButton(t("docs.template"), key=f"doc-{line.code}-template", icon=ft.Icons.DESCRIPTION,
                          on_click=lambda e, tpl=line.template: _open_template(shell, d.id, tpl))
            if line.template else ft.Container(),
        ], spacing=4), padding=ft.Padding.all(10), border=ft.Border.all(1, ft.Colors.GREY_300),
            border_radius=8, key=f"doc-{line.code}"))
    return out


def _open_template(shell, claim_id: str, template: str) -> None:
    """Fill the item's template with this claim (fieldapp.documents) and offer the PDF as a file."""
    ctx = shell.ctx
    t = ctx.t
    from fieldapp.state.documents_out import TemplateRefused, open_template

    try:
        path = open_template(ctx.store, ctx.data_dir, claim_id, template, lang=ctx.language)
    except TemplateRefused as refused:
        shell.toast(t("docs.template_failed", error=refused.message), error=True)
        return

    async def save():
        try:
            await shell.file_picker.save_file(file_name=path.name, src_bytes=path.read_bytes())
        except Exception as exc:  # no save dialog on this platform: the file stays in the data folder
            shell.toast(t("docs.template_failed", error=str(exc)), error=True)
            return
        shell.toast(t("docs.template_saved", name=path.name))
    shell.page.run_task(save)


def _timeline(shell, view) -> list[ft.Control]:
    ctx = shell.ctx
    t = ctx.t
    out: list[ft.Control] = []
    for step in view.detail.timeline:
        where = f"{step.lat:.5f}, {step.lon:.5f}" if step.lat is not None else t("timeline.no_gps")
        me = ctx.user
        name = me.name if me is not None and step.by_user == me.id else (step.by_name or t("timeline.someone"))
        who = name + (f" · {t('role.' + step.role)}" if step.role else "")
        out.append(ft.Container(ft.Column([
            ft.Text((workflow.state_label(step.from_status, ctx.language) + " → " if step.from_status else "")
                    + workflow.state_label(step.to_status, ctx.language), size=16, weight=ft.FontWeight.W_600),
            ft.Text(t("timeline.when_who", when=ctx.format_time(step.at), who=who), size=14),
            ft.Text(t("timeline.where", where=where), size=14, color=ft.Colors.GREY_700),
            ft.Text(t("timeline.why", why=step.reason), size=14) if step.reason else ft.Container(),
        ], spacing=2), padding=ft.Padding.all(10), border=ft.Border.all(1, ft.Colors.GREY_300), border_radius=8))
    for note in view.detail.notes:
        out.append(ft.Text(f"{ctx.format_time(note.written_at)} {note.author or ''}: {note.text}", size=14))
    return out
