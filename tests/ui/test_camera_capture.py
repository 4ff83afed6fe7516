"""The camera's burst through the real intake: shots taken one after another while earlier ones
are still being taken in join one batch, are stored one at a time in shutter order, each with its
own fix; and why a camera shows no preview, in the screen's terms."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from fieldapp.state.capture import CameraVisit, PhotoCapture, camera_problem
from tests.ui.test_state import FIX, _complete_report

CORPUS = Path(__file__).resolve().parents[2] / "tests" / "e2e" / "photos"


def test_a_burst_joins_one_batch_and_each_shot_keeps_its_fix(ctx):  # noqa: F811
    claim_id = _complete_report(ctx)
    seen_working: list[int] = []
    cap = PhotoCapture(ctx.store, ctx.photo_files, claim_id, "u", "zh")
    cap.on_change = lambda: seen_working.append(sum(i.state == "working" for i in cap.batch.items))
    photos = sorted(CORPUS.glob("*.jpg"))[:3]
    start = datetime.now(timezone.utc)
    items = []
    for n, path in enumerate(photos):
        fix = dict(FIX, lat=FIX["lat"] + n * 0.001, at=(start + timedelta(seconds=n)).isoformat())
        items += cap.add_tracked([(f"shot {n + 1}", path.read_bytes())], fix,
                                 captured_at=start + timedelta(seconds=n))
    batch = cap.batch
    cap.wait(60)
    assert [i.name for i in batch.items] == ["shot 1", "shot 2", "shot 3"] and batch.items == items
    assert batch.done and batch.stored == 3
    assert max(seen_working) == 1  # never two photos into the store at once
    stored = {p.sha256: p for p in ctx.store.photos.list_for_claim(claim_id)}
    for n, item in enumerate(items):
        assert stored[item.sha256].lat == pytest.approx(FIX["lat"] + n * 0.001)
    # a shot after the burst is done starts a new batch
    again = cap.add_tracked([("shot 4", photos[0].read_bytes())], FIX)
    cap.wait(60)
    assert cap.batch is not batch and cap.batch.items == again and again[0].state == "stored"


def test_a_refused_shot_is_counted_apart():
    visit = CameraVisit("c1", "/new", status="ready")
    visit.taking = 1
    assert visit.count == 1 and visit.can_shoot
    from fieldapp.state.capture import CaptureItem

    visit.shots = [CaptureItem("a", state="stored"), CaptureItem("b", state="refused", message="不是 JPEG")]
    visit.taking = 0
    assert (visit.count, visit.stored, [i.name for i in visit.refused]) == (2, 1, ["b"])
    assert not CameraVisit("c1", "/new").can_shoot  # starting: no shutter yet


@pytest.mark.parametrize("error, problem", [
    ("NotAllowedError: Permission denied", "denied"),
    ("CameraException(CameraAccessDenied, Camera access permission was denied)", "denied"),
    ("CameraWebException(notFound, No camera found for the given camera options.)", "no_camera"),
    ("NotFoundError: Requested device not found", "no_camera"),
    ("CameraException(notReadable, The camera is in use)", "failed"),
])
def test_why_a_camera_shows_no_preview(error, problem):
    assert camera_problem(error) == problem
