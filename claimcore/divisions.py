"""Dazu District's 27 townships (镇街) and 309 villages/communities, from assets/divisions.

Liaisons are scoped to a township and claims name the township and village where the loss
happened, so both sides validate those codes against this one list.

There are no township coordinates in the source data, so this module deliberately offers no
"nearest township" lookup: the only geography is the district's published approximate extent,
good for flagging a GPS fix that is clearly outside the district and nothing finer.
"""
from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path

from claimcore.assets import assets_dir

TOWNSHIP_KINDS = ("街道", "镇")


class DivisionError(ValueError):
    """The divisions file is broken, or a code names no township or village in it."""


class UnknownDivision(DivisionError):
    pass


@dataclass(frozen=True)
class Village:
    code: str
    name: str
    township_code: str


@dataclass(frozen=True)
class Township:
    code: str
    name: str
    kind: str  # 街道 (street) or 镇 (town)
    villages: tuple[Village, ...]


@dataclass(frozen=True)
class District:
    code: str
    name: str
    city: str


@dataclass(frozen=True)
class Divisions:
    district: District
    townships: tuple[Township, ...]
    extent: tuple[float, float, float, float]  # lat_min, lat_max, lon_min, lon_max (WGS-84)
    source: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "_townships", {t.code: t for t in self.townships})
        object.__setattr__(self, "_villages", {v.code: v for t in self.townships for v in t.villages})

    def township(self, code: str) -> Township:
        try:
            return self._townships[code]  # type: ignore[attr-defined]
        except KeyError:
            raise UnknownDivision(f"unknown township code {code!r} (Dazu has {len(self.townships)} "
                                  f"townships, codes {self.townships[0].code}…)") from None

    def village(self, code: str) -> Village:
        try:
            return self._villages[code]  # type: ignore[attr-defined]
        except KeyError:
            raise UnknownDivision(f"unknown village code {code!r}") from None

    def is_township(self, code: str) -> bool:
        return code in self._townships  # type: ignore[attr-defined]

    def is_village_in(self, township_code: str, village_code: str) -> bool:
        v = self._villages.get(village_code)  # type: ignore[attr-defined]
        return v is not None and v.township_code == township_code

    @property
    def approx_extent(self) -> dict[str, float]:
        """The district's published approximate extent (a fresh dict, safe to serialise or change)."""
        return dict(zip(("lat_min", "lat_max", "lon_min", "lon_max"), self.extent))

    @property
    def village_count(self) -> int:
        return len(self._villages)  # type: ignore[attr-defined]

    def within_extent(self, lat: float, lon: float, pad_degrees: float = 0.05) -> bool:
        """Whether a position lies inside the district's approximate extent, padded because the
        published extent is rounded to minutes and a phone's fix can be off by tens of metres."""
        lat_min, lat_max, lon_min, lon_max = self.extent
        return (lat_min - pad_degrees <= lat <= lat_max + pad_degrees
                and lon_min - pad_degrees <= lon <= lon_max + pad_degrees)


def parse_divisions(data: object, origin: str = "<dict>") -> Divisions:
    def fail(msg: str) -> DivisionError:
        return DivisionError(f"divisions {origin}: {msg}")

    if not isinstance(data, dict):
        raise fail("expected an object")
    try:
        d = data["district"]
        district = District(code=str(d["code"]), name=str(d["name"]), city=str(d["city"]))
        ext = data["approx_extent"]
        extent = {k: float(ext[k]) for k in ("lat_min", "lat_max", "lon_min", "lon_max")}
        raw_townships = data["townships"]
    except (KeyError, TypeError) as e:
        raise fail(f"missing or malformed field {e}") from None
    if not (extent["lat_min"] < extent["lat_max"] and extent["lon_min"] < extent["lon_max"]):
        raise fail("approx_extent minimum must be below maximum")
    townships: list[Township] = []
    seen: set[str] = set()
    for i, t in enumerate(raw_townships):
        try:
            tcode, tname, kind = str(t["code"]), str(t["name"]), str(t["kind"])
            raw_villages = t["villages"]
        except (KeyError, TypeError) as e:
            raise fail(f"townships[{i}]: missing or malformed field {e}") from None
        if tcode in seen:
            raise fail(f"townships[{i}] {tcode!r}: duplicate code")
        if not tcode.startswith(district.code):
            raise fail(f"townships[{i}] {tcode!r}: not inside district {district.code}")
        if kind not in TOWNSHIP_KINDS:
            raise fail(f"townships[{i}] {tcode!r}: kind must be one of {TOWNSHIP_KINDS}, got {kind!r}")
        seen.add(tcode)
        villages = []
        for j, v in enumerate(raw_villages):
            try:
                vcode, vname = str(v["code"]), str(v["name"])
            except (KeyError, TypeError) as e:
                raise fail(f"townships[{i}].villages[{j}]: missing field {e}") from None
            if vcode in seen:
                raise fail(f"village {vcode!r}: duplicate code")
            if not vcode.startswith(tcode):
                raise fail(f"village {vcode!r} does not belong to township {tcode!r} by its code")
            seen.add(vcode)
            villages.append(Village(code=vcode, name=vname, township_code=tcode))
        townships.append(Township(code=tcode, name=tname, kind=kind, villages=tuple(villages)))
    return Divisions(district=district, townships=tuple(townships),
                     extent=(extent["lat_min"], extent["lat_max"], extent["lon_min"], extent["lon_max"]),
                     source=str(data.get("source", "")))


_cache: dict[str, Divisions] = {}
_lock = threading.Lock()


def divisions_path() -> Path:
    return assets_dir() / "divisions" / "dazu_divisions.json"


def load_divisions() -> Divisions:
    """Load (once per assets folder) the district's townships and villages."""
    path = divisions_path()
    key = str(path.resolve())
    with _lock:
        if key in _cache:
            return _cache[key]
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DivisionError(f"divisions file not found: {path}") from None
    except json.JSONDecodeError as e:
        raise DivisionError(f"divisions file {path} is not valid JSON: {e}") from None
    div = parse_divisions(data, origin=path.name)
    with _lock:
        return _cache.setdefault(key, div)
