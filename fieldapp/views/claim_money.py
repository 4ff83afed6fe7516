"""The claim's road to payment on its overview: deadlines, survey assignments, amounts, the loss
inventory, the claim-authority step (opinions, the consultation meeting, votes) and the payment.

Every write goes through the store (the same claimcore rules the server applies); the
consultation meeting is recorded on the server directly (it is the lead's office's act and there
is nothing to queue it for), refused with a clear reason while offline.
"""
from __future__ import annotations

import datetime as dt

import flet as ft

from claimcore import amounts, authority, entities, workflow
from claimcore.localtime import to_china_time
from claimcore.validators import DEFAULT_ID_TYPE
from fieldapp.state import money, reference
from fieldapp.state.context import NeedsServer
from fieldapp.views import widgets as w


def _save(shell, fn, ok_key: str | None = None, form: "w.Form | None" = None) -> bool:
    """Run a store write. Refused: the reason (zh/en) in the form (or as a toast without one).
    Saved: the form closes, then the toast and the redraw once it is gone."""
    ctx = shell.ctx
    done, _ = w.attempt(shell, fn, form)
    if not done:
        return False
    ctx.data_changed()
    if form is not None:
        form.close()

    def after():
        if ok_key:
            shell.toast(ctx.t(ok_key))
        shell.render()

    w.after_close(shell, after)
    return True


# ---------------------------------------------------------------------------------- sections

def sections(shell, view) -> list[ft.Control]:
    ctx = shell.ctx
    d = view.detail
    out: list[ft.Control] = _deadlines(shell, d) + _assignments(shell, d) + _amounts(shell, d)
    if d.adjusted_amount_fen is not None and d.status in ("adjusted", "approved", "stamped", "paid", "closed"):
        out += authority_panel(shell, d.id, money.authority_state(ctx.store, d.id, d.adjusted_amount_fen,
                                                                   ctx.language), claim_status=d.status)
    if d.paid_amount_fen is not None or d.status in money.PAYMENT_EDITABLE:
        out += _payment(shell, d)
    return out


def _deadlines(shell, d) -> list[ft.Control]:
    t = shell.ctx.t
    dl = money.deadlines(d)
    today = to_china_time(dt.datetime.now(dt.timezone.utc)).date()
    parts = []
    if dl.since_report is not None:
        parts.append(t("money.days_since_report", n=dl.since_report))
    if dl.since_complete is not None:
        parts.append(t("money.days_since_complete", n=dl.since_complete))
    left = dl.days_left(today)
    if left is not None and d.status not in workflow.TERMINAL_STATES:
        key = "money.decision_left" if not dl.decided else "money.payment_left"
        parts.append(t(key, n=left) if left >= 0 else t(key + "_over", n=-left))
    if not parts:
        return []
    late = left is not None and left < 0 and d.status not in workflow.TERMINAL_STATES
    return [ft.Text(" · ".join(parts), size=14, key="deadlines",
                    color=ft.Colors.RED_800 if late else ft.Colors.GREY_800)]


def _assignments(shell, d) -> list[ft.Control]:
    ctx = shell.ctx
    t = ctx.t
    rows = [a for a in ctx.store.assignments.list() if a.claim_id == d.id]
    if not rows and d.status == "survey_dispatched" and ctx.role in entities.OFFICE_ROLES:
        return [w.section(t("money.survey")), ft.Text(t("money.dispatch_waiting"), size=15, color=ft.Colors.ORANGE_900)]
    if not rows:
        return []
    out: list[ft.Control] = [w.section(t("money.survey"))]
    for a in sorted(rows, key=lambda a: a.received_at):
        kind = t("assign.kind.lead") if (a.fields or {}).get("kind") == "lead" else t("money.coinsurer_survey")
        out.append(ft.Text(f"{ctx.insurer_name(a.insurer_code)} · {kind} · {t('assign.status.' + a.status)}",
                           size=15, key=f"assignment-{a.insurer_code}"))
    return out


def _amounts(shell, d) -> list[ft.Control]:
    ctx = shell.ctx
    t = ctx.t
    role = ctx.role
    lang = ctx.language
    out: list[ft.Control] = [w.section(t("money.title")),
                             ft.Text(money.limits_text(d, lang), size=13, color=ft.Colors.GREY_700)]
    claimed_row = [w.label_value(t("claim.claimed"), money.yuan(d.claimed_amount_fen, lang))]
    if role in entities.CLAIM.fields["claimed_amount_fen"].writable_by and d.status in money.CLAIMED_EDITABLE:
        claimed_row.append(w.big_button(t("money.set_claimed"), "set-claimed", lambda e: _claimed_dialog(shell, d),
                                        filled=False, icon=ft.Icons.EDIT))
    out += claimed_row
    items = d.loss_items or []
    can_adjust = role in entities.CLAIM.fields["loss_items"].writable_by and d.status in money.ADJUSTMENT_EDITABLE
    if items or can_adjust:
        out.append(ft.Text(t("money.items_title", n=len(items)), size=15, weight=ft.FontWeight.W_600))
    for n, item in enumerate(items):
        line = f"{n + 1}. {reference.loss_type_name(item['category'], lang)} · {item['description']} · " \
               f"{money.yuan(item['amount_fen'], lang)}"
        extra = " · ".join(x for x in (
            f"{item['quantity']:g} × {money.yuan(item['unit_price_fen'], lang)}" if item.get("quantity") is not None
            and item.get("unit_price_fen") is not None else None,
            item.get("damage_extent"), item.get("purchase_date"), money.person_name(d, item.get("person_id"))) if x)
        row = [ft.Text(t("common.aside", text=line, aside=extra) if extra else line, size=15, expand=True)]
        if can_adjust:
            row.append(w.icon_button(ft.Icons.DELETE_OUTLINE, t("money.item_delete"), f"item-delete-{n}",
                                     lambda e, i=n: _save(shell, lambda: ctx.store.claims.update(
                                         d.id, loss_items=[x for k, x in enumerate(items) if k != i]))))
        out.append(ft.Row(row, vertical_alignment=ft.CrossAxisAlignment.CENTER))
    if items:
        out.append(w.label_value(t("money.items_total"), money.yuan(sum(i["amount_fen"] for i in items), lang)))
    if can_adjust:
        out.append(w.big_button(t("money.item_add"), "item-add", lambda e: _item_dialog(shell, d),
                                filled=False, icon=ft.Icons.ADD))
    out.append(w.label_value(t("claim.adjusted"), money.yuan(d.adjusted_amount_fen, lang)))
    if d.adjusted_reason:
        out.append(w.label_value(t("money.adjusted_reason"), d.adjusted_reason))
    if can_adjust:
        out.append(w.big_button(t("money.set_adjusted"), "set-adjusted", lambda e: _adjusted_dialog(shell, d),
                                filled=False, icon=ft.Icons.CALCULATE))
    return out + _payable(shell, d)


# Claim states in which the payable amount is asked of the server: from the adjustment to payment.
PAYABLE_ASKED = ("adjusted", "approved", "stamped")


def _known_payable(ctx, d) -> dict | None:
    """The server's payable answer for the claim's current adjusted amount (an answer about an
    earlier amount is stale)."""
    got = ctx.known_payable(d.id)
    if got is None or d.adjusted_amount_fen is None or got.get("adjusted_fen") != d.adjusted_amount_fen:
        return None
    return got


def _payable(shell, d) -> list[ft.Control]:
    """The claim's payable amount under the per-event and per-year caps: only the server holds
    every claim of an event, so the phone shows its last answer (asked for when online)."""
    ctx = shell.ctx
    t = ctx.t
    lang = ctx.language
    if d.adjusted_amount_fen is None:
        return []
    got = _known_payable(ctx, d)
    if got is None and d.status in PAYABLE_ASKED:
        _ask_payable(shell, d.id)
    if got is None:
        if d.status not in PAYABLE_ASKED:
            return []
        return [ft.Text(t("money.payable_unknown"), size=13, color=ft.Colors.GREY_700, key="payable-unknown")]
    out = [w.label_value(t("money.payable"), money.yuan(got["payable_fen"], lang))]
    if got.get("reduced"):
        # The server's words: which cap, the pool's total, the ratio (and what the cap has left).
        explain = got.get("explain_zh") if lang == "zh" else got.get("explain_en")
        out.append(ft.Text(explain, size=14, color=ft.Colors.ORANGE_900, key="payable-reduced", selectable=True))
    else:
        out.append(ft.Text(t("money.payable_within"), size=13, color=ft.Colors.GREY_700, key="payable-within"))
    source = got.get("source_zh") if lang == "zh" else got.get("source_en")
    out.append(ft.Text(t("money.caps_source", source=source), size=13, color=ft.Colors.GREY_700))
    return out


def _ask_payable(shell, claim_id: str) -> None:
    """Once per screen: ask the server, then redraw with its answer (offline: the screen says it
    waits for the server, and a payment above the share is refused when it syncs)."""
    ctx = shell.ctx
    flag = f"payable_asked:{claim_id}"
    if shell.screen_state.get(flag):
        return
    shell.screen_state[flag] = True

    def load() -> None:
        try:
            ctx.load_payable(claim_id)
        except NeedsServer:
            return
        ctx.notify("payable")

    shell.page.run_thread(load)


def _claimed_dialog(shell, d) -> None:
    ctx = shell.ctx
    t = ctx.t
    f = w.field(t("money.claimed_yuan"), "claimed-field",
               money.yuan(d.claimed_amount_fen, "en").removesuffix(" yuan").replace(",", "")
               if d.claimed_amount_fen is not None else "", keyboard_type=ft.KeyboardType.NUMBER)

    def ok(form):
        fen = w.fen_of(shell, f)
        if fen is None:
            return
        _save(shell, lambda: ctx.store.claims.update(d.id, claimed_amount_fen=fen), "money.saved", form)

    w.form_dialog(shell, t("money.set_claimed"), [f], t("common.save"), ok, "claimed")


def _item_dialog(shell, d) -> None:
    ctx = shell.ctx
    t = ctx.t
    cats = [c for c in entities.LOSS_TYPES if c in (d.loss_types or entities.LOSS_TYPES)]
    chosen = {"category": cats[0], "person_id": None}
    people = [(p.id, p.name or "—") for p in d.persons]
    desc = w.field(t("money.item_description"), "item-description")
    qty = w.field(t("money.item_quantity"), "item-quantity", keyboard_type=ft.KeyboardType.NUMBER)
    unit = w.field(t("money.item_unit_price"), "item-unit-price", keyboard_type=ft.KeyboardType.NUMBER)
    amount = w.field(t("money.item_amount"), "item-amount", keyboard_type=ft.KeyboardType.NUMBER,
                    helper=t("money.item_amount_help"))
    bought = w.field(t("money.item_purchase_date"), "item-purchase-date", hint_text="2024-05-01")
    extent = w.field(t("money.item_extent"), "item-extent", hint_text=t("money.item_extent_hint"))
    cat_row = ft.Row(wrap=True, spacing=6, run_spacing=6)
    person_row = ft.Row(wrap=True, spacing=6, run_spacing=6)

    def draw():
        cat_row.controls = [_toggle(reference.loss_type_name(c, ctx.language), f"item-cat-{c}", chosen["category"] == c,
                                    lambda e, c=c: (chosen.update(category=c), draw())) for c in cats]
        person_row.controls = [_toggle(name, f"item-person-{n}", chosen["person_id"] == pid,
                                       lambda e, pid=pid: (chosen.update(person_id=pid), draw()))
                               for n, (pid, name) in enumerate(people)]
        shell.page.update()

    cat_row.controls = [_toggle(reference.loss_type_name(c, ctx.language), f"item-cat-{c}", chosen["category"] == c,
                                lambda e, c=c: (chosen.update(category=c), draw())) for c in cats]
    person_row.controls = [_toggle(name, f"item-person-{n}", False,
                                   lambda e, pid=pid: (chosen.update(person_id=pid), draw()))
                           for n, (pid, name) in enumerate(people)]

    def ok(form):
        price = w.fen_of(shell, unit, required=False)
        typed = w.fen_of(shell, amount, required=False)
        q = None
        if (qty.value or "").strip():
            try:
                q = float(qty.value)
                q = int(q) if q.is_integer() else q
            except ValueError:
                qty.error = t("money.bad_number")
                shell.page.update()
                return
        if typed is None and (q is None or price is None):
            amount.error = t("money.item_amount_needed")
            shell.page.update()
            return
        value = typed if typed is not None else entities.item_amount_fen(q, price)
        item = {"category": chosen["category"], "description": (desc.value or "").strip(), "amount_fen": value,
                "quantity": q, "unit_price_fen": price, "purchase_date": (bought.value or "").strip() or None,
                "damage_extent": (extent.value or "").strip() or None, "person_id": chosen["person_id"]}
        item = {k: v for k, v in item.items() if v is not None}
        _save(shell, lambda: ctx.store.claims.update(d.id, loss_items=list(d.loss_items or []) + [item]),
              "money.saved", form)

    w.form_dialog(shell, t("money.item_add"), [ft.Text(t("money.item_category"), size=14), cat_row, desc, qty, unit, amount,
                                         bought, extent, ft.Text(t("money.item_person"), size=14), person_row],
            t("common.save"), ok, "item")


def _toggle(text: str, key: str, on: bool, on_click) -> ft.Control:
    cls = ft.FilledButton if on else ft.OutlinedButton
    return cls(content=ft.Text(text, size=15), key=key, on_click=on_click, height=w.TOUCH)


def _adjusted_dialog(shell, d) -> None:
    ctx = shell.ctx
    t = ctx.t
    total = sum(i["amount_fen"] for i in (d.loss_items or []))
    start = d.adjusted_amount_fen if d.adjusted_amount_fen is not None else (total or None)
    f = w.field(t("money.adjusted_yuan"), "adjusted-field",
               f"{start // 100}.{start % 100:02d}" if start is not None else "", keyboard_type=ft.KeyboardType.NUMBER,
               helper=t("money.adjusted_help"))
    reason = w.field(t("money.adjusted_reason"), "adjusted-reason", d.adjusted_reason or "", multiline=True)

    def ok(form):
        fen = w.fen_of(shell, f)
        if fen is None:
            return
        _save(shell, lambda: ctx.store.claims.update(d.id, adjusted_amount_fen=fen,
                                                     adjusted_reason=(reason.value or "").strip() or None),
              "money.saved", form)

    w.form_dialog(shell, t("money.set_adjusted"), [f, reason], t("common.save"), ok, "adjusted")


# ---------------------------------------------------------------------------------- authority

def authority_panel(shell, claim_id: str, state: money.AuthorityState | None, *,
                    claim_status: str | None = None) -> list[ft.Control]:
    ctx = shell.ctx
    t = ctx.t
    lang = ctx.language
    if state is None:
        return []
    _names_once(shell)
    out: list[ft.Control] = [w.section(t("authority.title"))]
    out.append(w.label_value(t("authority.amount"), money.yuan(state.amount_fen, lang)))
    out.append(w.label_value(t("authority.tier"), state.tier.label(lang)))
    color = ft.Colors.GREEN_800 if state.cleared else ft.Colors.ORANGE_900
    out.append(ft.Text(t("common.labelled", label=t("authority.cleared" if state.cleared else "authority.not_cleared"),
                         value=state.reason), size=15, color=color, key="authority-state"))
    if state.tier is authority.Tier.LEAD_ALONE:
        return out
    left = state.hours_left(dt.datetime.now(dt.timezone.utc))
    if left is not None and not state.cleared:
        out.append(ft.Text(t("authority.window_left", h=max(0, round(left))), size=14))
    meeting = state.consultation
    if state.tier is authority.Tier.FULL_CONSULTATION:
        if meeting:
            names = t("common.list_sep").join(ctx.insurer_name(c) for c in meeting["attendees"])
            out.append(ft.Container(ft.Column([
                ft.Text(t("authority.meeting_held", when=ctx.format_time(meeting["held_at"])), size=15,
                        weight=ft.FontWeight.W_600),
                ft.Text(t("authority.meeting_present", names=names), size=14),
                ft.Text(t("authority.meeting_assessor", yes=t("common.yes" if meeting["engage_assessor"] else "common.no"))
                        + " · " + t("authority.meeting_lawyer",
                                    yes=t("common.yes" if meeting["engage_lawyer"] else "common.no")), size=14),
                ft.Text(meeting["minutes"], size=14, selectable=True),
            ], spacing=2), padding=ft.Padding.all(8), border=ft.Border.all(1, ft.Colors.GREY_300), border_radius=8,
                key="consultation-record"))
        elif state.known and ctx.role in entities.OFFICE_ROLES and claim_status == "adjusted":
            out.append(w.big_button(t("authority.record_meeting"), "record-meeting",
                                    lambda e: _consultation_dialog(shell, claim_id), icon=ft.Icons.GROUPS))
    for o in state.opinions:
        vote = t("authority.vote." + o["vote"])
        line = t("common.labelled", label=ctx.insurer_name(o["insurer_code"]), value=vote)
        out.append(ft.Text(t("common.aside", text=line, aside=o["opinion"]) if o.get("opinion") else line, size=14))
    missing = state.doc.get("missing") or []
    if missing and not state.cleared:
        out.append(ft.Text(t("authority.waiting_for", names=t("common.list_sep").join(ctx.insurer_name(c) for c in missing)), size=14,
                           color=ft.Colors.GREY_700))
    vote = state.vote
    if vote:
        out.append(ft.Text(vote["explain"] if lang == "zh" else vote.get("explain_en", vote["explain"]), size=14,
                           key="vote-explain", selectable=True))
    for o in ctx.store.opinions.unsent(claim_id):
        out.append(ft.Text(t("authority.unsent", vote=t("authority.vote." + o["vote"])), size=14,
                           color=ft.Colors.ORANGE_900))
    may_vote = (ctx.role in ("surveyor", "adjuster") and state.known and not _closed(claim_status, state)
                and (state.tier is authority.Tier.INFORM_COINSURERS or meeting))
    if may_vote:
        # Side by side, each a third of the width (a wrapping row cannot hold the wide buttons).
        out.append(ft.Row([
            w.big_button(t("authority.vote.approve"), "vote-approve", lambda e: _vote_dialog(shell, claim_id, "approve"),
                         expand=True),
            w.big_button(t("authority.vote.reject"), "vote-reject", lambda e: _vote_dialog(shell, claim_id, "reject"),
                         filled=False, expand=True),
            w.big_button(t("authority.vote.abstain"), "vote-abstain", lambda e: _vote_dialog(shell, claim_id, "abstain"),
                         filled=False, expand=True),
        ], spacing=6))
    return out


def _names_once(shell) -> None:
    """The co-insurers' names come from the server once (then they are kept for offline use)."""
    ctx = shell.ctx
    if ctx.insurers_known() or shell.screen_state.get("insurers_asked"):
        return
    shell.screen_state["insurers_asked"] = True

    def load() -> None:
        try:
            ctx.load_insurers()
        except NeedsServer:
            shell.screen_state.pop("insurers_asked", None)  # ask again on a later screen
            return
        ctx.notify("insurers")  # redraw with the names

    shell.page.run_thread(load)


def _closed(claim_status: str | None, state: money.AuthorityState) -> bool:
    # Opinions count only while the lead is deciding (the claim is adjusted, not yet approved).
    status = claim_status or state.doc.get("status")
    return status not in (None, "adjusted")


def _vote_dialog(shell, claim_id: str, vote: str) -> None:
    ctx = shell.ctx
    t = ctx.t
    f = w.field(t("authority.opinion_text"), "opinion-text", multiline=True, min_lines=2)

    def ok(form):
        _save(shell, lambda: ctx.store.opinions.add(claim_id, vote, f.value or ""), "authority.vote_saved", form)

    w.form_dialog(shell, t("authority.confirm_vote", vote=t("authority.vote." + vote)), [f], t("authority.send_vote"), ok,
            "vote")


def _consultation_dialog(shell, claim_id: str) -> None:
    ctx = shell.ctx
    t = ctx.t
    try:
        insurers = ctx.load_insurers()
    except NeedsServer as exc:
        shell.toast(exc.message(ctx.language), error=True)
        return
    now = to_china_time(dt.datetime.now(dt.timezone.utc))
    held = w.field(t("authority.meeting_time"), "meeting-time", now.strftime("%Y-%m-%d %H:%M"))
    present = {r["code"] for r in insurers if not r["is_lead"]}
    boxes = [ft.Checkbox(label=t("common.aside", text=r["name"], aside=f"{r['share_bp'] / 100:g}%"), value=r["code"] in present,
                         key=f"present-{r['code']}", data=r["code"]) for r in insurers if not r["is_lead"]]
    assessor = ft.Checkbox(label=t("authority.engage_assessor"), value=False, key="engage-assessor")
    lawyer = ft.Checkbox(label=t("authority.engage_lawyer"), value=False, key="engage-lawyer")
    minutes = w.field(t("authority.minutes"), "meeting-minutes", multiline=True, min_lines=3)

    def ok(form):
        try:
            when = dt.datetime.strptime((held.value or "").strip(), "%Y-%m-%d %H:%M").replace(
                tzinfo=dt.timezone(dt.timedelta(hours=8)))
        except ValueError:
            held.error = t("authority.bad_time")
            shell.page.update()
            return
        if not (minutes.value or "").strip():
            minutes.error = t("authority.minutes_needed")
            shell.page.update()
            return
        attendees = [b.data for b in boxes if b.value]
        try:
            ctx.record_consultation(claim_id, held_at=when, attendees=attendees,
                                    engage_assessor=bool(assessor.value), engage_lawyer=bool(lawyer.value),
                                    minutes=minutes.value.strip())
        except NeedsServer as exc:
            form.fail(exc.message(ctx.language))
            return
        form.close()
        w.after_close(shell, lambda: (shell.toast(t("authority.meeting_saved")), shell.render()))

    w.form_dialog(shell, t("authority.record_meeting"),
            [held, ft.Text(t("authority.present"), size=14)] + boxes + [assessor, lawyer, minutes],
            t("common.save"), ok, "meeting")


# ---------------------------------------------------------------------------------- people

ADDABLE_ROLES = ("heir", "agent", "payee", "claimant")
RELATIONS = ("self", "spouse", "child", "parent", "sibling", "other")


def person_dialog(shell, d) -> None:
    """Who else the claim needs: heirs of a deceased victim, an agent with a power of attorney, a
    payee; with the bank account the payment goes to."""
    ctx = shell.ctx
    t = ctx.t
    chosen = {"role": "heir", "relation": "spouse", "id_type": DEFAULT_ID_TYPE}
    name = w.field(t("wizard.victim_name"), "person-name")
    id_number = w.field(t("wizard.victim_id"), "person-id", capitalization=ft.TextCapitalization.CHARACTERS)

    def document(e):
        # The number field takes the chosen document's name; the store checks it by its rule.
        chosen["id_type"] = e.control.value or DEFAULT_ID_TYPE
        id_number.label = t(f"id_number.{chosen['id_type']}")
        id_number.update()

    id_type = w.dropdown(key="person-id-type", label=t("wizard.id_type"), value=DEFAULT_ID_TYPE,
                          options=[ft.DropdownOption(key=k, text=t(f"id_type.{k}")) for k in entities.ID_TYPES],
                          on_select=document, text_size=16)
    phone = w.field(t("wizard.victim_phone"), "person-phone", keyboard_type=ft.KeyboardType.PHONE)
    bank = w.field(t("person.bank_name"), "person-bank-name")
    card = w.field(t("person.bank_card"), "person-bank-card", keyboard_type=ft.KeyboardType.NUMBER)
    roles = ft.Row(wrap=True, spacing=6, run_spacing=6)
    relations = ft.Row(wrap=True, spacing=6, run_spacing=6)

    def draw(update: bool = True):
        roles.controls = [_toggle(t("person." + r), f"person-role-{r}", chosen["role"] == r,
                                  lambda e, r=r: (chosen.update(role=r), draw())) for r in ADDABLE_ROLES]
        relations.controls = [_toggle(t("relation." + r), f"person-relation-{r}", chosen["relation"] == r,
                                      lambda e, r=r: (chosen.update(relation=r), draw())) for r in RELATIONS]
        if update:
            shell.page.update()

    draw(update=False)

    def ok(form):
        if not (name.value or "").strip():
            name.error = t("person.name_needed")
            shell.page.update()
            return
        values = {"role_in_claim": chosen["role"], "name": name.value.strip(), "relation": chosen["relation"],
                  "id_type": chosen["id_type"],
                  "id_number": (id_number.value or "").strip() or None, "phone": (phone.value or "").strip() or None,
                  "bank_name": (bank.value or "").strip() or None, "bank_card": (card.value or "").strip() or None}
        _save(shell, lambda: ctx.store.persons.add(d.id, **values), "person.saved", form)

    w.form_dialog(shell, t("person.add"), [ft.Text(t("person.role"), size=14), roles,
                                     ft.Text(t("wizard.relation"), size=14), relations,
                                     name, id_type, id_number, phone, bank, card], t("common.save"), ok, "person")


# ---------------------------------------------------------------------------------- payment

def _payment(shell, d) -> list[ft.Control]:
    ctx = shell.ctx
    t = ctx.t
    lang = ctx.language
    out: list[ft.Control] = [w.section(t("money.payment"))]
    out.append(w.label_value(t("claim.paid"), money.yuan(d.paid_amount_fen, lang)))
    out.append(w.label_value(t("money.paid_on"), d.paid_on))
    out.append(w.label_value(t("money.payee"), money.person_name(d, d.payee_person_id)))
    out.append(w.label_value(t("money.transfer_ref"), d.transfer_ref))
    return out


def payment_dialog(shell, d, then) -> None:
    """The payer's record of the transfer; ``then()`` moves the claim to paid once it is saved."""
    ctx = shell.ctx
    t = ctx.t
    options = money.payee_options(d)
    if not options:
        shell.toast(t("money.no_payee"), error=True)
        return
    chosen = {"payee": d.payee_person_id if d.payee_person_id in {o[0] for o in options} else options[0][0]}
    known = _known_payable(ctx, d)
    start = d.paid_amount_fen if d.paid_amount_fen is not None else (
        known["payable_fen"] if known is not None else d.adjusted_amount_fen)
    amount = w.field(t("money.paid_yuan"), "paid-amount",
                    f"{start // 100}.{start % 100:02d}" if start is not None else "", keyboard_type=ft.KeyboardType.NUMBER)
    today = to_china_time(dt.datetime.now(dt.timezone.utc)).date().isoformat()
    on = w.field(t("money.paid_on"), "paid-on", d.paid_on or today)
    ref = w.field(t("money.transfer_ref"), "transfer-ref", d.transfer_ref or "")
    payees = ft.Row(wrap=True, spacing=6, run_spacing=6)

    def draw():
        payees.controls = [_toggle(name, f"payee-{n}", chosen["payee"] == pid,
                                   lambda e, pid=pid: (chosen.update(payee=pid), draw(), shell.page.update()))
                           for n, (pid, name) in enumerate(options)]

    draw()

    def ok(form):
        fen = w.fen_of(shell, amount)
        if fen is None:
            return
        if known is not None:
            # The server's rule with the server's figures: the same refusal, said before the
            # payment is recorded rather than after a sync.
            try:
                amounts.check_payable(fen, known)
            except amounts.AmountError as exc:
                form.fail(exc.message(ctx.language))
                return
        fields = {"paid_amount_fen": fen, "paid_on": (on.value or "").strip() or None,
                  "payee_person_id": chosen["payee"], "transfer_ref": (ref.value or "").strip() or None}
        if _save(shell, lambda: ctx.store.claims.update(d.id, **fields), form=form):
            then()

    w.form_dialog(shell, t("money.record_payment"),
            [ft.Text(t("money.payee_rule"), size=13, color=ft.Colors.GREY_700), ft.Text(t("money.payee"), size=14),
             payees, amount, on, ref], t("money.pay_and_move"), ok, "payment")
