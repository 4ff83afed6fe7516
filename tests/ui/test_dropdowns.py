"""Every dropdown of the app is named for a screen reader: made through widgets.dropdown, which
gives it its label as tooltip (Flutter's dropdown leaves the label out of the semantics)."""
from __future__ import annotations

from pathlib import Path

import flet as ft

from fieldapp.views import widgets as w

VIEWS = Path(__file__).resolve().parents[2] / "fieldapp" / "views"


def test_screens_make_dropdowns_only_through_the_named_helper():
    raw = [p.name for p in VIEWS.glob("*.py") if p.name != "widgets.py" and "ft.Dropdown(" in p.read_text("utf-8")]
    assert raw == []


def test_the_helper_names_the_dropdown_by_its_label():
    dd = w.dropdown(label="语言", options=[ft.DropdownOption(key="zh", text="中文")])
    assert dd.label == dd.tooltip == "语言"
