"""Dazu's townships and villages: complete, consistent, and strict about unknown codes."""
from __future__ import annotations

import copy
import json

import pytest

from claimcore.assets import assets_dir
from claimcore.divisions import DivisionError, UnknownDivision, load_divisions, parse_divisions


@pytest.fixture(scope="module")
def div():
    return load_divisions()


def raw():
    return json.loads((assets_dir() / "divisions" / "dazu_divisions.json").read_text(encoding="utf-8"))


def test_27_townships_and_309_villages(div):
    assert div.district.code == "500111" and div.district.name == "大足区"
    assert len(div.townships) == 27
    assert sum(1 for t in div.townships if t.kind == "街道") == 6
    assert sum(1 for t in div.townships if t.kind == "镇") == 21
    assert div.village_count == 309 == sum(len(t.villages) for t in div.townships)


def test_every_village_knows_its_township(div):
    seen = set()
    for t in div.townships:
        assert div.is_township(t.code) and div.township(t.code) is t
        assert t.villages, t.name
        for v in t.villages:
            assert v.code not in seen
            seen.add(v.code)
            assert v.township_code == t.code and v.code.startswith(t.code)
            assert div.village(v.code) is v
            assert div.is_village_in(t.code, v.code)


def test_lookups_by_name(div):
    longgang = div.township("500111001")
    assert longgang.name == "龙岗街道" and longgang.kind == "街道"
    assert any(t.name == "龙水镇" for t in div.townships)
    assert any(t.name == "宝顶镇" for t in div.townships)


def test_village_in_another_township_is_rejected(div):
    a, b = div.townships[0], div.townships[1]
    assert not div.is_village_in(b.code, a.villages[0].code)
    assert not div.is_village_in(a.code, "500111999999")
    assert not div.is_township("500111999")
    assert not div.is_township(a.villages[0].code)


def test_unknown_codes_raise_a_value_error(div):
    with pytest.raises(UnknownDivision, match="500111999"):
        div.township("500111999")
    with pytest.raises(ValueError, match="500111001999"):
        div.village("500111001999")


def test_approx_extent_flags_positions_outside_the_district(div):
    ext = div.approx_extent
    assert set(ext) == {"lat_min", "lat_max", "lon_min", "lon_max"}
    assert ext["lat_min"] == pytest.approx(29.383) and ext["lon_max"] == pytest.approx(106.033)
    ext["lat_min"] = 0  # a copy: changing it does not move the district
    assert div.approx_extent["lat_min"] == pytest.approx(29.383)
    assert div.within_extent(29.70, 105.72)  # Dazu town centre
    assert not div.within_extent(29.56, 106.55)  # central Chongqing, 80 km east
    assert not hasattr(div, "nearest_township")  # no coordinates in the source: not offered


def test_broken_divisions_fail_naming_the_entry():
    data = raw()
    parse_divisions(copy.deepcopy(data))
    dup = copy.deepcopy(data)
    dup["townships"][1]["villages"].append(dict(dup["townships"][1]["villages"][0]))
    with pytest.raises(DivisionError, match="duplicate"):
        parse_divisions(dup)
    stray = copy.deepcopy(data)
    stray["townships"][0]["villages"].append({"code": "500111002777", "name": "错位村"})
    with pytest.raises(DivisionError, match="500111002777"):
        parse_divisions(stray)
    kind = copy.deepcopy(data)
    kind["townships"][3]["kind"] = "乡"
    with pytest.raises(DivisionError, match="kind"):
        parse_divisions(kind)
    missing = copy.deepcopy(data)
    del missing["approx_extent"]
    with pytest.raises(DivisionError, match="approx_extent"):
        parse_divisions(missing)
