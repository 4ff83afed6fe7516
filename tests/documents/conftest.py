"""Shared fixtures: the worked claim (tests/documents/worked_claim.json) and text extraction."""
from __future__ import annotations

import copy
import io
import json
import re
from pathlib import Path

import pytest
from pypdf import PdfReader

WORKED_CLAIM = Path(__file__).with_name("worked_claim.json")


def load_worked_claim() -> dict:
    return json.loads(WORKED_CLAIM.read_text(encoding="utf-8"))


@pytest.fixture
def claim() -> dict:
    return copy.deepcopy(load_worked_claim())


def page_texts(pdf: bytes) -> list[str]:
    """Each page's text as pypdf extracts it, with all whitespace removed (pypdf spaces CJK
    glyphs unevenly; what matters is that every character maps back to the right Unicode)."""
    reader = PdfReader(io.BytesIO(pdf))
    return [re.sub(r"\s+", "", page.extract_text()) for page in reader.pages]


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)
