"""Refusals of the photo intake: a stable code, and a message in the phone's catalogues.

A refusal means nothing was stored; the message (``error.photo.<code>`` in ``fieldapp/i18n``)
tells the person at the phone (or support staff running ``photos inspect``) what is wrong and
what to do about it.
"""
from __future__ import annotations

from fieldapp.i18n import t

# Every way the intake refuses a photo: the last three come from the inspect command, which reads
# a file from disk under a time limit before the intake sees its bytes.
CODES: tuple[str, ...] = (
    "empty", "not_an_image", "not_jpeg", "heic_unsupported", "heic_unreadable", "truncated", "corrupt",
    "too_many_pixels", "too_large",
    "not_a_file", "unreadable", "timeout",
)


class IntakeRefused(Exception):
    """The photo was refused; nothing was stored.

    ``code`` is stable (tests, logs, the inspect command's ``error_code``); ``message(lang)`` is
    what a person reads, ``lang`` being ``"zh"`` (default) or ``"en"``.
    """

    def __init__(self, code: str, **params: object) -> None:
        if code not in CODES:
            raise ValueError(f"unknown refusal code {code!r}")
        self.code = code
        self.params = params
        super().__init__(self.message("en"))

    def message(self, lang: str = "zh") -> str:
        return t(f"error.photo.{self.code}", lang, **self.params)
