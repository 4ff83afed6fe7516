"""Sync failures, in the three kinds the user has to tell apart, each named by a stable code.

* :class:`Offline` - the network or the server did not answer usefully (transport error, 5xx, a
  reply that is not our server's JSON, e.g. a captive portal's login page). Nothing was lost:
  the outbox keeps everything that was not acknowledged; try again later.
* :class:`TokenRevoked` - 401: this phone's token was revoked (or never valid). It must be
  enrolled again; syncing stops until then.
* :class:`Refused` - any other 4xx: the server understood and said no. Shown to the user.

The codes are defined here; what the user reads about them is in the phone's catalogues
(``fieldapp/i18n``): ``error.sync.<code>`` for a sync that stopped, ``error.refusal.<code>`` for a
record the server refused, ``sync.problem.*`` for the sync screen's wording around them.
"""
from __future__ import annotations

from fieldapp.i18n import t

# Why a sync stopped or failed, as the sync status and the sync screen name it.
CODES: tuple[str, ...] = (
    "offline", "timeout", "server_error", "not_acknowledged", "token_revoked", "not_enrolled",
    "insecure_server", "invalid_code", "refused", "photo_damaged", "photo_file_missing", "rejected",
)


def message(code: str | None, lang: str = "zh") -> str | None:
    """What the user reads about a sync that stopped; a code the phone does not know reads as a refusal."""
    if code is None:
        return None
    return t(f"error.sync.{code if code in CODES else 'refused'}", lang)


class SyncError(Exception):
    code = "refused"

    def __init__(self, code: str | None = None, detail: str | None = None, *, report=None):  # noqa: ANN001
        self.code = code or self.code
        self.detail = detail
        self.report = report  # the SyncReport of the work done before the failure, if any
        super().__init__(f"{self.code}: {detail}" if detail else self.code)

    def message(self, lang: str = "zh") -> str:
        text = message(self.code, lang) or self.code
        return t("common.aside", lang, text=text, aside=self.detail) if self.detail else text


class Offline(SyncError):
    code = "offline"


class TokenRevoked(SyncError):
    code = "token_revoked"


class NotEnrolled(SyncError):
    code = "not_enrolled"


class InsecureServer(SyncError):
    """The stored server address is plain HTTP to another machine (see fieldapp.sync.tls)."""

    code = "insecure_server"


class Refused(SyncError):
    code = "refused"

    def __init__(self, code: str | None = None, detail: str | None = None, *, status: int | None = None,
                 report=None):  # noqa: ANN001
        super().__init__(code, detail, report=report)
        self.status = status


# The server's refusals of one record that the phone words itself. Refusals of the record contract
# are worded from claimcore.entities (the same text the phone's own checks give); these are the
# server's own rules: scope and workflow, the work fund's agreed budget (a spending or survey cost
# refused by it), the programme's caps (only the server holds every claim of an event,
# sync_server.event_caps) and document scans (PUT /claims/{id}/scans/{scan}, whose server messages
# are English only).
REFUSAL_CODES: tuple[str, ...] = (
    "claim_not_found", "township_not_permitted", "not_a_reporting_role", "illegal_transition", "append_only",
    "id_in_use", "village_not_in_township",
    "no_budget", "over_budget",
    "paid_over_payable",
    "unsupported_scan_type", "content_type_mismatch", "scan_too_large", "scan_id_in_use", "sha256_mismatch",
    "scan_damaged", "scan_not_permitted",
)
_CONTRACT_CODES = frozenset({"too_long", "out_of_range", "not_allowed_for_role", "unknown_field", "required",
                             "wrong_kind", "not_in_list"})
# Refusals the user can put right in the claim itself; any other is for the adjuster or the office.
_FIXABLE_IN_CLAIM = frozenset({"village_not_in_township", "illegal_transition", "paid_over_payable"})


def refusal_text(code: str, lang: str = "zh") -> str:
    """A server refusal's code in the user's language."""
    if code in REFUSAL_CODES:
        return t(f"error.refusal.{code}", lang)
    return t("sync.problem.unknown_refusal", lang, code=code)


def problem_text(problem: dict, lang: str = "zh") -> tuple[str, str]:
    """(what happened, what to do) for one sync problem (a refused record), in the user's language.
    What happened names the kind of record (a claim, a timeline entry, a scan …)."""
    from claimcore import entities

    code, entity, field = problem.get("code") or "refused", problem.get("entity") or "", problem.get("field")
    ent = entities.ENTITIES.get(entity)
    if ent is not None:
        kind = ent.label[0 if lang != "en" else 1]
    else:
        kind = t("sync.problem.kind.scan" if entity == "scan" else "sync.problem.kind.record", lang)
    spec = ent.fields.get(field) if ent is not None and field else None
    if code in _CONTRACT_CODES and spec is not None:
        what = entities.ContractError(code, entity, field, spec=spec).message(lang)
        todo_key = "office" if code == "not_allowed_for_role" else "contract"
        todo = t(f"sync.problem.todo.{todo_key}", lang, label=spec.title(lang))
    elif entity == "scan":
        what = refusal_text(code, lang)
        todo = t("sync.problem.todo.scan", lang)
    else:
        what = refusal_text(code, lang)
        todo_key = "claim_not_found" if code == "claim_not_found" else (
            "fix" if code in _FIXABLE_IN_CLAIM else "office")
        todo = t(f"sync.problem.todo.{todo_key}", lang)
    if lang == "en":
        # An English line starts with a capital and the refusal continues its sentence in lower case;
        # Chinese has no case, so its text stays as the catalogue and the contract give it.
        kind, what = kind.capitalize(), f"{what[:1].lower()}{what[1:]}"
    return t("sync.problem.line", lang, kind=kind, what=what), todo
