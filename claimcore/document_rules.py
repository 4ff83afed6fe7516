"""Who may still change a claim's document checklist, and what the site-photos item asks for.

One place for both rules: the phone's store (fieldapp.store) checks a document write with
:func:`check_document_change` before it saves, and the server's push path
(sync_server.sync_apply) checks a pushed document record with the same function, so the phone
accepts exactly what the server accepts.

The checklist closes when the files are handed in
----------------------------------------------------
The notice's flow: 街道联络人提交给人保财险大足支公司 → 人保财险大足支公司核实资料完整性 → …, and
(co-insurance agreement) 理赔案件的资料由首席承保人负责收集存档. Once a claim is past document
collection (``submitted``, under review, adjusted and later, and the finished states), the files
are with the lead insurer: a liaison or a co-insurer's surveyor no longer changes a document's
status, note or scan. Setting an item back to 缺 on an adjusted claim would silently reopen a
file set the amount was computed on. The **adjuster** still can: the lead collects and archives
the files (an item found missing in review is recorded by the lead, which sends the claim to
``incomplete``, and collection resumes there). The **coordinator** still can too: the Center
checks the files before it stamps the claim application.

Collection is open in the states before and during collection, and in ``incomplete`` (the one
consolidated missing list is being completed).

Site photos (现场照片) are the insurer's survey photos
---------------------------------------------------
The notice: 人保财险大足支公司组织人员到受灾现场查勘核定损失情况; the catalogue's issuer for
``site_photos``: 人保财险大足支公司查勘人员拍摄. So the checklist item is the survey's evidence of
the assessed loss. Photos taken when the claim is reported (by the liaison, with GPS) stay with the
claim as a record of the report, but they do not satisfy the item: it is satisfied only by its
status, set by whoever records the survey. Where the claim has photos and the item is still
unmet, the screen must say so (:func:`report_photos_need_note`) rather than show a photo count
next to 缺.
"""
from __future__ import annotations

from claimcore.entities import CLAIM_STATES, DOCUMENT_STATUSES, OFFICE_ROLES

# States in which the checklist is still being collected, by anyone who works the claim's files.
DOCUMENT_COLLECTION_STATES: frozenset[str] = frozenset(
    {"reported", "registered", "survey_dispatched", "surveyed", "collecting", "incomplete"})

# Roles that may change documents in any state: the lead insurer (collects and archives the files)
# and the Center (checks them before stamping).
DOCUMENT_ARCHIVE_ROLES: frozenset[str] = frozenset(OFFICE_ROLES)

SITE_PHOTOS = "site_photos"
# Statuses that satisfy a checklist item (claimcore.checklist counts these).
_SATISFYING = frozenset({"collected", "verified", "not_applicable"})

assert DOCUMENT_COLLECTION_STATES <= set(CLAIM_STATES)
assert _SATISFYING <= set(DOCUMENT_STATUSES)


class DocumentsClosed(ValueError):
    """A document change refused because the claim's files are with the lead insurer.

    ``code`` is the push receipt's error code (``not_allowed_for_role``, as for a field the role
    may not write); ``message("zh"|"en")`` gives the text; ``str(error)`` is the English text."""

    code = "not_allowed_for_role"

    def __init__(self, state: str, role: str | None):
        self.state = state
        self.role = role
        super().__init__(self.message("en"))

    def message(self, lang: str = "zh") -> str:
        from claimcore.workflow import state_label

        label = state_label(self.state, lang) if self.state in CLAIM_STATES else self.state
        if lang == "zh":
            return (f"案件{label}，资料已交人保财险大足支公司收集存档，联络员和查勘员不能再修改资料清单；"
                    "如需补充或更正，请联系理赔员")
        return (f"The claim is {label}: its files are with the lead insurer, which collects and "
                "archives them, so a liaison or surveyor can no longer change the checklist; ask "
                "the adjuster to correct or add to it")


def documents_open_to(state: str, role: str | None) -> bool:
    """True when ``role`` may change a document (status, note, scan) of a claim in ``state``.

    ``role`` None: the writer's role is not known (the phone applying the server's own values),
    so nothing is refused here."""
    if role is None or role in DOCUMENT_ARCHIVE_ROLES:
        return True
    return state in DOCUMENT_COLLECTION_STATES


def check_document_change(state: str, role: str | None) -> None:
    """Raise :class:`DocumentsClosed` unless ``role`` may change a document of a claim in ``state``."""
    if not documents_open_to(state, role):
        raise DocumentsClosed(state, role)


def report_photos_need_note(site_photos_status: str | None, photo_count: int) -> bool:
    """True when the claim holds photos but its 现场照片 item is still unmet: the screen must say
    that those photos do not count (the insurer's survey takes the site photos). ``None``: the
    item has no record yet (missing)."""
    return photo_count > 0 and (site_photos_status or "missing") not in _SATISFYING
