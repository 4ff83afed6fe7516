"""The claims list (with filters) and one claim's screen: overview, photos, documents, timeline,
and the actions the workflow allows this role next."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from claimcore import entities, workflow
from claimcore.checklist import ChecklistItem, ChecklistResult, consolidated_notice_text, evaluate, required_documents

from fieldapp.state import reference

# Which document statuses each role may set by tapping (verification is the office's).
SETTABLE_STATUSES: dict[str, tuple[str, ...]] = {
    role: tuple(s for s in entities.DOCUMENT_STATUSES if s != "verified" or role in entities.VERIFY_ROLES)
    for role in entities.USER_ROLES
}
TRANSITIONS_NEEDING_REASON = {"withdrawn", "declined", "reopened", "incomplete"}


@dataclass
class ClaimFilter:
    status: str | None = None
    coverage: str | None = None
    township_code: str | None = None
    village_code: str | None = None
    search: str = ""
    include_drafts: bool = True

    @property
    def active(self) -> bool:
        return bool(self.status or self.coverage or self.township_code or self.village_code
                    or self.search.strip())


class ClaimsList:
    """Newest first, 30 at a time; `more()` fetches the next page by keyset."""

    PAGE = 30

    def __init__(self, store: Any, user_township: str | None = None, role: str | None = None):
        self.store = store
        self.filter = ClaimFilter()
        # A liaison works one township: the list starts there (the server only sends theirs).
        if role == "liaison" and user_township:
            self.filter.township_code = user_township
        self.rows: list = []
        self._next = None
        self.loaded = False

    def refresh(self) -> list:
        self.rows, self._next = [], None
        self._fetch()
        self.loaded = True
        return self.rows

    @property
    def has_more(self) -> bool:
        return self._next is not None

    def more(self) -> list:
        if self._next is not None:
            self._fetch()
        return self.rows

    def _fetch(self) -> None:
        f = self.filter
        # Village is not an index of the store's list query; it narrows the township's rows here,
        # reading further pages until a screenful is found or the township's claims run out.
        wanted = self.PAGE
        found = 0
        while True:
            page = self.store.claims.list_page(
                status=f.status, coverage=f.coverage, township_code=f.township_code,
                search=f.search.strip() or None, limit=self.PAGE if not f.village_code else 200,
                after=self._next, is_draft=None if f.include_drafts else False)
            rows = [r for r in page.rows if not f.village_code or r.village_code == f.village_code]
            self.rows.extend(rows)
            found += len(rows)
            self._next = page.next_key
            if not f.village_code or found >= wanted or self._next is None:
                break

    def set_filter(self, **changes: Any) -> list:
        for k, v in changes.items():
            if not hasattr(self.filter, k):
                raise AttributeError(k)
            setattr(self.filter, k, v)
        if "township_code" in changes and "village_code" not in changes:
            self.filter.village_code = None
        return self.refresh()

    def clear_filters(self, keep_township: str | None = None) -> list:
        self.filter = ClaimFilter(township_code=keep_township)
        return self.refresh()


@dataclass
class ChecklistLine:
    item: ChecklistItem
    code: str  # the document whose status this line shows (a group's member for group lines)
    status: str
    label: str
    issuer: str
    template: str | None
    has_scan: bool


@dataclass
class ClaimView:
    detail: Any
    checklist: list[ChecklistLine] = field(default_factory=list)
    result: ChecklistResult | None = None
    actions: list[str] = field(default_factory=list)
    checklist_error: str | None = None
    authority_cleared: bool = False  # the claim-authority step of the adjusted amount is done
    authority_waiting: bool = False  # 已核赔 is held back until it is


def _checklist_items(detail: Any) -> list[ChecklistItem]:
    catalogue = reference.catalogue(detail.catalogue_version)
    coverage = catalogue.coverage(detail.coverage)
    attached_to = coverage.attaches_to[0] if coverage.cause_evidence_from_main and coverage.attaches_to else None
    by_agent = any(p.role_in_claim == "agent" for p in detail.persons)
    return required_documents(catalogue, detail.coverage, detail.loss_types, by_agent=by_agent,
                              attached_to=attached_to)


def load_claim(store: Any, claim_id: str, role: str, lang: str) -> ClaimView:
    detail = store.claims.get(claim_id)
    view = ClaimView(detail)
    statuses = {d.code: d.status for d in detail.documents}
    scans = {d.code for d in detail.documents if d.scan_ref}
    if detail.loss_types:
        try:
            items = _checklist_items(detail)
        except ValueError as exc:
            view.checklist_error = str(exc)
            items = []
        # One line per item; the members of a "two of these three" group are items of their own,
        # each carrying the group's rule, so the screen shows each member once.
        for item in items:
            view.checklist.append(ChecklistLine(
                item, item.document, statuses.get(item.document, "missing"), item.label.get(lang),
                item.issuer.get(lang), item.template, item.document in scans))
        if items:
            view.result = evaluate(items, statuses)
    view.actions = allowed_actions(detail.status, role, view.result)
    if "approved" in view.actions:
        from fieldapp.state.money import authority_state

        step = authority_state(store, claim_id, detail.adjusted_amount_fen, lang)
        view.authority_cleared = bool(step and step.cleared)
        if not view.authority_cleared:
            # Offered only once the step is cleared (as 提交 waits for the complete checklist).
            view.actions = [a for a in view.actions if a != "approved"]
            view.authority_waiting = True
    return view


def allowed_actions(status: str, role: str, result: ChecklistResult | None) -> list[str]:
    targets = workflow.allowed_targets(status, role)
    # Submitting needs the complete checklist; the button stays away until it is.
    if "submitted" in targets and not (result and result.complete):
        targets = [t for t in targets if t != "submitted"]
    return targets


def missing_notice(view: ClaimView, lang: str) -> str:
    if view.result is None:
        return ""
    return consolidated_notice_text(view.result, lang)


def mask_person(person: Any, role: str) -> dict[str, str]:
    """What the screen shows of a person: ID and phone masked (the server audits full views)."""
    from claimcore.masking import mask_bank_card, mask_id, mask_phone

    return {
        "name": person.name or "",
        "id_type": person.id_type,
        "id_number": mask_id(person.id_number, person.id_type) if person.id_number else "",
        "phone": mask_phone(person.phone) if person.phone else "",
        "relation": person.relation or "",
        "bank_card": mask_bank_card(person.bank_card) if person.bank_card else "",
    }
