"""The file picker of one button delivers to that button's handler (it used to deliver every file to
the handler of the last button drawn: a scan tapped on one checklist item landed on another)."""
from __future__ import annotations

from types import SimpleNamespace

import flet as ft

from fieldapp.views.shell import AppShell


def _shell() -> AppShell:
    return AppShell(SimpleNamespace(services=[]), ctx=None)


def _result(action: ft.PickFiles, *names: str) -> None:
    """What Flet does when the user has chosen: the action's picker gets on_result."""
    files = [ft.FilePickerFile(id=i, name=n, size=3, path=None, bytes=b"abc") for i, n in enumerate(names)]
    action.file_picker.on_result(SimpleNamespace(files=files))


def test_each_action_delivers_to_its_own_handler():
    shell = _shell()
    got: dict[str, list[str]] = {"first": [], "second": []}
    first = shell.pick_action(lambda fs: got["first"].extend(f.name for f in fs), images_only=False, multiple=False)
    second = shell.pick_action(lambda fs: got["second"].extend(f.name for f in fs), images_only=False, multiple=False)
    assert first.file_picker is not second.file_picker
    _result(first, "id_card.jpg")
    assert got == {"first": ["id_card.jpg"], "second": []}
    _result(second, "bank_card.pdf")
    assert got == {"first": ["id_card.jpg"], "second": ["bank_card.pdf"]}


def test_keyed_actions_for_two_checklist_items():
    """As the claim screen draws them: one keyed action per checklist item, redrawn many times."""
    shell = _shell()
    got: list[tuple[str, str]] = []

    def draw() -> dict[str, ft.PickFiles]:
        return {code: shell.pick_action(lambda fs, code=code: got.extend((code, f.name) for f in fs),
                                        key=f"doc-{code}-scan", images_only=False, multiple=False)
                for code in ("claimant_id_card", "payee_bank_account")}

    before = draw()
    actions = draw()  # a redraw reuses each item's picker and points it at the new handler
    assert actions["claimant_id_card"].file_picker is before["claimant_id_card"].file_picker
    assert actions["claimant_id_card"].file_picker is not actions["payee_bank_account"].file_picker
    _result(actions["claimant_id_card"], "id.jpg")
    _result(actions["payee_bank_account"], "card.png")
    assert got == [("claimant_id_card", "id.jpg"), ("payee_bank_account", "card.png")]


def test_photos_keep_working_and_cancel_delivers_nothing():
    shell = _shell()
    got: list[list[str]] = []
    action = shell.pick_action(lambda fs: got.append([f.name for f in fs]))  # photos: images, several
    assert action.allow_multiple is True and action.with_data is True
    assert action.file_type == ft.FilePickerFileType.CUSTOM and "heic" in action.allowed_extensions
    action.file_picker.on_result(SimpleNamespace(files=[]))  # the user cancelled
    _result(action, "a.jpg", "b.jpg")
    assert got == [["a.jpg", "b.jpg"]]


def test_pickers_made_outside_a_page_context_are_attached_to_the_page():
    shell = _shell()
    action = shell.pick_action(lambda fs: None)
    assert any(s is action.file_picker for s in shell.page.services)
