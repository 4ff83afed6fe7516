"""Fund corrections are counter-entries, never edits (SQLite and PostgreSQL, real HTTP): a reversal
and a replacement dated the day of the correction; published quarters keep their figures, the
correction counts in its own quarter, and every quarter's totals are the sum of its entries."""
from __future__ import annotations

import datetime as dt

from .test_fund_api import RECEIPT, accepted_survey, agree_budget, post, upload
from .test_rotation_api import POOL, world  # noqa: F401  (fixture)

YEAR = 2026


def entries(w) -> list[dict]:
    r = w.client.get("/api/v1/fund/entries", headers=w.p.s3.headers)
    assert r.status_code == 200, r.text
    return r.json()["entries"]


def disclosure(w, quarter) -> dict:
    r = w.client.get("/api/v1/fund/disclosure", params={"year": YEAR, "quarter": quarter},
                     headers=w.p.coordinator.headers)
    assert r.status_code == 200, r.text
    return r.json()


def correct(w, entry_id, who=None, **body):
    return w.client.post(f"/api/v1/fund/entries/{entry_id}/corrections", headers=(who or w.p.adjuster).headers,
                         json=body)


def in_quarter(e, quarter) -> bool:
    on = dt.date.fromisoformat(e["on"])
    return on.year == YEAR and (on.month - 1) // 3 + 1 == quarter


def assert_adds_up(w, quarter):
    """A quarter's published totals are the plain sums of its entries."""
    d, es = disclosure(w, quarter), [e for e in entries(w) if in_quarter(e, quarter)]
    spending = [e for e in es if e["kind"] == "spending"]
    assert d["income_fen"] == sum(e["amount_fen"] for e in es if e["kind"] == "contribution")
    assert d["spending_fen"] == sum(e["amount_fen"] for e in spending)
    for category, total in d["spending_by_category"].items():
        assert total == sum(e["amount_fen"] for e in spending if e["category"] == category)
    assert d["closing_fen"] == d["opening_fen"] + d["income_fen"] - d["spending_fen"] + d["settlement_fen"]
    assert sum(p["spending_part_fen"] for p in d["insurer_parts"].values()) == d["spending_fen"]
    return d


def on_page(pdf: bytes, wanted: str) -> bool:
    """Is ``wanted`` written inside the page (not pushed off it by a negative bar)?"""
    import io

    from pypdf import PdfReader

    xs: list[float] = []
    for page in PdfReader(io.BytesIO(pdf)).pages:
        page.extract_text(visitor_text=lambda text, cm, tm, *_: xs.append(tm[4]) if wanted in text else None)
        width = float(page.mediabox.width)
    return bool(xs) and all(0 <= x <= width for x in xs)


def book(w):
    agree_budget(w, YEAR)
    for code in POOL:
        r = post(w, "/api/v1/fund/premiums", w.p.adjuster, {
            "policy_year": YEAR, "insurer_code": code, "premium_ex_tax_fen": 10_000_000, "received_on": "2026-01-20"})
        assert r.status_code == 201, r.text
    upload(w, w.p.adjuster)
    r = post(w, "/api/v1/fund/entries", w.p.adjuster, {"on": "2026-02-01", "amount_fen": 100_000,
                                                       "category": "publicity", "note": "宣传册",
                                                       "receipt_sha256": RECEIPT})
    assert r.status_code == 201, r.text
    survey = accepted_survey(w)
    upload(w, w.p.s1)
    cost = post(w, "/api/v1/fund/entries", w.p.s1, {"on": "2026-03-05", "amount_fen": 8_050, "category": "survey",
                                                    "note": "车辆使用费", "receipt_sha256": RECEIPT,
                                                    "assignment_id": survey["id"]})
    assert cost.status_code == 201, cost.text
    return r.json(), cost.json()


def test_a_correction_books_a_reversal_and_a_replacement_today(world):
    leaflets, cost = book(world)
    q1 = assert_adds_up(world, 1)
    assert q1["spending_fen"] == 108_050
    # the app's clock says 2026-07-06: the correction belongs to the third quarter
    why = "发票金额录错：实为800元"
    r = correct(world, leaflets["id"], reason=why, amount_fen=80_000)
    assert r.status_code == 201, r.text
    reversal, replacement = r.json()["reversal"], r.json()["replacement"]
    assert {k: reversal[k] for k in ("kind", "category", "insurer_code", "amount_fen", "on", "corrects",
                                     "correction", "reason")} == {
        "kind": "spending", "category": "publicity", "insurer_code": None, "amount_fen": -100_000,
        "on": "2026-07-06", "corrects": leaflets["id"], "correction": "reversal", "reason": why}
    assert {k: replacement[k] for k in ("kind", "category", "amount_fen", "on", "corrects", "correction",
                                        "receipt_sha256")} == {
        "kind": "spending", "category": "publicity", "amount_fen": 80_000, "on": "2026-07-06",
        "corrects": leaflets["id"], "correction": "replacement", "receipt_sha256": RECEIPT}
    # the booked entry is untouched; the list says who corrected what
    listed = {e["id"]: e for e in entries(world)}
    original = listed[leaflets["id"]]
    assert original["amount_fen"] == 100_000 and original["on"] == "2026-02-01"
    assert original["corrected_by"] == reversal["id"] and original["corrects"] is None
    assert listed[reversal["id"]]["corrects"] == leaflets["id"] and listed[replacement["id"]]["corrected_by"] is None
    # the published first quarter keeps its figures; the third counts the correction
    assert disclosure(world, 1) == q1
    q3 = assert_adds_up(world, 3)
    assert q3["spending_fen"] == -20_000 and q3["spending_by_category"]["publicity"] == -20_000
    assert q3["opening_fen"] == q1["closing_fen"]
    assert q3["insurer_parts"]["lead"]["spending_part_fen"] == -8_000  # 40% of the 200 yuan given back
    assert q3["closing_fen"] == 1_000_000 - 88_050
    # the year end settles on the corrected spending
    s = world.client.get("/api/v1/fund/settlement", params={"year": YEAR}, headers=world.p.s2.headers).json()
    assert sum(s["settlement"].values()) == assert_adds_up(world, 4)["closing_fen"] == 1_000_000 - 88_050
    # the reports carry the same quarter, in every format
    report = world.client.get("/api/v1/reports/quarterly", params={"year": YEAR, "quarter": 3},
                              headers=world.p.coordinator.headers)
    published = {k: v for k, v in q3.items() if k not in ("budget", "comments")}  # the governance is the route's
    assert report.status_code == 200 and report.json()["fund"]["quarters"] == [published]
    for fmt in ("xlsx", "pdf"):
        got = world.client.get("/api/v1/reports/annual", params={"year": YEAR, "format": fmt},
                               headers=world.p.coordinator.headers)
        assert got.status_code == 200 and len(got.content) > 1000, fmt
    pdf = world.client.get("/api/v1/reports/quarterly", params={"year": YEAR, "quarter": 3, "format": "pdf"},
                           headers=world.p.coordinator.headers)
    assert on_page(pdf.content, "-200元")  # the category chart's figure for the 200 yuan given back
    # a replacement can be corrected in turn (here: taken back entirely)
    r = correct(world, replacement["id"], reason="宣传册未交付，全额退回")
    assert r.status_code == 201, r.text
    assert r.json()["replacement"] is None and r.json()["reversal"]["amount_fen"] == -80_000
    assert assert_adds_up(world, 3)["spending_fen"] == -100_000
    # the surveyor's own cost can be corrected by the office too
    r = correct(world, cost["id"], reason="重复报销", amount_fen=0)
    assert r.status_code == 201 and r.json()["reversal"]["insurer_code"] == "co1"


def test_what_cannot_be_corrected(world):
    leaflets, _ = book(world)
    first = correct(world, leaflets["id"], reason="金额录错", amount_fen=90_000)
    assert first.status_code == 201, first.text
    before = entries(world)
    again = correct(world, leaflets["id"], reason="再改一次", amount_fen=70_000)
    assert again.status_code == 409 and again.json()["error"] == "already_corrected"
    r = correct(world, first.json()["reversal"]["id"], reason="冲销错了")
    assert r.status_code == 409 and r.json()["error"] == "is_reversal"
    contribution = next(e for e in before if e["kind"] == "contribution")
    r = correct(world, contribution["id"], reason="保费录错", amount_fen=1)
    assert r.status_code == 409 and r.json()["error"] == "use_premium"
    assert correct(world, "no-such-entry", reason="x").status_code == 404
    r = correct(world, leaflets["id"], who=world.p.s1, reason="x")
    assert r.status_code == 403
    for body, code in (({"reason": ""}, "invalid_request"), ({"reason": "   "}, "reason_required"),
                       ({"reason": "x", "amount_fen": -1}, "invalid_request"),
                       ({"reason": "x", "amount_fen": 1.5}, "invalid_request"),
                       ({"reason": "x" * 501}, "invalid_request"), ({"reason": "a\x00b"}, "invalid_text")):
        r = correct(world, first.json()["replacement"]["id"], **body)
        assert r.status_code == 422 and r.json()["error"] == code, (body, r.text)
    assert entries(world) == before  # nothing refused was booked


def test_a_premium_whose_contribution_rounds_to_nothing_is_refused(world):
    r = post(world, "/api/v1/fund/premiums", world.p.adjuster,
             {"policy_year": YEAR, "insurer_code": "co1", "premium_ex_tax_fen": 1, "received_on": "2026-01-20"})
    assert r.status_code == 422 and r.json()["error"] == "invalid_amount", r.text
    assert entries(world) == []
    # 25 fen × 2% = 0.5 fen rounds half-up to 1 fen: the smallest premium that books anything
    r = post(world, "/api/v1/fund/premiums", world.p.adjuster,
             {"policy_year": YEAR, "insurer_code": "co1", "premium_ex_tax_fen": 25, "received_on": "2026-01-20"})
    assert r.status_code == 201 and r.json()["contribution"]["amount_fen"] == 1
