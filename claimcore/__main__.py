"""Command line for the people who maintain the coverage catalogue.

    python -m claimcore coverages [--json] [--lang zh|en] [--catalogue-version V]
    python -m claimcore checklist COVERAGE --loss TYPE[,TYPE...] [--by-agent] [--when CONDITION]
                                  [--attached-to MAIN] [--json] [--lang zh|en] [--catalogue-version V]
    python -m claimcore contract [--json]      the record contract (claimcore.entities)

Names are Chinese by default. Every checklist item says why it is asked for: in JSON, ``basis`` (the
notice's words for a notice item, else the assumption in --lang), ``basis_source`` (seed, practice
or open) and ``basis_translation`` (the English of the notice's words with --lang en, else null);
``mandatory`` keeps its meaning (false: listed, never holds up the claim). An unknown coverage, loss type or condition prints one clear line on
stderr and exits with status 2 (the same status argparse uses for bad usage); a broken catalogue
file exits with status 1 and names the broken entry.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Sequence

from claimcore.catalogue import (Catalogue, CatalogueError, Coverage, UnknownCatalogueVersion, UnknownCoverage,
                                 load_catalogue)
from claimcore.checklist import BASE, CAUSE, ChecklistError, ChecklistItem, required_documents

USAGE_ERROR = 2
DATA_ERROR = 1

_T = {
    "zh": {"main": "主险", "rider": "附加险", "attaches": "附加于", "loss": "损失类型",
           "dept": "认定部门", "first": "首先报案", "version": "目录版本", "base": "基本材料",
           "cause": "致灾原因证明", "mandatory": "必交", "optional": "可选，不影响提交", "template": "有模板",
           "when": "仅当", "of": "项中至少提供", "items": "项", "edz": "经开区", "sep": "、",
           "covers": "保障范围", "total": "共", "basis.seed": "依据（通知）",
           "basis.practice": "依据（通行做法）", "basis.open": "依据（通知未明确，取稳妥理解）"},
    "en": {"main": "main", "rider": "rider", "attaches": "attaches to", "loss": "loss types",
           "dept": "certified by", "first": "reported first by", "version": "catalogue version",
           "base": "Base documents", "cause": "Cause evidence", "mandatory": "required",
           "optional": "optional, never holds up the claim", "template": "template", "when": "only when", "of": "at least",
           "items": "items", "edz": "Economic Development Zone", "sep": ", ", "covers": "covers",
           "total": "total", "basis.seed": "basis (the notice)", "basis.practice": "basis (common practice)",
           "basis.open": "basis (left open by the notice; safe reading)"},
}


def _coverage_dict(cat: Catalogue, cov: Coverage, lang: str) -> dict:
    return {
        "code": cov.code,
        "name": cov.label.get(lang),
        "names": cov.label.as_dict(),
        "kind": cov.kind,
        "attaches_to": list(cov.attaches_to),
        "covers": cov.covers.get(lang),
        "hazards": [{"code": h.code, "name": h.label.get(lang)} for h in cov.hazards],
        "loss_types": [{"code": lt, "name": cat.loss_types[lt].label.get(lang)} for lt in cov.loss_types],
        "certifying_departments": [
            {"code": cd.department.code, "name": cd.department.label.get(lang), "area": cd.area,
             "certifies": cd.certifies.get(lang)} for cd in cov.certifying_departments],
        "cause_evidence_from_main": cov.cause_evidence_from_main,
        "reported_first_by": {"code": cov.reported_first_by.code, "text": cov.reported_first_by.label.get(lang)},
        "flow": {"code": cov.flow.code, "steps": [s.get(lang) for s in cov.flow.steps]},
        "basis": cov.basis,
    }


def _cmd_coverages(cat: Catalogue, args: argparse.Namespace) -> int:
    lang, t = args.lang, _T[args.lang]
    if args.json:
        doc = {"catalogue_version": cat.version, "lang": lang, "count": len(cat.coverages),
               "coverages": [_coverage_dict(cat, c, lang) for c in cat.coverages.values()]}
        _print_json(doc)
        return 0
    print(f"{cat.title.get(lang)} — {t['version']} {cat.version}")
    for cov in cat.coverages.values():
        kind = t[cov.kind]
        if cov.attaches_to:
            kind += f"（{t['attaches']} {t['sep'].join(cat.coverages[a].label.get(lang) for a in cov.attaches_to)}）" \
                if lang == "zh" else f" ({t['attaches']} {', '.join(cov.attaches_to)})"
        losses = t["sep"].join(cat.loss_types[lt].label.get(lang) for lt in cov.loss_types)
        depts = t["sep"].join(cd.department.label.get(lang) for cd in cov.certifying_departments) or "—"
        print(f"{cov.code:<20} {cov.label.get(lang)}  [{kind}]")
        print(f"{'':<20} {t['loss']}: {losses}; {t['dept']}: {depts}")
    print(f"{t['total']} {len(cat.coverages)}")
    return 0


def _item_line(item: ChecklistItem, cat: Catalogue, lang: str) -> str:
    t = _T[lang]
    flags = [t["mandatory"] if item.mandatory else t["optional"]]
    if item.template:
        flags.append(f"{t['template']}: {item.template}")
    if item.when:
        flags.append(f"{t['when']}: {cat.conditions[item.when].label.get(lang)}")
    return f"{item.label.get(lang)} — {item.issuer.get(lang)}  [{'; '.join(flags)}]"


def _basis_line(item: ChecklistItem, lang: str) -> str:
    """Why the item is asked for: the notice's words in quotes, or the assumption."""
    t, b = _T[lang], item.basis
    text = f"“{b.text(lang)}”" if b.quote is not None else b.text(lang)
    gloss = b.translation(lang)
    return f"{t['basis.' + b.source]}: {text}" + (f" ({gloss})" if gloss else "")


def _cmd_checklist(cat: Catalogue, args: argparse.Namespace) -> int:
    lang, t = args.lang, _T[args.lang]
    losses = [x.strip() for part in args.loss for x in part.split(",") if x.strip()]
    cov = cat.coverage(args.coverage)
    items = required_documents(cat, cov.code, losses, by_agent=args.by_agent, conditions=args.when,
                               attached_to=args.attached_to)
    groups: dict[str, dict] = {}
    for it in items:
        if it.group and it.group not in groups:
            g = cat.groups[it.group]
            groups[it.group] = {"code": g.code, "name": g.label.get(lang), "min_required": g.min_required,
                                "members": [m.document for m in items if m.group == it.group],
                                "mandatory": it.mandatory}
    if args.json:
        doc = {
            "catalogue_version": cat.version, "lang": lang,
            "coverage": {"code": cov.code, "name": cov.label.get(lang), "kind": cov.kind},
            "attached_to": args.attached_to,
            "loss_types": [{"code": lt, "name": cat.loss_types[lt].label.get(lang)}
                           for lt in cov.loss_types if lt in losses],
            "by_agent": args.by_agent, "conditions": sorted(set(args.when)),
            "items": [it.as_dict(lang) for it in items],
            "groups": list(groups.values()),
            "templates": sorted({it.template for it in items if it.template}),
        }
        _print_json(doc)
        return 0
    print(f"{cov.label.get(lang)} ({cov.code}) — {t['loss']}: "
          f"{t['sep'].join(cat.loss_types[lt].label.get(lang) for lt in cov.loss_types if lt in losses)}"
          f" — {t['version']} {cat.version}")
    current = None
    shown_groups: set[str] = set()
    for it in items:
        section = it.section
        if section != current:
            current = section
            heading = t["base"] if section == BASE else t["cause"] if section == CAUSE \
                else cat.loss_types[section].label.get(lang)
            print(f"\n{heading}")
        if it.group:
            if it.group in shown_groups:
                continue
            shown_groups.add(it.group)
            g = groups[it.group]
            print(f"  {g['name']}  [{t['mandatory'] if g['mandatory'] else t['optional']}]")
            print(f"      {_basis_line(it, lang)}")
            for m in items:
                if m.group == it.group:
                    print(f"    - {m.label.get(lang)} — {m.issuer.get(lang)}")
            continue
        print(f"  {_item_line(it, cat, lang)}")
        print(f"      {_basis_line(it, lang)}")
    print(f"\n{t['total']} {len(items)} {t['items']}")
    return 0


def _print_json(doc: dict) -> None:
    sys.stdout.write(json.dumps(doc, ensure_ascii=False, indent=2) + "\n")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m claimcore",
                                description="Dazu catastrophe-insurance coverage catalogue (大足区巨灾保险险种目录)")
    sub = p.add_subparsers(dest="command", required=True)

    def common(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--json", action="store_true", help="print one JSON document")
        sp.add_argument("--lang", choices=("zh", "en"), default="zh", help="language of names (default zh)")
        sp.add_argument("--catalogue-version", default=None, help="catalogue version (default: current)")

    cov = sub.add_parser("coverages", help="list the coverages")
    common(cov)
    chk = sub.add_parser("checklist", help="documents required for a coverage and loss types")
    chk.add_argument("coverage", help="coverage code, e.g. natural_disaster")
    chk.add_argument("--loss", action="append", required=True,
                     help="loss type(s), comma separated: death, disability, medical, house, resettlement")
    chk.add_argument("--by-agent", action="store_true", help="someone files on the claimant's behalf")
    chk.add_argument("--when", action="append", default=[], metavar="CONDITION",
                     help="a circumstance from the catalogue's conditions, e.g. frontline_worker")
    chk.add_argument("--attached-to", default=None, metavar="MAIN",
                     help="main coverage of a rider (resettlement after fire_explosion or natural_disaster)")
    common(chk)
    con = sub.add_parser("contract", help="the record contract: every synced entity's fields and rules")
    con.add_argument("--json", action="store_true", help="print one JSON document")
    return p


def _cmd_contract(args: argparse.Namespace) -> int:
    from claimcore import entities

    doc = entities.contract()
    if args.json:
        _print_json(doc)
        return 0
    print(f"record contract v{doc['version']}")
    for name, ent in doc["entities"].items():
        print(f"\n{name}")
        for field, spec in ent["fields"].items():
            bounds = []
            if "max_length" in spec:
                bounds.append(f"max {spec['max_length']}")
            if "min" in spec or "max" in spec:
                bounds.append(f"{spec.get('min', '')}..{spec.get('max', '')}")
            flags = [w for w, on in (("required", spec["required_on_create"]), ("sealed", spec["sealed"]),
                                     ("local-only", spec["local_only"])) if on]
            roles = ",".join(spec["writable_by"]) or "-"
            print(f"  {field:22} {spec['kind']:14} {' '.join(bounds):24} {roles:36} {' '.join(flags)}")
    print("\nvocab")
    for name, words in doc["vocab"].items():
        print(f"  {name}: {', '.join(words)}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    for stream in (sys.stdout, sys.stderr):
        try:  # Chinese names must survive a pipe under a non-UTF-8 locale
            stream.reconfigure(encoding="utf-8")
        except (AttributeError, ValueError):
            pass
    args = build_parser().parse_args(argv)
    try:
        return _run(args)
    except BrokenPipeError:
        # Output piped into `head`: stop quietly, and keep Python from complaining at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _run(args: argparse.Namespace) -> int:
    if args.command == "contract":
        return _cmd_contract(args)
    try:
        cat = load_catalogue(args.catalogue_version)
        if args.command == "coverages":
            return _cmd_coverages(cat, args)
        return _cmd_checklist(cat, args)
    except (UnknownCoverage, UnknownCatalogueVersion, ChecklistError) as e:
        print(f"error: {e}", file=sys.stderr)
        return USAGE_ERROR
    except CatalogueError as e:  # broken catalogue data, not a usage mistake
        print(f"error: {e}", file=sys.stderr)
        return DATA_ERROR


if __name__ == "__main__":
    sys.exit(main())
