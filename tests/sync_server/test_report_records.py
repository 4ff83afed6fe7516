"""The reports' written parts over HTTP on a real database (SQLite and PostgreSQL): the annual
report's narrative written by the lead, frozen once submitted, withdrawn or reviewed by the Center,
and printed with the report; the quarterly review's minutes; the demo mark."""
from __future__ import annotations

import datetime as dt
import io
import re

from sync_server import demo

from .test_rotation_api import add_claims, world  # noqa: F401  (fixture: a pool, a clock in July 2026)

NARRATIVE = "/api/v1/reports/annual/2026/narrative"
PARTS = {"case_analysis": "全年暴雨案件占七成，集中在龙水镇。", "publicity": "进村入户宣传二十场。",
         "shortcomings": "资料收集偏慢。", "next_steps": "推行线上报案。"}


def _text(pdf: bytes) -> str:
    from pypdf import PdfReader

    return re.sub(r"\s+", "", "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages))


def test_who_writes_reads_submits_and_reviews(world):
    c, p = world.client, world.p
    assert c.get(NARRATIVE, headers=p.s1.headers).status_code == 403
    assert c.get(NARRATIVE, headers=p.liaison.headers).status_code == 403
    empty = c.get(NARRATIVE, headers=p.coordinator.headers).json()
    assert (empty["state"], empty["revision"], empty["submission"]) == ("draft", 0, None)
    assert [s["title"] for s in empty["sections"]] == ["案件分析", "宣传效果", "存在的不足", "下一步工作打算"]
    # the lead writes; the Center reads and reviews
    r = c.put(NARRATIVE, headers=p.coordinator.headers, json={"revision": 0, **PARTS})
    assert r.status_code == 403 and r.json()["error"] == "forbidden"
    assert c.put(NARRATIVE, headers=p.s1.headers, json={"revision": 0, **PARTS}).status_code == 403
    assert c.post("/api/v1/reports/annual/2026/submit", headers=p.coordinator.headers,
                  json={"revision": 0}).status_code == 403
    assert c.post("/api/v1/reports/annual/2026/review", headers=p.adjuster.headers,
                  json={"outcome": "accepted"}).status_code == 403
    assert c.get("/api/v1/reports/annual/1999/narrative", headers=p.adjuster.headers).status_code == 422


def test_the_narrative_is_frozen_from_submission_until_withdrawn_or_returned(world):
    c, p = world.client, world.p
    lead, center = p.adjuster.headers, p.coordinator.headers
    r = c.put(NARRATIVE, headers=lead, json={"revision": 0, "case_analysis": PARTS["case_analysis"]})
    assert r.status_code == 200 and r.json()["revision"] == 1
    assert r.json()["updated_by"]["id"] == p.adjuster.user["id"]
    # an edit made on an old copy is refused, not silently lost
    stale = c.put(NARRATIVE, headers=lead, json={"revision": 0, "publicity": "另一版本"})
    assert stale.status_code == 409 and stale.json()["error"] == "stale_revision"
    # the report on 2026 goes to the Center from January 2027 on
    early = c.post("/api/v1/reports/annual/2026/submit", headers=lead, json={"revision": 1})
    assert early.status_code == 409 and early.json()["error"] == "year_not_over"
    world.clock.now = dt.datetime(2027, 1, 8, 2, 0, tzinfo=dt.timezone.utc)
    missing = c.post("/api/v1/reports/annual/2026/submit", headers=lead, json={"revision": 1})
    assert missing.status_code == 409 and missing.json()["error"] == "report_incomplete"
    assert "宣传效果" in missing.json()["message"]
    body = {k: v for k, v in PARTS.items() if k != "case_analysis"}
    assert c.put(NARRATIVE, headers=lead, json={"revision": 1, **body}).json()["revision"] == 2
    sub = c.post("/api/v1/reports/annual/2026/submit", headers=lead, json={"revision": 2})
    assert sub.status_code == 200, sub.text
    got = sub.json()
    assert (got["state"], got["frozen"]) == ("submitted", True)
    assert got["submission"]["submitted_by"]["id"] == p.adjuster.user["id"]
    assert got["submission"]["submitted_at"] == "2027-01-08T02:00:00+00:00"
    assert {s["key"]: s["text"] for s in got["sections"]} == PARTS
    # frozen: no edit, no second submission
    frozen = c.put(NARRATIVE, headers=lead, json={"revision": 2, "next_steps": "改"})
    assert frozen.status_code == 409 and frozen.json()["error"] == "report_frozen"
    again = c.post("/api/v1/reports/annual/2026/submit", headers=lead, json={"revision": 2})
    assert again.status_code == 409 and again.json()["error"] == "report_frozen"
    # the lead withdraws before the review: editable again, the withdrawal recorded
    w = c.post("/api/v1/reports/annual/2026/withdraw", headers=lead).json()
    assert w["state"] == "draft" and w["submission"]["withdrawn_by"]["id"] == p.adjuster.user["id"]
    assert c.put(NARRATIVE, headers=lead, json={"revision": 2, "next_steps": "推行线上报案与回访。"}).status_code == 200
    assert c.post("/api/v1/reports/annual/2026/submit", headers=lead, json={"revision": 3}).status_code == 200
    # the Center returns it: a comment is required; then editable, submitted once more
    bare = c.post("/api/v1/reports/annual/2026/review", headers=center, json={"outcome": "returned"})
    assert bare.status_code == 422
    world.clock.advance(days=2)
    ret = c.post("/api/v1/reports/annual/2026/review", headers=center,
                 json={"outcome": "returned", "comment": "请补充宣传覆盖人数。"}).json()
    assert ret["state"] == "returned" and ret["frozen"] is False
    assert ret["submission"]["reviewed_by"]["id"] == p.coordinator.user["id"]
    assert c.put(NARRATIVE, headers=lead, json={"revision": 3, "publicity": "进村入户宣传二十场，覆盖三千人。"}
                 ).status_code == 200
    assert c.post("/api/v1/reports/annual/2026/submit", headers=lead, json={"revision": 4}).status_code == 200
    ok = c.post("/api/v1/reports/annual/2026/review", headers=center,
                json={"outcome": "accepted", "comment": "同意。"}).json()
    assert ok["state"] == "accepted" and ok["frozen"] is True
    assert [(s["revision"], s["withdrawn_at"] is not None, s["outcome"]) for s in ok["submissions"]] == [
        (2, True, None), (3, False, "returned"), (4, False, "accepted")]
    # accepted is final
    assert c.put(NARRATIVE, headers=lead, json={"revision": 4, "publicity": "x"}).json()["error"] == "report_frozen"
    assert c.post("/api/v1/reports/annual/2026/withdraw", headers=lead).json()["error"] == "not_submitted"
    assert c.post("/api/v1/reports/annual/2026/review", headers=center,
                  json={"outcome": "accepted"}).json()["error"] == "not_submitted"

    # stored with the report: JSON, PDF and XLSX carry the parts and the submission state
    report = c.get("/api/v1/reports/annual", headers=center, params={"year": 2026}).json()
    assert report["narrative"]["state"] == "accepted"
    assert report["narrative"]["sections"][1]["text"] == "进村入户宣传二十场，覆盖三千人。"
    for key in ("claims", "amounts", "durations_days", "rotation", "fund", "recoveries", "demo"):
        assert key in report  # what callers had stays
    text = _text(c.get("/api/v1/reports/annual", headers=center, params={"year": 2026, "format": "pdf"}).content)
    for phrase in ("二、案件分析", "全年暴雨案件占七成，集中在龙水镇。", "覆盖三千人", "报告状态：区金融中心已审查通过",
                   "审查意见：同意。"):
        assert phrase in text, phrase
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(c.get("/api/v1/reports/annual", headers=center,
                                        params={"year": 2026, "format": "xlsx"}).content))
    rows = {r[0].value: r[1].value for r in wb["工作报告"].iter_rows(min_row=2)}
    assert rows["案件分析"] == PARTS["case_analysis"] and rows["报告状态"] == "区金融中心已审查通过"


def test_quarterly_minutes_are_kept_and_printed(world):
    c, p = world.client, world.p
    path = "/api/v1/reports/quarterly/2026/2/minutes"
    assert c.get(path, headers=p.adjuster.headers).json()["revision"] == 0
    assert c.get(path, headers=p.s1.headers).status_code == 403
    assert c.get("/api/v1/reports/quarterly/2026/5/minutes", headers=p.adjuster.headers).status_code == 422
    body = {"revision": 0, "held_on": "2026-07-03", "attendees": "人保、太保、区金融中心",
            "minutes": "回顾第二季度暴雨理赔，查勘平均两天到场。",
            "measures": ["汛期前完成查勘人员培训", "  ", "镇街联络员每周报送"]}
    saved = c.put(path, headers=p.coordinator.headers, json=body)
    assert saved.status_code == 200, saved.text
    assert saved.json()["measures"] == ["汛期前完成查勘人员培训", "镇街联络员每周报送"]  # blank ones dropped
    assert saved.json()["updated_by"]["id"] == p.coordinator.user["id"]
    stale = c.put(path, headers=p.adjuster.headers, json={**body, "minutes": "另一份"})
    assert stale.status_code == 409 and stale.json()["error"] == "stale_revision"
    assert c.put(path, headers=p.s1.headers, json={**body, "revision": 1}).status_code == 403
    assert c.put(path, headers=p.adjuster.headers, json={**body, "revision": 1, "held_on": 5}).status_code == 422
    params = {"year": 2026, "quarter": 2}
    report = c.get("/api/v1/reports/quarterly", headers=p.adjuster.headers, params=params).json()
    assert report["review_meeting"]["minutes"] == body["minutes"] and "narrative" not in report
    other = c.get("/api/v1/reports/quarterly", headers=p.adjuster.headers, params={"year": 2026, "quarter": 3}).json()
    assert other["review_meeting"]["revision"] == 0
    text = _text(c.get("/api/v1/reports/quarterly", headers=p.adjuster.headers,
                       params={**params, "format": "pdf"}).content)
    assert "会议日期：2026-07-03" in text and "2.镇街联络员每周报送" in text


def test_month_floor_and_settlement_in_the_served_report(world):
    c, p = world.client, world.p
    claim = add_claims(world.harness, 1)[0]
    a = c.post(f"/api/v1/claims/{claim}/dispatch", headers=p.adjuster.headers).json()["assignments"][1]
    assert c.post(f"/api/v1/assignments/{a['id']}/accept", headers=p.s1.headers).status_code == 200
    report = c.get("/api/v1/reports/annual", headers=p.coordinator.headers, params={"year": 2026}).json()
    floor = {m["month"]: m for m in report["rotation"]["floor"]["months"]}
    assert report["rotation"]["floor"]["required"] == 2  # the rotation's month_floor
    # the clock stands on 6 July 2026: June is over and not met, July under way with one of two
    assert floor["2026-06"]["status"] == "not_met"
    assert (floor["2026-07"]["status"], floor["2026-07"]["participants"]) == ("in_progress", ["co1"])
    assert floor["2026-08"]["status"] == "not_started"
    assert report["settlement"]["error"] is None
    assert {r["insurer_code"] for r in report["settlement"]["insurers"]} == {"lead", "co1", "co2", "co3", "co4"}
    quarterly = c.get("/api/v1/reports/quarterly", headers=p.coordinator.headers,
                      params={"year": 2026, "quarter": 3}).json()
    assert "settlement" not in quarterly and len(quarterly["rotation"]["floor"]["months"]) == 3


def test_a_database_seeded_with_demo_data_says_so(world):
    c, h = world.client, world.p.coordinator.headers
    real = c.get("/api/v1/reports/annual", headers=h, params={"year": 2026}).json()
    assert real["demo"] is False and "demo_notice" not in real
    demo.seed(world.harness.db)
    marked = c.get("/api/v1/reports/annual", headers=h, params={"year": 2026}).json()
    assert marked["demo"] is True and marked["demo_notice"] == "演示数据：非真实案件与合同数据"
    pdf = c.get("/api/v1/reports/annual", headers=h, params={"year": 2026, "format": "pdf"}).content
    from pypdf import PdfReader

    assert all("演示数据" in re.sub(r"\s+", "", pg.extract_text()) for pg in PdfReader(io.BytesIO(pdf)).pages)
