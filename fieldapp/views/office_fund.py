"""The work fund (工作经费) and the reports in the office console.

Fund: the quarter's disclosure (what every co-insurer sees: opening, income by insurer, spending by
purpose, each insurer's part), its entries, the year-end settlement and what the lead
recovers from the co-insurers. Office users book premiums and spending; a wrong entry is corrected
by a counter-entry with a reason, never edited. Reports: the quarterly review and the annual report
as PDF and XLSX to save or share, with their figures drawn here as charts."""
from __future__ import annotations

import datetime as dt

import flet as ft

from fieldapp.state.office import OFFICE, SPENDING_CATEGORIES, Office, today_in_china
from fieldapp.views import widgets as w
from fieldapp.views.office import act, card, figure, forget, load, money, stamp, table



def _period(shell) -> tuple[int, int, str]:
    """The year, quarter and report kind the section shows: pickers kept across redraws."""
    today = today_in_china()
    year = shell.screen_state.setdefault("office_year", today.year)
    quarter = shell.screen_state.setdefault("office_quarter", (today.month - 1) // 3 + 1)
    kind = shell.screen_state.setdefault("office_report_kind", "quarterly")
    return year, quarter, kind


def _pickers(shell, with_quarter: bool = True, kinds: bool = False) -> ft.Control:
    t = shell.ctx.t
    year, quarter, kind = _period(shell)

    def pick(name, cast=int):
        def handler(e):
            shell.screen_state[name] = cast(e.control.value)
            shell.render()
        return handler
    this_year = today_in_china().year
    controls: list[ft.Control] = []
    if kinds:
        controls.append(ft.Dropdown(key="report-kind", label=t("office.report_kind"), value=kind, width=200,
                                    options=[ft.DropdownOption(key="quarterly", text=t("office.report.quarterly")),
                                             ft.DropdownOption(key="annual", text=t("office.report.annual"))],
                                    on_select=pick("office_report_kind", str)))
    controls.append(ft.Dropdown(key="office-year", label=t("office.year"), value=str(year), width=140,
                                options=[ft.DropdownOption(key=str(y), text=str(y))
                                         for y in range(this_year - 3, this_year + 1)],
                                on_select=pick("office_year")))
    if with_quarter and not (kinds and kind == "annual"):
        controls.append(ft.Dropdown(key="office-quarter", label=t("office.quarter"), value=str(quarter), width=140,
                                    options=[ft.DropdownOption(key=str(q), text=t("office.quarter_n", n=q))
                                             for q in (1, 2, 3, 4)],
                                    on_select=pick("office_quarter")))
    return ft.Row(controls, wrap=True, spacing=8, run_spacing=8)


def bar_chart(pairs: list[tuple[str, float]], key: str, unit: str = "") -> ft.Control:
    """A bar per (label, value): drawn by flet-charts, labelled under each bar and in a legend
    line (a chart must also read without the picture)."""
    import flet_charts as fch

    top = max([v for _, v in pairs] + [1])
    groups = [fch.BarChartGroup(x=i, rods=[fch.BarChartRod(from_y=0, to_y=v, width=22, color=ft.Colors.BLUE_700,
                                                          tooltip=f"{label}: {v:g}{unit}", border_radius=3)])
              for i, (label, v) in enumerate(pairs)]
    chart = fch.BarChart(
        groups=groups, max_y=top * 1.15, interactive=True, height=220, key=key,
        border=ft.Border.all(1, ft.Colors.GREY_300),
        left_axis=fch.ChartAxis(label_size=48),
        bottom_axis=fch.ChartAxis(label_size=40, labels=[
            fch.ChartAxisLabel(value=i, label=ft.Container(ft.Text(label[:4], size=11), padding=ft.Padding.only(top=6)))
            for i, (label, _) in enumerate(pairs)]),
        horizontal_grid_lines=fch.ChartGridLines(color=ft.Colors.GREY_200, width=1),
    )
    legend = ft.Text("；".join(f"{label} {v:g}{unit}" for label, v in pairs), size=13, color=ft.Colors.GREY_800)
    return ft.Column([ft.Container(chart, padding=ft.Padding.only(top=8, right=12)), legend], spacing=4)


# -------------------------------------------------------------------------------------- fund

def fund(shell, office: Office, item: str | None) -> list[ft.Control]:
    ctx = shell.ctx
    t = ctx.t
    year, quarter, _ = _period(shell)
    out: list[ft.Control] = [_pickers(shell)]
    office_user = ctx.role in OFFICE
    keys = ("fund_entries", f"disclosure:{year}-{quarter}", f"settlement:{year}", "recoveries")
    if office_user:
        out.append(ft.Row([
            w.big_button(t("office.book_premium"), "book-premium", lambda e: _premium_dialog(shell, office, keys),
                         icon=ft.Icons.ADD_CARD),
            w.big_button(t("office.book_spending"), "book-spending", lambda e: _spending_dialog(shell, office, keys),
                         icon=ft.Icons.RECEIPT_LONG, filled=False)], spacing=8))
    snap = load(shell, f"disclosure:{year}-{quarter}", lambda: office.disclosure(year, quarter))
    out += [w.section(t("office.disclosure", year=year, quarter=quarter)), stamp(shell, snap, f"disclosure:{year}-{quarter}")]
    if snap:
        d = snap.data
        out.append(ft.Row([
            figure(t("office.opening"), money(shell, d["opening_fen"])),
            figure(t("office.income"), money(shell, d["income_fen"]), key="fund-income"),
            figure(t("office.spending"), money(shell, d["spending_fen"]), key="fund-spending"),
            figure(t("office.closing"), money(shell, d["closing_fen"]), key="fund-closing"),
        ], wrap=True, spacing=8, run_spacing=8))
        by_cat = d.get("spending_by_category") or {}
        out.append(table([t("office.purpose"), t("office.amount")],
                         [[t(f"office.category.{c}"), money(shell, by_cat.get(c, 0))] for c in SPENDING_CATEGORIES],
                         "fund-by-purpose", (1,)))
        if any(by_cat.values()):
            out.append(bar_chart([(t(f"office.category.{c}"), (by_cat.get(c) or 0) / 100) for c in SPENDING_CATEGORIES],
                                 "chart-fund", t("office.yuan_unit")))
        parts = d.get("insurer_parts") or {}
        out.append(table(
            [t("office.insurer"), t("office.contributed"), t("office.share_of_spending"), t("office.position")],
            [[ctx.insurer_name(code), money(shell, p.get("contributed_fen")), money(shell, p.get("spending_part_fen")),
              money(shell, p.get("year_position_fen"))] for code, p in sorted(parts.items())],
            "fund-by-insurer", (1, 2, 3)))
    entries = load(shell, "fund_entries", office.fund_entries)
    out += [w.section(t("office.entries")), stamp(shell, entries, "fund_entries")]
    start = dt.date(year, 3 * (quarter - 1) + 1, 1)
    end = dt.date(year + (quarter == 4), (3 * quarter) % 12 + 1, 1)
    rows = [e for e in (entries.data.get("entries", []) if entries else [])
            if start <= dt.date.fromisoformat(e["on"]) < end]
    queued = office.queued_spending() if office_user else []
    if len(queued) < shell.screen_state.get("office_queued", 0):
        forget(shell, *keys)  # sent since the last draw: the server's list now holds it
        entries = load(shell, "fund_entries", office.fund_entries)
    shell.screen_state["office_queued"] = len(queued)
    if entries and not rows and not queued:
        out.append(ft.Text(t("office.entries_none"), size=15, color=ft.Colors.GREY_700))
    for e in queued:
        out.append(card([
            ft.Row([ft.Text(f"{e['on']} · {t('office.category.' + e['category'])}", size=15,
                            weight=ft.FontWeight.W_600, expand=True),
                    ft.Text(money(shell, e["amount_fen"]), size=15, weight=ft.FontWeight.W_600)]),
            *([ft.Text(e["note"], size=14, color=ft.Colors.GREY_800)] if e.get("note") else []),
            w.chip(t("office.queued"), ft.Colors.ORANGE_50, ft.Colors.ORANGE_900),
        ], key=f"queued-{e['id'][:8]}"))
    for e in rows:
        out.append(_entry_card(shell, office, e, office_user, keys))
    settle = load(shell, f"settlement:{year}", lambda: office.settlement(year))
    out += [w.section(t("office.settlement", year=year)), stamp(shell, settle, f"settlement:{year}")]
    if settle:
        items = ((settle.data or {}).get("settlement") or {}).items()
        out.append(table([t("office.insurer"), t("office.settlement_amount")],
                         [[ctx.insurer_name(code), _settle_text(shell, fen)] for code, fen in sorted(items)],
                         "fund-settlement", (1,)))
    rec = load(shell, "recoveries", office.recoveries)
    out += [w.section(t("office.recoveries")), stamp(shell, rec, "recoveries")]
    if rec:
        out += _recoveries(shell, office, rec.data, office_user)
    return out


def _recoveries(shell, office: Office, data: dict, office_user: bool) -> list[ft.Control]:
    """What the lead paid for all and recovers: owed, demanded, received, outstanding per insurer;
    demands and receipts booked here; a wrong one reversed with a reason."""
    ctx = shell.ctx
    t = ctx.t
    out: list[ft.Control] = [ft.Text(t("office.recoveries_claims", n=len(data.get("claims") or [])), size=14)]
    rows = []
    for code, r in sorted((data.get("by_insurer") or {}).items()):
        cells = [ctx.insurer_name(code), money(shell, r["owed_fen"]), money(shell, r["demanded_fen"]),
                 money(shell, r["received_fen"]), money(shell, r["outstanding_fen"])]
        if office_user:
            cells.append(ft.Row([
                ft.TextButton(t("office.demand"), key=f"demand-{code}", height=w.TOUCH,
                              on_click=lambda e, c=code: _recovery_dialog(shell, office, c, "demands")),
                ft.TextButton(t("office.receive"), key=f"receive-{code}", height=w.TOUCH,
                              on_click=lambda e, c=code: _recovery_dialog(shell, office, c, "receipts")),
            ], spacing=0))
        rows.append(cells)
    headers = [t("office.insurer"), t("office.owed"), t("office.demanded"), t("office.received"),
               t("office.outstanding")] + ([""] if office_user else [])
    out.append(table(headers, rows, "fund-recoveries", (1, 2, 3, 4)))
    for e in (data.get("entries") or [])[:30]:
        lines: list[ft.Control] = [ft.Row([
            ft.Text(f"{e['on']} · {ctx.insurer_name(e['insurer_code'])} · {t('office.recovery.' + e['kind'])}",
                    size=15, expand=True),
            ft.Text(money(shell, e["amount_fen"]), size=15, weight=ft.FontWeight.W_600)])]
        if e.get("note"):
            lines.append(ft.Text(e["note"], size=14, color=ft.Colors.GREY_800))
        if e.get("reason"):
            lines.append(ft.Text(t("office.correction_of", reason=e["reason"]), size=13, color=ft.Colors.ORANGE_900))
        if e.get("corrected_by"):
            lines.append(w.chip(t("office.corrected"), ft.Colors.ORANGE_50, ft.Colors.ORANGE_900))
        elif office_user and e["kind"] != "correction":
            lines.append(ft.Row([ft.TextButton(t("office.correct"), key=f"recovery-correct-{e['id'][:8]}",
                                               height=w.TOUCH,
                                               on_click=lambda ev, e=e: _recovery_correct_dialog(shell, office, e))],
                                alignment=ft.MainAxisAlignment.END))
        out.append(card(lines, key=f"recovery-{e['id'][:8]}"))
    return out


def _recovery_dialog(shell, office: Office, code: str, kind: str) -> None:
    t = shell.ctx.t
    amount = w.field(t("office.amount_yuan"), "recovery-amount", keyboard_type=ft.KeyboardType.NUMBER)
    on = w.field(t("office.recovery_on"), "recovery-on", today_in_china().isoformat())
    note = w.field(t("office.spending_note"), "recovery-note")

    def ok(form):
        typed = _amount_and_day(shell, form, amount, on)
        if typed is None:
            return
        fen, day = typed
        act(shell, lambda: office.record_recovery(code, kind, fen, day, note.value or ""),
            f"office.recovery_saved.{kind}", "recoveries", form=form)
    w.form_dialog(shell, t(f"office.recovery_title.{kind}", name=shell.ctx.insurer_name(code)),
                  [amount, on, note], t("common.save"), ok, "recovery")


def _recovery_correct_dialog(shell, office: Office, e: dict) -> None:
    t = shell.ctx.t
    reason = w.field(t("office.correct_reason"), "recovery-correct-reason", multiline=True)

    def ok(form):
        if not (reason.value or "").strip():
            form.fail(t("office.reason_needed"))
            return
        act(shell, lambda: office.correct_recovery(e["id"], reason.value.strip()), "office.corrected_ok",
            "recoveries", form=form)
    w.form_dialog(shell, t("office.correct_title", amount=money(shell, e["amount_fen"]), on=e["on"]),
                  [ft.Text(t("office.recovery_correct_hint"), size=13, color=ft.Colors.GREY_700), reason],
                  t("office.correct"), ok, "recovery-correct")


def _settle_text(shell, fen: int) -> str:
    t = shell.ctx.t
    if fen > 0:
        return t("office.refund", amount=money(shell, fen))
    if fen < 0:
        return t("office.top_up", amount=money(shell, -fen))
    return money(shell, 0)


def _entry_card(shell, office: Office, e: dict, office_user: bool, keys) -> ft.Control:
    ctx = shell.ctx
    t = ctx.t
    what = t(f"office.category.{e['category']}") if e.get("category") else t(f"office.entry_kind.{e['kind']}")
    lines: list[ft.Control] = [
        ft.Row([ft.Text(f"{e['on']} · {what}", size=15, weight=ft.FontWeight.W_600, expand=True),
                ft.Text(money(shell, e["amount_fen"]), size=15, weight=ft.FontWeight.W_600,
                        color=ft.Colors.RED_800 if e["amount_fen"] < 0 else None)]),
    ]
    if e.get("insurer_code"):
        lines.append(ft.Text(ctx.insurer_name(e["insurer_code"]), size=14))
    if e.get("note"):
        lines.append(ft.Text(e["note"], size=14, color=ft.Colors.GREY_800))
    if e.get("receipt_sha256"):
        lines.append(ft.Text(t("office.has_receipt"), size=13, color=ft.Colors.GREY_700))
    if e.get("corrects"):
        lines.append(ft.Text(t("office.correction_of", reason=e.get("reason") or ""), size=13,
                             color=ft.Colors.ORANGE_900))
    if e.get("corrected_by"):
        lines.append(w.chip(t("office.corrected"), ft.Colors.ORANGE_50, ft.Colors.ORANGE_900))
    elif office_user and not e.get("corrects") and e["kind"] != "contribution":
        lines.append(ft.Row([ft.TextButton(t("office.correct"), key=f"correct-{e['id'][:8]}", height=w.TOUCH,
                                           on_click=lambda ev: _correct_dialog(shell, office, e, keys))],
                            alignment=ft.MainAxisAlignment.END))
    return card(lines, key=f"entry-{e['id'][:8]}")


def _amount_and_day(shell, form, amount: ft.TextField, day: ft.TextField) -> tuple[int, dt.date] | None:
    """The yuan and the date typed into a form, or None once the form says what is wrong."""
    fen = w.fen_of(shell, amount)
    if fen is None:
        return None
    try:
        return fen, dt.date.fromisoformat((day.value or "").strip())
    except ValueError:
        form.fail(shell.ctx.t("office.bad_time"))
        return None


def _premium_dialog(shell, office: Office, keys) -> None:
    ctx = shell.ctx
    t = ctx.t
    insurers = ctx.store.settings.get("insurers", []) or []
    who = ft.RadioGroup(value=insurers[0]["code"] if insurers else None, content=ft.Column(
        [ft.Radio(value=r["code"], label=r["name"]) for r in insurers], spacing=0))
    year = w.field(t("office.policy_year"), "premium-year", str(today_in_china().year))
    amount = w.field(t("office.premium_ex_tax"), "premium-amount", keyboard_type=ft.KeyboardType.NUMBER)
    received = w.field(t("office.received_on"), "premium-received", today_in_china().isoformat())

    def ok(form):
        fen = w.fen_of(shell, amount)
        if fen is None:
            return
        try:
            y, on = int(year.value), dt.date.fromisoformat((received.value or "").strip())
        except ValueError:
            form.fail(t("office.bad_time"))
            return
        if not who.value:
            form.fail(t("office.pick_insurer"))
            return
        act(shell, lambda: office.book_premium(y, who.value, fen, on), "office.premium_booked", *keys, form=form)
    w.form_dialog(shell, t("office.book_premium"),
                  [ft.Text(t("office.insurer"), size=14, color=ft.Colors.GREY_700), who, year, amount, received,
                   ft.Text(t("office.premium_hint"), size=13, color=ft.Colors.GREY_700)],
                  t("common.save"), ok, "premium")


def _spending_dialog(shell, office: Office, keys) -> None:
    t = shell.ctx.t
    cat = ft.RadioGroup(value="publicity", content=ft.Column(
        [ft.Radio(value=c, label=t(f"office.category.{c}")) for c in SPENDING_CATEGORIES], spacing=0))
    on = w.field(t("office.spent_on"), "spending-on", today_in_china().isoformat())
    amount = w.field(t("office.amount_yuan"), "spending-amount", keyboard_type=ft.KeyboardType.NUMBER)
    note = w.field(t("office.spending_note"), "spending-note")

    def ok(form):
        typed = _amount_and_day(shell, form, amount, on)
        if typed is None:
            return
        fen, day = typed
        online = bool(shell.ctx.sync_status().online)
        act(shell, lambda: office.book_spending(day, fen, cat.value, note.value or ""),
            "office.spending_sending" if online else "office.spending_queued", form=form)
    w.form_dialog(shell, t("office.book_spending"),
                  [ft.Text(t("office.purpose"), size=14, color=ft.Colors.GREY_700), cat, on, amount, note],
                  t("common.save"), ok, "spending")


def _correct_dialog(shell, office: Office, e: dict, keys) -> None:
    t = shell.ctx.t
    reason = w.field(t("office.correct_reason"), "correct-reason", multiline=True)
    amount = w.field(t("office.correct_amount"), "correct-amount", keyboard_type=ft.KeyboardType.NUMBER)

    def ok(form):
        if not (reason.value or "").strip():
            form.fail(t("office.reason_needed"))
            return
        fen = w.fen_of(shell, amount, required=False)
        if fen is None and (amount.value or "").strip():
            return
        act(shell, lambda: office.correct_entry(e["id"], reason.value.strip(), fen), "office.corrected_ok",
            *keys, form=form)
    w.form_dialog(shell, t("office.correct_title", amount=money(shell, e["amount_fen"]), on=e["on"]),
                  [ft.Text(t("office.correct_hint"), size=13, color=ft.Colors.GREY_700), reason, amount],
                  t("office.correct"), ok, "correct")


# ----------------------------------------------------------------------------------- reports

def reports(shell, office: Office, item: str | None) -> list[ft.Control]:
    ctx = shell.ctx
    t = ctx.t
    year, quarter, kind = _period(shell)
    q = quarter if kind == "quarterly" else None
    key = f"report:{kind}-{year}-{q or 0}"
    out: list[ft.Control] = [_pickers(shell, kinds=True)]

    def download(fmt):
        def handler(e):
            try:
                name, data = office.report_file(kind, year, q, fmt)
            except Exception as exc:  # NeedsServer: said in the toast; nothing else reaches here
                shell.toast(exc.message(ctx.language) if hasattr(exc, "message") else str(exc), error=True)
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
    out.append(ft.Row([
        w.big_button(t("office.download_pdf"), "report-pdf", download("pdf"), icon=ft.Icons.PICTURE_AS_PDF),
        w.big_button(t("office.download_xlsx"), "report-xlsx", download("xlsx"), icon=ft.Icons.TABLE_VIEW,
                     filled=False)], spacing=8))
    snap = load(shell, key, lambda: office.report(kind, year, q))
    out.append(stamp(shell, snap, key))
    if snap is None:
        return out
    r = snap.data
    out.append(ft.Text(r.get("title") or "", size=18, weight=ft.FontWeight.W_600, key="report-title"))
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
                bar_chart([(g["name"], g["count"]) for g in by_town[:12]], "chart-township", t("office.claims_unit"))]
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
                bar_chart([(i["name"], i["total"]) for i in rot], "chart-participation", t("office.surveys_unit"))]
    return out
