"""A claim goes all the way to payment through the app alone, on five devices at once.

A 350,000-yuan death claim: the liaison reports it (victim deceased, house destroyed), adds the
heir with a bank card and the claimed amount → the adjuster registers and dispatches it (the
server's rotation picks the co-insurer; the adjuster's own lead assignment shows on its phone) →
the co-insurer's surveyor completes the survey on its phone (the claim is surveyed everywhere) →
documents collected and submitted by the liaison → the adjuster itemises the loss inventory,
adjusts, and records the consultation meeting (300,000 yuan or more) → votes by share from the
lead and two co-insurers on their own phones → approved → stamped by the coordinator in an
office browser (1280×800) → paid to the heir → closed. Then an 80,000-yuan claim, which the lead
insurer decides alone. Every step is a tap in a real Chromium; the server's records are read
afterwards through its own API. A screenshot of every screen goes to test-output/screenshots/.
"""
from __future__ import annotations

import json
import re
import time
from pathlib import Path

import httpx

from tests.e2e.conftest import DESKTOP, ROOT, FieldApp, Screen

PHOTOS = sorted((Path(__file__).parent / "photos").glob("*.jpg"))
LONGSHUI = "500111100"
VICTIM = {"name": "周德明", "id": "11010519491231002X"}
HEIR = {"name": "周小燕", "id": "110101199003070011", "card": "6222020200000000006", "bank": "农业银行大足支行"}
FAST = {"DAZU_SYNC_INTERVAL_S": "2"}  # pull every 2 s: five devices talk through the server
RESULTS = ROOT / "test-output" / "e2e_claim_to_payment.json"


def _store(app):
    from fieldapp.store import open_store

    return open_store(app.data)


def _outbox(app) -> int:
    with _store(app) as store:
        return store.outbox.count()


def _rejections(app) -> list:
    from fieldapp.sync.push import S_REJECTIONS

    with _store(app) as store:
        return list(store.settings.get(S_REJECTIONS, []) or [])


def _token(app) -> dict:
    with _store(app) as store:
        return {"Authorization": f"Bearer {store.sync_state.get().token}"}


def until(what: str, check, timeout: float = 90.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for: {what}")


def drained(app) -> None:
    until(f"{app.data.name} to send everything", lambda: _outbox(app) == 0)
    assert _rejections(app) == [], _rejections(app)


def local_claim(app, claim_id: str):
    with _store(app) as store:
        try:
            return store.claims.get(claim_id)
        except LookupError:
            return None


def status_on(app, claim_id: str, status: str, timeout: float = 90.0) -> None:
    until(f"{app.data.name} to hold the claim as {status}",
          lambda: (c := local_claim(app, claim_id)) is not None and c.status == status, timeout)


def server_feed(server, app) -> list[dict]:
    """Every change the app's user may see, from the start (the server's own record)."""
    out, cursor = [], None
    while True:
        params = {"limit": 500, **({"cursor": cursor} if cursor else {})}
        body = httpx.get(f"{server.url}/api/v1/sync/pull", params=params, headers=_token(app), timeout=20).json()
        out += body["changes"]
        cursor = body["cursor"]
        if not body["has_more"]:
            return out


def enrol(phone: Screen, server, role: str, **match) -> dict:
    phone.opened(phone.button("登记"))
    code, user = next((e["code"], e["user"]) for e in server.seed["enrollment"]
                       if e["user"]["role"] == role and all(e["user"].get(k) == v for k, v in match.items()))
    phone.type_into("登记码", code)
    phone.tap(phone.button("登记", exact=True), then=user["name"])
    phone.see(user["name"])
    phone.tap(phone.button("确认并开始"))
    phone.see("我的案件")
    return user


def press(phone: Screen, name: str, then: str | None = None) -> None:
    """A button further down the screen: scroll to it, tap it (again, scrolled to again, while a
    redraw lost the tap: see Screen.tap)."""
    phone.find(name)
    phone.tap(phone.button(name, exact=True), then=then, refind=name)


def move(phone: Screen, label: str, shot: str) -> None:
    """转为：<label>, confirm what it says it will do, and see it done."""
    press(phone, f"转为：{label}", then="取消")
    phone.shot(f"confirm-{shot}")
    phone.tap(phone.button("确定", exact=True))
    phone.see(f"已转为：{label}")
    phone.shot(shot)


def report(liaison: Screen, account: str, losses: tuple[str, ...], victim: str, id_number: str | None,
           photos: list[Path], coverage: str = "自然灾害救助保险") -> None:
    """A report in 高坑村, 龙水镇 (a natural disaster unless said), through the new-report wizard."""
    liaison.tap(liaison.button("新建报案"), then="选择险种")
    liaison.tap(liaison.button(coverage), then="村（社区）")
    liaison.page.get_by_text(re.compile(r"定位：29\.5")).first.wait_for(state="attached", timeout=30_000)
    liaison.type_into("出险经过", account)
    liaison.tap(liaison.button("高坑村村民委员会"))
    liaison.tap(liaison.button("下一步"), then="损失类型")
    for loss in losses:
        liaison.tap(liaison.labelled(loss))
    liaison.type_into("姓名", victim)
    if id_number:
        liaison.type_into("身份证号", id_number)
    liaison.tap(liaison.button("下一步"), then="本次 0 张")  # the photo step: the camera screen
    with liaison.page.expect_file_chooser() as chooser:
        liaison.tap(liaison.button("从相册选择"))
    chooser.value.set_files([str(p) for p in photos])
    liaison.see(f"已保存 {len(photos)} 张", timeout=90_000)  # the photo step opened the camera screen; its picker was used
    liaison.tap(liaison.button("提交报案"))


def open_claim(phone: Screen, victim: str) -> None:
    phone.tap(phone.page.get_by_text(victim).first, then="概况")


def fill(phone: Screen, label: str, text: str) -> None:
    phone.type_into(label, text)


def mark_all_collected(phone: Screen) -> None:
    """Tap 已收 on every checklist line still missing (scrolling down the list as a person would)."""
    for _ in range(60):
        todo = phone.page.locator('flt-semantics[role="button"]:not([aria-disabled="true"])').filter(
            has_text=re.compile(r"^已收$"))
        if todo.count() == 0:
            return
        before = phone.page.get_by_text("状态：已收").count()
        phone.tap(todo.first)
        phone.page.wait_for_timeout(400)
        if phone.page.get_by_text("状态：已收").count() == before:
            todo.first.click()  # a first pointer event after a scroll can be taken as a hover
            phone.page.wait_for_timeout(400)
    raise AssertionError("the checklist did not complete")


def test_a_death_claim_is_paid_to_the_heir_and_a_small_one_by_the_lead_alone(server, workdir, browser):
    record: dict = {}
    apps = {name: FieldApp(workdir, f"pay-{name}", server.url, env=FAST)
            for name in ("liaison", "adjuster", "cpic", "pingan", "coordinator")}
    screens: dict[str, Screen] = {}
    try:
        # One device at a time, as five people would pick up their phones.
        screens["liaison"] = liaison = Screen(browser, apps["liaison"].url, "pay-liaison")
        enrol(liaison, server, "liaison", township_code=LONGSHUI)
        screens["adjuster"] = adjuster = Screen(browser, apps["adjuster"].url, "pay-adjuster")
        adjuster_user = enrol(adjuster, server, "adjuster")
        screens["cpic"] = cpic = Screen(browser, apps["cpic"].url, "pay-cpic")
        enrol(cpic, server, "surveyor", insurer_code="cpic")
        screens["pingan"] = pingan = Screen(browser, apps["pingan"].url, "pay-pingan")
        enrol(pingan, server, "surveyor", insurer_code="pingan")
        screens["coordinator"] = office = Screen(browser, apps["coordinator"].url, "pay-office", viewport=DESKTOP)
        coordinator_user = enrol(office, server, "coordinator")

        # -- the liaison reports: victim deceased, house destroyed ----------------------------
        report(liaison, "7月1日凌晨暴雨引发山洪，房屋倒塌，户主周德明遇难。", ("身故", "房屋及室内财产"),
               VICTIM["name"], VICTIM["id"], PHOTOS)
        liaison.see("还缺", timeout=30_000)
        liaison.tap(liaison.button("概况", exact=True), then="相关人员")
        liaison.shot("claim-reported")

        # the heir, with the bank card the payment goes to
        press(liaison, "添加人员（继承人、代理人、收款人）", then="人员类别")
        liaison.tap(liaison.button("子女"))
        fill(liaison, "姓名", HEIR["name"])
        fill(liaison, "身份证号", HEIR["id"])
        fill(liaison, "开户银行", HEIR["bank"])
        fill(liaison, "银行账号", HEIR["card"])
        liaison.shot("add-heir")
        liaison.tap(liaison.button("保存", exact=True))
        liaison.see("人员已保存")
        liaison.find(HEIR["name"])
        # the claimed amount, with the claim's limits and where they come from
        liaison.find("暂按渝府办发")
        press(liaison, "填写申请金额", then="申请金额（元）")
        fill(liaison, "申请金额（元）", "350000")
        liaison.tap(liaison.button("保存", exact=True))
        liaison.find("350,000.00 元")
        liaison.shot("claimed-amount")
        drained(apps["liaison"])
        with _store(apps["liaison"]) as store:
            claim_id = next(r.id for r in store.claims.list_page(limit=100).rows if r.victim_name == VICTIM["name"])
        record["claim_id"] = claim_id

        # -- the adjuster registers and dispatches through the rotation -----------------------
        status_on(apps["adjuster"], claim_id, "reported")
        next_up = httpx.get(f"{server.url}/api/v1/rotation", headers=_token(apps["adjuster"]),
                            timeout=10).json()["next"]
        record["rotation_next"] = next_up
        adjuster.reload(then=VICTIM["name"])
        open_claim(adjuster, VICTIM["name"])
        move(adjuster, "已立案", "registered")
        move(adjuster, "已派查勘", "dispatched")
        drained(apps["adjuster"])
        until("the rotation's assignment on the adjuster's phone", lambda: _assignment_insurers(apps["adjuster"], claim_id)
              >= {"picc", next_up})
        record["assigned"] = sorted(_assignment_insurers(apps["adjuster"], claim_id))
        assert next_up in ("cpic", "pingan"), f"the demo's next co-insurer {next_up} has no surveyor phone here"
        adjuster.find("共保轮换查勘")
        adjuster.shot("dispatched-assignments")
        adjuster.back()
        adjuster.see("首席承保人查勘")  # the adjuster's own lead survey, on its home screen
        adjuster.shot("home-lead-assignment")

        # -- the co-insurer in turn surveys the site on its own phone -------------------------
        surveyor = {"cpic": cpic, "pingan": pingan}[next_up]
        surveyor.see("新任务", timeout=60_000)
        surveyor.shot("assignment-new")
        surveyor.tap(surveyor.button("接受").first, then="已接受")
        surveyor.tap(surveyor.page.get_by_text("已接受").first, then="已到达现场")
        surveyor.tap(surveyor.button("已到达现场"), then="查勘完成")
        surveyor.tap(surveyor.button("查勘完成"))
        surveyor.see("已完成")
        surveyor.shot("assignment-done")
        surveyor.back()
        drained(apps[next_up])
        for name in ("adjuster", "liaison"):
            status_on(apps[name], claim_id, "surveyed")  # the server moved it, every phone sees it

        # -- the liaison collects every document and submits ---------------------------------
        liaison.page.wait_for_timeout(2500)
        liaison.see("已查勘")
        move(liaison, "收集资料中", "collecting")
        liaison.tap(liaison.button("资料", exact=True), then="还缺")
        mark_all_collected(liaison)
        liaison.see("资料已齐全")
        liaison.shot("documents-complete")
        liaison.tap(liaison.button("概况", exact=True), then="相关人员")
        move(liaison, "资料已提交", "submitted")
        drained(apps["liaison"])
        status_on(apps["adjuster"], claim_id, "submitted")

        # -- the adjuster reviews, itemises and adjusts ----------------------------------------
        adjuster.see("资料已提交")  # the home list follows the sync by itself
        open_claim(adjuster, VICTIM["name"])
        move(adjuster, "审核中", "under-review")
        press(adjuster, "添加损失项目", then="损失类别")
        adjuster.tap(adjuster.button("身故").last)
        fill(adjuster, "损失项目（如：砖木结构房屋）", "身故赔偿金")
        fill(adjuster, "金额（元）", "100000")
        adjuster.tap(adjuster.button(VICTIM["name"]).last)
        adjuster.shot("item-death")
        adjuster.tap(adjuster.button("保存", exact=True))
        adjuster.see("已保存")
        press(adjuster, "添加损失项目", then="损失类别")
        adjuster.tap(adjuster.button("房屋及室内财产").last)
        fill(adjuster, "损失项目（如：砖木结构房屋）", "砖木结构住房（倒塌）")
        fill(adjuster, "数量", "125")
        fill(adjuster, "单价（元）", "2000")
        fill(adjuster, "购置日期（年-月-日）", "2008-10-01")
        fill(adjuster, "损失程度", "全损")
        adjuster.tap(adjuster.button("保存", exact=True))
        adjuster.find("损失清单（2 项）")
        adjuster.find("清单合计")
        adjuster.find("填写理算金额")  # scrolled to the inventory, to look at it
        adjuster.shot("loss-inventory")
        # more than the death limit on one victim is refused, with the reason
        press(adjuster, "添加损失项目", then="损失类别")
        adjuster.tap(adjuster.button("身故").last)
        fill(adjuster, "损失项目（如：砖木结构房屋）", "丧葬费")
        fill(adjuster, "金额（元）", "5000")
        adjuster.tap(adjuster.button("保存", exact=True), then="超过本案限额")
        adjuster.shot("item-over-limit")
        adjuster.tap(adjuster.button("取消", exact=True))
        press(adjuster, "填写理算金额", then="理算金额（元）")
        adjuster.tap(adjuster.button("保存", exact=True))
        adjuster.find("理算金额")
        move(adjuster, "已理算", "adjusted")
        drained(apps["adjuster"])

        # -- the consultation meeting, then votes by share from each insurer's own phone -------
        until("the published review", lambda: (_review(apps["adjuster"], claim_id) or {}).get("tier")
              == "full_consultation")
        adjuster.page.wait_for_timeout(2500)
        adjuster.find("须先召开赔案处理会商会议")
        assert adjuster.page.get_by_role("button", name="转为：已核赔").count() == 0
        press(adjuster, "登记会商会议", then="会议纪要")
        fill(adjuster, "会议纪要", "会商一致：聘请公估公司复核房屋损失；不聘请律师；各方按份额表决。")
        adjuster.tap(adjuster.page.get_by_role("checkbox", name="聘请公估公司"))
        adjuster.shot("consultation-form")
        adjuster.tap(adjuster.button("保存", exact=True))
        adjuster.see("会商会议已登记")
        adjuster.find("参会共保方")
        adjuster.find("弃权")
        adjuster.shot("consultation-recorded")
        press(adjuster, "同意", then="提交")
        adjuster.tap(adjuster.button("提交", exact=True))
        adjuster.see("意见已保存")
        drained(apps["adjuster"])
        for name, phone in (("cpic", cpic), ("pingan", pingan)):
            until(f"the review on {name}'s phone", lambda n=name: (_review(apps[n], claim_id) or {}).get("consultation"))
            phone.page.wait_for_timeout(2500)
            phone.see("共保审核")
            phone.shot("home-review")
            phone.tap(phone.page.get_by_text(re.compile("350,000.00")).first, then="会商会议")
            phone.shot("review")
            press(phone, "同意", then="提交")
            fill(phone, "意见（可不填）", "同意按理算金额赔付。")
            phone.tap(phone.button("提交", exact=True))
            phone.see("意见已保存")
            phone.shot("voted")
            drained(apps[name])
        until("the vote to clear the step", lambda: (_review(apps["adjuster"], claim_id) or {}).get("cleared"))
        review = _review(apps["adjuster"], claim_id)
        record["vote"] = review["vote"]
        assert review["vote"]["outcome"] == "approve" and review["vote"]["totals_bp"] == {"approve": 5900}

        # -- approved, stamped in the office, paid to the heir, closed -------------------------
        adjuster.page.wait_for_timeout(2500)
        adjuster.find("按承保份额投票通过")
        adjuster.find("转为：已核赔")
        adjuster.shot("authority-cleared")
        move(adjuster, "已核赔", "approved")
        drained(apps["adjuster"])
        status_on(apps["coordinator"], claim_id, "approved")
        # the office console lists the review under its tier, cleared
        until("the review on the office's copy", lambda: (_review(apps["coordinator"], claim_id) or {}).get("cleared"))
        office.tap(office.button("办公台"), then="案件总览")
        office.tap(office.button("共保审核", exact=True), then="全体共保人会商")
        office.see("已通过")
        office.see("按承保份额投票通过")
        office.shot("office-reviews")
        office.back()
        office.page.wait_for_timeout(2500)
        office.tap(office.page.get_by_text(VICTIM["name"]).first, then="概况")
        office.shot("office-approved")
        move(office, "已盖章", "stamped")
        drained(apps["coordinator"])
        status_on(apps["adjuster"], claim_id, "stamped")
        adjuster.page.wait_for_timeout(2500)
        press(adjuster, "转为：已赔付", then="登记赔付")
        assert adjuster.button(VICTIM["name"]).count() == 0  # the deceased is never a payee choice
        adjuster.see(HEIR["name"])
        fill(adjuster, "转账流水号", "NYDZ20260715000123")
        adjuster.shot("payment")
        adjuster.tap(adjuster.button("保存并转为已赔付"))
        adjuster.see("已转为：已赔付")
        adjuster.shot("paid")
        move(adjuster, "已结案", "closed")
        adjuster.tap(adjuster.button("进度", exact=True), then="已结案")
        adjuster.see(coordinator_user["name"])  # the stamp is on the timeline under a person's name
        adjuster.shot("timeline")
        drained(apps["adjuster"])

        # -- the server's own record ------------------------------------------------------------
        feed = server_feed(server, apps["adjuster"])
        claim = next(c["fields"] for c in feed if c["entity"] == "claim" and c["id"] == claim_id)
        heir = next(c for c in feed if c["entity"] == "person" and c["fields"].get("name") == HEIR["name"])
        steps = sorted((c["fields"] for c in feed if c["entity"] == "transition" and c["fields"]["claim_id"] == claim_id),
                       key=lambda f: f["at"])
        record["server_claim"] = {k: claim.get(k) for k in ("status", "claimed_amount_fen", "adjusted_amount_fen",
                                                             "paid_amount_fen", "payee_person_id", "transfer_ref")}
        record["timeline"] = [(s["to_status"], s.get("created_by_name")) for s in steps]
        assert claim["status"] == "closed"
        assert claim["adjusted_amount_fen"] == claim["paid_amount_fen"] == 350_000_00
        assert claim["payee_person_id"] == heir["id"] and claim["transfer_ref"] == "NYDZ20260715000123"
        assert [s["to_status"] for s in steps] == [
            "reported", "registered", "survey_dispatched", "surveyed", "collecting", "submitted", "under_review",
            "adjusted", "approved", "stamped", "paid", "closed"]
        assert dict(record["timeline"])["stamped"] == coordinator_user["name"]
        assert dict(record["timeline"])["paid"] == adjuster_user["name"]

        # -- the lead recovers cpic's share of what it paid for all, from the office console ------
        recoveries = httpx.get(f"{server.url}/api/v1/fund/recoveries", headers=_token(apps["coordinator"]),
                               timeout=10).json()
        owed = recoveries["by_insurer"]["cpic"]["owed_fen"]
        assert owed > 0
        office.tap(office.button("办公台"), then="案件总览")
        office.tap(office.button("工作经费", exact=True), then="经费预算")  # the coordinator books no fund entries
        office.find("代付赔款摊回")
        row = sorted(recoveries["by_insurer"]).index("cpic")
        office.find(f"{owed / 100:,.2f} 元")
        office.tap(office.page.get_by_role("button", name="催收", exact=True).nth(row), then="向太平洋财险大足支公司催收代付赔款")
        fill(office, "金额（元）", f"{owed / 100:.2f}")
        office.shot("recovery-demand")
        office.tap(office.button("保存", exact=True))
        office.see("催收已登记")
        office.find("已催收")
        office.find(f"{owed / 100:,.2f} 元")
        office.shot("recoveries")
        demanded = httpx.get(f"{server.url}/api/v1/fund/recoveries", headers=_token(apps["coordinator"]),
                             timeout=10).json()["by_insurer"]["cpic"]
        assert demanded["demanded_fen"] == owed and demanded["outstanding_fen"] == owed
        office.back()

        # -- a second claim of 80,000 yuan: the lead insurer decides alone ---------------------
        record["small"] = _small_claim(server, apps, liaison, adjuster, office)
    except Exception:
        for name, phone in screens.items():
            phone.failed(apps[name].log)
        raise
    finally:
        record["screenshots"] = {n: [p.name for p in s.shots] for n, s in screens.items()}
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(record, ensure_ascii=False, indent=1))
        for s in screens.values():
            s.close()
        for a in apps.values():
            a.stop()


def _assignment_insurers(app, claim_id: str) -> set[str]:
    with _store(app) as store:
        return {a.insurer_code for a in store.assignments.list() if a.claim_id == claim_id}


def _review(app, claim_id: str) -> dict | None:
    with _store(app) as store:
        return store.reviews.get(claim_id)


def _small_claim(server, apps, liaison: Screen, adjuster: Screen, office: Screen) -> dict:
    """Reported by the liaison, surveyed by the lead's adjuster (its own assignment), adjusted at
    80,000 yuan: no co-insurer is asked; 已核赔 is offered as soon as it is adjusted."""
    victim = "陈桂兰"
    liaison.back()
    report(liaison, "7月2日山洪冲毁厨房及粮食，无人员伤亡。", ("房屋及室内财产",), victim, None, PHOTOS[:1])
    liaison.see("还缺", timeout=30_000)
    liaison.tap(liaison.button("概况", exact=True), then="相关人员")
    press(liaison, "添加人员（继承人、代理人、收款人）", then="人员类别")
    liaison.tap(liaison.button("收款人"))
    liaison.tap(liaison.button("本人"))
    fill(liaison, "姓名", victim)
    fill(liaison, "开户银行", "重庆农商行龙水支行")
    fill(liaison, "银行账号", "6222020200000000006")
    liaison.tap(liaison.button("保存", exact=True))
    liaison.see("人员已保存")
    drained(apps["liaison"])
    with _store(apps["liaison"]) as store:
        claim_id = next(r.id for r in store.claims.list_page(limit=200).rows if r.victim_name == victim)
    status_on(apps["adjuster"], claim_id, "reported")
    adjuster.back()
    adjuster.find(victim)
    open_claim(adjuster, victim)
    move(adjuster, "已立案", "small-registered")
    move(adjuster, "已派查勘", "small-dispatched")
    drained(apps["adjuster"])
    until("the lead assignment", lambda: "picc" in _assignment_insurers(apps["adjuster"], claim_id))
    adjuster.back()
    report_no = local_claim(apps["adjuster"], claim_id).report_no
    lead_tile = adjuster.page.locator(f'flt-semantics[aria-label*="{report_no}"]').or_(
        adjuster.page.get_by_text(re.compile(report_no))).first
    adjuster.tap(lead_tile, then="打开案件")
    adjuster.tap(adjuster.button("接受"), then="已到达现场")
    adjuster.tap(adjuster.button("已到达现场"), then="查勘完成")
    adjuster.tap(adjuster.button("查勘完成"))
    adjuster.see("已完成")
    adjuster.shot("small-lead-survey-done")
    drained(apps["adjuster"])
    status_on(apps["adjuster"], claim_id, "surveyed")
    adjuster.back()
    adjuster.find(victim)
    open_claim(adjuster, victim)
    move(adjuster, "收集资料中", "small-collecting")
    adjuster.tap(adjuster.button("资料", exact=True), then="还缺")
    mark_all_collected(adjuster)
    adjuster.tap(adjuster.button("概况", exact=True), then="相关人员")
    move(adjuster, "资料已提交", "small-submitted")
    move(adjuster, "审核中", "small-review")
    press(adjuster, "添加损失项目", then="损失类别")
    fill(adjuster, "损失项目（如：砖木结构房屋）", "厨房及储存粮食")
    fill(adjuster, "金额（元）", "80000")
    adjuster.tap(adjuster.button("保存", exact=True))
    adjuster.find("损失清单（1 项）")
    press(adjuster, "填写理算金额", then="理算金额（元）")
    adjuster.tap(adjuster.button("保存", exact=True))
    move(adjuster, "已理算", "small-adjusted")
    adjuster.find("首席承保人全权处理")
    move(adjuster, "已核赔", "small-approved")
    drained(apps["adjuster"])
    status_on(apps["coordinator"], claim_id, "approved")
    office.page.wait_for_timeout(2500)
    office.find(victim)
    office.tap(office.page.get_by_text(victim).first, then="概况")
    move(office, "已盖章", "small-stamped")
    drained(apps["coordinator"])
    status_on(apps["adjuster"], claim_id, "stamped")
    adjuster.page.wait_for_timeout(2500)
    press(adjuster, "转为：已赔付", then="登记赔付")
    fill(adjuster, "转账流水号", "NYDZ20260716000456")
    adjuster.tap(adjuster.button("保存并转为已赔付"))
    adjuster.see("已转为：已赔付")
    move(adjuster, "已结案", "small-closed")
    drained(apps["adjuster"])
    feed = server_feed(server, apps["adjuster"])
    claim = next(c["fields"] for c in feed if c["entity"] == "claim" and c["id"] == claim_id)
    assert claim["status"] == "closed" and claim["paid_amount_fen"] == 80_000_00
    assert not any(c["entity"] == "authority_review" and c["id"] == claim_id for c in feed)  # nobody was asked
    return {"claim_id": claim_id, "status": claim["status"], "paid_amount_fen": claim["paid_amount_fen"]}
