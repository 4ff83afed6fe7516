"""Fixtures for the local store tests: real SQLite files in a temporary folder."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from fieldapp.store import open_store

TOWNSHIP = "500111001"  # 龙岗街道
VILLAGE = "500111001001"
ID_NUMBER = "500111199001011232"
PHONE = "13800001234"
BANK_ACCOUNT = "6222020200112233446"


@dataclass
class Intake:
    """The fields of fieldapp.media's IntakeResult that the store records."""

    sha256: str
    width: int = 4000
    height: int = 3000
    exif_gps: dict | None = None
    flags: list = field(default_factory=list)
    exif_replaced: bool = False
    converted_from: str | None = None


def intake(n: int | str) -> Intake:
    return Intake(sha256=hashlib.sha256(str(n).encode()).hexdigest())


def at(minutes: int) -> str:
    return (datetime(2026, 7, 1, tzinfo=UTC) + timedelta(minutes=minutes)).isoformat()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "phone"


@pytest.fixture
def store(data_dir: Path):
    s = open_store(data_dir)
    yield s
    s.close()


def new_claim(store, **kw) -> str:
    args = dict(coverage="natural_disaster", role="liaison", created_by="liaison-1",
                township_code=TOWNSHIP, village_code=VILLAGE, loss_types=["house"],
                claimed_amount_fen=1_000_00, address="龙岗街道学坝社区", description="暴雨致房屋受损",
                incident_at="2026-07-01T08:30:00+08:00")
    args.update(kw)
    return store.claims.create(**args)
