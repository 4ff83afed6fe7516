"""The in-app camera in a real browser: Chromium's fake camera (a test pattern) stands in for the
phone's, the context's geolocation for its GPS. A liaison reports a loss and takes three photos
with the shutter, without leaving the camera screen; each stored photo carries the GPS fix read
at its shutter and passed intake; the report is submitted from the photo step. The camera screen
is photographed at phone size (test-output/screenshots/camera-*.png).
"""
from __future__ import annotations

import io
import os
import re
import shutil

import pytest

from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, LONGSHUI_FIX, FieldApp, Screen

LONGSHUI = "500111100"
VICTIM = "赵光明"
FAKE_CAMERA = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]


@pytest.fixture(scope="module")
def browsers():
    """Chromium with the fake camera, and the suite's plain Chromium (no camera device): one
    Playwright for both (a second one cannot run beside it)."""
    from playwright.sync_api import sync_playwright

    executable = CHROMIUM if os.path.exists(CHROMIUM) else shutil.which("chromium")
    with sync_playwright() as pw:
        with_camera = pw.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS + FAKE_CAMERA)
        plain = pw.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        yield {"camera": with_camera, "plain": plain}
        with_camera.close()
        plain.close()


@pytest.fixture(scope="module")
def phone_app(server, workdir):
    """One liaison's phone for both tests (an enrolment code is used once)."""
    app = FieldApp(workdir, "phone-camera", server.url)
    yield app
    app.stop()


def _store(app):
    from fieldapp.store import open_store

    return open_store(app.data)


def _photos_of(app, victim: str) -> tuple[str, list]:
    with _store(app) as store:
        rows = [r for r in store.claims.list_page(limit=100).rows if r.victim_name == victim]
        assert len(rows) == 1
        return rows[0].id, store.photos.list_for_claim(rows[0].id)


def _exif_position(path) -> tuple[float, float]:
    """Latitude and longitude written into the stored JPEG's EXIF (degrees, WGS-84)."""
    import piexif

    gps = piexif.load(path.read_bytes())["GPS"]

    def degrees(value, ref) -> float:
        d, m, s = (n / den for n, den in value)
        return (d + m / 60 + s / 3600) * (-1 if ref in (b"S", b"W") else 1)

    return (degrees(gps[piexif.GPSIFD.GPSLatitude], gps[piexif.GPSIFD.GPSLatitudeRef]),
            degrees(gps[piexif.GPSIFD.GPSLongitude], gps[piexif.GPSIFD.GPSLongitudeRef]))


def test_a_burst_from_the_in_app_camera_carries_the_fix_and_passes_intake(server, phone_app, browsers):
    from PIL import Image

    from fieldapp.media import PhotoFiles
    from fieldapp.state.context import PHOTOS_DIR

    app = phone_app
    phone = Screen(browsers["camera"], app.url, "camera", permissions=["geolocation", "camera"])
    try:
        phone.opened(phone.button("登记"))
        code, user = server.code_for("liaison", LONGSHUI)
        phone.type_into("登记码", code)
        phone.tap(phone.button("登记", exact=True), then=user["name"])
        phone.see(user["name"])
        phone.tap(phone.button("确认并开始"))
        phone.see("我的案件")

        phone.taps = 0
        phone.tap(phone.button("新建报案"), then="选择险种")
        phone.tap(phone.button("自然灾害救助保险"), then="村（社区）")
        phone.page.get_by_text(re.compile(r"定位：29\.5")).first.wait_for(state="attached", timeout=30_000)
        phone.type_into("出险经过", "暴雨后山体滑坡，房屋后墙倒塌。")
        phone.tap(phone.button("高坑村村民委员会"))
        phone.tap(phone.button("下一步"), then="损失类型")
        phone.tap(phone.labelled("房屋及室内财产"))
        phone.type_into("姓名", VICTIM)
        phone.type_after_next("身份证号", "11010519491231002X")  # the keyboard's next key: no tap
        # -- the photo step opens the camera: preview, then a burst of three without leaving it ----
        phone.tap(phone.button("下一步"), then="本次 0 张")
        phone.see("新建报案 · 照片")  # the camera is the report's photo step
        phone.button("从相册选择").wait_for(timeout=30_000)  # the picker stays beside the camera
        shutter = phone.page.get_by_role("button", name="拍照", exact=True)
        # The shutter is enabled once the preview runs (Playwright's click waits for that).
        for n in (1, 2, 3):
            shutter.click(timeout=60_000)
            phone.taps += 1
            phone.see(f"本次 {n} 张", timeout=30_000)
            phone.page.wait_for_timeout(400)  # the test pattern moves on: each photo its own
        phone.see("本次 3 张，已保存 3 张", timeout=120_000)
        phone.see("最近一张已附带 GPS 定位")
        phone.page.get_by_text("正在打开相机").wait_for(state="detached", timeout=10_000)
        box = shutter.bounding_box()
        assert box is not None and box["height"] >= 48 and box["width"] >= 48, box
        phone.shot("burst")

        phone.tap(phone.button("提交报案"))  # from the camera: the report's own submit
        phone.see("还缺", timeout=30_000)
        camera_taps = phone.taps
        print(f"report with 3 camera photos: {camera_taps} taps")
        assert camera_taps <= 12, f"a report with 3 camera photos took {camera_taps} taps"

        claim_id, photos = _photos_of(app, VICTIM)
        assert len(photos) == 3 and len({p.sha256 for p in photos}) == 3
        files = PhotoFiles(app.data / PHOTOS_DIR)
        for p in photos:
            # the fix read at the shutter, on the record and in the photo's own EXIF
            assert (p.lat, p.lon) == pytest.approx((LONGSHUI_FIX["latitude"], LONGSHUI_FIX["longitude"]), abs=1e-6)
            assert p.fix_accuracy_m == pytest.approx(LONGSHUI_FIX["accuracy"])
            assert p.fix_at and p.taken_at
            # passed intake with nothing to note: not refused, no GPS or time warnings
            assert p.flags == [], p.flags
            original = files.path(p.sha256, "original")
            assert files.verify(p.sha256)
            assert _exif_position(original) == pytest.approx(
                (LONGSHUI_FIX["latitude"], LONGSHUI_FIX["longitude"]), abs=1e-5)
            with Image.open(io.BytesIO(original.read_bytes())) as im:
                assert im.format == "JPEG" and min(im.size) >= 240
        assert phone.page.get_by_text("未能保存").count() == 0

        # the claim's photo tab reaches the same camera and comes back to the tab
        phone.tap(phone.button("照片", exact=True), then="已有 3 张照片")
        phone.tap(phone.button("相机拍照"), then="本次 0 张")
        phone.tap(phone.button("完成"), then="已有 3 张照片")
        assert phone.page.url.rstrip("/").endswith(f"/claim/{claim_id}/photos")
        _session_kept_answering(app)
    except BaseException:
        phone.failed(app.log)
        raise
    finally:
        phone.close()


def _session_kept_answering(app) -> None:  # noqa: ANN001
    """The camera's answers came after "done" took it off the page (it was still starting): the
    session's receive loop must not end on them (it did, and the page stopped answering)."""
    log = app.log.read_text(encoding="utf-8", errors="replace")
    assert "Receive loop error" not in log, log[-3000:]


def test_no_camera_is_said_and_the_picker_stays(phone_app, browsers):
    """The same phone's app in a browser with no camera device and no camera permission (the
    suite's plain Chromium): the camera screen says why there is no preview, the shutter stays
    off, the picker stays, and "done" returns to the claim's photos."""
    app = phone_app
    phone = Screen(browsers["plain"], app.url, "camera-none")
    try:
        phone.see("我的案件", timeout=90_000)
        phone.tap(phone.page.get_by_text(VICTIM).first, then="概况")
        phone.tap(phone.button("照片", exact=True), then="已有 3 张照片")
        phone.tap(phone.button("相机拍照"), then="本次 0 张")
        problem = phone.page.get_by_text(re.compile("没有相机权限|没有找到相机|相机打不开"))
        problem.first.wait_for(state="attached", timeout=60_000)
        phone.shot("no-camera")
        assert phone.page.get_by_role("button", name="从相册选择").count() == 1
        assert phone.page.get_by_role("button", name="拍照", exact=True).first.is_disabled()
        phone.tap(phone.button("完成"), then="已有 3 张照片")
        _session_kept_answering(app)
    except BaseException:
        phone.failed(app.log)
        raise
    finally:
        phone.close()
