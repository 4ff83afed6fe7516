"""Township and village names for the codes a claim carries (assets/divisions/dazu_divisions.json:
27 townships, 309 villages, GB/T 2260 and statistics-bureau codes)."""
from __future__ import annotations

import json
from functools import lru_cache

from claimcore.assets import assets_dir


@lru_cache(maxsize=1)
def _index() -> tuple[dict[str, str], dict[str, tuple[str, str]]]:
    data = json.loads((assets_dir() / "divisions" / "dazu_divisions.json").read_text(encoding="utf-8"))
    townships: dict[str, str] = {}
    villages: dict[str, tuple[str, str]] = {}
    for township in data["townships"]:
        townships[township["code"]] = township["name"]
        for village in township.get("villages", []):
            villages[village["code"]] = (village["name"], township["code"])
    return townships, villages


def township_name(code: str) -> str | None:
    return _index()[0].get(code)


def village_name(code: str) -> str | None:
    entry = _index()[1].get(code)
    return entry[0] if entry else None


def village_township(code: str) -> str | None:
    """The township code a village belongs to, or None for an unknown village."""
    entry = _index()[1].get(code)
    return entry[1] if entry else None


def district_name() -> str:
    return "大足区"
