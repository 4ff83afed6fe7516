"""The claim's checklist on the phone: past collection a liaison sees why it can no longer change
it (and no buttons the store would refuse), and the site-photos item says why the claim's own
photos do not count instead of leaving a photo count next to 缺."""
from __future__ import annotations

import hashlib
from types import SimpleNamespace

import flet as ft

from claimcore.document_rules import DocumentsClosed
from fieldapp.i18n import t as translate
from fieldapp.state.claims import load_claim
from fieldapp.state.wizard import NewReportWizard
from fieldapp.store.schema import Claim
from fieldapp.views import claim as claim_view

LONGSHUI = "500111100"
GAOKENG = "500111100203"
VALID_ID = "11010519491231002X"
FIX = {"lat": 29.599, "lon": 105.756, "accuracy_m": 12.0}


def _controls(controls) -> list:
    out = []
    for c in controls:
        out.append(c)
        out += _controls(getattr(c, "controls", None) or [])
        content = getattr(c, "content", None)
        if content is not None and not isinstance(content, str):
            out += _controls([content])
    return out


def _house_claim_with_photos(store, n: int) -> str:
    w = NewReportWizard(store, "u-liaison", "liaison", LONGSHUI)
    w.choose_coverage("natural_disaster")
    w.set_fix(FIX)
    w.set_village(GAOKENG)
    w.set_description("暴雨冲垮院墙")
    assert w.next(), w.errors
    w.toggle_loss_type("house")
    w.set_victim(0, "name", "王秀英")
    w.set_victim(0, "id_number", VALID_ID)
    assert w.next(), w.errors
    claim_id = w.finish()
    for i in range(n):
        data = f"photo {i}".encode()
        store.photos.add(claim_id, SimpleNamespace(
            sha256=hashlib.sha256(data).hexdigest(), jpeg_bytes=data, preview_jpeg=data, thumb_jpeg=data,
            original_bytes=None, converted_from=None, width=4000, height=3000, flags=[], exif_gps=None,
            exif_replaced=False, fix=None, captured_at="2026-07-01T09:00:00+08:00"), fix=FIX)
    return claim_id


def _documents(ctx, claim_id: str, role: str) -> list:
    store = ctx.store
    shell = SimpleNamespace(ctx=SimpleNamespace(store=store, role=role, language="zh", user=SimpleNamespace(id="u"),
                                                t=lambda key, **kw: translate(key, "zh", **kw)),
                            pick_action=lambda *a, **kw: None)
    return _controls(claim_view._documents(shell, load_claim(store, claim_id, role, "zh")))


def _texts(controls) -> list[str]:
    return [c.value for c in controls if isinstance(c, ft.Text) and isinstance(c.value, str)]


def test_site_photos_item_says_why_three_report_photos_do_not_count(ctx):
    claim_id = _house_claim_with_photos(ctx.store, 3)
    controls = _documents(ctx, claim_id, "liaison")
    note = next(c for c in controls if getattr(c, "key", None) == "doc-site_photos-photos-note")
    assert "本案已有 3 张照片" in note.value and "保险公司查勘人员" in note.value
    # Marked collected by the survey: nothing to explain any more.
    ctx.store.documents.set_status(claim_id, "site_photos", "collected", user="u")
    controls = _documents(ctx, claim_id, "liaison")
    assert not any(getattr(c, "key", None) == "doc-site_photos-photos-note" for c in controls)


def test_past_collection_a_liaison_sees_why_and_no_status_buttons(ctx):
    claim_id = _house_claim_with_photos(ctx.store, 0)
    # While the files are being collected the liaison sets statuses by tapping.
    assert any(isinstance(c, ft.OutlinedButton) and c.key == "doc-site_photos-collected"
               for c in _documents(ctx, claim_id, "liaison"))
    with ctx.store.db.write() as session:
        session.get(Claim, claim_id).status = "adjusted"
    controls = _documents(ctx, claim_id, "liaison")
    assert DocumentsClosed("adjusted", "liaison").message("zh") in _texts(controls)
    buttons = [c for c in controls if isinstance(c, ft.OutlinedButton) and str(c.key or "").startswith("doc-")]
    assert buttons == []
    # The adjuster archives the files: its buttons stay.
    controls = _documents(ctx, claim_id, "adjuster")
    assert any(isinstance(c, ft.OutlinedButton) and c.key == "doc-site_photos-missing" for c in controls)
    assert DocumentsClosed("adjusted", "liaison").message("zh") not in _texts(controls)
