"""Surveyor assignments: tile with accept/decline in place on home; detail with arrived, done, costs."""
from __future__ import annotations

import flet as ft

from claimcore.money import format_fen

from fieldapp.state import reference
from fieldapp.state.assignments import COST_KINDS, OPEN, AssignmentError, Assignments
from fieldapp.views import widgets as w


def _state(shell) -> Assignments:
    ctx = shell.ctx
    return Assignments(ctx.store, ctx.user.id, ctx.photo_files, ctx.language)


def _run(shell, fn) -> None:
    try:
        fn()
    except AssignmentError as err:
        shell.toast(shell.ctx.t(err.key, **err.params), error=True)
    except ValueError as exc:
        shell.toast(str(exc), error=True)
    shell.render()


def _decline(shell, a) -> None:
    t = shell.ctx.t
    field = ft.TextField(label=t("assign.decline_reason"), key="decline-reason", multiline=True)

    def ok(e):
        if not (field.value or "").strip():
            field.error = t("assign.error.reason")
            shell.page.update()
            return
        shell.page.pop_dialog()
        _run(shell, lambda: _state(shell).decline(a.id, field.value))

    shell.page.show_dialog(ft.AlertDialog(modal=True, title=ft.Text(t("assign.decline")), content=field, actions=[
        ft.TextButton(t("common.cancel"), key="decline-cancel", on_click=lambda e: shell.page.pop_dialog()),
        ft.FilledButton(t("assign.decline"), key="decline-ok", on_click=ok)]))


def _summary(shell, a) -> str:
    """Report number, place and coverage of the assignment's claim (pulled with it when in scope)."""
    ctx = shell.ctx
    f = a.fields or {}
    report_no, township, coverage = f.get("report_no"), f.get("township_code"), None
    if a.claim_id:
        try:
            claim = ctx.store.claims.get(a.claim_id)
            report_no, township, coverage = claim.report_no, claim.township_code, claim.coverage
        except LookupError:
            pass
    parts = [report_no, ctx.township_name(township) if township else None,
             reference.coverage_name(coverage, ctx.language) if coverage else None,
             ctx.t(f"assign.kind.{f['kind']}") if f.get("kind") in ("ordinary", "central", "lead") else None,
             f.get("note")]
    return " · ".join(str(p) for p in parts if p) or (a.claim_id or a.id)[:8]


def assignment_tile(shell, a) -> ft.Control:
    t = shell.ctx.t
    is_new = a.status in OPEN
    buttons = []
    if is_new:
        buttons = [
            w.big_button(t("assign.accept"), f"accept-{a.id[:8]}", lambda e: _run(shell, lambda: _state(shell).accept(a.id)),
                         icon=ft.Icons.CHECK, expand=True),
            w.big_button(t("assign.decline"), f"decline-{a.id[:8]}", lambda e: _decline(shell, a), filled=False,
                         expand=True),
        ]
    return ft.Container(ft.Column([
        ft.Row([ft.Icon(ft.Icons.ASSIGNMENT, color=ft.Colors.ORANGE_800 if is_new else ft.Colors.BLUE_800),
                ft.Text(t("assign.new") if is_new else t(f"assign.status.{a.status}"), size=16,
                        weight=ft.FontWeight.W_600, expand=True)]),
        ft.Text(_summary(shell, a), size=15),
        ft.Text(t("assign.received", when=shell.ctx.format_time(a.received_at)), size=13, color=ft.Colors.GREY_700),
        ft.Row(buttons, spacing=8) if buttons else ft.Container(),
    ], spacing=4), padding=ft.Padding.all(12), border_radius=10, key=f"assignment-{a.id[:8]}",
        bgcolor=ft.Colors.AMBER_50 if is_new else ft.Colors.WHITE, border=ft.Border.all(1, ft.Colors.GREY_300),
        on_click=lambda e: shell.go(f"/assignment/{a.id}"), ink=True)


def build(shell, assignment_id: str) -> ft.View:
    ctx = shell.ctx
    t = ctx.t
    st = _state(shell)
    a = ctx.store.assignments.get(assignment_id)
    form = shell.screen_state.setdefault(("cost", assignment_id), {"kind": "vehicle", "amount": "", "note": "",
                                                                  "receipt": None})

    def arrived(e):
        async def go():
            fix = await shell.current_fix()
            _run(shell, lambda: st.arrived(a.id, fix))
        shell.page.run_task(go)

    actions = []
    for target in st.actions(a):
        if target == "accepted":
            actions.append(w.big_button(t("assign.accept"), "assign-accept", lambda e: _run(shell, lambda: st.accept(a.id)),
                                        icon=ft.Icons.CHECK))
        elif target == "declined":
            actions.append(w.big_button(t("assign.decline"), "assign-decline", lambda e: _decline(shell, a), filled=False))
        elif target == "arrived":
            actions.append(w.big_button(t("assign.arrived"), "assign-arrived", arrived, icon=ft.Icons.PLACE))
        elif target == "done":
            actions.append(w.big_button(t("assign.done"), "assign-done", lambda e: _run(shell, lambda: st.done(a.id)),
                                        icon=ft.Icons.TASK_ALT))

    def on_receipt(files):
        form["receipt"] = (files[0].name, files[0].bytes or b"")
        shell.render()

    def add_cost(e):
        async def go():
            fix = await shell.current_fix()  # where the receipt photo was taken

            def do():
                st.add_cost(a.id, form["kind"], form["amount"], form["note"], form["receipt"], fix=fix)
                shell.screen_state.pop(("cost", assignment_id), None)
                shell.toast(t("assign.cost_saved"))
            _run(shell, do)
        shell.page.run_task(go)

    cost = [
        w.section(t("assign.costs")),
        ft.Row([w.dropdown(key="cost-kind", label=t("assign.cost_kind"), value=form["kind"],
                    options=[ft.DropdownOption(key=k, text=t(f"assign.cost.{k}")) for k in COST_KINDS],
                    on_select=lambda e: form.__setitem__("kind", e.control.value))]),
        ft.TextField(key="cost-amount", label=t("assign.cost_amount"), value=form["amount"],
                     keyboard_type=ft.KeyboardType.NUMBER, on_change=lambda e: form.__setitem__("amount", e.control.value)),
        ft.TextField(key="cost-note", label=t("assign.cost_note"), value=form["note"],
                     on_change=lambda e: form.__setitem__("note", e.control.value)),
        w.big_button(t("assign.receipt") + (f" √ {form['receipt'][0]}" if form["receipt"] else ""), "cost-receipt", None,
                     icon=ft.Icons.RECEIPT_LONG, filled=False, action=shell.pick_action(on_receipt, multiple=False)),
        w.big_button(t("assign.cost_add"), "cost-add", add_cost, icon=ft.Icons.ADD),
        *_saved_costs(shell, st.saved_costs(a.id)),
    ] if a.claim_id and a.status in ("accepted", "arrived", "done", "completed") else []
    controls = [assignment_tile(shell, a)] + actions + cost
    if a.claim_id:
        controls.append(w.big_button(t("assign.open_claim"), "assign-open-claim",
                                     lambda e: shell.go(f"/claim/{a.claim_id}"), filled=False,
                                     icon=ft.Icons.FOLDER_OPEN))
    return ft.View(route=f"/assignment/{assignment_id}", appbar=w.app_bar(shell, t("assign.title"), back=True),
                   scroll=ft.ScrollMode.AUTO, padding=ft.Padding.all(12), spacing=10,
                   horizontal_alignment=ft.CrossAxisAlignment.STRETCH, controls=controls)


def _saved_costs(shell, costs) -> list[ft.Control]:
    """What this survey's costs already hold: kind, amount, note, when (and the total)."""
    t = shell.ctx.t
    if not costs:
        return [ft.Text(t("assign.costs_none"), size=14, color=ft.Colors.GREY_700, key="costs-none")]
    rows = [ft.Text(t("assign.costs_saved", n=len(costs), total=format_fen(sum(c.amount_fen for c in costs))),
                    size=15, weight=ft.FontWeight.W_600, key="costs-saved")]
    for c in costs:
        rows.append(ft.Text(" · ".join(x for x in (shell.ctx.format_time(c.written_at), t(f"assign.cost.{c.kind}"),
                                                   format_fen(c.amount_fen) + t("common.yuan"), c.note) if x),
                            size=14))
    return [ft.Container(ft.Column(rows, spacing=4), padding=ft.Padding.all(10), border_radius=8,
                         bgcolor=ft.Colors.GREY_100, key="costs-list")]
