"""The coverage catalogue: 12 coverages, their documents, flows and default limits, as data.

The data lives in ``assets/catalogue/catalogue-<version>.json``; ``index.json`` names the current
version. Every claim records the version it was filled against, so old versions stay loadable.

Loading validates the whole file and fails loudly with a :class:`CatalogueError` that names the
broken entry (``coverages[3] 'terrorism': ...``): a half-valid catalogue would otherwise surface
as a wrong checklist in the field, far from its cause.
"""
from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

from claimcore.assets import assets_dir
from claimcore.entities import LOSS_TYPES

LANGS = ("zh", "en")
KINDS = ("main", "rider")
AREAS = ("district", "development_zone")
BASES = ("seed", "practice", "open")
# The fill-in templates the documents package knows how to produce. A catalogue naming any other
# template would promise the victim a form nobody can print.
TEMPLATE_CODES = ("claim_application", "disaster_certificate", "power_of_attorney", "loss_inventory",
                  "checklist")
LOSS_TYPE_CODES = LOSS_TYPES
LIMIT_FIELDS = ("death_per_person_fen", "medical_per_person_fen", "house_per_household_fen",
                "resettlement_per_person_day_fen", "resettlement_max_days")
# Format 1 (2024.1) gave a basis per document; format 2 gives one per requirement line, because the
# same paper can be the notice's own demand in one coverage and an extra of practice in another.
FORMATS = (1, 2)
_VERSION_RE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._-]*$")
_FILE_RE = re.compile(r"^catalogue-(?P<version>.+)\.json$")


class CatalogueError(ValueError):
    """The catalogue is broken or a lookup names something it does not hold."""


class UnknownCatalogueVersion(CatalogueError):
    """No catalogue file for the requested version."""


class UnknownCoverage(CatalogueError):
    def __init__(self, code: str, valid: tuple[str, ...]):
        self.code = code
        self.valid = valid
        super().__init__(f"unknown coverage {code!r}; valid coverages: {', '.join(valid)}")


@dataclass(frozen=True)
class Label:
    zh: str
    en: str

    def get(self, lang: str) -> str:
        if lang == "zh":
            return self.zh
        if lang == "en":
            return self.en
        raise ValueError(f"unknown language {lang!r}; use one of {', '.join(LANGS)}")

    def as_dict(self) -> dict[str, str]:
        return {"zh": self.zh, "en": self.en}


@dataclass(frozen=True)
class Coded:
    """A small coded vocabulary entry (loss type, template, condition, department, hazard...)."""
    code: str
    label: Label
    note: Label | None = None
    basis: str | None = None


@dataclass(frozen=True)
class DocumentType:
    code: str
    label: Label
    issuer: Label
    basis: str
    template: str | None = None
    note: Label | None = None
    shared_per_event: bool = False  # e.g. one weather certificate serves every claim of a flood
    long_wait: bool = False  # e.g. the good-samaritan confirmation can take weeks


@dataclass(frozen=True)
class AlternativeGroup:
    """Documents that stand in for one another: any ``min_required`` of ``members`` suffice."""
    code: str
    label: Label
    min_required: int
    members: tuple[str, ...]
    basis: str


@dataclass(frozen=True)
class RequirementBasis:
    """Why a requirement line is on the checklist.

    ``seed``: ``quote`` (= ``explanation.zh``) holds the notice's own words, verbatim, and
    ``explanation.en`` renders them in English. ``practice``/``open``: ``explanation`` is the assumption that adds the
    line. The catalogue must load on a phone that does not carry the notice, so that a quote really
    is the notice's wording is checked by the tests, not here.
    """
    source: str  # one of BASES
    explanation: Label
    quote: str | None = None
    # False for format-1 catalogues, which state no basis per line: the document's own basis stands
    # in, with a general explanation.
    stated: bool = True

    def text(self, lang: str) -> str:
        """The notice's words for a seed line (in Chinese whatever the language), else the assumption."""
        if self.quote is not None:
            return self.quote
        return self.explanation.get(lang)

    def translation(self, lang: str) -> str | None:
        """The English rendering of a quoted seed line when ``lang`` is English; otherwise None."""
        if self.quote is not None and lang != "zh":
            return self.explanation.get(lang)
        return None


# A format-1 catalogue says only whether a document comes from the notice or from practice; these
# stand in for the per-line explanation it does not have.
_UNSTATED_BASIS = {
    "seed": Label(zh="通知（大足府办发〔2024〕23号）要求的材料；本目录版本未逐项摘录原文",
                  en="A document the notice (大足府办发〔2024〕23号) asks for; this catalogue version quotes no words per item"),
    "practice": Label(zh="其他巨灾保险项目的通行做法；本目录版本未逐项说明",
                      en="Common practice in other catastrophe-insurance programmes; this catalogue version gives no reason per item"),
    "open": Label(zh="通知未说明，取稳妥理解；本目录版本未逐项说明",
                  en="The notice leaves this open and the safe reading is taken; this catalogue version gives no reason per item"),
}


@dataclass(frozen=True)
class Requirement:
    """One line of a document set: a single document or an alternative group."""
    document: str | None
    group: str | None
    mandatory: bool
    basis: RequirementBasis
    when: str | None = None  # a condition code (e.g. "by_agent"); None = always
    # A mandatory document normally cannot be waived as "not applicable"; the catalogue allows it
    # only where the situation can genuinely lack it (no site to photograph).
    not_applicable_allowed: bool = False

    @property
    def key(self) -> str:
        return self.document or f"group:{self.group}"


@dataclass(frozen=True)
class CertifyingDepartment:
    department: Coded
    area: str  # "district" or "development_zone" (经开区 alternative)
    certifies: Label


@dataclass(frozen=True)
class Flow:
    code: str
    label: Label
    steps: tuple[Label, ...]
    basis: str
    note: Label | None = None


@dataclass(frozen=True)
class Replacement:
    document: str
    by: str
    basis: str
    note: Label | None = None


@dataclass(frozen=True)
class BenefitLimits:
    """Default benefit limits for one coverage, in fen. ``None`` means the sources give no figure
    and the policy contract must supply it before anything is computed from it."""
    death_per_person_fen: int | None
    medical_per_person_fen: int | None
    medical_included_in_death_limit: bool
    disability_grade_percent: Mapping[int, int]
    house_per_household_fen: int | None
    resettlement_per_person_day_fen: int | None
    resettlement_max_days: int | None
    configurable_defaults: bool = True

    def disability_limit_fen(self, grade: int) -> int:
        """Death limit × grade percentage (JR/T 0083-2013: grade 1 = 100% … grade 10 = 10%)."""
        if grade not in self.disability_grade_percent:
            raise ValueError(f"disability grade must be one of {sorted(self.disability_grade_percent)}, got {grade!r}")
        if self.death_per_person_fen is None:
            raise ValueError("no death limit configured, so no disability limit can be derived")
        return self.death_per_person_fen * self.disability_grade_percent[grade] // 100


@dataclass(frozen=True)
class ProgrammeCaps:
    per_event_fen: int
    per_year_fen: int
    scale_down: str  # "pro_rata": an event above its cap scales every claim down alike


@dataclass(frozen=True)
class Coverage:
    code: str
    label: Label
    kind: str
    attaches_to: tuple[str, ...]
    covers: Label
    hazards: tuple[Coded, ...]
    annex_group: Coded
    flow: Flow
    certifying_departments: tuple[CertifyingDepartment, ...]
    reported_first_by: Coded
    loss_types: tuple[str, ...]
    cause_evidence: tuple[Requirement, ...]
    cause_evidence_from_main: bool
    replaces: tuple[Replacement, ...]
    limits: BenefitLimits
    basis: str
    note: Label | None = None

    @property
    def is_rider(self) -> bool:
        return self.kind == "rider"


@dataclass(frozen=True)
class Catalogue:
    version: str
    format: int
    title: Label
    source: Mapping[str, Any]
    coverages: Mapping[str, Coverage]
    documents: Mapping[str, DocumentType]
    groups: Mapping[str, AlternativeGroup]
    loss_types: Mapping[str, Coded]
    templates: Mapping[str, Coded]
    conditions: Mapping[str, Coded]
    departments: Mapping[str, Coded]
    flows: Mapping[str, Flow]
    base_documents: tuple[Requirement, ...]
    loss_type_documents: Mapping[str, tuple[Requirement, ...]]
    caps: ProgrammeCaps
    limits_note: Label

    def coverage(self, code: str) -> Coverage:
        try:
            return self.coverages[code]
        except KeyError:
            raise UnknownCoverage(code, tuple(self.coverages)) from None

    def document(self, code: str) -> DocumentType:
        try:
            return self.documents[code]
        except KeyError:
            raise CatalogueError(f"unknown document {code!r} in catalogue {self.version}") from None


# --------------------------------------------------------------------------------------------
# Parsing and validation
# --------------------------------------------------------------------------------------------

class _Parser:
    def __init__(self, data: Any, origin: str):
        self.origin = origin
        self.data = data

    def fail(self, where: str, msg: str) -> CatalogueError:
        return CatalogueError(f"catalogue {self.origin}: {where}: {msg}")

    def obj(self, value: Any, where: str) -> dict:
        if not isinstance(value, dict):
            raise self.fail(where, f"expected an object, got {type(value).__name__}")
        return value

    def lst(self, value: Any, where: str) -> list:
        if not isinstance(value, list):
            raise self.fail(where, f"expected a list, got {type(value).__name__}")
        return value

    def req(self, d: dict, key: str, where: str) -> Any:
        if key not in d:
            raise self.fail(where, f"missing {key!r}")
        return d[key]

    def code(self, d: dict, where: str) -> str:
        c = self.req(d, "code", where)
        if not isinstance(c, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", c):
            raise self.fail(where, f"code must be lower_snake_case text, got {c!r}")
        return c

    def label(self, value: Any, where: str) -> Label:
        if not isinstance(value, dict):
            raise self.fail(where, "label must be an object with 'zh' and 'en'")
        for lang in LANGS:
            text = value.get(lang)
            if not isinstance(text, str) or not text.strip():
                raise self.fail(where, f"missing {lang} label")
        extra = set(value) - set(LANGS)
        if extra:
            raise self.fail(where, f"unexpected label languages {sorted(extra)}")
        return Label(zh=value["zh"], en=value["en"])

    def opt_label(self, d: dict, key: str, where: str) -> Label | None:
        return self.label(d[key], f"{where}.{key}") if key in d else None

    def basis(self, d: dict, where: str, default: str | None = None) -> str:
        b = d.get("basis", default)
        if b not in BASES:
            raise self.fail(where, f"basis must be one of {', '.join(BASES)}, got {b!r}")
        return b

    def boolean(self, d: dict, key: str, where: str, default: bool = False) -> bool:
        v = d.get(key, default)
        if not isinstance(v, bool):
            raise self.fail(where, f"{key} must be true or false, got {v!r}")
        return v

    def fen(self, value: Any, where: str, *, nullable: bool) -> int | None:
        # bool is an int subclass; a float would be a money bug waiting to happen.
        if value is None and nullable:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise self.fail(where, f"must be a non-negative integer (fen), got {value!r}")
        return value

    def coded_table(self, key: str, *, notes: bool = True) -> dict[str, Coded]:
        out: dict[str, Coded] = {}
        for i, raw in enumerate(self.lst(self.req(self.data, key, "top level"), key)):
            where = f"{key}[{i}]"
            raw = self.obj(raw, where)
            code = self.code(raw, where)
            where = f"{key}[{i}] {code!r}"
            if code in out:
                raise self.fail(where, "duplicate code")
            basis = self.basis(raw, where, default="seed") if "basis" in raw else None
            out[code] = Coded(code=code, label=self.label(self.req(raw, "label", where), f"{where}.label"),
                              note=self.opt_label(raw, "note", where) if notes else None, basis=basis)
        return out

    # -- the whole catalogue -------------------------------------------------------------------
    def parse(self) -> Catalogue:
        data = self.obj(self.data, "top level")
        version = self.req(data, "catalogue_version", "top level")
        if not isinstance(version, str) or not _VERSION_RE.match(version):
            raise self.fail("catalogue_version", f"must be text like '2024.1', got {version!r}")
        self.origin = f"{version}" if self.origin == "<dict>" else self.origin
        fmt = data.get("format", 1)
        if isinstance(fmt, bool) or fmt not in FORMATS:
            raise self.fail("format", f"must be one of {', '.join(map(str, FORMATS))}, got {fmt!r}")
        self.format = fmt
        title = self.label(self.req(data, "title", "top level"), "title")
        source = self.obj(self.req(data, "source", "top level"), "source")
        if "note" in source:
            self.label(source["note"], "source.note")

        loss_types = self.coded_table("loss_types")
        unknown_lt = set(loss_types) - set(LOSS_TYPE_CODES)
        if unknown_lt:
            raise self.fail("loss_types", f"unknown loss types {sorted(unknown_lt)}; "
                                          f"the shared vocabulary is {', '.join(LOSS_TYPE_CODES)}")
        templates = self.coded_table("templates")
        bad_t = [t for t in templates if t not in TEMPLATE_CODES]
        if bad_t:
            raise self.fail(f"templates {bad_t[0]!r}", f"unknown template code; known: {', '.join(TEMPLATE_CODES)}")
        conditions = self.coded_table("conditions")
        departments = self.coded_table("departments")
        annex_groups = self.coded_table("annex_groups")
        flows = self._flows()
        documents = self._documents(templates)
        groups = self._groups(documents)

        sets = self.obj(self.req(data, "document_sets", "top level"), "document_sets")
        base = self._requirements(self.req(sets, "base", "document_sets"), "document_sets.base",
                                  documents, groups, conditions)
        lt_sets_raw = self.obj(self.req(sets, "loss_types", "document_sets"), "document_sets.loss_types")
        lt_sets: dict[str, tuple[Requirement, ...]] = {}
        for lt, reqs in lt_sets_raw.items():
            where = f"document_sets.loss_types.{lt}"
            if lt not in loss_types:
                raise self.fail(where, f"unknown loss type {lt!r}; known: {', '.join(loss_types)}")
            lt_sets[lt] = self._requirements(reqs, where, documents, groups, conditions)

        limits_raw = self.obj(self.req(data, "benefit_limits", "top level"), "benefit_limits")
        if limits_raw.get("configurable_defaults") is not True:
            raise self.fail("benefit_limits", "must be marked \"configurable_defaults\": true "
                                              "(they are defaults, the policy contract decides)")
        limits_note = self.label(self.req(limits_raw, "note", "benefit_limits"), "benefit_limits.note")
        caps_raw = self.obj(self.req(limits_raw, "programme_caps", "benefit_limits"), "benefit_limits.programme_caps")
        caps = ProgrammeCaps(
            per_event_fen=self.fen(self.req(caps_raw, "per_event_fen", "benefit_limits.programme_caps"),
                                   "benefit_limits.programme_caps.per_event_fen", nullable=False),
            per_year_fen=self.fen(self.req(caps_raw, "per_year_fen", "benefit_limits.programme_caps"),
                                  "benefit_limits.programme_caps.per_year_fen", nullable=False),
            scale_down=caps_raw.get("scale_down", "pro_rata"))
        if caps.scale_down != "pro_rata":
            raise self.fail("benefit_limits.programme_caps.scale_down", f"only 'pro_rata' is supported, got {caps.scale_down!r}")
        default_limits = self.obj(self.req(limits_raw, "defaults", "benefit_limits"), "benefit_limits.defaults")
        per_cov_limits = self.obj(limits_raw.get("per_coverage", {}), "benefit_limits.per_coverage")

        coverages = self._coverages(annex_groups, flows, departments, loss_types, documents, groups,
                                    conditions, lt_sets, default_limits, per_cov_limits)
        for code in per_cov_limits:
            if code not in coverages:
                raise self.fail(f"benefit_limits.per_coverage {code!r}",
                                f"unknown coverage; valid coverages: {', '.join(coverages)}")

        return Catalogue(
            version=version, format=fmt, title=title, source=MappingProxyType(dict(source)),
            coverages=MappingProxyType(coverages), documents=MappingProxyType(documents),
            groups=MappingProxyType(groups), loss_types=MappingProxyType(loss_types),
            templates=MappingProxyType(templates), conditions=MappingProxyType(conditions),
            departments=MappingProxyType(departments), flows=MappingProxyType(flows),
            base_documents=base, loss_type_documents=MappingProxyType(lt_sets), caps=caps,
            limits_note=limits_note)

    def _flows(self) -> dict[str, Flow]:
        out: dict[str, Flow] = {}
        for i, raw in enumerate(self.lst(self.req(self.data, "flows", "top level"), "flows")):
            raw = self.obj(raw, f"flows[{i}]")
            code = self.code(raw, f"flows[{i}]")
            where = f"flows[{i}] {code!r}"
            if code in out:
                raise self.fail(where, "duplicate code")
            steps = self.lst(self.req(raw, "steps", where), f"{where}.steps")
            if not steps:
                raise self.fail(where, "a flow needs at least one step")
            out[code] = Flow(code=code, label=self.label(self.req(raw, "label", where), f"{where}.label"),
                             steps=tuple(self.label(s, f"{where}.steps[{j}]") for j, s in enumerate(steps)),
                             basis=self.basis(raw, where, default="seed"), note=self.opt_label(raw, "note", where))
        return out

    def _documents(self, templates: Mapping[str, Coded]) -> dict[str, DocumentType]:
        out: dict[str, DocumentType] = {}
        for i, raw in enumerate(self.lst(self.req(self.data, "documents", "top level"), "documents")):
            raw = self.obj(raw, f"documents[{i}]")
            code = self.code(raw, f"documents[{i}]")
            where = f"documents[{i}] {code!r}"
            if code in out:
                raise self.fail(where, "duplicate code")
            template = raw.get("template")
            if template is not None and template not in templates:
                raise self.fail(where, f"unknown template {template!r}; known: {', '.join(templates)}")
            out[code] = DocumentType(
                code=code, label=self.label(self.req(raw, "label", where), f"{where}.label"),
                issuer=self.label(self.req(raw, "issuer", where), f"{where}.issuer"),
                basis=self.basis(raw, where), template=template, note=self.opt_label(raw, "note", where),
                shared_per_event=self.boolean(raw, "shared_per_event", where),
                long_wait=self.boolean(raw, "long_wait", where))
        return out

    def _groups(self, documents: Mapping[str, DocumentType]) -> dict[str, AlternativeGroup]:
        out: dict[str, AlternativeGroup] = {}
        member_of: dict[str, str] = {}
        for i, raw in enumerate(self.lst(self.data.get("alternative_groups", []), "alternative_groups")):
            raw = self.obj(raw, f"alternative_groups[{i}]")
            code = self.code(raw, f"alternative_groups[{i}]")
            where = f"alternative_groups[{i}] {code!r}"
            if code in out or code in documents:
                raise self.fail(where, "duplicate code (groups and documents share one namespace)")
            members = self.lst(self.req(raw, "members", where), f"{where}.members")
            if len(members) < 2:
                raise self.fail(where, "an alternative group needs at least two members")
            if len(set(members)) != len(members):
                raise self.fail(where, "a member is listed twice")
            for m in members:
                if m not in documents:
                    raise self.fail(where, f"unknown document {m!r} in members")
                if m in member_of:
                    raise self.fail(where, f"document {m!r} is already in group {member_of[m]!r}")
                member_of[m] = code
            n = raw.get("min_required")
            if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= len(members):
                raise self.fail(where, f"min_required must be an integer from 1 to {len(members)}, got {n!r}")
            out[code] = AlternativeGroup(code=code, label=self.label(self.req(raw, "label", where), f"{where}.label"),
                                         min_required=n, members=tuple(members), basis=self.basis(raw, where))
        self._member_of = member_of
        return out

    def _requirements(self, raw_list: Any, where: str, documents, groups, conditions) -> tuple[Requirement, ...]:
        out: list[Requirement] = []
        seen: set[str] = set()
        for i, raw in enumerate(self.lst(raw_list, where)):
            w = f"{where}[{i}]"
            raw = self.obj(raw, w)
            doc, grp = raw.get("document"), raw.get("group")
            if (doc is None) == (grp is None):
                raise self.fail(w, "give exactly one of 'document' or 'group'")
            if doc is not None:
                w = f"{w} {doc!r}"
                if doc not in documents:
                    raise self.fail(w, f"unknown document {doc!r}")
                if doc in self._member_of:
                    raise self.fail(w, f"document {doc!r} belongs to group {self._member_of[doc]!r}; "
                                       "reference the group instead")
            else:
                w = f"{w} group {grp!r}"
                if grp not in groups:
                    raise self.fail(w, f"unknown alternative group {grp!r}")
            key = doc or f"group:{grp}"
            if key in seen:
                raise self.fail(w, "listed twice in the same set")
            seen.add(key)
            mandatory = raw.get("mandatory")
            if not isinstance(mandatory, bool):
                raise self.fail(w, "mandatory must be true or false")
            when = raw.get("when")
            if when is not None and when not in conditions:
                raise self.fail(w, f"unknown condition {when!r}; known: {', '.join(conditions)}")
            na = self.boolean(raw, "not_applicable_allowed", w)
            if na and grp is not None:
                raise self.fail(w, "not_applicable_allowed applies to single documents, not groups")
            if "basis" in raw:
                basis = self._requirement_basis(raw["basis"], f"{w}.basis")
            elif self.format >= 2:
                raise self.fail(w, "missing 'basis': the notice's words that require it, verbatim "
                                   "({\"source\": \"seed\", \"zh\": ..., \"en\": ...}), or the assumption "
                                   "that adds it ({\"source\": \"practice\", \"zh\": ..., \"en\": ...})")
            else:
                source = documents[doc].basis if doc is not None else groups[grp].basis
                basis = RequirementBasis(source=source, explanation=_UNSTATED_BASIS[source], stated=False)
            out.append(Requirement(document=doc, group=grp, mandatory=mandatory, basis=basis, when=when,
                                   not_applicable_allowed=na))
        return tuple(out)

    def _requirement_basis(self, raw: Any, where: str) -> RequirementBasis:
        """``{"source": "seed", "zh": <the notice's words, verbatim>, "en": <them in English>}`` or
        ``{"source": "practice"|"open", "zh": <the assumption>, "en": <the same in English>}``."""
        raw = self.obj(raw, where)
        source = raw.get("source")
        if source not in BASES:
            raise self.fail(where, f"source must be one of {', '.join(BASES)}, got {source!r}")
        extra = set(raw) - {"source", *LANGS}
        if extra:
            raise self.fail(where, f"unexpected keys {sorted(extra)}; a basis has 'source', 'zh' and 'en'")
        explanation = self.label({k: v for k, v in raw.items() if k in LANGS}, where)
        quote = None
        if source == "seed":
            quote = explanation.zh
            if quote != quote.strip():
                raise self.fail(where, "the notice's words must not start or end with blanks")
        return RequirementBasis(source=source, explanation=explanation, quote=quote)

    def _limits(self, defaults: dict, override: dict, where: str) -> BenefitLimits:
        merged = {**defaults, **override}
        vals: dict[str, Any] = {}
        for f in LIMIT_FIELDS:
            if f not in merged:
                raise self.fail(where, f"missing {f!r}")
            vals[f] = self.fen(merged[f], f"{where}.{f}", nullable=True)
        grades_raw = self.obj(self.req(merged, "disability_grade_percent", where), f"{where}.disability_grade_percent")
        grades: dict[int, int] = {}
        for k, v in grades_raw.items():
            try:
                g = int(k)
            except ValueError:
                raise self.fail(f"{where}.disability_grade_percent", f"grade {k!r} is not a number") from None
            if isinstance(v, bool) or not isinstance(v, int) or not 0 < v <= 100:
                raise self.fail(f"{where}.disability_grade_percent", f"grade {k}: percent must be 1..100, got {v!r}")
            grades[g] = v
        if sorted(grades) != list(range(1, 11)):
            raise self.fail(f"{where}.disability_grade_percent", "needs grades 1 to 10 (JR/T 0083-2013)")
        if any(grades[g] <= grades[g + 1] for g in range(1, 10)):
            raise self.fail(f"{where}.disability_grade_percent", "percent must fall from grade 1 to grade 10")
        inc = merged.get("medical_included_in_death_limit", True)
        if not isinstance(inc, bool):
            raise self.fail(where, "medical_included_in_death_limit must be true or false")
        return BenefitLimits(disability_grade_percent=MappingProxyType(grades), medical_included_in_death_limit=inc,
                             **vals)

    def _coverages(self, annex_groups, flows, departments, loss_types, documents, groups, conditions,
                   lt_sets, default_limits, per_cov_limits) -> dict[str, Coverage]:
        raws = self.lst(self.req(self.data, "coverages", "top level"), "coverages")
        codes: list[str] = []
        for i, raw in enumerate(raws):
            raw = self.obj(raw, f"coverages[{i}]")
            code = self.code(raw, f"coverages[{i}]")
            if code in codes:
                raise self.fail(f"coverages[{i}] {code!r}", "duplicate code")
            codes.append(code)
        out: dict[str, Coverage] = {}
        for i, raw in enumerate(raws):
            code = raw["code"]
            where = f"coverages[{i}] {code!r}"
            label = self.label(self.req(raw, "label", where), f"{where}.label")
            kind = self.req(raw, "kind", where)
            if kind not in KINDS:
                raise self.fail(where, f"kind must be 'main' or 'rider', got {kind!r}")
            attaches = self.lst(raw.get("attaches_to", []), f"{where}.attaches_to")
            if kind == "main" and attaches:
                raise self.fail(where, "a main coverage cannot attach to another coverage")
            for a in attaches:
                if a not in codes:
                    raise self.fail(where, f"rider attaches to unknown coverage {a!r}; valid coverages: {', '.join(codes)}")
                if a == code:
                    raise self.fail(where, "a rider cannot attach to itself")
                if raws[codes.index(a)].get("kind") != "main":
                    raise self.fail(where, f"rider attaches to {a!r}, which is not a main coverage")
            hazards = []
            for j, h in enumerate(self.lst(raw.get("hazards", []), f"{where}.hazards")):
                h = self.obj(h, f"{where}.hazards[{j}]")
                hazards.append(Coded(code=self.code(h, f"{where}.hazards[{j}]"),
                                     label=self.label(self.req(h, "label", f"{where}.hazards[{j}]"), f"{where}.hazards[{j}].label")))
            ag = self.req(raw, "annex_group", where)
            if ag not in annex_groups:
                raise self.fail(where, f"unknown annex group {ag!r}")
            fl = self.req(raw, "flow", where)
            if fl not in flows:
                raise self.fail(where, f"unknown flow {fl!r}; known: {', '.join(flows)}")
            cds = []
            for j, cd in enumerate(self.lst(self.req(raw, "certifying_departments", where), f"{where}.certifying_departments")):
                w = f"{where}.certifying_departments[{j}]"
                cd = self.obj(cd, w)
                dep = self.req(cd, "department", w)
                if dep not in departments:
                    raise self.fail(w, f"unknown department {dep!r}; known: {', '.join(departments)}")
                area = cd.get("area", "district")
                if area not in AREAS:
                    raise self.fail(w, f"area must be one of {', '.join(AREAS)}, got {area!r}")
                cds.append(CertifyingDepartment(department=departments[dep], area=area,
                                                certifies=self.label(self.req(cd, "certifies", w), f"{w}.certifies")))
            rfb = self.obj(self.req(raw, "reported_first_by", where), f"{where}.reported_first_by")
            reported = Coded(code=self.code(rfb, f"{where}.reported_first_by"),
                             label=self.label(self.req(rfb, "label", f"{where}.reported_first_by"), f"{where}.reported_first_by.label"))
            lts = self.lst(self.req(raw, "loss_types", where), f"{where}.loss_types")
            if not lts:
                raise self.fail(where, "allows no loss type")
            for lt in lts:
                if lt not in loss_types:
                    raise self.fail(where, f"unknown loss type {lt!r}; known: {', '.join(loss_types)}")
                if not lt_sets.get(lt):
                    raise self.fail(where, f"allows loss type {lt!r}, which has no documents")
            if len(set(lts)) != len(lts):
                raise self.fail(where, "a loss type is listed twice")
            cause = self._requirements(self.req(raw, "cause_evidence", where), f"{where}.cause_evidence",
                                       documents, groups, conditions)
            from_main = self.boolean(raw, "cause_evidence_from_main", where)
            if from_main and (kind != "rider" or not attaches):
                raise self.fail(where, "cause_evidence_from_main needs a rider that attaches to main coverages")
            if not from_main and not any(r.mandatory and r.when is None for r in cause):
                raise self.fail(where, "no mandatory cause evidence (every claim needs the certifying "
                                       "department's certificate)")
            if self.format >= 2:
                for j, r in enumerate(cause):
                    if r.mandatory and r.basis.source != "seed":
                        raise self.fail(f"{where}.cause_evidence[{j}] {r.key!r}",
                                        "cause evidence is mandatory only where the notice requires it "
                                        f"(basis 'seed'); this one's basis is {r.basis.source!r}: "
                                        "make it \"mandatory\": false")
            if not from_main and not cds:
                raise self.fail(where, "no certifying department")
            reps = []
            for j, rp in enumerate(self.lst(raw.get("replaces", []), f"{where}.replaces")):
                w = f"{where}.replaces[{j}]"
                rp = self.obj(rp, w)
                d, by = self.req(rp, "document", w), self.req(rp, "by", w)
                for ref in (d, by):
                    if ref not in documents:
                        raise self.fail(w, f"unknown document {ref!r}")
                if not any(r.document == by for r in cause):
                    raise self.fail(w, f"replacement {by!r} is not in this coverage's cause evidence")
                reps.append(Replacement(document=d, by=by, basis=self.basis(rp, w), note=self.opt_label(rp, "note", w)))
            out[code] = Coverage(
                code=code, label=label, kind=kind, attaches_to=tuple(attaches),
                covers=self.label(self.req(raw, "covers", where), f"{where}.covers"),
                hazards=tuple(hazards), annex_group=annex_groups[ag], flow=flows[fl],
                certifying_departments=tuple(cds), reported_first_by=reported, loss_types=tuple(lts),
                cause_evidence=cause, cause_evidence_from_main=from_main, replaces=tuple(reps),
                limits=self._limits(default_limits, self.obj(per_cov_limits.get(code, {}), f"benefit_limits.per_coverage.{code}"),
                                    f"benefit_limits ({code})"),
                basis=self.basis(raw, where, default="seed"), note=self.opt_label(raw, "note", where))
        if not out:
            raise self.fail("coverages", "no coverages")
        return out


def parse_catalogue(data: Mapping[str, Any], origin: str = "<dict>") -> Catalogue:
    """Validate and build a catalogue from already-decoded JSON data (raises CatalogueError)."""
    return _Parser(data, origin).parse()


# --------------------------------------------------------------------------------------------
# Files and versions
# --------------------------------------------------------------------------------------------

def catalogue_dir() -> Path:
    return assets_dir() / "catalogue"


def available_versions() -> list[str]:
    """Every catalogue version present, oldest first (claims filled against any of them load)."""
    found = []
    for p in catalogue_dir().glob("catalogue-*.json"):
        m = _FILE_RE.match(p.name)
        if m:
            found.append(m.group("version"))
    return sorted(found, key=_version_key)


def _version_key(v: str) -> tuple:
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"[._-]", v))


_current: dict[str, str] = {}


def current_version() -> str:
    """The version index.json names (read once per assets folder; clear_cache() forgets it)."""
    folder = str(catalogue_dir().resolve())
    if folder in _current:
        return _current[folder]
    index = catalogue_dir() / "index.json"
    try:
        data = json.loads(index.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CatalogueError(f"catalogue index not found: {index}") from None
    except json.JSONDecodeError as e:
        raise CatalogueError(f"catalogue index {index} is not valid JSON: {e}") from None
    cur = data.get("current") if isinstance(data, dict) else None
    if not isinstance(cur, str):
        raise CatalogueError(f"catalogue index {index}: 'current' must name a version")
    _current[folder] = cur
    return cur


_cache: dict[tuple[str, str], Catalogue] = {}
_cache_lock = threading.Lock()


def load_catalogue(version: str | None = None) -> Catalogue:
    """Load (once per assets folder and version) and validate a catalogue; None = the current one."""
    if version is None:
        version = current_version()
    if not isinstance(version, str) or not _VERSION_RE.match(version):
        raise UnknownCatalogueVersion(f"bad catalogue version {version!r}")
    folder = catalogue_dir()
    key = (str(folder.resolve()), version)
    with _cache_lock:
        hit = _cache.get(key)
    if hit is not None:
        return hit
    path = folder / f"catalogue-{version}.json"
    if not path.is_file():
        raise UnknownCatalogueVersion(f"catalogue version {version!r} not found in {folder}; "
                             f"available: {', '.join(available_versions()) or 'none'}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise CatalogueError(f"catalogue {path.name} is not valid JSON: {e}") from None
    cat = parse_catalogue(data, origin=path.name)
    if cat.version != version:
        raise CatalogueError(f"catalogue {path.name}: catalogue_version says {cat.version!r}, "
                             f"the file name says {version!r}")
    with _cache_lock:
        _cache.setdefault(key, cat)
        return _cache[key]


def clear_cache() -> None:
    """Forget loaded catalogues (tests that rewrite files in a temporary assets folder use it)."""
    with _cache_lock:
        _cache.clear()
        _current.clear()
