"""The document checklist of a claim, and the one consolidated list of what is still missing.

``required_documents`` turns (coverage, loss types, circumstances) into the ordered checklist the
adjuster hands the victim on the spot: base set, then the coverage's cause evidence, then the
documents per loss type, each document once.

``evaluate`` reads a claim's document statuses and returns what still blocks submission as ONE
list: the Insurance Law (art. 22) asks the insurer to request all supplementary material in a
single notice, so a claimant must never be sent back twice for things that were missing the first
time.

Status rules (decided here; also in assets/catalogue/README.md):
- ``collected`` and ``verified`` satisfy a document.
- ``not_applicable`` satisfies an optional document; a mandatory one only where the catalogue
  says ``not_applicable_allowed`` (e.g. site photos, where the seed's flow has no site survey).
  Otherwise a mandatory document marked not applicable is listed as missing, with that reason.
- In an alternative group ("two of these three") only collected/verified members count; a member
  marked not applicable (no cremation because of a burial) simply does not count, and the group is
  listed once: "still need N more of A / B / C".
- Optional documents never block; they are reported separately as ``optional_missing``. The
  catalogue makes cause evidence optional wherever the notice does not ask for it, and every item
  carries its ``basis``: the notice's words that require it, or the assumption that adds it.
- A status for a document that is not on the checklist is ignored (claims may keep extra papers).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Iterable, Mapping, Sequence

from claimcore.catalogue import Catalogue, Label, Requirement, RequirementBasis
from claimcore.entities import DOCUMENT_STATUSES

STATUSES = DOCUMENT_STATUSES
SATISFYING = ("collected", "verified")
BASE = "base"
CAUSE = "cause"


class ChecklistError(ValueError):
    """A checklist request or a status map the catalogue cannot answer."""


class UnknownLossType(ChecklistError):
    pass


class UnknownStatus(ChecklistError):
    pass


@dataclass(frozen=True)
class ChecklistItem:
    document: str
    label: Label
    issuer: Label
    mandatory: bool
    sections: tuple[str, ...]  # "base", "cause" and/or loss-type codes this document serves
    basis: RequirementBasis  # of the line that decides ``mandatory`` (the first such line)
    group: str | None = None
    group_label: Label | None = None
    group_min_required: int | None = None
    group_members: tuple[str, ...] = ()
    template: str | None = None
    when: str | None = None
    not_applicable_allowed: bool = False
    long_wait: bool = False
    shared_per_event: bool = False
    note: Label | None = None

    @property
    def section(self) -> str:
        return self.sections[0]

    def as_dict(self, lang: str) -> dict:
        return {
            "document": self.document,
            "name": self.label.get(lang),
            "issuer": self.issuer.get(lang),
            "mandatory": self.mandatory,
            "sections": list(self.sections),
            "group": self.group,
            "group_min_required": self.group_min_required,
            "template": self.template,
            "when": self.when,
            "not_applicable_allowed": self.not_applicable_allowed,
            "long_wait": self.long_wait,
            "shared_per_event": self.shared_per_event,
            "note": self.note.get(lang) if self.note else None,
            # The notice's words (verbatim, Chinese) for a seed item, else the assumption in ``lang``.
            "basis": self.basis.text(lang),
            "basis_source": self.basis.source,
            "basis_translation": self.basis.translation(lang),
        }


@dataclass(frozen=True)
class MissingEntry:
    """One line of the supplement notice: a single document, or a group short of members."""
    kind: str  # "document" or "group"
    documents: tuple[str, ...]
    labels: tuple[Label, ...]
    issuers: tuple[Label, ...]
    need: int  # how many of ``documents`` must still be provided
    mandatory: bool
    group: str | None = None
    group_label: Label | None = None
    reason: str = "missing"  # or "not_applicable_not_allowed"

    def text(self, lang: str) -> str:
        if lang not in ("zh", "en"):
            raise ValueError(f"unknown language {lang!r}; use zh or en")
        zh = lang == "zh"
        if self.kind == "group":
            names = ("、" if zh else " / ").join(lb.get(lang) for lb in self.labels)
            head = self.group_label.get(lang)
            if len(self.documents) <= self.need:  # no choice left: name exactly what to bring
                return f"{head}：还需提供 {names}" if zh else f"{head}: still needed: {names}"
            return (f"{head}：{names} 中还需提供 {self.need} 项" if zh
                    else f"{head}: {self.need} more of {names}")
        out = f"{self.labels[0].get(lang)} — {self.issuers[0].get(lang)}"
        if self.reason == "not_applicable_not_allowed":
            out += "（此项必须提供，不能标为“不适用”）" if zh else " (required; it cannot be marked not applicable)"
        return out

    def as_dict(self, lang: str) -> dict:
        return {
            "kind": self.kind,
            "documents": list(self.documents),
            "names": [lb.get(lang) for lb in self.labels],
            "need": self.need,
            "mandatory": self.mandatory,
            "group": self.group,
            "reason": self.reason,
            "text": self.text(lang),
        }


@dataclass(frozen=True)
class ChecklistResult:
    complete: bool
    missing: list[MissingEntry]
    optional_missing: list[MissingEntry] = field(default_factory=list)

    def as_dict(self, lang: str) -> dict:
        return {"complete": self.complete,
                "missing": [m.as_dict(lang) for m in self.missing],
                "optional_missing": [m.as_dict(lang) for m in self.optional_missing]}


def required_documents(catalogue: Catalogue, coverage_code: str, loss_types: Iterable[str], *,
                       by_agent: bool = False, conditions: Iterable[str] = (),
                       attached_to: str | None = None) -> list[ChecklistItem]:
    """The ordered, de-duplicated checklist for one claim.

    ``conditions`` names circumstances from the catalogue's ``conditions`` table (e.g.
    ``frontline_worker`` for infectious-disease staff); ``by_agent=True`` is the same as naming
    ``by_agent``. ``attached_to`` names the main coverage of a rider whose cause evidence comes
    from its main coverage (the resettlement rider after a fire or a natural disaster).
    """
    coverage = catalogue.coverage(coverage_code)
    if isinstance(loss_types, str):
        loss_types = [loss_types]
    wanted = list(dict.fromkeys(loss_types))
    if not wanted:
        raise UnknownLossType(f"name at least one loss type for {coverage.code}; "
                              f"allowed: {', '.join(coverage.loss_types)}")
    for lt in wanted:
        if lt not in coverage.loss_types:
            known = "" if lt in catalogue.loss_types else " (no such loss type)"
            raise UnknownLossType(
                f"loss type {lt!r}{known} is not covered by {coverage.code} ({coverage.label.zh}); "
                f"allowed: {', '.join(coverage.loss_types)}")
    active = set(conditions)
    if by_agent:
        active.add("by_agent")
    for c in active:
        if c not in catalogue.conditions:
            raise ChecklistError(f"unknown condition {c!r}; known: {', '.join(catalogue.conditions)}")

    cause_source = coverage
    if attached_to is not None:
        if attached_to not in coverage.attaches_to:
            where = ", ".join(coverage.attaches_to) or "no main coverage"
            raise ChecklistError(f"{coverage.code} does not attach to {attached_to!r}; it attaches to {where}")
        main = catalogue.coverage(attached_to)
        if coverage.cause_evidence_from_main:
            cause_source = main
    elif coverage.cause_evidence_from_main:
        raise ChecklistError(
            f"{coverage.code} ({coverage.label.zh}) is a rider whose cause evidence comes from its main "
            f"coverage; name that main coverage (attached_to=, or --attached-to on the command line): "
            f"one of {', '.join(coverage.attaches_to)}")
    replaced = {r.document: r.by for r in (*coverage.replaces, *cause_source.replaces)}

    sections: list[tuple[str, Sequence[Requirement]]] = [(BASE, catalogue.base_documents),
                                                         (CAUSE, cause_source.cause_evidence)]
    if cause_source is not coverage:
        sections.append((CAUSE, coverage.cause_evidence))
    for lt in coverage.loss_types:  # catalogue order, whatever order the caller named them in
        if lt in wanted:
            sections.append((lt, catalogue.loss_type_documents.get(lt, ())))

    items: dict[str, ChecklistItem] = {}
    for section, reqs in sections:
        for req in reqs:
            if req.when is not None and req.when not in active:
                continue
            if req.document is not None:
                codes, group = [req.document], None
            else:
                group = catalogue.groups[req.group]
                codes = list(group.members)
            for code in codes:
                if code in replaced and replaced[code] != code:
                    continue
                doc = catalogue.documents[code]
                prev = items.get(code)
                if prev is not None:
                    # Seen already (e.g. medical records for both disability and medical): keep
                    # one line, mandatory if any section needs it.
                    items[code] = _merge(prev, section, req)
                    continue
                items[code] = ChecklistItem(
                    document=code, label=doc.label, issuer=doc.issuer, mandatory=req.mandatory,
                    sections=(section,), basis=req.basis, group=group.code if group else None,
                    group_label=group.label if group else None,
                    group_min_required=group.min_required if group else None,
                    group_members=group.members if group else (), template=doc.template, when=req.when,
                    not_applicable_allowed=req.not_applicable_allowed, long_wait=doc.long_wait,
                    shared_per_event=doc.shared_per_event, note=doc.note)
    return list(items.values())


def _merge(item: ChecklistItem, section: str, req: Requirement) -> ChecklistItem:
    """Fold a second mention of a document into its first line: mandatory if any mention is, and
    waivable as not applicable only if every mandatory mention allows it. The basis shown is the one
    of the mention that makes it mandatory."""
    sections = item.sections if section in item.sections else (*item.sections, section)
    if not req.mandatory:
        return replace(item, sections=sections)
    if not item.mandatory:
        return replace(item, sections=sections, mandatory=True, not_applicable_allowed=req.not_applicable_allowed,
                       basis=req.basis)
    return replace(item, sections=sections,
                   not_applicable_allowed=item.not_applicable_allowed and req.not_applicable_allowed)


def evaluate(items: Sequence[ChecklistItem], statuses: Mapping[str, str]) -> ChecklistResult:
    """What is still missing, as one consolidated list (see the module docstring for the rules)."""
    for code, status in statuses.items():
        if status not in STATUSES:
            raise UnknownStatus(f"document {code!r}: unknown status {status!r}; use one of {', '.join(STATUSES)}")
    missing: list[MissingEntry] = []
    optional: list[MissingEntry] = []
    done_groups: set[str] = set()
    for item in items:
        if item.group is not None:
            if item.group in done_groups:
                continue
            done_groups.add(item.group)
            members = [i for i in items if i.group == item.group]
            have = sum(1 for m in members if statuses.get(m.document, "missing") in SATISFYING)
            need = (item.group_min_required or 1) - have
            if need <= 0:
                continue
            open_members = [m for m in members if statuses.get(m.document, "missing") not in SATISFYING]
            candidates = [m for m in open_members if statuses.get(m.document, "missing") != "not_applicable"]
            if len(candidates) < need:  # not enough left without revisiting a "not applicable"
                candidates = open_members
            entry = MissingEntry(kind="group", documents=tuple(m.document for m in candidates),
                                 labels=tuple(m.label for m in candidates),
                                 issuers=tuple(m.issuer for m in candidates), need=need,
                                 mandatory=item.mandatory, group=item.group, group_label=item.group_label)
            (missing if item.mandatory else optional).append(entry)
            continue
        status = statuses.get(item.document, "missing")
        if status in SATISFYING:
            continue
        if status == "not_applicable" and (not item.mandatory or item.not_applicable_allowed):
            continue
        reason = "not_applicable_not_allowed" if status == "not_applicable" else "missing"
        entry = MissingEntry(kind="document", documents=(item.document,), labels=(item.label,),
                             issuers=(item.issuer,), need=1, mandatory=item.mandatory, reason=reason)
        (missing if item.mandatory else optional).append(entry)
    return ChecklistResult(complete=not missing, missing=missing, optional_missing=optional)


def consolidated_notice_text(result: ChecklistResult, lang: str = "zh") -> str:
    """The plain-words supplement notice: everything still missing, in one go."""
    if lang not in ("zh", "en"):
        raise ValueError(f"unknown language {lang!r}; use zh or en")
    zh = lang == "zh"
    lines = ["补充材料通知" if zh else "Notice: documents still needed", ""]
    if result.complete:
        lines.append("您的索赔材料已齐全，无需补充。" if zh else "Your claim documents are complete; nothing more is needed.")
    else:
        n = len(result.missing)
        lines.append(f"经核对，您的索赔材料还缺以下 {n} 项，请一次补齐后交给镇街联络员或人保财险大足支公司："
                     if zh else
                     f"We checked your claim documents. The following {n} item{'s are' if n > 1 else ' is'} "
                     "still needed; please bring them all to your township liaison or to PICC P&C Dazu branch:")
        lines += [f"{i}. {m.text(lang)}" for i, m in enumerate(result.missing, 1)]
        lines.append("")
        lines.append("以上是本次需要补充的全部材料。" if zh else "This is the complete list of what is needed.")
    if result.optional_missing:
        lines.append("")
        lines.append("如有以下材料，也请一并提供（没有不影响受理）：" if zh
                     else "If you have these, please bring them too (not having them does not hold up your claim):")
        lines += [f"- {m.text(lang)}" for m in result.optional_missing]
    return "\n".join(lines) + "\n"
