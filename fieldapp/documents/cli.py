"""python -m fieldapp documents render TEMPLATE [--claim-json FILE | --blank] --out FILE.pdf

Office printing of the claim documents. Any problem (unknown template, missing or unreadable file,
bad JSON, invalid claim) prints a clear message on stderr and exits with status 2, leaving no
output file behind: a half-written or stale PDF at the printer would be worse than none.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from fieldapp.documents import TEMPLATES, ClaimJsonError, render
from fieldapp.durable import write_atomic

USAGE_ERROR = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse exits 2 too, but say it our way
        self.print_usage(sys.stderr)
        raise _Fail(message)


class _Fail(Exception):
    pass


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m fieldapp documents", description="Claim documents as PDF")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    r = commands.add_parser("render", help="render one template to a PDF file")
    r.add_argument("template", help="one of: " + ", ".join(TEMPLATES))
    source = r.add_mutually_exclusive_group(required=True)
    source.add_argument("--claim-json", type=Path, metavar="FILE", help="the claim (docs/claim-json.md)")
    source.add_argument("--blank", action="store_true", help="the blank form for printing in advance")
    r.add_argument("--out", type=Path, required=True, metavar="FILE.pdf")
    r.add_argument("--lang", choices=("zh", "en"), default="zh")
    return parser


def _load_claim(path: Path) -> dict:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise _Fail(f"claim file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise _Fail(f"cannot read claim file {path}: {exc}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise _Fail(f"{path} is not valid JSON: {exc}") from None


def _write_atomically(path: Path, data: bytes) -> None:
    """The target is either the whole PDF or untouched; a missing folder is a usage error."""
    folder = path.resolve().parent
    if not folder.is_dir():
        raise _Fail(f"output folder does not exist: {folder}")
    write_atomic(path, data, make_parents=False)


def main(argv: list[str]) -> int:
    try:
        args = _parser().parse_args(argv)
        if args.template not in TEMPLATES:
            raise _Fail(f"unknown template {args.template!r}; one of: {', '.join(TEMPLATES)}")
        claim = None if args.blank else _load_claim(args.claim_json)
        started = time.perf_counter()
        try:
            pdf = render(args.template, claim, lang=args.lang)
        except ClaimJsonError as exc:
            raise _Fail(f"{args.claim_json}: {exc}") from None
        elapsed = time.perf_counter() - started
        _write_atomically(args.out, pdf)
    except _Fail as exc:
        print(f"error: {exc}", file=sys.stderr)
        return USAGE_ERROR
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    print(f"{args.out}: {args.template}, {len(pdf):,} bytes, rendered in {elapsed * 1000:.0f} ms")
    return 0
