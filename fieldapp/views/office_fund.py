"""The work fund (工作经费) in the office console.

Fund: the quarter's disclosure (what every co-insurer sees: opening, income by insurer, spending by
purpose, each insurer's part), its entries, the year-end settlement and what the lead
recovers from the co-insurers. The lead's adjusters book premiums and spending (a wrong entry is
corrected by a counter-entry with a reason, never edited) and propose the year's budget; the
coordinator supervises: it reads the fund and confirms the budget. The pool's members comment on a
quarter's disclosure. The reports screen (office_reports) shares the period pickers and the bar
chart defined here."""
from __future__ import annotations

import datetime as dt

import flet as ft

from claimcore.localtime import format_china_time

from fieldapp.state.office import OFFICE, SPENDING_CATEGORIES, Office, today_in_china
from fieldapp.views import widgets as w
from fieldapp.views.office_parts import act, card, figure, forget, load, money, stamp, table



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
        controls.append(w.dropdown(key="report-kind", label=t("office.report_kind"), value=kind, width=200,
                                    options=[ft.DropdownOption(key="quarterly", text=t("office.report.quarterly")),
                                             ft.DropdownOption(key="annual", text=t("office.report.annual"))],
                                    on_select=pick("office_report_kind", str)))
    controls.append(w.dropdown(key="office-year", label=t("office.year"), value=str(year), width=140,
                                options=[ft.DropdownOption(key=str(y), text=str(y))
                                         for y in range(this_year - 3, this_year + 1)],
                                on_select=pick("office_year")))
    if with_quarter and not (kinds and kind == "annual"):
        controls.append(w.dropdown(key="office-quarter", label=t("office.quarter"), value=str(quarter), width=140,
                                    options=[ft.DropdownOption(key=str(q), text=t("office.quarter_n", n=q))
                                             for q in (1, 2, 3, 4)],
                                    on_select=pick("office_quarter")))
    return ft.Row(controls, wrap=True, spacing=8, run_spacing=8)


def bar_chart(pairs: list[tuple[str, float]], key: str, unit: str = "", *, sep: str) -> ft.Control:
    """A bar per (label, value): drawn by flet-charts, labelled under each bar and in a legend
    line (a chart must also read without the picture) whose entries `sep` parts in the user's language."""
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
    legend = ft.Text(sep.join(f"{label} {v:g}{unit}" for label, v in pairs), size=13, color=ft.Colors.GREY_800)
    return ft.Column([ft.Container(chart, padding=ft.Padding.only(top=8, right=12)), legend], spacing=4)


# -------------------------------------------------------------------------------------- fund

def fund(shell, office: Office, item: str | None) -> list[ft.Control]:
    ctx = shell.ctx
    t = ctx.t
    year, quarter, _ = _period(shell)
    out: list[ft.Control] = [_pickers(shell)]
    office_user = ctx.role in OFFICE
    books = office.books_fund()
    keys = ("fund_entries", f"disclosure:{year}-{quarter}", f"settlement:{year}", "recoveries", f"budget:{year}")
    if books:
        out.append(ft.Row([
            w.big_button(t("office.book_premium"), "book-premium", lambda e: _premium_dialog(shell, office, keys),
                         icon=ft.Icons.ADD_CARD),
            w.big_button(t("office.book_spending"), "book-spending", lambda e: _spending_dialog(shell, office, keys),
                         icon=ft.Icons.RECEIPT_LONG, filled=False)], spacing=8))
    elif office_user:
        out.append(ft.Text(t("office.fund_read_only"), size=14, color=ft.Colors.GREY_700))
    out += _budget(shell, office, year, keys)
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
        # Against the year's confirmed budget: spent to the quarter's end, what remains.
        plan = ((d.get("budget") or {}).get("by_category")) or {}
        out.append(table([t("office.purpose"), t("office.quarter_spending"), t("office.budget"),
                          t("office.budget_spent"), t("office.budget_remaining")],
                         [[t(f"office.category.{c}"), money(shell, by_cat.get(c, 0)),
                           *_budget_cells(shell, plan.get(c) or {})] for c in SPENDING_CATEGORIES],
                         "fund-by-purpose", (1, 2, 3, 4)))
        if any(by_cat.values()):
            out.append(bar_chart([(t(f"office.category.{c}"), (by_cat.get(c) or 0) / 100) for c in SPENDING_CATEGORIES],
                                 "chart-fund", t("office.yuan_unit"), sep=t("common.clause_sep")))
        parts = d.get("insurer_parts") or {}
        out.append(table(
            [t("office.insurer"), t("office.contributed"), t("office.share_of_spending"), t("office.position")],
            [[ctx.insurer_name(code), money(shell, p.get("contributed_fen")), money(shell, p.get("spending_part_fen")),
              money(shell, p.get("year_position_fen"))] for code, p in sorted(parts.items())],
            "fund-by-insurer", (1, 2, 3)))
        out += _comments(shell, office, d.get("comments") or [], year, quarter, keys)
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
        out.append(_entry_card(shell, office, e, books, keys))
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


def _budget_cells(shell, line: dict) -> list[str]:
    """Budget, spent, remaining of one category (a dash where no budget is confirmed)."""
    def fen(v):
        return "—" if v is None else money(shell, v)
    return [fen(line.get("budget_fen")), fen(line.get("spent_fen", 0)), fen(line.get("remaining_fen"))]


def _when(at: str | None) -> str:
    """A server time (UTC) as Dazu's wall clock, like every other time on screen."""
    return format_china_time(at)


def _budget(shell, office: Office, year: int, keys) -> list[ft.Control]:
    """The year's agreed budget: the version in force (who confirmed it, when), a change waiting
    for the coordinator, and the act each role has here (the lead proposes, the coordinator
    confirms the version it reads)."""
    t = shell.ctx.t
    snap = load(shell, f"budget:{year}", lambda: office.budget(year))
    out: list[ft.Control] = [w.section(t("office.budget_section", year=year)), stamp(shell, snap, f"budget:{year}")]
    if snap is None:
        return out
    b = snap.data
    confirmed, proposed = b.get("confirmed"), b.get("proposed")
    if confirmed:
        out.append(ft.Text(t("office.budget_confirmed", version=confirmed["version"],
                             name=confirmed.get("confirmed_by_name") or "—", at=_when(confirmed.get("confirmed_at"))),
                           size=14, key="budget-in-force"))
    else:
        out.append(w.chip(t("office.budget_none"), ft.Colors.AMBER_100, ft.Colors.BROWN_800))
    if proposed:
        out.append(w.chip(t("office.budget_pending", version=proposed["version"],
                            name=proposed.get("proposed_by_name") or "—", at=_when(proposed.get("proposed_at"))),
                          ft.Colors.ORANGE_50, ft.Colors.ORANGE_900))
        if proposed.get("note"):
            out.append(ft.Text(proposed["note"], size=14, color=ft.Colors.GREY_800))
    lines = b.get("by_category") or {}
    headers = [t("office.purpose"), t("office.budget"), t("office.budget_spent"), t("office.budget_remaining")]
    rows = [[t(f"office.category.{c}"), *_budget_cells(shell, lines.get(c) or {})] for c in SPENDING_CATEGORIES]
    if proposed:
        headers.append(t("office.budget_proposed"))
        for row, c in zip(rows, SPENDING_CATEGORIES):
            row.append(money(shell, proposed["amounts"].get(c, 0)))
    out.append(table(headers, rows, "fund-budget", tuple(range(1, len(headers)))))
    if office.books_fund():
        out.append(ft.Row([w.big_button(t("office.budget_change" if confirmed or proposed else "office.budget_propose"),
                                        "budget-propose", lambda e: _budget_dialog(shell, office, year, b, keys),
                                        icon=ft.Icons.EDIT_NOTE, filled=False)]))
    if office.confirms_budget() and proposed:
        out.append(ft.Row([w.big_button(t("office.budget_confirm"), "budget-confirm",
                                        lambda e: _confirm_budget_dialog(shell, office, year, proposed, keys),
                                        icon=ft.Icons.VERIFIED)]))
    return out


def _budget_dialog(shell, office: Office, year: int, b: dict, keys) -> None:
    t = shell.ctx.t
    start = (b.get("proposed") or b.get("confirmed") or {}).get("amounts") or {}
    fields = {c: w.field(t(f"office.category.{c}") + t("office.yuan_suffix"), f"budget-{c}",
                         f"{start[c] / 100:.2f}" if c in start else "", keyboard_type=ft.KeyboardType.NUMBER)
              for c in SPENDING_CATEGORIES}
    note = w.field(t("office.budget_note"), "budget-note", (b.get("proposed") or {}).get("note") or "")

    def ok(form):
        amounts = {}
        for c, f in fields.items():
            fen = w.fen_of(shell, f, required=False)
            if fen is None and (f.value or "").strip():
                return
            amounts[c] = fen or 0
        act(shell, lambda: office.propose_budget(year, amounts, note.value or ""), "office.budget_proposed_ok",
            *keys, form=form)
    w.form_dialog(shell, t("office.budget_section", year=year),
                  [ft.Text(t("office.budget_hint"), size=13, color=ft.Colors.GREY_700), *fields.values(), note],
                  t("common.save"), ok, "budget")


def _confirm_budget_dialog(shell, office: Office, year: int, proposed: dict, keys) -> None:
    t = shell.ctx.t
    lines = [ft.Text(t("common.labelled", label=t("office.category." + c),
                       value=money(shell, proposed["amounts"].get(c, 0))), size=15)
             for c in SPENDING_CATEGORIES]

    def ok(form):
        act(shell, lambda: office.confirm_budget(year, proposed["version"]), "office.budget_confirmed_ok",
            *keys, form=form)
    w.form_dialog(shell, t("office.budget_confirm_title", year=year, version=proposed["version"]),
                  [ft.Text(t("office.budget_confirm_hint"), size=13, color=ft.Colors.GREY_700), *lines,
                   *([ft.Text(proposed["note"], size=14, color=ft.Colors.GREY_800)] if proposed.get("note") else [])],
                  t("office.budget_confirm"), ok, "budget-confirm")


def _comments(shell, office: Office, comments: list[dict], year: int, quarter: int, keys) -> list[ft.Control]:
    """The co-insurers' comments on the quarter (建议权), with insurer, author and time."""
    ctx = shell.ctx
    t = ctx.t
    out: list[ft.Control] = [w.section(t("office.comments"))]
    if not comments:
        out.append(ft.Text(t("office.comments_none"), size=15, color=ft.Colors.GREY_700))
    for c in comments:
        out.append(card([
            ft.Text(f"{ctx.insurer_name(c['insurer_code'])} · {c.get('author_name') or ''} · {_when(c.get('created_at'))}",
                    size=13, color=ft.Colors.GREY_700),
            ft.Text(c["text"], size=15),
        ], key=f"comment-{c['id'][:8]}"))
    if office.comments_on_fund():
        out.append(ft.Row([w.big_button(t("office.comment_add"), "comment-add",
                                        lambda e: _comment_dialog(shell, office, year, quarter, keys),
                                        icon=ft.Icons.RATE_REVIEW, filled=False)]))
    return out


def _comment_dialog(shell, office: Office, year: int, quarter: int, keys) -> None:
    t = shell.ctx.t
    text = w.field(t("office.comment_text"), "comment-text", multiline=True)

    def ok(form):
        if not (text.value or "").strip():
            form.fail(t("office.comment_needed"))
            return
        act(shell, lambda: office.comment_on_disclosure(year, quarter, text.value.strip()), "office.comment_saved",
            *keys, form=form)
    w.form_dialog(shell, t("office.comment_title", year=year, quarter=quarter), [text], t("common.save"), ok,
                  "comment")


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


def _entry_card(shell, office: Office, e: dict, books: bool, keys) -> ft.Control:
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
    elif books and not e.get("corrects") and e["kind"] != "contribution":
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

