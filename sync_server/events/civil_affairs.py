"""The civil-affairs step of a natural disaster (annex 1, 自然灾害救助保险):

    街镇将受灾情况上报区民政局 → 民政局将全区受灾情况提供给人保财险大足支公司 → 人保财险大足支公司组织人员到
    受灾现场查勘…

and 职责分工: 区民政局负责自然灾害的统计并向承保公司提供辖区人员伤亡信息. Per natural-disaster event
this module keeps:

- each township's report to the bureau (``CivilAffairsTownshipReport``): when the township
  reported and what it counted, recorded by its liaison or by the office on its behalf. A township
  may report again (初报, 续报, 核报): every report is kept, the latest stands.
- the bureau's district-wide figures as the lead insurer received them (``BureauFigures``): when
  they reached the lead and the bureau's own counts, recorded by an adjuster or the coordinator.
  Also append-only; the latest stands.
- the statistics the event's claims give, by township and village, for the export to the bureau.

The figures of a report (township or bureau), a small set after the civil-affairs disaster
statistics (自然灾害情况统计): deaths (死亡), missing (失踪), injured (受伤), households whose
house was damaged (受损房屋户数, collapsed ones included) and, of those, collapsed (其中倒塌).

The claims' statistics: a claim is one person's case or one household's (the co-insurance
rules' "single claim"), so it counts once in each measure it covers: a death claim is one death
(not also an injury, even with medical costs), a disability or medical claim one injured person,
a house claim one damaged household. Withdrawn and declined claims are left out (and counted as
left out). The claims cannot tell missing persons or collapsed houses: those have only the
reported figures. The two sources are never merged: the export shows both and the difference."""
from __future__ import annotations

import datetime as dt
import io
import uuid
from typing import Any, Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from claimcore import divisions as divisions_lib
from claimcore import entities
from claimcore.localtime import to_china_time

from ..core import domain
from ..core.error_codes import ERR
from ..core.models import Claim, User
from ..core.rules import RuleError, aware, to_utc
from .models import FIGURE_MAX, FIGURES, BureauFigures, CivilAffairsTownshipReport, CoinsuranceEvent
from .service import event_in, the_event

NATURAL_DISASTER = "natural_disaster"


# What the claims can count (the rest only the reports know).
MEASURES = entities.DISASTER_CLAIM_MEASURES


FIGURE_NAMES = {"deaths": "死亡人数", "missing": "失踪人数", "injured": "受伤人数",
                "damaged_households": "受损房屋户数", "collapsed_households": "其中倒塌户数"}


# Claims that do not count: the report was taken back, or the insurer found no covered loss.
LEFT_OUT = ("withdrawn", "declined")


# How far ahead of the server's clock a stated time may be (a phone's clock a little fast).
CLOCK_SLACK = dt.timedelta(minutes=5)


def natural_event(session: Session, event_id: str) -> CoinsuranceEvent:
    """The event, if it has the civil-affairs step: only natural disasters go through the bureau."""
    ev = the_event(session, event_id)
    if ev.coverage != NATURAL_DISASTER:
        raise RuleError(409, ERR.not_natural_disaster,
                        "only a natural-disaster event is reported through the civil affairs bureau")
    return ev


def _check_figures(figures: dict[str, int]) -> dict[str, int]:
    out = {k: int(figures[k]) for k in FIGURES}
    if any(v < 0 or v > FIGURE_MAX for v in out.values()):
        raise RuleError(422, ERR.invalid_figures, f"each figure is a whole number from 0 to {FIGURE_MAX}")
    if out["collapsed_households"] > out["damaged_households"]:
        raise RuleError(422, ERR.collapsed_exceeds_damaged,
                        "collapsed households are counted among the damaged ones: not more than them")
    return out


def _check_moment(ev: CoinsuranceEvent, moment: dt.datetime, now: dt.datetime, what: str) -> dt.datetime:
    if moment.tzinfo is None:
        raise RuleError(422, ERR.invalid_datetime, f"{what} needs a UTC offset")
    if moment > now + CLOCK_SLACK:
        raise RuleError(422, ERR.in_the_future, f"{what} is later than now")
    if moment < aware(ev.started_at):
        raise RuleError(422, ERR.before_event, f"{what} is before the event started")
    return to_utc(moment)


def may_file_for(actor: User, township_code: str) -> bool:
    """Who may record a township's report: the office for any township, a liaison for its own."""
    return actor.role in entities.OFFICE_ROLES or (actor.role == "liaison" and actor.township_code == township_code)


def record_township_report(session: Session, actor: User, event_id: str, township_code: str,
                           reported_at: dt.datetime, figures: dict[str, int], note: str,
                           now: dt.datetime) -> dict:
    """A township reported to the bureau. A liaison files only its own township's report; the
    office files any township's on its behalf."""
    ev = natural_event(session, event_id)
    try:
        domain.check_township(township_code)
    except domain.DomainError as exc:
        raise RuleError(422, exc.code, exc.message) from None
    if not may_file_for(actor, township_code):
        raise RuleError(403, ERR.not_own_township, "a liaison reports for its own township only")
    row = CivilAffairsTownshipReport(
        id=str(uuid.uuid4()), event_id=ev.id, township_code=township_code,
        reported_at=_check_moment(ev, reported_at, now, "reported_at"), **_check_figures(figures),
        note=note, recorded_by=actor.id, recorded_at=now)
    session.add(row)
    session.flush()
    return _record_dict(row, {actor.id: actor})


def record_bureau_figures(session: Session, actor: User, event_id: str, received_at: dt.datetime,
                          figures: dict[str, int], note: str, now: dt.datetime) -> dict:
    """The bureau's figures for the whole district reached the lead insurer."""
    ev = natural_event(session, event_id)
    row = BureauFigures(id=str(uuid.uuid4()), event_id=ev.id,
                        received_at=_check_moment(ev, received_at, now, "received_at"),
                        **_check_figures(figures), note=note, recorded_by=actor.id, recorded_at=now)
    session.add(row)
    session.flush()
    return _record_dict(row, {actor.id: actor})


def _record_dict(row: CivilAffairsTownshipReport | BureauFigures, users: dict[str, User]) -> dict:
    who = users.get(row.recorded_by)
    out: dict[str, Any] = {"id": row.id, **{k: getattr(row, k) for k in FIGURES}, "note": row.note or "",
                           "recorded_by": row.recorded_by, "recorded_by_name": who.name if who else None,
                           "recorded_by_role": who.role if who else None,
                           "recorded_at": aware(row.recorded_at).isoformat()}
    if isinstance(row, CivilAffairsTownshipReport):
        out.update(township_code=row.township_code, township_name=domain.townships().get(row.township_code),
                   reported_at=aware(row.reported_at).isoformat())
    else:
        out["received_at"] = aware(row.received_at).isoformat()
    return out


def claim_counts(loss_types: Iterable[str]) -> dict[str, int]:
    """What one claim adds to each measure (see the module's docstring)."""
    kinds = set(loss_types or ())
    death = "death" in kinds
    return {"deaths": int(death),
            "injured": int(not death and bool(kinds & {"disability", "medical"})),
            "damaged_households": int("house" in kinds)}


def _zero() -> dict[str, int]:
    return {"claims": 0, **{m: 0 for m in MEASURES}}


def _add(into: dict[str, int], counts: dict[str, int]) -> None:
    into["claims"] += 1
    for m in MEASURES:
        into[m] += counts[m]


def statistics(claims: Iterable[tuple[str, str | None, str, list[str]]]) -> dict:
    """The event's casualties and damaged households by township and village, with totals.
    ``claims``: (township code, village code or None, status, loss types)."""
    towns: dict[str, dict] = {}
    total = _zero()
    left_out: dict[str, int] = {}
    div = divisions_lib.load_divisions()
    names = domain.townships()
    for township, village, status, loss_types in claims:
        if status in LEFT_OUT:
            left_out[status] = left_out.get(status, 0) + 1
            continue
        counts = claim_counts(loss_types)
        town = towns.setdefault(township, {"code": township, "name": names.get(township, township),
                                           **_zero(), "villages": {}})
        _add(town, counts)
        _add(total, counts)
        vkey = village or ""
        if vkey not in town["villages"]:
            vname = None
            if village:
                try:
                    vname = div.village(village).name
                except divisions_lib.UnknownDivision:
                    vname = village
            town["villages"][vkey] = {"code": village, "name": vname, **_zero()}
        _add(town["villages"][vkey], counts)
    by_township = []
    for code in sorted(towns):
        town = towns[code]
        # Villages in code order; the claims that name no village last.
        town["villages"] = sorted(town["villages"].values(), key=lambda v: (v["code"] is None, v["code"] or ""))
        by_township.append(town)
    return {"by_township": by_township, "total": total, "left_out": left_out}


def _latest(rows: list, key) -> Any:  # noqa: ANN001
    return max(rows, key=key) if rows else None


def step(session: Session, event_id: str, now: dt.datetime) -> dict:
    """The step's state, the claims' statistics and the comparison with the reported figures."""
    ev = natural_event(session, event_id)
    claims = [(c.township_code, c.village_code, c.status, list((c.data or {}).get("loss_types") or []))
              for c in session.execute(select(Claim).where(event_in(ev)).order_by(Claim.created_at, Claim.id))
              .scalars()]
    stats = statistics(claims)
    reports = list(session.execute(select(CivilAffairsTownshipReport)
                                   .where(CivilAffairsTownshipReport.event_id == ev.id)).scalars())
    bureau = list(session.execute(select(BureauFigures).where(BureauFigures.event_id == ev.id)).scalars())
    user_ids = {r.recorded_by for r in [*reports, *bureau]}
    users = {u.id: u for u in session.execute(select(User).where(User.id.in_(user_ids))).scalars()} if user_ids else {}

    def report_key(r):  # noqa: ANN001, ANN202
        return aware(r.reported_at), aware(r.recorded_at), r.id

    def bureau_key(r):  # noqa: ANN001, ANN202
        return aware(r.received_at), aware(r.recorded_at), r.id

    by_town: dict[str, list] = {}
    for r in reports:
        by_town.setdefault(r.township_code, []).append(r)
    claim_towns = {t["code"]: t for t in stats["by_township"]}
    names = domain.townships()
    townships = []
    for code in sorted(set(ev.township_codes or ()) | set(by_town) | set(claim_towns)):
        latest = _latest(by_town.get(code, []), report_key)
        townships.append({"code": code, "name": names.get(code, code), "declared": code in (ev.township_codes or ()),
                          "claims": claim_towns[code]["claims"] if code in claim_towns else 0,
                          "reported": latest is not None, "reports": len(by_town.get(code, [])),
                          "latest": _record_dict(latest, users) if latest is not None else None})
    latest_bureau = _latest(bureau, bureau_key)
    latest_towns = [t["latest"] for t in townships if t["latest"]]
    comparison = []
    for f in FIGURES:
        from_claims = stats["total"][f] if f in MEASURES else None
        from_bureau = getattr(latest_bureau, f) if latest_bureau is not None else None
        comparison.append({
            "figure": f, "name": FIGURE_NAMES[f], "claims": from_claims,
            "townships": sum(t[f] for t in latest_towns) if latest_towns else None,
            "bureau": from_bureau,
            "difference": (from_claims - from_bureau) if from_claims is not None and from_bureau is not None
            else None})
    return {
        "event": {"id": ev.id, "name": ev.name, "coverage": ev.coverage, "township_codes": list(ev.township_codes or ()),
                  "started_at": aware(ev.started_at).isoformat()},
        "generated_at": now.isoformat(),
        "townships": townships,
        "townships_reported": sum(1 for t in townships if t["reported"]),
        "township_reports": [_record_dict(r, users) for r in sorted(reports, key=report_key, reverse=True)],
        "bureau": {"received": latest_bureau is not None,
                   "latest": _record_dict(latest_bureau, users) if latest_bureau is not None else None,
                   "history": [_record_dict(r, users) for r in sorted(bureau, key=bureau_key, reverse=True)]},
        "statistics": stats,
        "comparison": comparison,
    }


def _china(iso: str | None) -> str:
    if not iso:
        return "—"
    return to_china_time(dt.datetime.fromisoformat(iso)).strftime("%Y-%m-%d %H:%M")


def _shown(value: int | None) -> str | int:
    return "—" if value is None else value


def _difference(value: int | None) -> str:
    if value is None:
        return "—"
    return f"+{value}" if value > 0 else str(value)


def title(data: dict) -> str:
    return f"{data['event']['name']} 受灾情况统计（巨灾保险理赔）"


def _table_rows(data: dict) -> list[list]:
    """Townships, each followed by its villages, then the total: the same rows in XLSX and PDF."""
    rows: list[list] = []
    for town in data["statistics"]["by_township"]:
        rows.append([town["name"], "（小计）", town["claims"], *[town[m] for m in MEASURES]])
        for v in town["villages"]:
            rows.append([town["name"], v["name"] or "（未填村社）", v["claims"], *[v[m] for m in MEASURES]])
    total = data["statistics"]["total"]
    rows.append(["全区合计", "", total["claims"], *[total[m] for m in MEASURES]])
    return rows


STAT_HEADINGS = ["镇街", "村（社区）", "案件数", *[FIGURE_NAMES[m] for m in MEASURES]]


COMPARE_HEADINGS = ["项目", "理赔统计", "街镇上报合计", "区民政局", "差异（理赔−民政局）"]


def _compare_rows(data: dict) -> list[list]:
    return [[c["name"], _shown(c["claims"]), _shown(c["townships"]), _shown(c["bureau"]), _difference(c["difference"])]
            for c in data["comparison"]]


def _township_rows(data: dict) -> list[list]:
    out = []
    for t in data["townships"]:
        latest = t["latest"] or {}
        out.append([t["name"], "已上报" if t["reported"] else "未上报", _china(latest.get("reported_at")),
                    *[_shown(latest.get(f)) for f in FIGURES]])
    return out


TOWNSHIP_HEADINGS = ["镇街", "上报民政局", "上报时间", *[FIGURE_NAMES[f] for f in FIGURES]]


def _bureau_line(data: dict) -> str:
    latest = data["bureau"]["latest"]
    if latest is None:
        return "区民政局全区受灾情况：尚未收到"
    return f"区民政局全区受灾情况：{_china(latest['received_at'])} 送达人保财险大足支公司"


def to_xlsx(data: dict) -> bytes:
    from openpyxl import Workbook

    # The reports' sheet: names typed by people (an event called "=HYPERLINK(…)") stay text.
    from ..reports.render_xlsx import add_sheet

    wb = Workbook()
    wb.remove(wb.active)

    def sheet(name: str, header: list[str], rows: list[list], bold_last: bool = False) -> None:
        total = rows[-1] if bold_last and rows else None
        add_sheet(wb, name, header, rows[:-1] if total is not None else rows, total=total, width=18)

    ev = data["event"]
    left = data["statistics"]["left_out"]
    sheet("概要", ["项目", "内容"], [
        ["标题", title(data)], ["灾害事件", ev["name"]], ["开始时间", _china(ev["started_at"])],
        ["涉及镇街", "、".join(domain.townships().get(c, c) for c in ev["township_codes"])],
        ["统计时间", _china(data["generated_at"])],
        ["街镇上报", f"{data['townships_reported']}/{len(data['townships'])} 个镇街已上报区民政局"],
        ["区民政局数据", _bureau_line(data).split("：", 1)[1]],
        ["统计口径", "按本事件的理赔案件统计；一件案件为一人或一户：身故案件计死亡，伤残或医疗案件计受伤，"
                 "房屋案件计受损房屋户数；已撤案、拒赔案件不计"
                 + (f"（未计 {sum(left.values())} 件）" if left else "")],
    ])
    sheet("按镇街村社", STAT_HEADINGS, _table_rows(data), bold_last=True)
    sheet("与民政局数据对比", COMPARE_HEADINGS, _compare_rows(data))
    sheet("街镇上报情况", TOWNSHIP_HEADINGS, _township_rows(data))
    history = data["bureau"]["history"]
    sheet("民政局数据记录", ["送达时间", *[FIGURE_NAMES[f] for f in FIGURES], "说明", "记录人", "记录时间"],
          [[_china(b["received_at"]), *[b[f] for f in FIGURES], b["note"], b["recorded_by_name"] or "",
            _china(b["recorded_at"])] for b in history])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def to_pdf(data: dict) -> bytes:
    from pdflayer.page import FormPDF, PageFurniture

    pdf = FormPDF(PageFurniture(programme="大足区巨灾保险 · 自然灾害", page_format="第 {page} 页 共 {pages} 页",
                                reference=data["event"]["name"]))
    pdf.set_title(title(data))
    pdf.add_page()
    ev = data["event"]
    pdf.title_block(title(data), f"统计时间：{_china(data['generated_at'])}")
    pdf.paragraph(f"灾害事件：{ev['name']}；开始时间：{_china(ev['started_at'])}；涉及镇街："
                  + "、".join(domain.townships().get(c, c) for c in ev["township_codes"]))
    pdf.paragraph(f"街镇上报区民政局：{data['townships_reported']}/{len(data['townships'])} 个镇街已上报。"
                  + _bureau_line(data) + "。")
    pdf.section("一、理赔案件统计（按镇街、村社）")
    rows = _table_rows(data)
    subtotals = [i for i, r in enumerate(rows) if r[1] in ("（小计）", "")]
    pdf.data_table(STAT_HEADINGS, [[str(v) for v in r] for r in rows], col_widths=[24, 30, 14, 16, 16, 20],
                   align=["L", "L", "R", "R", "R", "R"], emphasised_rows=subtotals)
    left = data["statistics"]["left_out"]
    pdf.paragraph("统计口径：一件案件为一人或一户；身故案件计死亡，伤残或医疗案件计受伤，房屋案件计受损房屋户数；"
                  "已撤案、拒赔案件不计" + (f"（未计 {sum(left.values())} 件）" if left else "") + "。", grey=True)
    pdf.section("二、与区民政局数据对比")
    pdf.data_table(COMPARE_HEADINGS, [[str(v) for v in r] for r in _compare_rows(data)],
                   col_widths=[24, 18, 20, 18, 24], align=["L", "R", "R", "R", "R"])
    pdf.paragraph("两个来源分别统计，互不覆盖；差异为理赔统计减区民政局数据。", grey=True)
    pdf.section("三、街镇上报区民政局情况")
    pdf.data_table(TOWNSHIP_HEADINGS, [[str(v) for v in r] for r in _township_rows(data)],
                   col_widths=[18, 14, 22, 12, 12, 12, 16, 16],
                   align=["L", "C", "L", "R", "R", "R", "R", "R"])
    return pdf.output_bytes()


