"""The civil-affairs step in the office console (fieldapp.state.office) against the real server:
what the event screen shows is the server's own answer, the bureau's figures and a township's
report recorded from the console reach the server with their times, the export downloads as PDF
and XLSX, and offline the last answer is shown while recording is refused with nothing half-done."""
from __future__ import annotations

import datetime as dt
import io

import pytest

from fieldapp.state.context import NeedsServer
from fieldapp.state.office import Office
from tests.ui.test_office import BAODING, LONGSHUI, OfficeCtx, _get
from tests.ui.test_surveyor_sync import world  # noqa: F401  (fixture: the server, a pool of four, phones)

CHINA = dt.timezone(dt.timedelta(hours=8))
FIGURES = {"deaths": 1, "missing": 0, "injured": 4, "damaged_households": 12, "collapsed_households": 2}


def _flood(srv, phone):
    coordinator = phone("office", "coordinator")
    ctx = OfficeCtx(coordinator)
    office = Office(ctx)
    start = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=2)
    during = (start + dt.timedelta(minutes=30)).isoformat()
    ev = office.declare_event("2026年7月暴雨", "natural_disaster", [LONGSHUI, BAODING], start)
    reporter = phone("reporter", "adjuster")
    for township, village, losses in ((LONGSHUI, "500111100001", ["death"]),
                                      (LONGSHUI, "500111100001", ["house", "medical"]),
                                      (BAODING, None, ["house"])):
        extra = {"village_code": village} if village else {}
        reporter.new_claim(township=township, incident_at=during, loss_types=losses, **extra)
    reporter.sync_until_quiet()
    return office, ctx, ev, start


def test_the_step_is_the_servers_answer_and_records_reach_it(world):
    srv, phone = world
    office, ctx, ev, start = _flood(srv, phone)
    snap = office.civil_affairs(ev["id"])
    assert snap.fresh
    server = _get(srv, f"/api/v1/events/{ev['id']}/civil-affairs")
    assert snap.data["statistics"] == server["statistics"]
    assert snap.data["statistics"]["total"] == {"claims": 3, "deaths": 1, "injured": 1, "damaged_households": 2}
    assert [t["code"] for t in snap.data["townships"]] == [LONGSHUI, BAODING]
    assert not snap.data["bureau"]["received"]

    asked = ctx.syncs_asked
    received = (start + dt.timedelta(hours=1)).astimezone(CHINA).replace(second=0, microsecond=0)
    office.record_bureau_figures(ev["id"], received, FIGURES, "区民政局电话通报")
    office.record_township_report(ev["id"], BAODING, received - dt.timedelta(minutes=20),
                                  {**FIGURES, "deaths": 0}, "")
    assert ctx.syncs_asked == asked + 2
    after = office.civil_affairs(ev["id"]).data
    bureau = after["bureau"]["latest"]
    assert dt.datetime.fromisoformat(bureau["received_at"]) == received
    assert bureau["note"] == "区民政局电话通报" and bureau["recorded_by_role"] == "coordinator"
    assert {t["code"]: t["reported"] for t in after["townships"]} == {LONGSHUI: False, BAODING: True}
    compare = {c["figure"]: c for c in after["comparison"]}
    assert (compare["injured"]["claims"], compare["injured"]["bureau"], compare["injured"]["difference"]) == (1, 4, -3)
    assert after["statistics"]["total"]["injured"] == 1  # the bureau's count never replaces the claims'

    from openpyxl import load_workbook

    name, data = office.civil_affairs_file(ev["id"], "xlsx")
    assert name.endswith(".xlsx")
    assert "与民政局数据对比" in load_workbook(io.BytesIO(data)).sheetnames
    name, data = office.civil_affairs_file(ev["id"], "pdf")
    assert name.endswith(".pdf") and data.startswith(b"%PDF")


def test_offline_the_last_answer_is_shown_and_recording_is_refused(world):
    srv, phone = world
    office, ctx, ev, start = _flood(srv, phone)
    online = office.civil_affairs(ev["id"])
    ctx.phone.transport.offline = True
    kept = office.civil_affairs(ev["id"])
    assert kept is not None and not kept.fresh and kept.data == online.data
    with pytest.raises(NeedsServer) as refused:
        office.record_bureau_figures(ev["id"], dt.datetime.now(CHINA), FIGURES)
    assert refused.value.code == "offline"
    with pytest.raises(NeedsServer):
        office.civil_affairs_file(ev["id"], "pdf")
    ctx.phone.transport.offline = False
    assert _get(srv, f"/api/v1/events/{ev['id']}/civil-affairs")["bureau"]["history"] == []


def test_a_refusal_is_said_with_the_servers_reason(world):
    srv, phone = world
    office, ctx, ev, start = _flood(srv, phone)
    with pytest.raises(NeedsServer) as refused:
        office.record_bureau_figures(ev["id"], start - dt.timedelta(hours=1), FIGURES)
    assert "before the event" in refused.value.message("en")
    with pytest.raises(ValueError):
        office.record_bureau_figures(ev["id"], dt.datetime.now(CHINA), {"deaths": 1})
    fire = office.declare_event("火灾", "fire_explosion", [LONGSHUI], start)
    with pytest.raises(NeedsServer):
        office.civil_affairs(fire["id"])
