"""The co-insurance pool in the office console: the rotation board (this month's order, turns,
leave, the monthly floor, the history) and events (major disasters reported together: declared, their claims grouped
by the server as they arrive, added or removed by hand, dispatched centrally)."""
from __future__ import annotations

import datetime as dt

import flet as ft

from fieldapp.state import reference
from fieldapp.state.office import OFFICE, Office, history_counts, month_floor_met
from fieldapp.views import widgets as w
from fieldapp.views.office_parts import (
    WHEN, act, card, china_now, claim_line, coverage, figure, load, parse_when, stamp, status, table,
)

NATURAL_DISASTER = "natural_disaster"  # the only coverage whose events have the civil-affairs step


# ---------------------------------------------------------------------------------- rotation

def rotation(shell, office: Office, item: str | None) -> list[ft.Control]:
    ctx = shell.ctx
    t = ctx.t
    snap = load(shell, "rotation", office.rotation)
    out: list[ft.Control] = [stamp(shell, snap, "rotation")]
    if snap is None:
        return out
    rot = snap.data
    floor = rot.get("floor") or {}
    met = month_floor_met(rot)
    out.append(ft.Row([
        figure(t("office.month"), str(rot.get("month") or "—")),
        figure(t("office.next"), ctx.insurer_name(rot.get("next")) if rot.get("next") else "—", key="rotation-next"),
        figure(t("office.floor"), t("office.floor_value", n=len(rot.get("participants") or []),
                                    required=floor.get("required", "?")), key="rotation-floor"),
    ], wrap=True, spacing=8, run_spacing=8))
    out.append(w.chip(t("office.floor_met") if met else t("office.floor_not_met"),
                      ft.Colors.GREEN_50 if met else ft.Colors.ORANGE_50,
                      ft.Colors.GREEN_900 if met else ft.Colors.ORANGE_900))
    if rot.get("participants"):
        out.append(ft.Text(t("office.participants",
                             names=t("common.list_sep").join(ctx.insurer_name(c) for c in rot["participants"])),
                           size=14))
    office_user = ctx.role in OFFICE
    rows = []
    for o in rot.get("order") or []:
        code = o["insurer_code"]
        cells = [ctx.insurer_name(code), o.get("standing"), o.get("turns_used"), o.get("extra_surveys"),
                 o.get("forgiven"), t("common.yes") if o.get("participated_this_month") else t("common.no"),
                 t("office.on_leave") if o.get("on_leave") else "—"]
        if office_user:
            if o.get("on_leave"):
                cells.append(ft.TextButton(t("office.back_from_leave"), key=f"back-{code}", height=w.TOUCH,
                                           on_click=lambda e, c=code: act(shell, lambda: office.end_leave(c),
                                                                          "office.leave_ended", "rotation")))
            else:
                cells.append(ft.TextButton(t("office.put_on_leave"), key=f"leave-{code}", height=w.TOUCH,
                                           on_click=lambda e, c=code: _leave_dialog(shell, office, c)))
        rows.append(cells)
    headers = [t("office.insurer"), t("office.standing"), t("office.turns_used"), t("office.extra"),
               t("office.forgiven"), t("office.took_part"), t("office.leave")]
    if office_user:
        headers.append("")
    out += [w.section(t("office.order")), table(headers, rows, "rotation-order", (1, 2, 3, 4))]
    counts = history_counts(rot)
    out.append(w.section(t("office.history")))
    out.append(ft.Text("  ".join(f"{t('office.kind.' + k)} {n}" for k, n in sorted(counts.items())) or "—",
                       size=14, key="history-counts"))
    reasons = {a["id"]: a.get("decline_reason") for a in
               ((office.cached("assignments").data or {}).get("assignments", []) if office.cached("assignments") else [])}
    numbers = {r.id: r.report_no for r in office.store.claims.office_rows()}
    for h in list(reversed(rot.get("history") or []))[:60]:
        line = f"{ctx.format_time(h.get('at'))} · {ctx.insurer_name(h.get('insurer_code'))} · " \
               f"{t('office.kind.' + h.get('kind', 'assigned'))}"
        if h.get("claim_id"):
            line += f" · {numbers.get(h['claim_id'], h['claim_id'][:8])}"
        why = reasons.get(h.get("assignment_id")) if h.get("kind") == "declined" else None
        out.append(ft.Text(t("common.aside", text=line, aside=why) if why else line, size=14))
    return out


def _leave_dialog(shell, office: Office, code: str) -> None:
    t = shell.ctx.t
    now = china_now()
    start = w.field(t("office.leave_from"), "leave-from", now.strftime(WHEN))
    end = w.field(t("office.leave_to"), "leave-to", (now + dt.timedelta(days=7)).strftime(WHEN))
    note = w.field(t("office.leave_note"), "leave-note")

    def ok(form):
        try:
            a, b = parse_when(start.value), parse_when(end.value)
        except ValueError:
            form.fail(t("office.bad_time"))
            return
        act(shell, lambda: office.set_leave(code, a, b, note.value or ""), "office.leave_set", "rotation", form=form)
    w.form_dialog(shell, t("office.leave_title", name=shell.ctx.insurer_name(code)),
                  [start, end, note, ft.Text(t("office.time_hint"), size=13, color=ft.Colors.GREY_700)],
                  t("common.save"), ok, "leave")


# ------------------------------------------------------------------------------------ events

def events(shell, office: Office, item: str | None) -> list[ft.Control]:
    ctx = shell.ctx
    t = ctx.t
    snap = load(shell, "events", office.events)
    listing: list[ft.Control] = [stamp(shell, snap, "events")]
    if ctx.role in OFFICE:
        listing.append(w.big_button(t("office.declare_event"), "declare-event", lambda e: _declare_dialog(shell, office),
                                    icon=ft.Icons.ADD_ALERT))
    evs = list(reversed(snap.data)) if snap else []
    if snap and not evs:
        listing.append(ft.Text(t("office.events_none"), size=15, color=ft.Colors.GREY_700))
    for ev in evs:
        listing.append(card([
            ft.Text(ev["name"], size=16, weight=ft.FontWeight.W_600),
            ft.Text(f"{coverage(shell, ev['coverage'])} · "
                    f"{t('common.list_sep').join(ctx.township_name(c) for c in ev['township_codes'])}", size=14),
            ft.Text(t("office.event_line", when=ctx.format_time(ev["started_at"]), n=ev["claims"]), size=14),
        ], key=f"event-{ev['name']}", on_click=lambda e, i=ev["id"]: shell.go(f"/office/events/{i}"),
            color=ft.Colors.BLUE_50 if ev["id"] == item else ft.Colors.WHITE))
    if not item:
        return listing
    detail = _event_detail(shell, office, item)
    if shell.wide:
        return [ft.Row([ft.Container(ft.Column(listing, spacing=10), width=380),
                        ft.Container(ft.Column(detail, spacing=10), expand=True)],
                       vertical_alignment=ft.CrossAxisAlignment.START, spacing=16)]
    return detail + [ft.Divider(), *listing]


def _event_detail(shell, office: Office, event_id: str) -> list[ft.Control]:
    ctx = shell.ctx
    t = ctx.t
    snap = load(shell, f"event:{event_id}", lambda: office.event(event_id))
    out: list[ft.Control] = [stamp(shell, snap, f"event:{event_id}")]
    if snap is None:
        return out
    ev = snap.data
    keys = ("events", f"event:{event_id}", "assignments", "rotation")
    out.append(ft.Text(ev["name"], size=20, weight=ft.FontWeight.W_600, key="event-title"))
    out.append(ft.Text(t("office.event_claims", n=ev["claims"]), size=16, key="event-count"))
    out.append(table([t("home.filter.township"), t("office.count")],
                     [[ctx.township_name(c), n] for c, n in sorted((ev.get("by_township") or {}).items())],
                     "event-by-township", (1,)))
    out.append(table([t("home.filter.status"), t("office.count")],
                     [[status(shell, s), n] for s, n in sorted((ev.get("by_status") or {}).items())],
                     "event-by-status", (1,)))
    office_user = ctx.role in OFFICE
    if office_user:
        out.append(w.big_button(t("office.dispatch_event", n=ev["claims"]), "dispatch-event",
                                lambda e: act(shell, lambda: office.dispatch_event(event_id), "office.event_dispatched",
                                              *keys, ok_params=lambda r: {"n": len(r)}),
                                icon=ft.Icons.SEND, disabled=not ev["claims"]))
        box = w.field(t("office.add_by_report_no"), "event-add-report")

        def add(e):
            wanted = (box.value or "").strip().upper()
            row = next((r for r in office.store.claims.office_rows() if r.report_no.upper() == wanted), None)
            if row is None:
                shell.toast(t("office.no_such_claim", report_no=wanted or "—"), error=True)
                return
            act(shell, lambda: office.add_to_event(event_id, row.id), "office.event_added", *keys)
        out.append(ft.Row([ft.Container(box, expand=True),
                           ft.OutlinedButton(t("office.add"), key="event-add", height=w.TOUCH, on_click=add)]))
        if ev.get("coverage") == NATURAL_DISASTER:
            # Natural disasters go through the civil affairs bureau first (annex 1).
            from fieldapp.views import office_civil

            out += office_civil.part(shell, office, event_id)
    local = {r.id: r for r in office.store.claims.office_rows()}
    out.append(w.section(t("office.event_claim_list")))
    for cid in ev.get("claim_ids") or []:
        row = local.get(cid)
        if row is None:
            out.append(ft.Text(t("office.not_on_phone", id=cid[:8]), size=14))
            continue
        extra = []
        if office_user:
            extra.append(ft.TextButton(t("office.remove_from_event"), key=f"event-remove-{row.report_no}",
                                       height=w.TOUCH,
                                       on_click=lambda e, c=cid: act(shell, lambda: office.remove_from_event(event_id, c),
                                                                     "office.event_removed", *keys)))
        out.append(claim_line(shell, row, extra, key=f"event-claim-{row.report_no}"))
    return out


def _declare_dialog(shell, office: Office) -> None:
    ctx = shell.ctx
    t = ctx.t
    name = w.field(t("office.event_name"), "event-name")
    cover = ft.RadioGroup(value="natural_disaster", content=ft.Column(
        [ft.Radio(value=o.code, label=o.label) for o in reference.coverage_options(ctx.language)], spacing=0))
    towns = [ft.Checkbox(label=o.label, data=o.code, key=f"event-town-{o.code}")
             for o in reference.township_options()]
    start = w.field(t("office.event_start"), "event-start", china_now().strftime(WHEN))

    def ok(form):
        codes = [c.data for c in towns if c.value]
        if not (name.value or "").strip():
            form.fail(t("office.event_name_needed"))
            return
        if not codes:
            form.fail(t("office.event_towns_needed"))
            return
        try:
            started = parse_when(start.value)
        except ValueError:
            form.fail(t("office.bad_time"))
            return
        act(shell, lambda: office.declare_event(name.value.strip(), cover.value, codes, started),
            "office.event_declared", "events", form=form, ok_params=lambda r: {"n": r.get("claims", 0)})
    w.form_dialog(shell, t("office.declare_event"), [
        name, ft.Text(t("home.filter.coverage"), size=14, color=ft.Colors.GREY_700), cover,
        start, ft.Text(t("office.time_hint"), size=13, color=ft.Colors.GREY_700),
        ft.Text(t("office.event_towns"), size=14, color=ft.Colors.GREY_700),
        ft.Column(towns, spacing=0),
    ], t("office.declare"), ok, "declare")
