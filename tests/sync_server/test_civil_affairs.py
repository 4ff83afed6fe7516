"""The civil-affairs step of a natural disaster (SQLite and PostgreSQL, real HTTP through the app):
townships report to the bureau, the bureau's figures reach the lead insurer (when is recorded),
the event's claims give casualties and damaged households by township and village next to them
(never merged), the export for the bureau opens as XLSX and PDF, only natural disasters have the
step, and the roles are those of the office (a liaison files its own township's report only)."""
from __future__ import annotations

import datetime as dt
import io

from .conftest import Phone
from .test_event_grouping import declare, report
from .test_rotation_api import BAODING, LONGSHUI, world  # noqa: F401  (fixture)

CHAOYANG, WUJIN = "500111100001", "500111100002"  # 龙水镇's 朝阳社区, 五金社区
XIANGSHAN = "500111102001"  # 宝顶镇's 香山社区
FIGURES = {"deaths": 2, "missing": 1, "injured": 5, "damaged_households": 40, "collapsed_households": 6}


def step(w, event_id, who=None, **params):
    return w.client.get(f"/api/v1/events/{event_id}/civil-affairs", headers=(who or w.p.adjuster).headers,
                        params=params)


def township_report(w, event_id, who, township=LONGSHUI, at="2026-07-06T08:00:00+08:00", **figures):
    return w.client.post(f"/api/v1/events/{event_id}/civil-affairs/township-reports", headers=who.headers,
                         json={"township_code": township, "reported_at": at, **{**FIGURES, **figures}})


def bureau_figures(w, event_id, who=None, at="2026-07-06T08:30:00+08:00", **figures):
    return w.client.post(f"/api/v1/events/{event_id}/civil-affairs/bureau-figures",
                         headers=(who or w.p.adjuster).headers,
                         json={"received_at": at, "note": "民政局传真", **{**FIGURES, **figures}})


def flood_with_claims(w):
    """A flood in 龙水镇 and 宝顶镇 with claims of every kind, in two villages and none."""
    liaison = Phone(w.client, w.p.liaison)
    liaison_b = Phone(w.client, w.harness.actor("liaison", township_code=BAODING))
    ev = declare(w, townships=(LONGSHUI, BAODING))
    ids = {
        "death": report(liaison, village_code=CHAOYANG, loss_types=["death", "medical"]),
        "injured": report(liaison, village_code=CHAOYANG, loss_types=["disability"]),
        "house": report(liaison, village_code=CHAOYANG, loss_types=["house"]),
        "house_medical": report(liaison, village_code=WUJIN, loss_types=["house", "medical"]),
        "no_village": report(liaison, loss_types=["medical"]),
        "baoding": report(liaison_b, BAODING, village_code=XIANGSHAN, loss_types=["house"]),
        "withdrawn": report(liaison, village_code=WUJIN, loss_types=["death"]),
    }
    from sync_server.core.models import Claim

    with w.harness.db.write() as s:  # taken back by the victim: it no longer counts
        s.get(Claim, ids["withdrawn"]).status = "withdrawn"
    return ev, ids


def test_the_statistics_come_from_the_events_claims_by_township_and_village(world):
    ev, _ = flood_with_claims(world)
    r = step(world, ev["id"])
    assert r.status_code == 200, r.text
    stats = r.json()["statistics"]
    assert stats["total"] == {"claims": 6, "deaths": 1, "injured": 3, "damaged_households": 3}
    assert stats["left_out"] == {"withdrawn": 1}
    longshui, baoding = stats["by_township"]
    assert (longshui["code"], longshui["name"]) == (LONGSHUI, "龙水镇")
    assert {k: longshui[k] for k in ("claims", "deaths", "injured", "damaged_households")} == \
        {"claims": 5, "deaths": 1, "injured": 3, "damaged_households": 2}
    by_village = {v["code"]: v for v in longshui["villages"]}
    assert by_village[CHAOYANG]["name"] == "朝阳社区居民委员会"
    # a death with medical costs is one death, not also an injury
    assert {k: by_village[CHAOYANG][k] for k in ("claims", "deaths", "injured", "damaged_households")} == \
        {"claims": 3, "deaths": 1, "injured": 1, "damaged_households": 1}
    assert {k: by_village[WUJIN][k] for k in ("claims", "deaths", "injured", "damaged_households")} == \
        {"claims": 1, "deaths": 0, "injured": 1, "damaged_households": 1}
    assert by_village[None]["injured"] == 1 and by_village[None]["name"] is None
    assert [v["code"] for v in longshui["villages"]] == [CHAOYANG, WUJIN, None]
    assert baoding["name"] == "宝顶镇" and baoding["damaged_households"] == 1
    assert baoding["villages"][0]["name"] == "香山社区居民委员会"


def test_a_claim_taken_out_of_the_event_no_longer_counts(world):
    ev, ids = flood_with_claims(world)
    r = world.client.delete(f"/api/v1/events/{ev['id']}/claims/{ids['baoding']}", headers=world.p.adjuster.headers)
    assert r.status_code == 200, r.text
    stats = step(world, ev["id"]).json()["statistics"]
    assert [t["code"] for t in stats["by_township"]] == [LONGSHUI]
    assert stats["total"]["damaged_households"] == 2


def test_township_reports_and_the_bureaus_figures_are_recorded_with_their_times(world):
    ev, _ = flood_with_claims(world)
    before = step(world, ev["id"]).json()
    assert before["bureau"] == {"received": False, "latest": None, "history": []}
    assert [(t["code"], t["reported"]) for t in before["townships"]] == [(LONGSHUI, False), (BAODING, False)]
    assert all(c["bureau"] is None and c["difference"] is None for c in before["comparison"])

    # the liaison files its own township's report; the office files 宝顶镇's on its behalf
    r = township_report(world, ev["id"], world.p.liaison, deaths=1, injured=2, damaged_households=3,
                        collapsed_households=1)
    assert r.status_code == 201, r.text
    mine = r.json()
    assert mine["township_name"] == "龙水镇" and mine["recorded_by_role"] == "liaison"
    assert dt.datetime.fromisoformat(mine["reported_at"]) == dt.datetime(2026, 7, 6, 0, 0, tzinfo=dt.timezone.utc)
    r = township_report(world, ev["id"], world.p.coordinator, BAODING, deaths=0, injured=0, damaged_households=1,
                        collapsed_households=0, missing=0)
    assert r.status_code == 201, r.text
    # a later report of the same township (续报) stands; the first is kept
    r = township_report(world, ev["id"], world.p.liaison, at="2026-07-06T08:45:00+08:00", deaths=1, injured=3,
                        damaged_households=4, collapsed_households=1)
    assert r.status_code == 201, r.text

    r = bureau_figures(world, ev["id"])
    assert r.status_code == 201, r.text
    got = r.json()
    assert dt.datetime.fromisoformat(got["received_at"]) == dt.datetime(2026, 7, 6, 0, 30, tzinfo=dt.timezone.utc)
    assert got["recorded_by"] == world.p.adjuster.user["id"]
    assert dt.datetime.fromisoformat(got["recorded_at"]) == world.clock.now  # the server's clock

    after = step(world, ev["id"]).json()
    assert after["townships_reported"] == 2
    longshui = after["townships"][0]
    assert longshui["reports"] == 2 and longshui["latest"]["injured"] == 3
    assert len(after["township_reports"]) == 3
    assert after["bureau"]["received"] and after["bureau"]["latest"]["id"] == got["id"]
    compare = {c["figure"]: c for c in after["comparison"]}
    # claims 1 death / 3 injured / 3 households; bureau 2 / 5 / 40: both kept, the difference shown
    assert (compare["deaths"]["claims"], compare["deaths"]["bureau"], compare["deaths"]["difference"]) == (1, 2, -1)
    assert (compare["injured"]["claims"], compare["injured"]["townships"], compare["injured"]["bureau"]) == (3, 3, 5)
    assert compare["damaged_households"]["difference"] == 3 - 40
    assert compare["missing"]["claims"] is None and compare["missing"]["bureau"] == 1
    assert compare["missing"]["difference"] is None
    assert after["statistics"]["total"]["deaths"] == 1  # never overwritten by the bureau's figures

    # the bureau's later figures stand; the earlier receipt is kept in the history
    world.clock.advance(hours=3)
    r = bureau_figures(world, ev["id"], who=world.p.coordinator, at="2026-07-06T11:00:00+08:00", deaths=1)
    assert r.status_code == 201, r.text
    latest = step(world, ev["id"]).json()["bureau"]
    assert latest["latest"]["deaths"] == 1 and [b["deaths"] for b in latest["history"]] == [1, 2]


def test_figures_and_times_that_cannot_be_are_refused(world):
    ev, _ = flood_with_claims(world)
    r = bureau_figures(world, ev["id"], damaged_households=3, collapsed_households=4)
    assert (r.status_code, r.json()["error"]) == (422, "collapsed_exceeds_damaged")
    r = bureau_figures(world, ev["id"], at=(world.clock.now + dt.timedelta(hours=1)).isoformat())
    assert (r.status_code, r.json()["error"]) == (422, "in_the_future")
    r = bureau_figures(world, ev["id"], at="2026-07-05T19:00:00+08:00")  # the flood began at 20:00
    assert (r.status_code, r.json()["error"]) == (422, "before_event")
    r = bureau_figures(world, ev["id"], at="2026-07-06T08:30:00")
    assert r.status_code == 422
    r = bureau_figures(world, ev["id"], deaths=-1)
    assert r.status_code == 422
    r = township_report(world, ev["id"], world.p.adjuster, township="999999999")
    assert (r.status_code, r.json()["error"]) == (422, "unknown_township")
    assert step(world, ev["id"]).json()["bureau"]["history"] == []


def test_only_natural_disasters_have_the_step(world):
    fire = declare(world, coverage="fire_explosion", name="7·06 火灾")
    for r in (step(world, fire["id"]), bureau_figures(world, fire["id"]),
              township_report(world, fire["id"], world.p.adjuster)):
        assert (r.status_code, r.json()["error"]) == (409, "not_natural_disaster")
    missing = "00000000-0000-4000-8000-000000000000"
    for r in (step(world, missing), bureau_figures(world, missing)):
        assert (r.status_code, r.json()["error"]) == (404, "not_found")


def test_roles(world):
    ev, _ = flood_with_claims(world)
    s1 = world.p.s1
    assert step(world, ev["id"], s1).status_code == 403
    assert step(world, ev["id"], world.p.liaison).status_code == 403
    assert bureau_figures(world, ev["id"], s1).status_code == 403
    assert bureau_figures(world, ev["id"], world.p.liaison).status_code == 403
    assert township_report(world, ev["id"], s1).status_code == 403
    r = township_report(world, ev["id"], world.p.liaison, BAODING)  # not its township
    assert (r.status_code, r.json()["error"]) == (403, "not_own_township")
    assert step(world, ev["id"], world.p.coordinator).json()["township_reports"] == []


def test_the_export_for_the_bureau_opens_as_xlsx_and_pdf(world):
    from openpyxl import load_workbook
    from pypdf import PdfReader

    ev, _ = flood_with_claims(world)
    township_report(world, ev["id"], world.p.liaison)
    bureau_figures(world, ev["id"])
    r = step(world, ev["id"], format="xlsx")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats")
    wb = load_workbook(io.BytesIO(r.content))
    assert wb.sheetnames == ["概要", "按镇街村社", "与民政局数据对比", "街镇上报情况", "民政局数据记录"]
    rows = [list(row) for row in wb["按镇街村社"].iter_rows(values_only=True)]
    assert rows[0] == ["镇街", "村（社区）", "案件数", "死亡人数", "受伤人数", "受损房屋户数"]
    assert ["龙水镇", "朝阳社区居民委员会", 3, 1, 1, 1] in rows
    assert ["龙水镇", "（未填村社）", 1, 0, 1, 0] in rows
    assert rows[-1] == ["全区合计", None, 6, 1, 3, 3]
    compare = {row[0]: row for row in wb["与民政局数据对比"].iter_rows(values_only=True)}
    assert compare["死亡人数"] == ("死亡人数", 1, 2, 2, "-1")
    assert compare["失踪人数"][1] == "—"
    towns = {row[0]: row for row in wb["街镇上报情况"].iter_rows(values_only=True)}
    assert towns["龙水镇"][1:3] == ("已上报", "2026-07-06 08:00") and towns["宝顶镇"][1] == "未上报"
    (_, received, *_rest) = list(wb["民政局数据记录"].iter_rows(values_only=True))
    assert received[0] == "2026-07-06 08:30" and received[6] == "民政局传真"

    r = step(world, ev["id"], format="pdf")
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(r.content)).pages)
    for expected in ("受灾情况统计", "龙水镇", "朝阳社区居民委员会", "全区合计", "与区民政局数据对比",
                     "2026-07-06 08:30", "未上报"):
        assert expected in text, expected


def test_an_event_name_that_looks_like_a_formula_stays_text_in_the_export(world):
    from openpyxl import load_workbook

    ev = declare(world, name="=HYPERLINK(\"http://x\",\"点击\")")
    r = step(world, ev["id"], format="xlsx")
    cell = load_workbook(io.BytesIO(r.content))["概要"]["B3"]
    assert cell.data_type == "s" and cell.value.startswith("=HYPERLINK")
