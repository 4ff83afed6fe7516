"""A claim-authority review on a co-insurer's phone: the amount, the tier, the consultation and
the opinions, and the insurer's own opinion or vote (queued like every other change). The
claim's people and papers stay out of it: a co-insurer that did not survey the claim sees only
what the review publishes."""
from __future__ import annotations

import flet as ft

from fieldapp.state import money, reference
from fieldapp.views import widgets as w
from fieldapp.views.claim_money import authority_panel


def build(shell, claim_id: str) -> ft.View:
    ctx = shell.ctx
    t = ctx.t
    doc = ctx.store.reviews.get(claim_id)
    controls: list[ft.Control]
    if doc is None:
        controls = [ft.Text(t("review.gone"), size=16)]
    else:
        controls = [
            ft.Text(reference.coverage_name(doc.get("coverage"), ctx.language) if doc.get("coverage") else "",
                    size=19, weight=ft.FontWeight.W_600),
            w.label_value(t("review.report_no"), doc.get("report_no")),
            w.label_value(t("home.filter.township"), ctx.township_name(doc.get("township_code"))),
        ] + authority_panel(shell, claim_id, money.review_state(doc, ctx.language), claim_status=doc.get("status"))
    return ft.View(route=f"/review/{claim_id}", appbar=w.app_bar(shell, t("review.screen_title"), back=True),
                   scroll=ft.ScrollMode.AUTO, padding=ft.Padding.all(12), spacing=10,
                   horizontal_alignment=ft.CrossAxisAlignment.STRETCH, controls=controls)
