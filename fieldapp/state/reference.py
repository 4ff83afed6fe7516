"""Reference data the screens pick from: the 12 coverages, loss types, townships and villages.

All of it comes from claimcore (the catalogue and the divisions data); this module only shapes it
for pickers in the user's language and answers "which township is this fix in".
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from claimcore.catalogue import Catalogue, load_catalogue
from claimcore.divisions import Divisions, load_divisions

# Icons per coverage (Material icon names; the views turn them into ft.Icons).
COVERAGE_ICONS: dict[str, str] = {
    "natural_disaster": "THUNDERSTORM",
    "crowd_stampede": "GROUPS",
    "terrorism": "GPP_BAD",
    "falling_object": "VERTICAL_ALIGN_BOTTOM",
    "mental_patient": "PSYCHOLOGY",
    "municipal_facility": "ENGINEERING",
    "fire_explosion": "LOCAL_FIRE_DEPARTMENT",
    "infectious_disease": "CORONAVIRUS",
    "violent_crime": "LOCAL_POLICE",
    "good_samaritan": "VOLUNTEER_ACTIVISM",
    "resettlement": "HOLIDAY_VILLAGE",
    "drowning": "POOL",
}


@dataclass(frozen=True)
class Option:
    code: str
    label: str
    icon: str | None = None
    hint: str | None = None


@lru_cache(maxsize=4)
def catalogue(version: str | None = None) -> Catalogue:
    return load_catalogue(version)


@lru_cache(maxsize=1)
def divisions() -> Divisions:
    return load_divisions()


def coverage_options(lang: str) -> list[Option]:
    cat = catalogue()
    return [Option(c.code, c.label.get(lang), COVERAGE_ICONS.get(c.code, "SHIELD"),
                   (c.note.get(lang) if c.note else None))
            for c in cat.coverages.values()]


def coverage_name(code: str | None, lang: str) -> str:
    if not code:
        return "—"
    try:
        return catalogue().coverage(code).label.get(lang)
    except Exception:
        return code


def loss_type_options(coverage: str | None, lang: str) -> list[Option]:
    cat = catalogue()
    codes = cat.coverage(coverage).loss_types if coverage else tuple(cat.loss_types)
    return [Option(code, cat.loss_types[code].label.get(lang)) for code in codes]


def loss_type_name(code: str, lang: str) -> str:
    lt = catalogue().loss_types.get(code)
    return lt.label.get(lang) if lt else code


def township_options() -> list[Option]:
    return [Option(t.code, t.name) for t in divisions().townships]


def village_options(township_code: str | None) -> list[Option]:
    if not township_code or not divisions().is_township(township_code):
        return []
    return [Option(v.code, v.name) for v in divisions().township(township_code).villages]


def township_name(code: str | None) -> str:
    if not code:
        return "—"
    try:
        return divisions().township(code).name
    except Exception:
        return code


def village_name(code: str | None) -> str:
    if not code:
        return "—"
    try:
        return divisions().village(code).name
    except Exception:
        return code


def township_for_fix(lat: float | None, lon: float | None, user_township: str | None) -> str | None:
    """The township to preselect for a GPS fix.

    The divisions data has names and codes but no boundaries, so a fix can only tell "inside the
    district or not". Inside (or with no fix), a liaison's own township is the best guess: that is
    where they work. Outside the district nothing is preselected, so the user has to choose.
    """
    if lat is not None and lon is not None and not divisions().within_extent(lat, lon):
        return None
    return user_township if user_township and divisions().is_township(user_township) else None
