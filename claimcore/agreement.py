"""The cooperation agreement's benefit limits, one file per policy year.

The notice (大足府办发〔2024〕23号, 二(三)) defers premiums, cover and the policy period to the
《重庆市大足区巨灾保险合作协议》 approved at the district government's 77th executive meeting. Its
figures are not public, so each year's file in ``assets/agreement/agreement-<year>.json`` says
where its figures come from (``source``, zh + en) and whether they are provisional stand-ins
(Chongqing's municipal standard of 渝府办发〔2017〕121号) until the agreement's own are known. Every
screen and refusal that shows a limit shows that source with it.

The policy year of a claim is the calendar year, China time, of its **accident** (the claim's
incident time; its report time when the incident time is missing): cover follows the accident,
not the day someone got round to reporting it. A year without a file uses the nearest earlier
year's figures and says so; a date before the first file uses the first file, and says so too.

Loading validates every file and fails loudly with an :class:`AgreementError` naming the file and
the entry: a wrong limit found at payment time is far from its cause.
"""
from __future__ import annotations

import datetime as dt
import json
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

from claimcore.assets import assets_dir
from claimcore.catalogue import LIMIT_FIELDS, BenefitLimits, Label, ProgrammeCaps, load_catalogue
from claimcore.localtime import china_date, to_china_time

_FILE_RE = re.compile(r"^agreement-(?P<year>\d{4})\.json$")
SCALE_DOWN = ("pro_rata",)


class AgreementError(ValueError):
    """An agreement file is broken, or there is none at all."""


@dataclass(frozen=True)
class AgreementYear:
    """One policy year's terms: per-coverage limits and the programme's caps, with their source."""

    policy_year: int
    source: Label
    provisional: bool
    note: Label | None
    defaults: BenefitLimits
    per_coverage: Mapping[str, BenefitLimits]
    caps: ProgrammeCaps

    def limits(self, coverage: str) -> BenefitLimits:
        return self.per_coverage.get(coverage, self.defaults)


@dataclass(frozen=True)
class YearTerms:
    """The answer to "which terms apply to an accident on this day": the year asked for, the
    agreement year whose figures apply, and whether those are another year's (no file)."""

    year: int
    agreement: AgreementYear

    @property
    def fallback(self) -> bool:
        return self.agreement.policy_year != self.year

    def limits(self, coverage: str) -> BenefitLimits:
        return self.agreement.limits(coverage)

    @property
    def caps(self) -> ProgrammeCaps:
        return self.agreement.caps

    def source_text(self, lang: str) -> str:
        """Where the figures come from, e.g. "2026年度：《…合作协议》…；金额未公开，暂按…"."""
        zh = lang != "en"
        ag = self.agreement
        if zh:
            head = f"{self.year}年度"
            if self.fallback:
                head += f"无协议配置，沿用{ag.policy_year}年度"
            return f"{head}：{ag.source.zh}"
        head = f"policy year {self.year}"
        if self.fallback:
            head += f" has no agreement file; {ag.policy_year}'s figures apply"
        return f"{head}: {ag.source.en}"


def policy_year_of(moment: str | dt.datetime | dt.date | None) -> int | None:
    """The policy year of an accident: its calendar year in China time (localtime.china_date);
    None for nothing or unreadable text."""
    day = china_date(moment)
    return day.year if day is not None else None


# --------------------------------------------------------------------------------- parsing

class _Parser:
    def __init__(self, origin: str, coverages: tuple[str, ...]):
        self.origin = origin
        self.coverages = coverages

    def fail(self, where: str, msg: str) -> AgreementError:
        return AgreementError(f"agreement {self.origin}: {where}: {msg}")

    def obj(self, value: Any, where: str) -> dict:
        if not isinstance(value, dict):
            raise self.fail(where, f"expected an object, got {type(value).__name__}")
        return value

    def req(self, d: dict, key: str, where: str) -> Any:
        if key not in d:
            raise self.fail(where, f"missing {key!r}")
        return d[key]

    def label(self, value: Any, where: str) -> Label:
        value = self.obj(value, where)
        for lang in ("zh", "en"):
            text = value.get(lang)
            if not isinstance(text, str) or not text.strip():
                raise self.fail(where, f"missing {lang} text")
        return Label(zh=value["zh"], en=value["en"])

    def whole(self, value: Any, where: str, *, nullable: bool) -> int | None:
        # bool is an int subclass and a float is a money bug waiting to happen: whole fen only.
        if value is None and nullable:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise self.fail(where, f"must be a non-negative whole number (fen), got {value!r}")
        return value

    def limits(self, raw: dict, where: str) -> BenefitLimits:
        vals: dict[str, Any] = {}
        for f in LIMIT_FIELDS:
            vals[f] = self.whole(self.req(raw, f, where), f"{where}.{f}", nullable=True)
        if vals["resettlement_max_days"] == 0:
            raise self.fail(f"{where}.resettlement_max_days", "must be at least 1 day (or null)")
        grades_raw = self.obj(self.req(raw, "disability_grade_percent", where), f"{where}.disability_grade_percent")
        grades: dict[int, int] = {}
        for k, v in grades_raw.items():
            if not str(k).isdigit():
                raise self.fail(f"{where}.disability_grade_percent", f"grade {k!r} is not a number")
            if isinstance(v, bool) or not isinstance(v, int) or not 0 < v <= 100:
                raise self.fail(f"{where}.disability_grade_percent", f"grade {k}: percent must be 1..100, got {v!r}")
            grades[int(k)] = v
        if sorted(grades) != list(range(1, 11)):
            raise self.fail(f"{where}.disability_grade_percent", "needs grades 1 to 10 (JR/T 0083-2013)")
        if any(grades[g] <= grades[g + 1] for g in range(1, 10)):
            raise self.fail(f"{where}.disability_grade_percent", "percent must fall from grade 1 to grade 10")
        included = raw.get("medical_included_in_death_limit", True)
        if not isinstance(included, bool):
            raise self.fail(where, "medical_included_in_death_limit must be true or false")
        return BenefitLimits(disability_grade_percent=MappingProxyType(grades),
                             medical_included_in_death_limit=included, configurable_defaults=False, **vals)

    def parse(self, data: Any, year_in_name: int | None) -> AgreementYear:
        data = self.obj(data, "top level")
        year = self.req(data, "policy_year", "top level")
        if isinstance(year, bool) or not isinstance(year, int) or not 2000 <= year <= 2100:
            raise self.fail("policy_year", f"must be a year like 2026, got {year!r}")
        if year_in_name is not None and year != year_in_name:
            raise self.fail("policy_year", f"says {year}, the file name says {year_in_name}")
        if data.get("unit", "fen") != "fen":
            raise self.fail("unit", f"amounts are in fen, got {data.get('unit')!r}")
        source = self.label(self.req(data, "source", "top level"), "source")
        provisional = self.req(data, "provisional", "top level")
        if not isinstance(provisional, bool):
            raise self.fail("provisional", f"must be true or false, got {provisional!r}")
        note = self.label(data["note"], "note") if "note" in data else None
        defaults_raw = self.obj(self.req(data, "defaults", "top level"), "defaults")
        defaults = self.limits(defaults_raw, "defaults")
        per_cov: dict[str, BenefitLimits] = {}
        for code, override in self.obj(data.get("per_coverage", {}), "per_coverage").items():
            if code not in self.coverages:
                raise self.fail(f"per_coverage {code!r}", f"unknown coverage; valid: {', '.join(self.coverages)}")
            per_cov[code] = self.limits({**defaults_raw, **self.obj(override, f"per_coverage.{code}")},
                                        f"per_coverage.{code}")
        caps_raw = self.obj(self.req(data, "programme_caps", "top level"), "programme_caps")
        per_event = self.whole(self.req(caps_raw, "per_event_fen", "programme_caps"),
                               "programme_caps.per_event_fen", nullable=False)
        per_year = self.whole(self.req(caps_raw, "per_year_fen", "programme_caps"),
                              "programme_caps.per_year_fen", nullable=False)
        if not per_event or not per_year:
            raise self.fail("programme_caps", "the per-event and per-year caps must be above zero")
        if per_event > per_year:
            raise self.fail("programme_caps", "the per-event cap cannot exceed the per-year cap")
        scale = caps_raw.get("scale_down", "pro_rata")
        if scale not in SCALE_DOWN:
            raise self.fail("programme_caps.scale_down", f"only {', '.join(SCALE_DOWN)} is supported, got {scale!r}")
        return AgreementYear(policy_year=year, source=source, provisional=provisional, note=note,
                             defaults=defaults, per_coverage=MappingProxyType(per_cov),
                             caps=ProgrammeCaps(per_event_fen=per_event, per_year_fen=per_year, scale_down=scale))


def parse_agreement(data: Any, *, origin: str = "<dict>", year_in_name: int | None = None) -> AgreementYear:
    """One year's file, validated (the coverage codes are the current catalogue's)."""
    return _Parser(origin, tuple(load_catalogue().coverages)).parse(data, year_in_name)


# --------------------------------------------------------------------------------- loading

@dataclass(frozen=True)
class Agreements:
    """Every policy year with a file, oldest first."""

    years: tuple[AgreementYear, ...]

    def for_year(self, year: int) -> YearTerms:
        """The terms of ``year``: its own file, else the nearest earlier year's, else (a year
        before the first file) the first file's."""
        earlier = [a for a in self.years if a.policy_year <= year]
        return YearTerms(year, earlier[-1] if earlier else self.years[0])

    def on(self, moment: str | dt.datetime | dt.date | None, *, today: dt.date | None = None) -> YearTerms:
        """The terms of an accident at ``moment`` (see policy_year_of); without a readable moment,
        the year of ``today`` (China time)."""
        year = policy_year_of(moment)
        if year is None:
            year = (today or to_china_time(dt.datetime.now(dt.timezone.utc)).date()).year
        return self.for_year(year)


_cache: dict[str, Agreements] = {}
_cache_lock = threading.Lock()


def agreement_dir() -> Path:
    return assets_dir() / "agreement"


def load_agreements() -> Agreements:
    """Load (once per assets folder) and validate every year's file."""
    folder = agreement_dir()
    key = str(folder.resolve())
    with _cache_lock:
        hit = _cache.get(key)
    if hit is not None:
        return hit
    if not folder.is_dir():
        raise AgreementError(f"no agreement folder at {folder}")
    years: list[AgreementYear] = []
    for path in sorted(folder.iterdir()):
        if path.suffix != ".json":
            continue
        match = _FILE_RE.match(path.name)
        if match is None:
            raise AgreementError(f"agreement {path.name}: name it agreement-<year>.json (e.g. agreement-2026.json)")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise AgreementError(f"agreement {path.name} is not valid JSON: {exc}") from None
        years.append(parse_agreement(data, origin=path.name, year_in_name=int(match["year"])))
    if not years:
        raise AgreementError(f"no agreement-<year>.json in {folder}: the benefit limits have no source")
    loaded = Agreements(tuple(sorted(years, key=lambda a: a.policy_year)))
    with _cache_lock:
        _cache.setdefault(key, loaded)
        return _cache[key]


def terms_on(moment: str | dt.datetime | dt.date | None) -> YearTerms:
    """The limits and caps that apply to an accident at ``moment`` (see Agreements.on)."""
    return load_agreements().on(moment)


def clear_cache() -> None:
    """Forget loaded files (tests that write agreements into a temporary assets folder use it)."""
    with _cache_lock:
        _cache.clear()
