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


# The divisions list villages by their committee's registered name (车家村村民委员会,
# 五金社区居民委员会). An address names the place, not the committee: 车家村, 五金社区.
_COMMITTEE_SUFFIXES = ("村民委员会", "居民委员会")
_PLACE_ENDINGS = ("村", "社区")


def village_place_name(code: str) -> str | None:
    """The village or community as an address writes it (车家村, 五金社区), or None when unknown.

    A name that does not read as 〈place〉村 or 〈place〉社区 once the committee is taken off is
    printed as registered rather than guessed at."""
    name = village_name(code)
    if name is None:
        return None
    for suffix in _COMMITTEE_SUFFIXES:
        place = name[: -len(suffix)] if name.endswith(suffix) else ""
        if place.endswith(_PLACE_ENDINGS):
            return place
    return name
