"""User-facing text of the field app: one catalogue per language (zh.json, en.json).

Chinese is the default; English must be complete too (tests/ui/test_i18n.py fails when a key is
missing in either catalogue, when placeholders differ, or when code uses a key that does not exist).
Keys are dotted ("enrol.title"); values use str.format placeholders ("{count} 条").
"""
from __future__ import annotations

import json
import threading
from functools import lru_cache
from pathlib import Path

LANGUAGES: tuple[str, ...] = ("zh", "en")
DEFAULT_LANGUAGE = "zh"
_HERE = Path(__file__).resolve().parent

_lock = threading.Lock()
_current = DEFAULT_LANGUAGE


@lru_cache(maxsize=None)
def catalogue(lang: str) -> dict[str, str]:
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}; known: {', '.join(LANGUAGES)}")
    with open(_HERE / f"{lang}.json", encoding="utf-8") as f:
        data = json.load(f)
    return {str(k): str(v) for k, v in data.items()}


def set_language(lang: str) -> None:
    global _current
    catalogue(lang)  # unknown language fails here, before anything changes
    with _lock:
        _current = lang


def current_language() -> str:
    return _current


def t(key: str, lang: str | None = None, **kw: object) -> str:
    """The text for `key` in `lang` (default: the current language), formatted with `kw`.

    A key missing at run time shows the key itself rather than crashing a screen in the field;
    the completeness test is what keeps that from ever shipping.
    """
    text = catalogue(lang or _current).get(key)
    if text is None:
        return key
    return text.format(**kw) if kw else text


# Sentences of one notice follow each other with a space in English and without one in Chinese.
SENTENCE_SEP = {"zh": "", "en": " "}


def sentences(lang: str, *texts: str) -> str:
    """Sentences already in `lang` (from `t`), written one after the other as that language does."""
    return SENTENCE_SEP[lang].join(texts)


def both(key: str, **kw: object) -> str:
    """The text in both languages at once ("中文 / English"), for words written down before anyone
    chose a language: an exception that can stop the app before a screen opens, or a note kept in a
    record that travels to phones set to either language."""
    return " / ".join(t(key, lang, **kw) for lang in LANGUAGES)


def has_key(key: str) -> bool:
    return all(key in catalogue(lang) for lang in LANGUAGES)


def language_name(lang: str) -> str:
    """The language named in itself ("language.name" of its own catalogue), shown the same whatever
    the current language is, so that a user who cannot read the current one still finds theirs."""
    return catalogue(lang)["language.name"]
