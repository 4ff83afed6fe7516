"""The work fund governed as the notice says (SQLite and PostgreSQL, real HTTP in-process): the
lead proposes each year's budget and the coordinator confirms it (a change needs confirming
again); spending stays within the confirmed budget, and a year without one takes none; the
disclosure shows budget, spent and remaining; co-insurers comment on a quarter's disclosure; the
lead books the fund, the coordinator supervises it and books nothing."""
from __future__ import annotations

import uuid

from sync_server.fund import rules as fundlib

from .test_fund_api import AMPLE_BUDGET, RECEIPT, accepted_survey, agree_budget, post, upload
from .test_rotation_api import world  # noqa: F401  (fixture)

YEAR = 2026
BUDGET = {"publicity": 50_000, "survey": 20_000, "communication": 5_000, "project_work": 30_000}


def fund(w, premium_fen: int = 40_000_000) -> None:
    """The lead's premium (its 2% is 800,000 fen): the balance never limits these tests."""
    r = post(w, "/api/v1/fund/premiums", w.p.adjuster, {"policy_year": YEAR, "insurer_code": "lead",
                                                        "premium_ex_tax_fen": premium_fen, "received_on": "2026-01-20"})
    assert r.status_code == 201, r.text


def propose(w, amounts, who=None, year=YEAR, note=""):
    return w.client.put("/api/v1/fund/budget", params={"year": year}, headers=(who or w.p.adjuster).headers,
                        json={"amounts": amounts, "note": note})


def confirm(w, version, who=None, year=YEAR):
    return w.client.post(f"/api/v1/fund/budget/{year}/confirm", headers=(who or w.p.coordinator).headers,
                         json={"version": version})


def budget(w, year=YEAR, who=None) -> dict:
    r = w.client.get("/api/v1/fund/budget", params={"year": year}, headers=(who or w.p.s3).headers)
    assert r.status_code == 200, r.text
    return r.json()


def spend(w, amount_fen, category="publicity", on="2026-02-01", who=None):
    return post(w, "/api/v1/fund/entries", who or w.p.adjuster,
                {"on": on, "amount_fen": amount_fen, "category": category, "note": "宣传折页"})


def test_the_lead_proposes_the_coordinator_confirms_and_a_change_needs_confirming_again(world):
    w = world
    assert budget(w) == {"year": YEAR, "confirmed": None, "proposed": None, "by_category": {
        c: {"budget_fen": None, "spent_fen": 0, "remaining_fen": None} for c in fundlib.CATEGORIES}}
    # only the lead's adjusters propose, only the coordinator confirms
    assert propose(w, BUDGET, who=w.p.coordinator).status_code == 403
    assert propose(w, BUDGET, who=w.p.s1).status_code == 403
    r = propose(w, {"publicity": 50_000, "survey": 20_000, "communication": 5_000}, note="2026年第一次联席会议商定")
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["confirmed"] is None
    assert got["proposed"]["version"] == 1 and got["proposed"]["confirmed_at"] is None
    assert got["proposed"]["amounts"] == {**BUDGET, "project_work": 0}  # left out: nothing may be spent on it
    assert got["proposed"]["proposed_by"] == w.p.adjuster.user["id"]
    assert got["proposed"]["note"] == "2026年第一次联席会议商定"
    assert confirm(w, 1, who=w.p.adjuster).status_code == 403
    r = confirm(w, 1)
    assert r.status_code == 200, r.text
    confirmed = r.json()["confirmed"]
    assert confirmed["version"] == 1 and confirmed["confirmed_by"] == w.p.coordinator.user["id"]
    assert confirmed["confirmed_at"].startswith("2026-07-06T01:00")  # the server's clock, recorded
    assert r.json()["proposed"] is None
    assert confirm(w, 1).json()["confirmed"] == confirmed  # confirming again changes nothing

    # A change: version 2, not in force until confirmed; version 1 governs meanwhile.
    fund(w)
    w.clock.advance(days=1)
    r = propose(w, BUDGET)
    assert r.status_code == 200
    assert r.json()["confirmed"]["version"] == 1 and r.json()["proposed"]["version"] == 2
    assert propose(w, BUDGET).json()["proposed"]["version"] == 2  # the same again: no new version
    r = spend(w, 1, category="project_work", on="2026-07-07")
    assert r.status_code == 409 and r.json()["error"] == "over_budget"  # version 1 gives it 0
    # the coordinator confirms the version it read: an older one is refused
    r = confirm(w, 1)
    assert r.status_code == 409 and r.json()["error"] == "budget_changed"
    r = confirm(w, 2)
    assert r.json()["confirmed"]["version"] == 2 and r.json()["confirmed"]["confirmed_at"].startswith("2026-07-07")
    assert spend(w, 1, category="project_work", on="2026-07-07").status_code == 201
    # every version stays on record; a year without any proposal has nothing to confirm
    r = confirm(w, 1, year=2027)
    assert r.status_code == 404
    # a surveyor reads it too (知情权)
    assert budget(w, who=w.p.s1)["confirmed"]["amounts"] == BUDGET


def test_spending_over_the_confirmed_budget_is_refused_and_the_disclosure_shows_what_remains(world):
    w = world
    fund(w)
    agree_budget(w, amounts=BUDGET)
    assert spend(w, 30_000).status_code == 201
    r = spend(w, 20_001, on="2026-04-10")
    assert r.status_code == 409 and r.json()["error"] == "over_budget"
    assert "50000" in r.json()["message"] and "30000" in r.json()["message"]
    assert spend(w, 20_000, on="2026-04-10").status_code == 201  # exactly up to the budget
    assert spend(w, 1, on="2026-05-01").status_code == 409
    assert spend(w, 5_000, category="communication").status_code == 201  # another category has its own
    # a surveyor's survey cost is held to the same budget
    survey = accepted_survey(w)
    upload(w, w.p.s1)
    cost = {"on": "2026-03-05", "category": "survey", "receipt_sha256": RECEIPT, "assignment_id": survey["id"]}
    assert post(w, "/api/v1/fund/entries", w.p.s1, {**cost, "amount_fen": 15_000}).status_code == 201
    r = post(w, "/api/v1/fund/entries", w.p.s1, {**cost, "amount_fen": 5_001})
    assert r.status_code == 409 and r.json()["error"] == "over_budget"
    # ... and so is one pushed from its phone
    pushed = w.client.post("/api/v1/sync/push", headers=w.p.s1.headers, json={
        "device_id": w.p.s1.device_id, "mutations": [{"seq": 1, "entity": "cost", "id": str(uuid.uuid4()),
                                                      "op": "upsert", "fields": {**cost, "amount_fen": 5_001},
                                                      "base_version": None}]})
    assert pushed.json()["results"][0]["status"] == "rejected"
    assert pushed.json()["results"][0]["error"].startswith("over_budget:")

    # Q1's disclosure: spent to the end of Q1; Q2's: to the end of Q2
    def position(quarter):
        r = w.client.get("/api/v1/fund/disclosure", params={"year": YEAR, "quarter": quarter},
                         headers=w.p.s3.headers)
        assert r.status_code == 200, r.text
        return r.json()["budget"]
    q1, q2 = position(1), position(2)
    assert q1["version"] == 1 and q1["confirmed_at"]
    assert q1["by_category"]["publicity"] == {"budget_fen": 50_000, "spent_fen": 30_000, "remaining_fen": 20_000}
    assert q2["by_category"]["publicity"] == {"budget_fen": 50_000, "spent_fen": 50_000, "remaining_fen": 0}
    assert q2["by_category"]["survey"] == {"budget_fen": 20_000, "spent_fen": 15_000, "remaining_fen": 5_000}
    assert q2["by_category"]["project_work"] == {"budget_fen": 30_000, "spent_fen": 0, "remaining_fen": 30_000}

    # A correction that spends more is held to the budget; one that spends less always passes.
    entries = w.client.get("/api/v1/fund/entries", headers=w.p.adjuster.headers).json()["entries"]
    first = next(e for e in entries if e["category"] == "publicity" and e["amount_fen"] == 30_000)
    r = w.client.post(f"/api/v1/fund/entries/{first['id']}/corrections", headers=w.p.adjuster.headers,
                      json={"reason": "发票金额有误", "amount_fen": 30_001})
    assert r.status_code == 409 and r.json()["error"] == "over_budget"
    r = w.client.post(f"/api/v1/fund/entries/{first['id']}/corrections", headers=w.p.adjuster.headers,
                      json={"reason": "发票金额有误", "amount_fen": 29_000})
    assert r.status_code == 201, r.text
    assert budget(w)["by_category"]["publicity"]["remaining_fen"] == 1_000

    # A budget is never confirmed below what the year has already spent.
    r = propose(w, {**BUDGET, "publicity": 48_999})
    assert r.status_code == 409 and r.json()["error"] == "budget_below_spent"


def test_a_year_without_a_confirmed_budget_takes_no_spending(world):
    w = world
    fund(w)
    r = spend(w, 100)
    assert r.status_code == 409 and r.json()["error"] == "no_budget"
    # proposed but not confirmed: still nothing agreed
    assert propose(w, BUDGET).status_code == 200
    r = spend(w, 100)
    assert r.status_code == 409 and r.json()["error"] == "no_budget"
    assert confirm(w, 1).status_code == 200
    assert spend(w, 100).status_code == 201
    # each year its own budget: 2026's does not cover 2027
    r = spend(w, 100, on="2027-01-05")
    assert r.status_code == 409 and r.json()["error"] == "no_budget"
    assert w.client.get("/api/v1/fund/disclosure", params={"year": 2027, "quarter": 1},
                        headers=w.p.s3.headers).json()["budget"]["by_category"]["publicity"] == {
        "budget_fen": None, "spent_fen": 0, "remaining_fen": None}


def test_the_coordinator_supervises_and_books_nothing(world):
    w = world
    fund(w)
    agree_budget(w)
    c = w.p.coordinator
    premium = post(w, "/api/v1/fund/premiums", c, {"policy_year": YEAR, "insurer_code": "co1",
                                                   "premium_ex_tax_fen": 1_000_000, "received_on": "2026-01-20"})
    spending = spend(w, 100, who=c)
    booked = spend(w, 100).json()
    correction = w.client.post(f"/api/v1/fund/entries/{booked['id']}/corrections", headers=c.headers,
                               json={"reason": "金额有误"})
    for r in (premium, spending, correction):
        assert r.status_code == 403 and r.json()["error"] == "forbidden"
        assert "lead insurer books" in r.json()["message"]
    # nothing was booked by those, and the coordinator still reads everything
    entries = w.client.get("/api/v1/fund/entries", headers=c.headers).json()["entries"]
    assert [(e["kind"], e["insurer_code"], e["amount_fen"]) for e in entries] == [
        ("contribution", "lead", 800_000), ("spending", None, 100)]
    assert w.client.get("/api/v1/fund/disclosure", params={"year": YEAR, "quarter": 1},
                        headers=c.headers).status_code == 200
    # the lead's adjuster books all three
    assert w.client.post(f"/api/v1/fund/entries/{booked['id']}/corrections", headers=w.p.adjuster.headers,
                         json={"reason": "金额有误"}).status_code == 201


def test_co_insurers_comment_on_a_quarters_disclosure(world):
    w = world
    params = {"year": YEAR, "quarter": 2}

    def comment(who, text, **p):
        return w.client.post("/api/v1/fund/disclosure/comments", params={**params, **p}, headers=who.headers,
                             json={"text": text})
    r = comment(w.p.s2, "  建议宣传折页增加方言版本  ")
    assert r.status_code == 201, r.text
    first = r.json()
    assert (first["insurer_code"], first["author_id"], first["text"]) == (
        "co2", w.p.s2.user["id"], "建议宣传折页增加方言版本")
    assert first["author_name"] == w.p.s2.user["name"] and first["created_at"].startswith("2026-07-06T01:00")
    w.clock.advance(minutes=5)
    assert comment(w.p.adjuster, "下季度将按建议印制").json()["insurer_code"] == "lead"
    # the coordinator supervises; a liaison is no member of the pool
    assert comment(w.p.coordinator, "同意").status_code == 403
    assert comment(w.p.liaison, "同意").status_code == 403
    assert comment(w.p.s1, "   ").status_code == 422
    r = comment(w.p.s1, "提前意见", quarter=4)
    assert r.status_code == 409 and r.json()["error"] == "quarter_not_started"
    # on the disclosure and on their own route, oldest first; other quarters have none
    d = w.client.get("/api/v1/fund/disclosure", params=params, headers=w.p.coordinator.headers).json()
    assert [(c["insurer_code"], c["text"]) for c in d["comments"]] == [
        ("co2", "建议宣传折页增加方言版本"), ("lead", "下季度将按建议印制")]
    listed = w.client.get("/api/v1/fund/disclosure/comments", params=params, headers=w.p.s4.headers).json()
    assert listed["comments"] == d["comments"]
    assert w.client.get("/api/v1/fund/disclosure/comments", params={**params, "quarter": 1},
                        headers=w.p.s4.headers).json() == {"comments": []}
    assert w.client.get("/api/v1/fund/disclosure/comments", params=params,
                        headers=w.p.liaison.headers).status_code == 403


def test_budget_rules_pure():
    assert fundlib.budget_amounts({"survey": 5}) == {"publicity": 0, "survey": 5, "communication": 0,
                                                      "project_work": 0}
    for bad in ({"sales": 1}, {"survey": -1}, {"survey": 1.5}, {"survey": True}):
        try:
            fundlib.budget_amounts(bad)
        except fundlib.FundError:
            continue
        raise AssertionError(f"{bad} accepted")
    spent = {"publicity": 90, "survey": 0, "communication": 0, "project_work": 0}
    budget = {"publicity": 100, "survey": 0, "communication": 0, "project_work": 0}
    assert fundlib.budget_overrun(budget, spent, "publicity", 10) == 0
    assert fundlib.budget_overrun(budget, spent, "publicity", 11) == 1
    assert fundlib.budget_overrun(budget, spent, "publicity", 15, replacing=5) == 0  # a correction: 90 - 5 + 15
    assert fundlib.budget_overrun(budget, {**spent, "publicity": 120}, "publicity", 5, replacing=8) == 0  # lowers
    assert AMPLE_BUDGET.keys() == set(fundlib.CATEGORIES)
