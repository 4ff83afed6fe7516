"""The in-app camera for one claim (route /camera/<claim id>): live preview, a big shutter, the
GPS fix read at each shutter, a burst of photos without leaving the screen, the photos of this
visit in a strip, and the file picker as the second way in. Every photo goes through the same
intake as a picked file (`PhotoCapture`). A report's photo step opens it by itself where there is
a camera, and the report is submitted from it; from the claim's photo tab "done" (or the back
arrow) returns there.

Where the platform has no camera, or the camera is refused, the screen says so and keeps the
picker.
"""
from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timezone
from typing import Any, Callable

import flet as ft

from fieldapp.state.capture import CameraVisit, camera_problem
from fieldapp.views import widgets as w
from fieldapp.views.intake import capture_state, photos_busy, pick_photos_action

log = logging.getLogger(__name__)

SHUTTER_HEIGHT = 64  # a thumb-sized target, well over the 48 px minimum
THUMB = 64


def camera_supported(page: ft.Page) -> bool:
    """The platforms the camera extension serves (a desktop build has none: picker only)."""
    try:
        import flet_camera  # noqa: F401 - a build without the extension has no camera
    except ImportError:
        return False
    return bool(page.web) or page.platform in (ft.PagePlatform.ANDROID, ft.PagePlatform.IOS)


def open_camera(shell, claim_id: str, return_route: str, submit: Callable[[Any], None] | None = None) -> None:
    """Go to the camera for `claim_id`; "done" comes back to `return_route`. With `submit` (a
    report's photo step), the camera is that step: it submits the report instead of "done"."""
    shell.screen_state[("camera", claim_id)] = CameraVisit(claim_id, return_route, submit=submit)
    shell.go(f"/camera/{claim_id}")


def _visit(shell, claim_id: str) -> CameraVisit:
    visit = shell.screen_state.get(("camera", claim_id))
    if visit is None:  # reached by address (a reload): return to the claim's photos
        visit = CameraVisit(claim_id, f"/claim/{claim_id}/photos")
        shell.screen_state[("camera", claim_id)] = visit
    return visit


def _leave(shell, visit: CameraVisit) -> None:
    shell.screen_state.pop(("camera", visit.claim_id), None)
    shell.screen_state.pop(("camera_ui", visit.claim_id), None)
    shell.go(visit.return_route)


def build(shell, claim_id: str) -> ft.View:
    ctx = shell.ctx
    t = ctx.t
    visit = _visit(shell, claim_id)
    cap = capture_state(shell, claim_id)
    # The screen is drawn once per visit and then kept: any redraw of the app (a route event, a
    # pull, a reconnect) gets this same view back with its parts brought up to date. A new view
    # would replace the preview, and the replaced camera's controller goes with it (pictures
    # then fail with "not initialized", and its late answers arrive for a control Flet no
    # longer knows, which drops the connection).
    ui = shell.screen_state.get(("camera_ui", claim_id))
    if ui is not None and ui["visit"] is visit:
        _apply(shell, visit, ui)
        return ui["view"]
    camera = None
    if not camera_supported(shell.page):
        visit.status = "unsupported"
    else:
        from flet_camera import Camera

        visit.status = "starting"
        camera = Camera(expand=True, preview_enabled=True)
    lock = asyncio.Lock()  # one picture at a time: a phone's camera refuses a second meanwhile

    async def shutter(e) -> None:
        if camera is None or not visit.can_shoot:
            return
        at = datetime.now(timezone.utc)
        # The fix is read at the shutter, while the picture is taken, not after.
        fix_read = asyncio.ensure_future(shell.current_fix())
        visit.taking += 1
        refresh(shell, claim_id)
        try:
            async with lock:
                data = await camera.take_picture()
        except Exception:
            log.info("the camera did not take the picture", exc_info=True)
            fix_read.cancel()
            visit.taking -= 1
            shell.toast(t("camera.shot_failed"), error=True)
            # The browser page was reloaded, or the phone took the camera away: open it again.
            visit.status = "starting"
            refresh(shell, claim_id)
            shell.page.run_task(_start, shell, visit, camera)
            return
        fix = await fix_read
        log.info("photo taken: %d bytes, GPS fix at the shutter: %s", len(data or b""), fix is not None)
        visit.taking -= 1
        visit.last_fix = fix
        name = t("camera.shot_name", n=len(visit.shots) + 1)
        visit.shots.extend(cap.add_tracked([(name, bytes(data or b""))], fix, captured_at=at))
        refresh(shell, claim_id)

    def picked(items) -> None:
        visit.shots.extend(items)
        refresh(shell, claim_id)

    status_box = ft.Container(_status(shell, visit), key="camera-status")
    strip_box = ft.Container(_strip(shell, visit), key="camera-strip")
    shutter_button = ft.FilledButton(
        key="camera-shutter",
        content=ft.Row([ft.Icon(ft.Icons.PHOTO_CAMERA, size=30, color=ft.Colors.WHITE),
                        ft.Text(t("camera.shutter"), size=20, weight=ft.FontWeight.W_600, color=ft.Colors.WHITE)],
                       alignment=ft.MainAxisAlignment.CENTER, spacing=10, tight=True),
        height=SHUTTER_HEIGHT, on_click=shutter, disabled=not visit.can_shoot,
        style=ft.ButtonStyle(shape=ft.RoundedRectangleBorder(radius=SHUTTER_HEIGHT // 2)),
    )
    starting = ft.Container(ft.Text(t("camera.starting"), size=17, color=ft.Colors.WHITE),
                            alignment=ft.Alignment.CENTER, visible=visit.status == "starting")
    preview_box = ft.Container(_preview(shell, visit, camera, starting), expand=True, bgcolor=ft.Colors.BLACK,
                               border_radius=10, alignment=ft.Alignment.CENTER, key="camera-preview")
    # Opened by a report's photo step, the screen is that step: the report is submitted from here
    # (waiting, like the step's own button, while photos are still in intake); the back arrow
    # shows the step. Elsewhere "done" returns to the claim's photos.
    for_report = visit.submit is not None
    if for_report:
        def submit(e) -> None:
            shell.screen_state.pop(("camera_ui", claim_id), None)
            shell.screen_state.pop(("camera", claim_id), None)
            visit.submit(shell)
        finish = w.big_button(t("wizard.submit"), "wizard-submit", submit, icon=ft.Icons.SEND, expand=True,
                              disabled=photos_busy(shell, claim_id))
        title = t("wizard.title") + " · " + t("wizard.step.photos")
    else:
        finish = w.big_button(t("camera.done"), "camera-done", lambda e: _leave(shell, visit), icon=ft.Icons.CHECK,
                              filled=False, expand=True)
        title = t("camera.title")
    ui = {"visit": visit, "status": status_box, "strip": strip_box, "shutter": shutter_button,
          "preview": preview_box, "camera": camera, "starting": starting, "pending": False,
          "finish": finish, "for_report": for_report, "refresh": lambda: refresh(shell, claim_id)}
    shell.screen_state[("camera_ui", claim_id)] = ui
    if camera is not None:
        # Started once the client has it (the patch that adds it is sent before did_mount runs).
        camera.did_mount = lambda: shell.page.run_task(_start, shell, visit, camera)
    ui["view"] = ft.View(
        route=f"/camera/{claim_id}",
        appbar=ft.AppBar(
            title=ft.Text(title, size=20, weight=ft.FontWeight.W_600),
            leading=w.icon_button(ft.Icons.ARROW_BACK, t("common.back"), "back", lambda e: _leave(shell, visit),
                                  color=ft.Colors.WHITE),
            automatically_imply_leading=False, bgcolor=ft.Colors.BLUE_800, color=ft.Colors.WHITE,
        ),
        padding=ft.Padding.all(12),
        spacing=10,
        horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
        controls=[
            preview_box,
            status_box,
            strip_box,
            ft.Row([
                w.big_button(t("photos.pick"), "camera-pick", None, icon=ft.Icons.PHOTO_LIBRARY, filled=False,
                             expand=True, action=pick_photos_action(shell, claim_id, key="camera-pick",
                                                                    on_items=picked)),
                finish,
            ], spacing=12),
            shutter_button,
        ],
    )
    return ui["view"]


async def _start(shell, visit: CameraVisit, camera) -> None:
    """Open the back camera (the first one where none faces back) and show its preview."""
    from flet_camera import CameraLensDirection, ResolutionPreset

    try:
        cameras = await camera.get_available_cameras()
        if not cameras:
            visit.status = "no_camera"
        else:
            chosen = next((c for c in cameras if c.lens_direction == CameraLensDirection.BACK), cameras[0])
            # 1080p: enough to read a damaged wall or a house number; intake keeps the original.
            await camera.initialize(chosen, ResolutionPreset.VERY_HIGH, enable_audio=False)
            visit.status = "ready"
    except Exception as exc:
        log.info("the camera did not start", exc_info=True)
        visit.status = camera_problem(str(exc))
    refresh(shell, visit.claim_id)


def refresh(shell, claim_id: str) -> None:
    """Redraw the camera screen's status, strip and shutter in place (never the whole screen: that
    would restart the camera). Safe from any thread; redraws arriving together are one."""
    ui = shell.screen_state.get(("camera_ui", claim_id))
    if ui is None or ui["pending"]:
        return
    ui["pending"] = True

    async def redraw() -> None:
        ui["pending"] = False
        visit = ui["visit"]
        if ui is not shell.screen_state.get(("camera_ui", claim_id)):
            return
        try:
            _apply(shell, visit, ui)
            for key in ("status", "strip", "shutter", "preview", "finish"):
                ui[key].update()
        except Exception:  # the screen was closed or replaced meanwhile
            log.debug("camera screen refresh skipped", exc_info=True)

    try:
        shell.page.run_task(redraw)
    except Exception:  # the session is gone
        ui["pending"] = False


def _apply(shell, visit: CameraVisit, ui: dict) -> None:
    """Bring the kept screen's parts up to date with the visit (the caller sends the update)."""
    ui["status"].content = _status(shell, visit)
    ui["strip"].content = _strip(shell, visit)
    ui["shutter"].disabled = not visit.can_shoot
    if ui["for_report"]:
        ui["finish"].disabled = photos_busy(shell, visit.claim_id)
    ui["starting"].visible = visit.status == "starting"
    if visit.status not in ("starting", "ready"):
        ui["preview"].content = _preview(shell, visit, ui["camera"])


def _preview(shell, visit: CameraVisit, camera, starting: ft.Control | None = None) -> ft.Control:
    t = shell.ctx.t
    if visit.status in ("starting", "ready") and camera is not None:
        # The camera stays where it is once drawn (moving it to a new parent would restart it):
        # only the "opening" note over it is shown or hidden.
        return ft.Stack([camera, starting], expand=True, alignment=ft.Alignment.CENTER)
    # No preview: say why, in the user's words; the picker below stays.
    return ft.Container(ft.Column([
        ft.Icon(ft.Icons.NO_PHOTOGRAPHY, size=48, color=ft.Colors.WHITE),
        ft.Text(t(f"camera.{visit.status}"), size=17, color=ft.Colors.WHITE, text_align=ft.TextAlign.CENTER,
                key="camera-problem"),
    ], horizontal_alignment=ft.CrossAxisAlignment.CENTER, alignment=ft.MainAxisAlignment.CENTER, tight=True),
        padding=ft.Padding.all(20), alignment=ft.Alignment.CENTER)


def _status(shell, visit: CameraVisit) -> ft.Control:
    t = shell.ctx.t
    lines: list[ft.Control] = [ft.Text(t("camera.count", count=visit.count, stored=visit.stored), size=16,
                                       weight=ft.FontWeight.W_600, key="camera-count")]
    if visit.shots or visit.taking:
        if visit.last_fix is None and visit.shots:
            lines.append(ft.Text(t("camera.no_fix"), size=14, color=ft.Colors.ORANGE_900))
        elif visit.last_fix is not None:
            accuracy = visit.last_fix.get("accuracy_m")
            lines.append(ft.Text(t("camera.fix_attached", accuracy=f"{accuracy:.0f}" if accuracy is not None else "?"),
                                 size=14, color=ft.Colors.GREEN_800))
    for item in visit.refused:
        lines.append(ft.Text(t("photos.refused", name=item.name) + item.message, size=14, color=ft.Colors.RED_800))
    return ft.Column(lines, spacing=2)


def _strip(shell, visit: CameraVisit) -> ft.Control:
    ctx = shell.ctx
    tiles: list[ft.Control] = []
    for item in visit.shots:
        if item.state == "stored" and item.sha256:
            thumb = ctx.photo_files.path(item.sha256, "thumb")
            inner: ft.Control = ft.Image(src=thumb.read_bytes() if thumb.exists() else b"", width=THUMB,
                                         height=THUMB, fit=ft.BoxFit.COVER, border_radius=6,
                                         semantics_label=item.name)
        elif item.state in ("refused", "failed"):
            inner = ft.Icon(ft.Icons.ERROR_OUTLINE, color=ft.Colors.RED_700, size=28, tooltip=item.name)
        else:
            inner = ft.ProgressRing(width=24, height=24, stroke_width=3)
        tiles.append(ft.Container(inner, width=THUMB, height=THUMB, bgcolor=ft.Colors.GREY_200, border_radius=6,
                                  alignment=ft.Alignment.CENTER))
    for _ in range(visit.taking):
        tiles.append(ft.Container(ft.ProgressRing(width=24, height=24, stroke_width=3), width=THUMB, height=THUMB,
                                  bgcolor=ft.Colors.GREY_200, border_radius=6, alignment=ft.Alignment.CENTER))
    return ft.Row(list(reversed(tiles)), scroll=ft.ScrollMode.AUTO, spacing=6, height=THUMB if tiles else 0)
