"""The reports in the office console: the quarterly review and the annual report as PDF and XLSX to
save or share, their figures drawn here, each month's co-insurer floor, and what people write into
them: the annual report's four written parts (the lead writes and submits them, the Center reviews)
and the quarterly review meeting's minutes and measures."""
from __future__ import annotations

import datetime as dt

import flet as ft

from fieldapp.state.office import Office
from fieldapp.state.office_reports import (
    SECTION_KEYS,
    ReportRecords,
    floor_months,
    measures_from_text,
    narrative_acts,
    person_name,
)
from fieldapp.views import widgets as w
from fieldapp.views.office_parts import act, card, figure, load, money, offer_download, stamp, table
from fieldapp.views.office_fund import _period, _pickers, bar_chart

FLOOR_COLOURS = {"met": ft.Colors.GREEN_800, "not_met": ft.Colors.RED_800, "in_progress": ft.Colors.ORANGE_900,
                 "not_started": ft.Colors.GREY_700}


def reports(shell, office: Office, item: str | None) -> list[ft.Control]:
    ctx = shell.ctx
    t = ctx.t
    year, quarter, kind = _period(shell)
    q = quarter if kind == "quarterly" else None
    key = f"report:{kind}-{year}-{q or 0}"
    out: list[ft.Control] = [_pickers(shell, kinds=True)]

    def download(fmt):
        return offer_download(shell, lambda: office.report_file(kind, year, q, fmt))
    out.append(ft.Row([
        w.big_button(t("office.download_pdf"), "report-pdf", download("pdf"), icon=ft.Icons.PICTURE_AS_PDF),
        w.big_button(t("office.download_xlsx"), "report-xlsx", download("xlsx"), icon=ft.Icons.TABLE_VIEW,
                     filled=False)], spacing=8))
    snap = load(shell, key, lambda: office.report(kind, year, q))
    out.append(stamp(shell, snap, key))
    records = ReportRecords(office)
    if snap is not None:
        out += _figures(shell, snap.data)
    if kind == "annual":
        out += _narrative(shell, records, year, key)
    else:
        out += _minutes(shell, records, year, quarter, key)
    return out


def _figures(shell, r: dict) -> list[ft.Control]:
    t = shell.ctx.t
    out: list[ft.Control] = [ft.Text(r.get("title") or "", size=18, weight=ft.FontWeight.W_600, key="report-title")]
    if r.get("demo"):
        out.append(w.chip(t("office.demo_data"), ft.Colors.AMBER_100, ft.Colors.BROWN_800))
    claims = r.get("claims") or {}
    amounts = r.get("amounts") or {}
    out.append(ft.Row([
        figure(t("office.total_claims"), str(claims.get("total", 0)), key="report-total"),
        figure(t("office.claimed"), money(shell, amounts.get("claimed_fen"))),
        figure(t("office.paid"), money(shell, amounts.get("paid_fen"))),
    ], wrap=True, spacing=8, run_spacing=8))
    by_town = claims.get("by_township") or []
    if by_town:
        out += [w.section(t("office.by_township")),
                bar_chart([(g["name"], g["count"]) for g in by_town[:12]], "chart-township", t("office.claims_unit"),
                          sep=t("common.clause_sep"))]
    by_cov = claims.get("by_coverage") or []
    if by_cov:
        out += [w.section(t("office.by_coverage")),
                table([t("home.filter.coverage"), t("office.count"), t("office.claimed"), t("office.paid")],
                      [[g["name"], g["count"], money(shell, g["claimed_fen"]), money(shell, g["paid_fen"])]
                       for g in by_cov], "report-by-coverage", (1, 2, 3))]
    durations = r.get("durations_days") or {}
    if durations:
        out += [w.section(t("office.durations")),
                table([t("office.measure"), t("office.measured"), t("office.mean_days"), t("office.max_days")],
                      [[d.get("label"), d.get("measured"), d.get("mean") if d.get("mean") is not None else "—",
                        d.get("max") if d.get("max") is not None else "—"] for d in durations.values()],
                      "report-durations", (1, 2, 3))]
    rot = (r.get("rotation") or {}).get("insurers") or []
    if rot:
        out += [w.section(t("office.participation")),
                bar_chart([(i["name"], i["total"]) for i in rot], "chart-participation", t("office.surveys_unit"),
                          sep=t("common.clause_sep"))]
    months = floor_months(r)
    if months:
        out += [w.section(t("report_record.floor", n=months[0].required)),
                table([t("report_record.floor_month"), t("report_record.floor_count"), t("report_record.floor_status"),
                       t("report_record.floor_names")],
                      [[m.month, m.count,
                        ft.Text(t(f"report_record.floor.{m.status}"), size=14, color=FLOOR_COLOURS[m.status],
                                key=f"floor-{m.month}"),
                        t("common.list_sep").join(m.names) or "—"]
                       for m in months], "report-floor", (1,))]
    return out


def _when(shell, iso: str | None) -> str:
    return shell.ctx.format_time(iso) if iso else "—"


def _narrative(shell, records: ReportRecords, year: int, report_key: str) -> list[ft.Control]:
    t = shell.ctx.t
    key = f"narrative:{year}"
    snap = load(shell, key, lambda: records.narrative(year))
    out: list[ft.Control] = [w.section(t("report_record.narrative")), stamp(shell, snap, key)]
    if snap is None:
        return out
    n = snap.data
    can = narrative_acts(records.role, n)
    colours = {"draft": (ft.Colors.GREY_200, ft.Colors.GREY_900), "submitted": (ft.Colors.BLUE_50, ft.Colors.BLUE_900),
               "accepted": (ft.Colors.GREEN_50, ft.Colors.GREEN_900), "returned": (ft.Colors.ORANGE_50, ft.Colors.ORANGE_900)}
    out.append(ft.Row([w.chip(t(f"report_record.state.{n['state']}"), *colours[n["state"]])], key="narrative-state"))
    sub = n.get("submission")
    lines: list[str] = []
    if sub:
        lines.append(t("report_record.submitted_line", name=person_name(sub.get("submitted_by")),
                       when=_when(shell, sub.get("submitted_at"))))
        if sub.get("withdrawn_at"):
            lines.append(t("report_record.withdrawn_line", name=person_name(sub.get("withdrawn_by")),
                           when=_when(shell, sub.get("withdrawn_at"))))
        if sub.get("reviewed_at"):
            lines.append(t("report_record.reviewed_line", name=person_name(sub.get("reviewed_by")),
                           when=_when(shell, sub.get("reviewed_at")),
                           outcome=t(f"report_record.outcome.{sub.get('outcome')}")))
            if sub.get("review_comment"):
                lines.append(t("report_record.comment_line", comment=sub["review_comment"]))
    if n.get("updated_at"):
        lines.append(t("report_record.updated_line", name=person_name(n.get("updated_by")),
                       when=_when(shell, n.get("updated_at"))))
    out += [ft.Text(line, size=14, color=ft.Colors.GREY_800) for line in lines]
    if n["state"] == "accepted":
        out.append(ft.Text(t("report_record.accepted_hint"), size=14, color=ft.Colors.GREEN_900))
    elif n.get("frozen"):
        out.append(ft.Text(t("report_record.frozen_hint"), size=14, color=ft.Colors.BLUE_900))
    elif not can.edit:
        out.append(ft.Text(t("report_record.read_only_hint"), size=14, color=ft.Colors.GREY_700))
    texts = {s["key"]: s.get("text") or "" for s in n.get("sections") or []}
    fields: dict[str, ft.TextField] = {}
    for k in SECTION_KEYS:
        fields[k] = ft.TextField(label=t(f"report_record.section.{k}"), key=f"narrative-{k}", value=texts.get(k, ""),
                                 multiline=True, min_lines=3, max_lines=12, text_size=15, read_only=not can.edit,
                                 max_length=20_000)
        out.append(fields[k])
    keys = (key, report_key)
    buttons: list[ft.Control] = []
    if can.edit:
        buttons.append(w.big_button(t("report_record.save"), "narrative-save", lambda e: act(
            shell, lambda: records.save_narrative(year, n["revision"], {k: f.value or "" for k, f in fields.items()}),
            "report_record.saved", *keys), icon=ft.Icons.SAVE))
    if can.submit:
        buttons.append(w.big_button(t("report_record.submit"), "narrative-submit",
                                    lambda e: _submit_dialog(shell, records, year, n, fields, keys),
                                    icon=ft.Icons.SEND, filled=False))
    if can.withdraw:
        buttons.append(w.big_button(t("report_record.withdraw"), "narrative-withdraw", lambda e: act(
            shell, lambda: records.withdraw(year), "report_record.withdrawn", *keys), icon=ft.Icons.UNDO,
            filled=False))
    if can.review:
        buttons.append(w.big_button(t("report_record.review"), "narrative-review",
                                    lambda e: _review_dialog(shell, records, year, keys), icon=ft.Icons.FACT_CHECK))
    if buttons:
        out.append(ft.Row(buttons, wrap=True, spacing=8, run_spacing=8))
    return out


def _submit_dialog(shell, records: ReportRecords, year: int, n: dict, fields: dict, keys) -> None:
    t = shell.ctx.t

    def ok(form):
        def run():
            revision = n["revision"]
            typed = {k: f.value or "" for k, f in fields.items()}
            if typed != {s["key"]: s.get("text") or "" for s in n.get("sections") or []}:
                # what is on screen is what goes to the Center: saved first, then submitted
                revision = records.save_narrative(year, revision, typed)["revision"]
            return records.submit(year, revision)
        act(shell, run, "report_record.submitted", *keys, form=form)
    w.form_dialog(shell, t("report_record.submit"), [ft.Text(t("report_record.submit_confirm"), size=15)],
                  t("report_record.submit"), ok, "narrative-submit-form")


def _review_dialog(shell, records: ReportRecords, year: int, keys) -> None:
    t = shell.ctx.t
    outcome = ft.RadioGroup(value="accepted", key="review-outcome", content=ft.Column([
        ft.Radio(value="accepted", label=t("report_record.outcome.accepted"), key="review-accepted"),
        ft.Radio(value="returned", label=t("report_record.outcome.returned"), key="review-returned")]))
    comment = w.field(t("report_record.comment"), "review-comment", multiline=True, min_lines=2, max_length=5000)

    def ok(form):
        if outcome.value == "returned" and not (comment.value or "").strip():
            form.fail(t("report_record.comment_required"))
            return
        act(shell, lambda: records.review(year, outcome.value, comment.value or ""), "report_record.reviewed",
            *keys, form=form)
    w.form_dialog(shell, t("report_record.review"), [ft.Text(t("report_record.outcome"), size=14), outcome, comment],
                  t("common.save"), ok, "narrative-review-form")


def _minutes(shell, records: ReportRecords, year: int, quarter: int, report_key: str) -> list[ft.Control]:
    t = shell.ctx.t
    key = f"minutes:{year}-{quarter}"
    snap = load(shell, key, lambda: records.minutes(year, quarter))
    out: list[ft.Control] = [w.section(t("report_record.minutes")), stamp(shell, snap, key)]
    if snap is None:
        return out
    m = snap.data
    if m.get("updated_at"):
        out.append(ft.Text(t("report_record.updated_line", name=person_name(m.get("updated_by")),
                             when=_when(shell, m.get("updated_at"))), size=14, color=ft.Colors.GREY_800))
    held_on = w.field(t("report_record.held_on"), "minutes-held-on", m.get("held_on") or "", width=240)
    attendees = w.field(t("report_record.attendees"), "minutes-attendees", m.get("attendees") or "", max_length=2000)
    text = ft.TextField(label=t("report_record.minutes_text"), key="minutes-text", value=m.get("minutes") or "",
                        multiline=True, min_lines=4, max_lines=14, text_size=15, max_length=20_000)
    measures = ft.TextField(label=t("report_record.measures"), key="minutes-measures",
                            value="\n".join(f"{i}. {x}" for i, x in enumerate(m.get("measures") or [], 1)),
                            multiline=True, min_lines=3, max_lines=12, text_size=15)

    def save(e):
        day = None
        if (held_on.value or "").strip():
            try:
                day = dt.date.fromisoformat(held_on.value.strip())
            except ValueError:
                held_on.error = t("report_record.bad_date")
                shell.page.update()
                return
        act(shell, lambda: records.save_minutes(year, quarter, m["revision"], held_on=day,
                                                attendees=attendees.value or "", minutes=text.value or "",
                                                measures=measures_from_text(measures.value or "")),
            "report_record.minutes_saved", key, report_key)
    out += [card([held_on, attendees, text, measures], key="minutes-card"),
            ft.Row([w.big_button(t("report_record.save_minutes"), "minutes-save", save, icon=ft.Icons.SAVE)])]
    return out
