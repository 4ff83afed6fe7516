"""Sync details: online or not, what waits, progress for changes and bytes, errors in plain words."""
from __future__ import annotations

import flet as ft

from fieldapp.views import widgets as w


def build(shell) -> ft.View:
    ctx = shell.ctx
    t = ctx.t
    st = ctx.sync_status()
    changes, photos, scans = ctx.unsent_summary()
    controls: list[ft.Control] = [
        w.sync_bar(shell),
        w.label_value(t("sync.server"), ctx.credentials.server_url if ctx.credentials else None),
        w.label_value(t("sync.pending_changes"), str(changes)),
        w.label_value(t("sync.pending_photos"), str(photos)),
        w.label_value(t("sync.pending_scans"), str(scans)),
        w.label_value(t("sync.last_success"), ctx.format_time(st.last_sync) if st.last_sync else t("sync.never")),
    ]
    pr = st.progress
    if pr is not None:
        if pr.changes_total:
            controls += [ft.Text(t("sync.progress_changes", done=pr.changes_done, total=pr.changes_total), size=15),
                         ft.ProgressBar(value=pr.changes_done / pr.changes_total, key="sync-progress-changes")]
        if pr.bytes_total:
            controls += [ft.Text(t("sync.progress_bytes", done=pr.bytes_done // 1024, total=pr.bytes_total // 1024),
                                 size=15),
                         ft.ProgressBar(value=pr.bytes_done / pr.bytes_total, key="sync-progress-bytes")]
    if st.error:
        controls.append(ft.Container(ft.Text(t("sync.error", error=st.error), size=15, color=ft.Colors.RED_900),
                                     bgcolor=ft.Colors.RED_50, padding=ft.Padding.all(10), border_radius=8,
                                     key="sync-error"))

    problems = ctx.sync_problems()
    if problems:
        controls.append(ft.Text(t("sync.problems_title"), size=16, weight=ft.FontWeight.W_600))
        controls += [w.problem_card(shell, p, with_claim=True) for p in problems]

    def now(e):
        shell.toast(t("sync.started"))

        def work():
            result = ctx.sync_now(wait=True)
            if result.error:
                shell.toast(t("sync.error", error=result.error), error=True)
            ctx.notify("sync")
        shell.page.run_thread(work)

    controls.append(w.big_button(t("sync.now"), "sync-now", now, icon=ft.Icons.SYNC))
    controls.append(ft.Text(t("sync.auto_note"), size=13, color=ft.Colors.GREY_700))
    return ft.View(route="/sync", appbar=w.app_bar(shell, t("sync.title"), back=True),
                   scroll=ft.ScrollMode.AUTO, padding=ft.Padding.all(12), spacing=10,
                   horizontal_alignment=ft.CrossAxisAlignment.STRETCH, controls=controls)

