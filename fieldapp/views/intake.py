"""Photo intake of one claim as the screens use it: the claim's intake (kept per session while
photos are stored), whether it is still busy, and the file picker's action into it. Shared by the
report's photo step, the claim's photo tab and the camera screen."""
from __future__ import annotations

from fieldapp.state.capture import PhotoCapture


def capture_state(shell, claim_id: str) -> PhotoCapture:
    ctx = shell.ctx
    cap = shell.screen_state.get(("capture", claim_id))
    if cap is None:
        cap = PhotoCapture(ctx.store, ctx.photo_files, claim_id, ctx.user.id, ctx.language,
                           on_change=lambda: _capture_changed(shell, claim_id))
        shell.screen_state[("capture", claim_id)] = cap
    cap.lang = ctx.language
    return cap


def _capture_changed(shell, claim_id: str) -> None:
    """Intake progress: the camera screen redraws its strip in place (a redraw of the whole screen
    would restart the camera); any other screen is redrawn."""
    if (shell.page.route or "").startswith("/camera/"):
        ui = shell.screen_state.get(("camera_ui", claim_id))
        if ui is not None:
            ui["refresh"]()
        return
    shell._on_state_change("photo")


def pick_photos_action(shell, claim_id: str, key: str | None = None, on_items=None):
    """The file picker's action: the chosen photos, with the fix at the pick, into intake.
    `on_items` gets the items that follow them (the camera screen lists them with its shots)."""
    cap = capture_state(shell, claim_id)

    def on_files(files):
        async def run():
            fix = await shell.current_fix()  # the file picker has no shutter: the fix at the pick
            items = cap.add_tracked([(f.name, f.bytes or b"") for f in files], fix)
            if on_items is not None:
                on_items(items)
            else:
                shell.render()
        shell.page.run_task(run)

    return shell.pick_action(on_files, key=key)


def photos_busy(shell, claim_id: str) -> bool:
    """Photos of this report are still going through intake: the report waits for them."""
    cap = capture_state(shell, claim_id)
    return cap.batch is not None and not cap.batch.done
