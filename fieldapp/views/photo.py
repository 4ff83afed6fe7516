"""One photo, full preview, with time, GPS, accuracy and evidence flags."""
from __future__ import annotations

import flet as ft

from fieldapp.state.capture import flag_label
from fieldapp.views import widgets as w


def build(shell, sha256: str) -> ft.View:
    ctx = shell.ctx
    t = ctx.t
    p = ctx.store.photos.get_by_sha(sha256)
    if p is None:
        controls: list[ft.Control] = [ft.Text(t("photos.not_found"), size=16)]
    else:
        preview = ctx.photo_files.path(p.sha256, "preview")
        gps = (f"{p.lat:.6f}, {p.lon:.6f}" if p.lat is not None else t("photos.no_fix"))
        own = (f"{p.exif_gps['lat']:.6f}, {p.exif_gps['lon']:.6f}" if p.exif_gps else None)
        controls = [
            ft.InteractiveViewer(ft.Image(src=preview.read_bytes() if preview.exists() else b"",
                                          fit=ft.BoxFit.CONTAIN), max_scale=5),
            w.label_value(t("photos.captured_at"), ctx.format_time(p.taken_at)),
            w.label_value(t("photos.gps"), gps),
            w.label_value(t("photos.accuracy"), f"±{p.fix_accuracy_m:.0f} m" if p.fix_accuracy_m is not None else None),
            w.label_value(t("photos.fix_at"), ctx.format_time(p.fix_at)),
            w.label_value(t("photos.own_gps"), own),
            w.label_value(t("photos.size"), f"{p.width}×{p.height}" if p.width else None),
            w.label_value(t("photos.upload"), t(f"photos.upload.{p.upload_state}")),
            w.label_value(t("photos.sha"), p.sha256[:16] + "…"),
            w.section(t("photos.flags")),
        ] + ([ft.Text("· " + flag_label(f, ctx.language), size=15, color=ft.Colors.ORANGE_900) for f in p.flags]
             or [ft.Text(t("photos.no_flags"), size=15, color=ft.Colors.GREEN_800)])
    return ft.View(route=f"/photo/{sha256}", appbar=w.app_bar(shell, t("photos.title"), back=True),
                   scroll=ft.ScrollMode.AUTO, padding=ft.Padding.all(12),
                   horizontal_alignment=ft.CrossAxisAlignment.STRETCH, controls=controls)
