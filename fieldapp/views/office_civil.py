"""The civil-affairs step on a natural disaster's event screen (office roles): which townships
reported the damage to the civil affairs bureau and when, whether the bureau's district-wide
figures reached the lead insurer and when, the statistics of the event's claims by township and
village beside those figures, the export for the bureau (PDF, Excel) and the forms that record a
township's report or the bureau's figures. Data and acts: fieldapp.state.office."""
from __future__ import annotations

import flet as ft

from fieldapp.state import reference
from fieldapp.state.office import CLAIM_MEASURES, DISASTER_FIGURES, Office
from fieldapp.views import widgets as w
from fieldapp.views.office_parts import act, card, china_now, load, offer_download, parse_when, stamp, table


def part(shell, office: Office, event_id: str) -> list[ft.Control]:
    ctx = shell.ctx
    t = ctx.t
    key = f"civil:{event_id}"
    keys = (key,)
    snap = load(shell, key, lambda: office.civil_affairs(event_id))
    out: list[ft.Control] = [w.section(t("office.civil.title")),
                             ft.Text(t("office.civil.flow"), size=13, color=ft.Colors.GREY_700),
                             stamp(shell, snap, key)]
    out.append(ft.Row([
        w.big_button(t("office.civil.record_bureau"), "civil-record-bureau",
                     lambda e: _figures_dialog(shell, office, event_id, None, keys), icon=ft.Icons.INBOX),
        w.big_button(t("office.civil.record_town"), "civil-record-town",
                     lambda e: _figures_dialog(shell, office, event_id, snap.data if snap else None, keys,
                                               township=True),
                     icon=ft.Icons.OUTBOX, filled=False),
    ], spacing=8))
    if snap is None:
        return out
    data = snap.data
    out += _state(shell, data)
    out += _statistics(shell, data)
    out += _comparison(shell, data)
    out.append(ft.Row([
        w.big_button(t("office.download_pdf"), "civil-pdf", _download(shell, office, event_id, "pdf"),
                     icon=ft.Icons.PICTURE_AS_PDF),
        w.big_button(t("office.download_xlsx"), "civil-xlsx", _download(shell, office, event_id, "xlsx"),
                     icon=ft.Icons.TABLE_VIEW, filled=False),
    ], spacing=8))
    return out


def _state(shell, data: dict) -> list[ft.Control]:
    ctx = shell.ctx
    t = ctx.t
    towns = data.get("townships") or []
    bureau = data.get("bureau") or {}
    latest = bureau.get("latest")
    if latest:
        line = ft.Text(t("office.civil.bureau_received", when=ctx.format_time(latest["received_at"])), size=15,
                       weight=ft.FontWeight.W_600, color=ft.Colors.GREEN_900, key="civil-bureau-state")
    else:
        line = ft.Text(t("office.civil.bureau_not_yet"), size=15, weight=ft.FontWeight.W_600,
                       color=ft.Colors.ORANGE_900, key="civil-bureau-state")
    chips = []
    for town in towns:
        reported = town.get("latest")
        text = (t("office.civil.town_reported", when=ctx.format_time(reported["reported_at"])) if reported
                else t("office.civil.town_not_yet"))
        colors = (ft.Colors.GREEN_50, ft.Colors.GREEN_900) if reported else (ft.Colors.ORANGE_50, ft.Colors.ORANGE_900)
        chips.append(ft.Container(w.chip(f"{ctx.township_name(town['code'])} · {text}", *colors),
                                  key=f"civil-town-{town['code']}"))
    return [card([line,
                  ft.Text(t("office.civil.towns_reported", n=data.get("townships_reported", 0), total=len(towns)),
                          size=15, key="civil-towns-state"),
                  ft.Row(chips, wrap=True, spacing=6, run_spacing=6)], key="civil-state")]


def _statistics(shell, data: dict) -> list[ft.Control]:
    ctx = shell.ctx
    t = ctx.t
    stats = data.get("statistics") or {}
    rows = []
    for town in stats.get("by_township") or []:
        name = ctx.township_name(town["code"])
        rows.append([ft.Text(name, size=14, weight=ft.FontWeight.W_600),
                     ft.Text(t("office.civil.subtotal"), size=14, weight=ft.FontWeight.W_600),
                     town["claims"], *[town[m] for m in CLAIM_MEASURES]])
        for v in town.get("villages") or []:
            rows.append(["", v.get("name") or t("office.civil.no_village"), v["claims"],
                         *[v[m] for m in CLAIM_MEASURES]])
    total = stats.get("total") or {}
    rows.append([ft.Text(t("office.civil.total"), size=14, weight=ft.FontWeight.W_600), "",
                 total.get("claims", 0), *[total.get(m, 0) for m in CLAIM_MEASURES]])
    out = [w.section(t("office.civil.statistics")),
           table([t("home.filter.township"), t("office.civil.village"), t("office.count"),
                  *[t(f"office.civil.figure.{m}") for m in CLAIM_MEASURES]], rows, "civil-statistics",
                 (2, 3, 4, 5))]
    left = sum((stats.get("left_out") or {}).values())
    if left:
        out.append(ft.Text(t("office.civil.left_out", n=left), size=13, color=ft.Colors.GREY_700))
    return out


def _shown(value) -> str:  # noqa: ANN001
    return "—" if value is None else str(value)


def _difference(value) -> ft.Control:  # noqa: ANN001
    if value is None:
        return ft.Text("—", size=14)
    text = f"+{value}" if value > 0 else str(value)
    return ft.Text(text, size=14, weight=ft.FontWeight.W_600,
                   color=ft.Colors.GREY_800 if value == 0 else ft.Colors.RED_800)


def _comparison(shell, data: dict) -> list[ft.Control]:
    t = shell.ctx.t
    rows = [[t(f"office.civil.figure.{c['figure']}"), _shown(c.get("claims")), _shown(c.get("townships")),
             _shown(c.get("bureau")), _difference(c.get("difference"))] for c in data.get("comparison") or []]
    return [w.section(t("office.civil.comparison")),
            table([t("office.civil.figure"), t("office.civil.source_claims"), t("office.civil.source_towns"),
                   t("office.civil.source_bureau"), t("office.civil.difference")], rows, "civil-comparison",
                  (1, 2, 3, 4)),
            ft.Text(t("office.civil.two_sources"), size=13, color=ft.Colors.GREY_700)]


def _download(shell, office: Office, event_id: str, fmt: str):
    return offer_download(shell, lambda: office.civil_affairs_file(event_id, fmt))


def _figures_dialog(shell, office: Office, event_id: str, data: dict | None, keys: tuple[str, ...],
                    township: bool = False) -> None:
    """Record the bureau's figures (when they were received) or a township's report (when it
    reported), with the counts. The server checks them again and says what it refuses."""
    ctx = shell.ctx
    t = ctx.t
    when = w.field(t("office.civil.reported_at" if township else "office.civil.received_at"), "civil-when",
                   china_now().strftime("%Y-%m-%d %H:%M"))
    counts = {f: w.field(t(f"office.civil.figure.{f}"), f"civil-{f}", "0", keyboard_type=ft.KeyboardType.NUMBER)
              for f in DISASTER_FIGURES}
    note = w.field(t("office.civil.note"), "civil-note", multiline=True, min_lines=1, max_lines=3)
    controls: list[ft.Control] = []
    town = None
    if township:
        listed = [c["code"] for c in (data or {}).get("townships") or []]
        options = [o for o in reference.township_options() if o.code in listed] or reference.township_options()
        town = w.dropdown(label=t("home.filter.township"), key="civil-town-pick", value=None,
                           options=[ft.DropdownOption(key=o.code, text=o.label) for o in options])
        controls.append(town)
    controls += [when, ft.Text(t("office.time_hint"), size=13, color=ft.Colors.GREY_700), *counts.values(), note]

    def ok(form):
        if town is not None and not town.value:
            form.fail(t("office.civil.pick_town"))
            return
        try:
            moment = parse_when(when.value)
        except ValueError:
            form.fail(t("office.bad_time"))
            return
        figures = {}
        for f, box in counts.items():
            text = (box.value or "").strip()
            if not (text.isascii() and text.isdigit()):
                form.fail(t("office.civil.bad_figure", label=t(f"office.civil.figure.{f}")))
                return
            figures[f] = int(text)
        if figures["collapsed_households"] > figures["damaged_households"]:
            form.fail(t("office.civil.collapsed_too_many"))
            return
        text = (note.value or "").strip()
        if town is not None:
            act(shell, lambda: office.record_township_report(event_id, town.value, moment, figures, text),
                "office.civil.town_recorded", *keys, form=form)
        else:
            act(shell, lambda: office.record_bureau_figures(event_id, moment, figures, text),
                "office.civil.bureau_recorded", *keys, form=form)
    title = t("office.civil.record_town" if township else "office.civil.record_bureau")
    w.form_dialog(shell, title, controls, t("common.save"), ok, "civil-report" if township else "civil-bureau")
