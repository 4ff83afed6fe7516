"""The reports screen's data beyond the figures: the annual report's four written parts (case
analysis, publicity, shortcomings, next year's plans) and their submission to the Center, the
quarterly review meeting's minutes and measures, and each month's co-insurer floor as the report
states it.

Who may do what follows the server's roles (reports/routes.py): the lead's adjusters write, submit and
withdraw the annual report; the coordinator (the Center) reviews it; either keeps the meeting's
minutes. The server keeps the texts and refuses what its rules refuse (a frozen report, an edit on
an old copy); the refusal reaches the screen in the user's language.

No Flet here: tests/ui check it against the real server.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any, Iterable

from fieldapp.state.context import NeedsServer
from fieldapp.state.office import Office, Snapshot

SECTION_KEYS = ("case_analysis", "publicity", "shortcomings", "next_steps")
# The server's refusals of these routes that the screen says in its own words.
REFUSALS = ("report_frozen", "stale_revision", "year_not_over", "report_incomplete", "not_submitted")


def narrative_path(year: int) -> str:
    return f"/api/v1/reports/annual/{int(year)}/narrative"


def minutes_path(year: int, quarter: int) -> str:
    return f"/api/v1/reports/quarterly/{int(year)}/{int(quarter)}/minutes"


class ReportRecords:
    """The written parts, read and kept like the office's other server answers (offline: the last
    answer), and the acts on them (the server's to record)."""

    def __init__(self, office: Office):
        self.office = office

    @property
    def role(self) -> str:
        return self.office.ctx.role

    def narrative(self, year: int) -> Snapshot | None:
        return self.office.fetch(f"narrative:{year}", narrative_path(year))

    def minutes(self, year: int, quarter: int) -> Snapshot | None:
        return self.office.fetch(f"minutes:{year}-{quarter}", minutes_path(year, quarter))

    def _act(self, method: str, path: str, body: dict | None = None) -> dict:
        status, answer = self.office.ctx._call(method, path, body)
        if status in (200, 201):
            return answer
        code = answer.get("error") if isinstance(answer, dict) else None
        if code in REFUSALS:
            from fieldapp.i18n import t

            raise NeedsServer("refused", t(f"report_record.refused.{code}", self.office.ctx.language))
        raise NeedsServer("refused", answer.get("message") if isinstance(answer, dict) and answer.get("message")
                          else f"HTTP {status}")

    def save_narrative(self, year: int, revision: int, sections: dict[str, str]) -> dict:
        body = {"revision": revision, **{k: v for k, v in sections.items() if k in SECTION_KEYS}}
        return self._act("PUT", narrative_path(year), body)

    def submit(self, year: int, revision: int) -> dict:
        return self._act("POST", f"/api/v1/reports/annual/{int(year)}/submit", {"revision": revision})

    def withdraw(self, year: int) -> dict:
        return self._act("POST", f"/api/v1/reports/annual/{int(year)}/withdraw")

    def review(self, year: int, outcome: str, comment: str) -> dict:
        if outcome == "returned" and not comment.strip():
            raise ValueError("comment")
        return self._act("POST", f"/api/v1/reports/annual/{int(year)}/review",
                         {"outcome": outcome, "comment": comment})

    def save_minutes(self, year: int, quarter: int, revision: int, *, held_on: dt.date | None, attendees: str,
                     minutes: str, measures: Iterable[str]) -> dict:
        return self._act("PUT", minutes_path(year, quarter), {
            "revision": revision, "held_on": held_on.isoformat() if held_on else None, "attendees": attendees,
            "minutes": minutes, "measures": [m.strip() for m in measures if m.strip()]})


@dataclass(frozen=True)
class NarrativeActs:
    """What the signed-in person may do with the annual report as it stands."""

    edit: bool
    submit: bool
    withdraw: bool
    review: bool


def narrative_acts(role: str, narrative: dict) -> NarrativeActs:
    state = narrative.get("state")
    lead = role == "adjuster"
    return NarrativeActs(edit=lead and not narrative.get("frozen"),
                         submit=lead and state in ("draft", "returned"),
                         withdraw=lead and state == "submitted",
                         review=role == "coordinator" and state == "submitted")


def measures_from_text(text: str) -> list[str]:
    """The measures typed one a line (a leading "1." or "1、" numbering is the list's, not theirs)."""
    out = []
    for line in (text or "").splitlines():
        line = _NUMBERING.sub("", line.strip(), count=1).strip()
        if line:
            out.append(line)
    return out


# "1." "2、" "3）" at the start of a line; "2.5万元" keeps its figure.
_NUMBERING = re.compile(r"^\d{1,2}(?:[、．)）]|\.(?!\d))")


@dataclass(frozen=True)
class FloorMonth:
    month: str
    count: int
    required: int
    status: str  # met, not_met, in_progress, not_started
    names: tuple[str, ...]


def floor_months(report: dict) -> list[FloorMonth]:
    """Each month of the report's period: how many co-insurers took part and whether that met the
    floor, as the server's report judged it."""
    floor = (report.get("rotation") or {}).get("floor") or {}
    return [FloorMonth(m["month"], m["count"], m["required"], m["status"], tuple(m.get("participant_names") or ()))
            for m in floor.get("months") or []]


def person_name(person: Any) -> str:
    return (person or {}).get("name") or "—"
