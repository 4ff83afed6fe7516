"""Where the data files (catalogue, divisions, fonts) live.

The repository keeps them in top-level ``assets/``; a phone build copies that folder next to the
app. ``DAZU_ASSETS`` overrides the location (used by packaging and by tests of broken catalogues).
"""
from __future__ import annotations

import os
from pathlib import Path


def assets_dir() -> Path:
    override = os.environ.get("DAZU_ASSETS")
    if override:
        return Path(override)
    here = Path(__file__).resolve().parent
    for candidate in (here.parent / "assets", here / "assets"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("assets/ folder not found next to claimcore; set DAZU_ASSETS")
