"""Recovering the claims the lead paid for all (代付赔款摊回) over HTTP, on SQLite and PostgreSQL:
demands to a co-insurer, receipts (never more than was demanded), corrections as counter-entries,
each co-insurer's owed / demanded / received / outstanding, who may see and book what, and the
per-insurer table in the quarterly and annual reports."""
from __future__ import annotations

import io
import re
import threading

from sync_server.core.models import Claim

from .test_rotation_api import add_claims, world  # noqa: F401  (fixture)

BASE = "/api/v1/fund/recoveries"
ZERO = {"owed_fen": 0, "demanded_fen": 0, "received_fen": 0, "outstanding_fen": 0}


def demand(w, code, amount, on="2026-07-01", who=None, **extra):
    return w.client.post(f"{BASE}/{code}/demands", headers=(who or w.p.adjuster).headers,
                         json={"amount_fen": amount, "on": on, **extra})


def receipt(w, code, amount, on="2026-07-03", who=None, **extra):
    return w.client.post(f"{BASE}/{code}/receipts", headers=(who or w.p.adjuster).headers,
                         json={"amount_fen": amount, "on": on, **extra})


def correct(w, entry_id, reason="金额录错", who=None):
    return w.client.post(f"{BASE}/entries/{entry_id}/corrections", headers=(who or w.p.coordinator).headers,
                         json={"reason": reason})


def recoveries(w, who=None) -> dict:
    r = w.client.get(BASE, headers=(who or w.p.coordinator).headers)
    assert r.status_code == 200, r.text
    return r.json()


def paid_claim(w, amount, paid_on=None) -> str:
    (cid,) = add_claims(w.harness, 1, paid_amount_fen=amount)
    if paid_on:
        with w.harness.db.write() as s:
            s.get(Claim, cid).data = {"paid_on": paid_on}
    return cid


def booked(r, status=201) -> dict:
    assert r.status_code == status, r.text
    return r.json()


def test_demand_and_receipt_after_a_paid_claim(world):
    # 1,000,001 fen paid by the lead (40%): each 15% co-insurer owes 150,000 (the extra fen is the lead's)
    paid_claim(world, 1_000_001)
    d = booked(demand(world, "co1", 150_000, note="摊回函 2026-01号"))
    assert {k: d[k] for k in ("insurer_code", "kind", "amount_fen", "on", "note", "corrects", "corrected_by",
                              "reason", "created_by")} == {
        "insurer_code": "co1", "kind": "demanded", "amount_fen": 150_000, "on": "2026-07-01",
        "note": "摊回函 2026-01号", "corrects": None, "corrected_by": None, "reason": None,
        "created_by": world.p.adjuster.user["id"]}
    r = booked(receipt(world, "co1", 100_000, who=world.p.coordinator, note="银行回单"))
    assert (r["kind"], r["amount_fen"], r["on"]) == ("received", 100_000, "2026-07-03")
    got = recoveries(world)
    # every key the route had before is still there, unchanged
    assert got["lead"] == "lead" and len(got["claims"]) == 1
    assert got["to_recover_by_insurer"] == {"co1": 150_000, "co2": 150_000, "co3": 150_000, "co4": 150_000}
    assert got["by_insurer"] == {
        "co1": {"owed_fen": 150_000, "demanded_fen": 150_000, "received_fen": 100_000, "outstanding_fen": 50_000},
        **{c: {**ZERO, "owed_fen": 150_000, "outstanding_fen": 150_000} for c in ("co2", "co3", "co4")}}
    # newest first
    assert [(e["kind"], e["amount_fen"]) for e in got["entries"]] == [("received", 100_000), ("demanded", 150_000)]
    assert got["entries"][0]["id"] == r["id"] and got["entries"][1] == {**d, "created_at": got["entries"][1]["created_at"]}


def test_receipts_never_exceed_what_was_demanded(world):
    r = receipt(world, "co2", 1)
    assert r.status_code == 409 and r.json()["error"] == "over_received", r.text
    booked(demand(world, "co2", 100_000))
    booked(receipt(world, "co2", 60_000))
    r = receipt(world, "co2", 40_001)
    assert r.status_code == 409 and r.json()["error"] == "over_received"
    booked(receipt(world, "co2", 40_000))  # exactly what was demanded
    assert receipt(world, "co2", 1).status_code == 409
    # another insurer's demand does not cover this one
    booked(demand(world, "co3", 500_000))
    assert receipt(world, "co2", 1).status_code == 409
    pos = recoveries(world)["by_insurer"]["co2"]
    assert (pos["demanded_fen"], pos["received_fen"], pos["outstanding_fen"]) == (100_000, 100_000, -100_000)


def test_concurrent_receipts_respect_the_demand(world):
    """Eight offices book 30,000 fen against a 100,000-fen demand at the same moment: three fit."""
    booked(demand(world, "co1", 100_000))
    start, answers = threading.Barrier(8), []

    def one():
        start.wait()
        answers.append(receipt(world, "co1", 30_000).status_code)

    threads = [threading.Thread(target=one) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(answers) == [201] * 3 + [409] * 5
    assert recoveries(world)["by_insurer"]["co1"]["received_fen"] == 90_000


def test_a_correction_takes_an_entry_back_and_is_final(world):
    paid_claim(world, 1_000_000)
    wrong = booked(demand(world, "co4", 1_500_000, note="多打一个0"))
    right = booked(demand(world, "co4", 150_000))
    paid = booked(receipt(world, "co4", 150_000))
    c = booked(correct(world, wrong["id"], reason="金额多录一位：应为1,500元"))
    # a counter-entry dated today (the app's clock: 2026-07-06, China time), the entry untouched
    assert {k: c[k] for k in ("insurer_code", "kind", "amount_fen", "on", "note", "corrects", "reason",
                              "created_by")} == {
        "insurer_code": "co4", "kind": "correction", "amount_fen": -1_500_000, "on": "2026-07-06",
        "note": "多打一个0", "corrects": wrong["id"], "reason": "金额多录一位：应为1,500元",
        "created_by": world.p.coordinator.user["id"]}
    got = recoveries(world)
    listed = {e["id"]: e for e in got["entries"]}
    assert listed[wrong["id"]]["amount_fen"] == 1_500_000 and listed[wrong["id"]]["corrected_by"] == c["id"]
    assert listed[right["id"]]["corrected_by"] is None and listed[c["id"]]["corrected_by"] is None
    assert got["entries"][0]["id"] == c["id"]  # the newest
    assert got["by_insurer"]["co4"] == {"owed_fen": 150_000, "demanded_fen": 150_000, "received_fen": 150_000,
                                        "outstanding_fen": 0}
    before = got["entries"]
    # once per entry; a correction is final; unknown entries are 404
    r = correct(world, wrong["id"])
    assert r.status_code == 409 and r.json()["error"] == "already_corrected"
    r = correct(world, c["id"])
    assert r.status_code == 409 and r.json()["error"] == "is_correction"
    r = correct(world, "no-such-entry")
    assert r.status_code == 404 and r.json()["error"] == "not_found"
    # taking back the paid demand would leave more received than demanded
    r = correct(world, right["id"])
    assert r.status_code == 409 and r.json()["error"] == "over_received"
    for body, code in (({"reason": ""}, "invalid_request"), ({"reason": "   "}, "reason_required"),
                       ({"reason": "x" * 501}, "invalid_request"), ({}, "invalid_request"),
                       ({"reason": "a\x00b"}, "invalid_text")):
        r = world.client.post(f"{BASE}/entries/{paid['id']}/corrections", headers=world.p.adjuster.headers,
                              json=body)
        assert r.status_code == 422 and r.json()["error"] == code, (body, r.text)
    assert recoveries(world)["entries"] == before  # nothing refused was booked
    # the receipt taken back: outstanding again, and then the demand may go too
    booked(correct(world, paid["id"], reason="银行退票"))
    booked(correct(world, right["id"], reason="函件作废，重发"))
    assert recoveries(world)["by_insurer"]["co4"] == {**ZERO, "owed_fen": 150_000, "outstanding_fen": 150_000}


def test_unknown_insurer_the_lead_and_bad_bodies(world):
    for code in ("nobody", "lead"):
        for post in (demand, receipt):
            r = post(world, code, 100)
            assert r.status_code == 404 and r.json()["error"] == "not_found", (code, r.text)
    bad = ({"amount_fen": 0, "on": "2026-07-01"}, {"amount_fen": -5, "on": "2026-07-01"},
           {"amount_fen": 1.5, "on": "2026-07-01"}, {"amount_fen": "100", "on": "2026-07-01"},
           {"amount_fen": True, "on": "2026-07-01"}, {"amount_fen": 100}, {"on": "2026-07-01"},
           {"amount_fen": 100, "on": "2026-13-01"}, {"amount_fen": 100, "on": "2026-07-01", "note": "x" * 501})
    for body in bad:
        for kind in ("demands", "receipts"):
            r = world.client.post(f"{BASE}/co1/{kind}", headers=world.p.adjuster.headers, json=body)
            assert r.status_code == 422 and r.json()["error"] == "invalid_request", (kind, body, r.text)
    r = world.client.post(f"{BASE}/co1/demands", headers=world.p.adjuster.headers,
                          json={"amount_fen": 100, "on": "2026-07-01", "note": "a\x00b"})
    assert r.status_code == 422 and r.json()["error"] == "invalid_text"
    booked(demand(world, "co1", 100, note="x" * 500))  # the longest note fits
    assert len(recoveries(world)["entries"]) == 1


def test_surveyors_see_only_their_own_and_liaisons_nothing(world):
    paid_claim(world, 1_000_000)
    d1 = booked(demand(world, "co1", 150_000))
    booked(demand(world, "co2", 150_000))
    booked(receipt(world, "co2", 20_000))
    mine = recoveries(world, world.p.s1)
    assert mine["by_insurer"] == {"co1": {"owed_fen": 150_000, "demanded_fen": 150_000, "received_fen": 0,
                                          "outstanding_fen": 150_000}}
    assert [e["id"] for e in mine["entries"]] == [d1["id"]]
    assert len(recoveries(world)["entries"]) == 3  # the office sees all
    # surveyors read, never book or correct
    for r in (demand(world, "co1", 1, who=world.p.s1), receipt(world, "co1", 1, who=world.p.s1),
              correct(world, d1["id"], who=world.p.s1)):
        assert r.status_code == 403 and r.json()["error"] == "forbidden"
    # a liaison has no part in any of it
    liaison = world.p.liaison
    for r in (world.client.get(BASE, headers=liaison.headers), demand(world, "co1", 1, who=liaison),
              receipt(world, "co1", 1, who=liaison), correct(world, d1["id"], who=liaison)):
        assert r.status_code == 403 and r.json()["error"] == "forbidden"
    assert len(recoveries(world)["entries"]) == 3


def test_reports_carry_the_recovery_table_as_the_period_closed(world):
    from openpyxl import load_workbook
    from pypdf import PdfReader

    paid_claim(world, 1_000_000, paid_on="2026-07-02")  # 150,000 owed by each co-insurer from Q3
    paid_claim(world, 2_000_000, paid_on="2026-10-08")  # paid in Q4: not in Q3's figures
    booked(demand(world, "co1", 150_000, on="2026-07-01"))
    booked(receipt(world, "co1", 100_000, on="2026-07-03"))
    wrong = booked(receipt(world, "co1", 50_000, on="2026-07-04"))
    booked(correct(world, wrong["id"], reason="重复登记"))  # dated 2026-07-06: in Q3 too
    h = world.p.coordinator.headers
    q3 = world.client.get("/api/v1/reports/quarterly", headers=h, params={"year": 2026, "quarter": 3}).json()
    rec = q3["recoveries"]
    assert rec["as_of"] == "2026-09-30"
    rows = {r["insurer_code"]: r for r in rec["insurers"]}
    assert set(rows) == {"co1", "co2", "co3", "co4"} and rows["co1"]["name"] == "co1 保险"
    assert {k: rows["co1"][k] for k in ("owed_fen", "demanded_fen", "received_fen", "outstanding_fen")} == {
        "owed_fen": 150_000, "demanded_fen": 150_000, "received_fen": 100_000, "outstanding_fen": 50_000}
    assert rows["co2"]["outstanding_fen"] == 150_000
    assert rec["total"] == {"owed_fen": 600_000, "demanded_fen": 150_000, "received_fen": 100_000,
                            "outstanding_fen": 500_000}
    q2 = world.client.get("/api/v1/reports/quarterly", headers=h, params={"year": 2026, "quarter": 2}).json()
    assert q2["recoveries"]["total"] == ZERO  # nothing was paid or booked before July
    annual = world.client.get("/api/v1/reports/annual", headers=h, params={"year": 2026}).json()
    assert annual["recoveries"]["as_of"] == "2026-12-31"
    assert annual["recoveries"]["total"]["owed_fen"] == 600_000 + 4 * 300_000
    # the same table in the workbook and the PDF
    x = world.client.get("/api/v1/reports/quarterly", headers=h, params={"year": 2026, "quarter": 3,
                                                                         "format": "xlsx"})
    ws = load_workbook(io.BytesIO(x.content))["代付摊回"]
    assert [c.value for c in ws[2]] == ["co1", "co1 保险", 150_000, 150_000, 100_000, 50_000]
    assert [c.value for c in ws[ws.max_row]] == ["合计", "截至2026-09-30", 600_000, 150_000, 100_000, 500_000]
    pdf = world.client.get("/api/v1/reports/quarterly", headers=h, params={"year": 2026, "quarter": 3,
                                                                           "format": "pdf"})
    text = re.sub(r"\s+", "", "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages))
    assert "代付赔款摊回（截至2026-09-30，元）" in text and "5,000.00" in text


def test_positions_arithmetic_is_pure_and_dated():
    """fund.recovery_positions: corrections count on the kind of what they take back, entries
    dated on or after ``upto`` are left out, every owing insurer is listed."""
    import datetime as dt

    import pytest

    from sync_server.fund import rules as f

    day = dt.date(2026, 7, 1)
    d = f.RecoveryEntry(f.DEMANDED, "co1", 500, day, "d")
    r = f.RecoveryEntry(f.RECEIVED, "co1", 200, day + dt.timedelta(days=2), "r")
    c = f.recovery_reversal(r, day + dt.timedelta(days=5), "c")
    assert (c.kind, c.amount_fen, c.corrects, c.on) == (f.CORRECTION, -200, "r", dt.date(2026, 7, 6))
    got = f.recovery_positions({"co1": 600, "co2": 100}, [d, r, c])
    assert got == {"co1": {"owed_fen": 600, "demanded_fen": 500, "received_fen": 0, "outstanding_fen": 600},
                   "co2": {"owed_fen": 100, "demanded_fen": 0, "received_fen": 0, "outstanding_fen": 100}}
    # as it stood before the correction's day, and before anything was booked
    assert f.recovery_positions({"co1": 600}, [d, r, c], upto=dt.date(2026, 7, 6))["co1"]["received_fen"] == 200
    assert f.recovery_positions({"co1": 600}, [d, r, c], upto=day)["co1"]["demanded_fen"] == 0
    for bad in (lambda: f.RecoveryEntry(f.DEMANDED, "co1", 0, day), lambda: f.RecoveryEntry(f.RECEIVED, "co1", -1, day),
                lambda: f.RecoveryEntry(f.CORRECTION, "co1", -1, day),
                lambda: f.RecoveryEntry(f.CORRECTION, "co1", 5, day, corrects="d"),
                lambda: f.RecoveryEntry(f.DEMANDED, "co1", 5, day, corrects="d"),
                lambda: f.recovery_reversal(c, day)):
        with pytest.raises(f.FundError):
            bad()


def test_openapi_declares_every_refusal_of_the_recovery_routes(tmp_path):
    from sync_server.app import create_app
    from sync_server.core.settings import Settings

    paths = create_app(Settings(data_dir=tmp_path)).openapi()["paths"]

    def codes(path, method="post"):
        return {int(s): set(r.get("x-error-codes", ())) for s, r in paths[path][method]["responses"].items()
                if s.isdigit() and int(s) >= 400}

    book = {401: {"unauthorized"}, 403: {"forbidden"}, 404: {"not_found"}, 409: {"no_lead_insurer"},
            422: {"invalid_request", "invalid_text"}}
    assert book.items() <= codes(f"{BASE}/{{insurer_code}}/demands").items()
    assert codes(f"{BASE}/{{insurer_code}}/receipts")[409] == {"over_received", "no_lead_insurer"}
    fix = codes(f"{BASE}/entries/{{entry_id}}/corrections")
    assert fix[409] == {"already_corrected", "is_correction", "over_received"} and fix[404] == {"not_found"}
    assert fix[422] == {"invalid_request", "invalid_text", "reason_required"}
    assert codes(BASE, "get")[409] == {"fund_error", "no_lead_insurer"}
    for path in (f"{BASE}/{{insurer_code}}/demands", f"{BASE}/{{insurer_code}}/receipts",
                 f"{BASE}/entries/{{entry_id}}/corrections"):
        assert "201" in paths[path]["post"]["responses"], path
    assert set(paths[BASE]["get"]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
               .rsplit("/", 1)[1:]) == {"RecoveriesOut"}


def test_pdf_keeps_each_bar_with_its_figure_and_the_table_on_one_page():
    """Eight co-insurers push the fund's category chart across a page break: each bar's label and
    figure stay on one page, at one height, and the recovery table keeps its heading."""
    import datetime as dt

    from pypdf import PdfReader

    from sync_server.fund import rules as f
    from sync_server.reports import rules as reports
    from sync_server.reports.render_pdf import to_pdf

    from .test_reports import CLAIMS, HISTORY

    names = ["太平洋", "平安", "中国人寿", "大地", "阳光", "太平", "安诚", "华安"]
    insurers = {code: f"{n}财险大足支公司" for code, n in zip(
        ["cpic", "pingan", "chinalife", "dadi", "sunshine", "taiping", "ancheng", "huaan"], names)}
    shares = {"picc": 3000, **{c: 875 for c in insurers}}
    spent = f.FundEntry(f.SPENDING, dt.date(2026, 8, 1), 12_345, None, f.SURVEY)
    disclosure = f.quarterly_disclosure([spent], shares, 2026, 3).as_dict()
    positions = {c: {"owed_fen": 150_000_00, "demanded_fen": 100_000_00, "received_fen": 50_000_00,
                     "outstanding_fen": 100_000_00} for c in insurers}
    report = reports.build_report("quarterly", 2026, 3, CLAIMS, HISTORY, disclosure, insurers,
                                  {"500111100": "龙水镇", "500111102": "宝顶镇"}, demo=True,
                                  recoveries=positions)
    placed: list[tuple[int, float, str]] = []
    for n, page in enumerate(PdfReader(io.BytesIO(to_pdf(report))).pages):
        page.extract_text(visitor_text=lambda text, cm, tm, *_, n=n: placed.append((n, round(tm[5]), text))
                          if text.strip() else None)
    for label in reports.CATEGORY_NAMES.values():
        (page, y), = {(p, y) for p, y, t in placed if t.strip() == label}
        assert any(p == page and y == yy and t.strip().endswith("元") for p, yy, t in placed), label
    heading = next(p for p, _, t in placed if "代付赔款摊回" in t)
    total = [p for p, _, t in placed if t.strip() == "合计"]
    assert total == [heading] and sum(t.strip() == "50,000.00" for _, _, t in placed) == 8
