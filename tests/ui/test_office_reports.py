"""The reports screen's state (fieldapp.state.office_reports) against the real server: the annual
report's written parts saved, submitted, withdrawn and reviewed from the console, each person's
acts following the roles, the server's refusals said in the user's language, the quarterly
meeting's minutes, the month floor as the report states it, and the last answer kept offline."""
from __future__ import annotations

from dataclasses import astuple

import pytest

from fieldapp.state.context import NeedsServer
from fieldapp.state.office import Office
from fieldapp.state.office_reports import ReportRecords, floor_months, measures_from_text, narrative_acts
from tests.ui.test_office import QUARTER, YEAR, OfficeCtx, _get
from tests.ui.test_surveyor_sync import world  # noqa: F401  (fixture: the server, a pool of four, phones)

LAST_YEAR = YEAR - 1  # over: its report can go to the Center now
PARTS = {"case_analysis": "暴雨案件为主。", "publicity": "宣传二十场。", "shortcomings": "资料收集偏慢。",
         "next_steps": "推行线上报案。"}


def test_the_annual_report_is_written_submitted_and_reviewed_from_the_console(world):
    srv, phone = world
    lead_ctx, desk_ctx = OfficeCtx(phone("office", "adjuster")), OfficeCtx(phone("desk", "coordinator"))
    lead, desk = ReportRecords(Office(lead_ctx)), ReportRecords(Office(desk_ctx))
    first = lead.narrative(LAST_YEAR)
    assert first.fresh and first.data == _get(srv, f"/api/v1/reports/annual/{LAST_YEAR}/narrative")
    assert astuple(narrative_acts("adjuster", first.data)) == (True, True, False, False)
    assert astuple(narrative_acts("coordinator", first.data)) == (False, False, False, False)
    # the Center does not write the lead's report: the server says so
    with pytest.raises(NeedsServer) as refused:
        desk.save_narrative(LAST_YEAR, 0, PARTS)
    assert refused.value.code == "refused"
    saved = lead.save_narrative(LAST_YEAR, 0, {**PARTS, "publicity": ""})
    assert saved["revision"] == 1 and lead_ctx.syncs_asked == 0
    # an edit on an old copy, and a submission with a part empty: refused in Chinese
    with pytest.raises(NeedsServer) as refused:
        lead.save_narrative(LAST_YEAR, 0, PARTS)
    assert refused.value.detail == "他人刚保存过此内容，请刷新后重新编辑"
    with pytest.raises(NeedsServer) as refused:
        lead.submit(LAST_YEAR, 1)
    assert refused.value.detail == "请先填写全部四个部分并保存，再提交"
    lead.save_narrative(LAST_YEAR, 1, PARTS)
    submitted = lead.submit(LAST_YEAR, 2)
    assert submitted["state"] == "submitted"
    assert astuple(narrative_acts("adjuster", submitted)) == (False, False, True, False)
    assert astuple(narrative_acts("coordinator", submitted)) == (False, False, False, True)
    with pytest.raises(NeedsServer) as refused:
        lead.save_narrative(LAST_YEAR, 2, PARTS)
    assert refused.value.detail == "报告已提交或已审查通过，不能修改"
    with pytest.raises(ValueError):
        desk.review(LAST_YEAR, "returned", "  ")  # a return says what to change
    returned = desk.review(LAST_YEAR, "returned", "请补充宣传覆盖人数。")
    assert astuple(narrative_acts("adjuster", returned)) == (True, True, False, False)
    lead.save_narrative(LAST_YEAR, 2, {"publicity": "宣传二十场，覆盖三千人。"})
    lead.submit(LAST_YEAR, 3)
    accepted = desk.review(LAST_YEAR, "accepted", "")
    assert accepted["state"] == "accepted" and astuple(narrative_acts("adjuster", accepted)) == (False, False, False, False)
    # the report the console shows and downloads carries it
    report = Office(desk_ctx).report("annual", LAST_YEAR, None).data
    assert report["narrative"]["state"] == "accepted"
    assert report["narrative"]["sections"][1]["text"] == "宣传二十场，覆盖三千人。"

    # offline: the last answer, marked as the kept copy
    assert lead.narrative(LAST_YEAR).data["state"] == "accepted"
    lead_ctx._call = lambda *a, **k: (_ for _ in ()).throw(NeedsServer("offline"))
    kept = lead.narrative(LAST_YEAR)
    assert not kept.fresh and kept.data["state"] == "accepted"
    with pytest.raises(NeedsServer) as refused:
        lead.withdraw(LAST_YEAR)
    assert refused.value.code == "offline"


def test_the_quarterly_minutes_and_the_month_floor(world):
    srv, phone = world
    desk = ReportRecords(Office(OfficeCtx(phone("desk", "coordinator"))))
    lead = ReportRecords(Office(OfficeCtx(phone("office", "adjuster"))))
    assert desk.minutes(YEAR, QUARTER).data["revision"] == 0
    import datetime as dt

    measures = measures_from_text("1. 汛期前完成查勘人员培训\n\n2、镇街联络员每周报送\n补贴 2.5 万元")
    assert measures == ["汛期前完成查勘人员培训", "镇街联络员每周报送", "补贴 2.5 万元"]
    saved = desk.save_minutes(YEAR, QUARTER, 0, held_on=dt.date(YEAR, 1, 5), attendees="人保、太保",
                              minutes="回顾本季度理赔。", measures=measures)
    assert saved == _get(srv, f"/api/v1/reports/quarterly/{YEAR}/{QUARTER}/minutes")
    again = lead.save_minutes(YEAR, QUARTER, saved["revision"], held_on=None, attendees="人保、太保、区金融中心",
                              minutes="回顾本季度理赔。", measures=measures[:2])
    assert again["revision"] == 2 and again["measures"] == measures[:2]
    report = lead.office.report("quarterly", YEAR, QUARTER).data
    assert report["review_meeting"]["attendees"] == "人保、太保、区金融中心"
    months = floor_months(report)
    assert [m.month for m in months] == report["rotation"]["months"]
    assert all(m.required == 2 and m.count == 0 for m in months)
    assert {m.status for m in months} <= {"not_met", "in_progress", "not_started"}
