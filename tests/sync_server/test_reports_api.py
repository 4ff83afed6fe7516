"""Report downloads over HTTP: JSON, XLSX and PDF of the same period agree."""
from __future__ import annotations

import datetime as dt
import io
import re

from .test_rotation_api import add_claims, dispatch, world  # noqa: F401  (fixture)


def test_quarterly_report_json_xlsx_pdf(world):
    from openpyxl import load_workbook
    from pypdf import PdfReader

    claims = add_claims(world.harness, 3, claimed_amount_fen=123_456, paid_amount_fen=100_000)
    a = dispatch(world, claims[0])[1]
    world.client.post(f"/api/v1/assignments/{a['id']}/accept", headers=world.p.s1.headers)
    world.client.post(f"/api/v1/assignments/{a['id']}/arrive", headers=world.p.s1.headers,
                      json={"lat": 29.7, "lon": 105.8})
    h = world.p.coordinator.headers
    # the claims were created now (reported_at falls back to created_at): report this quarter
    today = dt.datetime.now(dt.timezone(dt.timedelta(hours=8)))
    params = {"year": today.year, "quarter": (today.month - 1) // 3 + 1}
    data = world.client.get("/api/v1/reports/quarterly", headers=h, params=params).json()
    assert data["claims"]["total"] == 3
    assert data["amounts"] == {"claimed_fen": 370_368, "paid_fen": 300_000}
    r = world.client.get("/api/v1/reports/quarterly", headers=h, params={**params, "format": "xlsx"})
    assert r.status_code == 200 and "spreadsheetml" in r.headers["content-type"]
    wb = load_workbook(io.BytesIO(r.content))
    ws = wb["按险种"]
    assert [c.value for c in ws[ws.max_row]][2:] == [3, 370_368, 300_000]
    r = world.client.get("/api/v1/reports/quarterly", headers=h, params={**params, "format": "pdf"})
    assert r.content.startswith(b"%PDF")
    text = re.sub(r"\s+", "", "".join(p.extract_text() for p in PdfReader(io.BytesIO(r.content)).pages))
    assert "巨灾保险理赔工作回顾" in text and "龙水镇" in text
    annual = world.client.get("/api/v1/reports/annual", headers=h, params={"year": today.year}).json()
    assert annual["claims"]["total"] == 3 and len(annual["rotation"]["months"]) == 12
    # bad input and scope
    assert world.client.get("/api/v1/reports/quarterly", headers=h, params={"year": 2026}).status_code == 422
    assert world.client.get("/api/v1/reports/weekly", headers=h, params={"year": 2026}).status_code == 422
    assert world.client.get("/api/v1/reports/annual", headers=world.p.s1.headers,
                            params={"year": 2026}).status_code == 403
