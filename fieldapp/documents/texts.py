"""The forms' words, read from assets/catalogue/templates/*.json (data, not code).

Each file holds ``{"template": code, "version": n, "texts": {key: {"zh": ..., "en": ...}}}``;
``common.json`` holds what every form shares. A form asks for a key in its language; a missing key
or language is a defect in the data file and fails loudly, naming the file and the key.

Where a form names the lead insurer formally, its text says ``{lead_insurer}`` and gets
LEAD_INSURER: the registered name is spelt in this one place.
"""
from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from claimcore.assets import assets_dir

LANGS = ("zh", "en")

# The lead insurer as the notice names it (annex 2 of 大足府办发〔2024〕23号), for every form that
# names it formally: the policy line, the consent, the insurer's opinion box.
LEAD_INSURER = {
    "zh": "中国人民财产保险股份有限公司大足支公司",
    "en": "PICC Property and Casualty Company Limited, Dazu Branch",
}
LEAD_INSURER_PLACEHOLDER = "{lead_insurer}"


class TemplateTextError(LookupError):
    """A template text file is missing, malformed, or lacks a key or language."""


def templates_dir():
    return assets_dir() / "catalogue" / "templates"


@lru_cache(maxsize=None)
def load_texts(name: str) -> dict[str, dict[str, str]]:
    path = templates_dir() / f"{name}.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TemplateTextError(f"template text file {path} not found") from None
    except json.JSONDecodeError as exc:
        raise TemplateTextError(f"{path}: not valid JSON ({exc})") from None
    texts = data.get("texts") if isinstance(data, dict) else None
    if not isinstance(texts, dict) or data.get("template") != name:
        raise TemplateTextError(f"{path}: expected an object with template={name!r} and texts")
    for key, entry in texts.items():
        if not isinstance(entry, dict) or any(not isinstance(entry.get(lang), str) for lang in LANGS):
            raise TemplateTextError(f"{path}: text {key!r} needs a string for each of {LANGS}")
    return texts


class Texts:
    """One form's texts in one language, with common.json underneath."""

    def __init__(self, template: str, lang: str) -> None:
        if lang not in LANGS:
            raise ValueError(f"language must be one of {LANGS}, not {lang!r}")
        self.template = template
        self.lang = lang
        self._own = load_texts(template)
        self._common = load_texts("common")

    def __getitem__(self, key: str) -> str:
        entry = self._own.get(key) or self._common.get(key)
        if entry is None:
            raise TemplateTextError(f"text {key!r} is in neither {self.template}.json nor common.json")
        return entry[self.lang].replace(LEAD_INSURER_PLACEHOLDER, LEAD_INSURER[self.lang])

    def __call__(self, key: str, **values: Any) -> str:
        return self[key].format(**values) if values else self[key]

    def has(self, key: str) -> bool:
        return key in self._own or key in self._common
