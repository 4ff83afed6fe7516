"""Small local settings (JSON values, never synced)."""
from __future__ import annotations

from typing import Any

from .db import Repo
from .schema import (
    Setting,
)


class SettingsRepo(Repo):
    """Small local key/value settings (JSON values). Local only."""

    def get(self, key: str, default: Any = None) -> Any:
        with self._db.read() as session:
            row = session.get(Setting, key)
            return row.value if row is not None else default

    def set(self, key: str, value: Any) -> None:
        with self._db.write() as session:
            row = session.get(Setting, key)
            if row is None:
                session.add(Setting(key=key, value=value))
            else:
                row.value = value

