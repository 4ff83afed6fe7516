"""The phone's app context on a fresh data folder (real SQLite store, no server), for the screen
state and view tests."""
from __future__ import annotations

import pytest

from fieldapp.state.context import AppContext


@pytest.fixture
def ctx(tmp_path):
    c = AppContext(tmp_path / "phone")
    c.data_dir.mkdir(parents=True, exist_ok=True)
    c.start()
    yield c
    c.stop()
