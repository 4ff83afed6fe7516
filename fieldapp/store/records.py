"""What the store's read methods return: plain frozen dataclasses, decrypted, never ORM objects
(a screen must not be able to lazy-load or write through them)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

from claimcore.validators import DEFAULT_ID_TYPE


class ClaimListRow(NamedTuple):
    """One row of the claims list. A NamedTuple, not a dataclass: the list screen builds 30 of
    these on every scroll and a frozen dataclass costs more to build than the query to run."""

    id: str
    report_no: str
    coverage: str
    status: str
    township_code: str | None
    township_name: str | None
    village_code: str | None
    incident_at: str | None
    created_at: str
    updated_at: str
    claimed_amount_fen: int | None
    victim_name: str | None
    photo_count: int
    is_draft: bool
    unsynced: bool  # the claim record itself has changes waiting in the outbox


class OfficeClaimRow(NamedTuple):
    """One claim as the office console counts it: where, what, how much, and the moments its
    deadlines run from (documents complete, agreement, payment)."""

    id: str
    report_no: str
    coverage: str
    status: str
    township_code: str | None
    event_id: str | None
    incident_at: str | None
    created_at: str
    claimed_amount_fen: int | None
    adjusted_amount_fen: int | None
    paid_amount_fen: int | None
    victim_name: str | None
    reported_at: str  # the first 已报案 in the timeline (when the claim was reported, on any phone)
    submitted_at: str | None  # the first 已提交
    approved_at: str | None  # the last 已核赔
    paid_at: str | None  # the last 已支付


@dataclass(frozen=True)
class PageKey:
    """Keyset position in the newest-first claims list: pass it back as ``after=``."""

    created_at: str
    id: str


@dataclass(frozen=True)
class ClaimPage:
    rows: list[ClaimListRow]
    next_key: PageKey | None  # None: this was the last page


@dataclass(frozen=True)
class PersonRecord:
    id: str
    claim_id: str
    role_in_claim: str
    relation: str | None
    name: str | None
    id_number: str | None
    phone: str | None
    bank_card: str | None
    bank_name: str | None
    medical: Any
    created_at: str
    updated_at: str
    version: int | None
    # The identity document the number is of (claimcore.entities.ID_TYPES); a person stored
    # without one has a resident ID.
    id_type: str = DEFAULT_ID_TYPE


@dataclass(frozen=True)
class DocumentRecord:
    id: str
    claim_id: str
    code: str
    status: str
    note: str | None
    scan_ref: str | None
    updated_by: str | None
    updated_at: str
    version: int | None


@dataclass(frozen=True)
class PhotoRecord:
    id: str
    sha256: str
    claim_id: str
    taken_at: str | None
    lat: float | None
    lon: float | None
    fix_alt: float | None
    fix_accuracy_m: float | None
    fix_at: str | None
    width: int | None
    height: int | None
    flags: list[str]
    exif_gps: dict[str, Any] | None
    exif_replaced: bool
    converted_from: str | None
    upload_state: str
    created_by: str | None
    created_at: str


@dataclass(frozen=True)
class NoteRecord:
    id: str
    claim_id: str
    text: str
    author: str | None
    written_at: str


@dataclass(frozen=True)
class TransitionRecord:
    id: str
    claim_id: str
    from_status: str | None
    to_status: str
    by_user: str | None
    role: str | None
    at: str
    lat: float | None
    lon: float | None
    reason: str | None
    by_name: str | None = None


@dataclass(frozen=True)
class ClaimDetail:
    id: str
    report_no: str
    coverage: str
    catalogue_version: str | None
    township_code: str | None
    township_name: str | None
    village_code: str | None
    incident_at: str | None
    address: str | None
    lat: float | None
    lon: float | None
    accuracy_m: float | None
    description: str | None
    loss_types: list[str]
    claimed_amount_fen: int | None
    adjusted_amount_fen: int | None
    paid_amount_fen: int | None
    loss_items: list[dict[str, Any]] | None
    adjusted_reason: str | None
    paid_on: str | None
    payee_person_id: str | None
    transfer_ref: str | None
    status: str
    event_id: str | None
    created_by: str | None
    created_at: str
    updated_at: str
    version: int | None
    is_draft: bool
    persons: list[PersonRecord] = field(default_factory=list)
    documents: list[DocumentRecord] = field(default_factory=list)
    photos: list[PhotoRecord] = field(default_factory=list)
    notes: list[NoteRecord] = field(default_factory=list)
    timeline: list[TransitionRecord] = field(default_factory=list)
    # Claim fields with local edits not yet acknowledged by the server ("not yet synced" marks).
    pending_fields: frozenset[str] = frozenset()


@dataclass(frozen=True)
class AssignmentRecord:
    id: str
    claim_id: str | None
    insurer_code: str | None
    status: str
    fields: dict[str, Any]
    received_at: str
    updated_at: str
    version: int | None


@dataclass(frozen=True)
class DraftRecord:
    id: str
    kind: str
    step: str | None
    data: dict[str, Any]
    saved_at: str


@dataclass(frozen=True)
class ConflictRecord:
    id: str
    claim_id: str | None
    entity: str
    entity_id: str
    field: str
    kept_value: Any
    other_value: Any
    detail: str | None
    at: str | None
    received_at: str
    seen: bool


@dataclass(frozen=True)
class SyncStateRecord:
    device_id: str | None
    token: str | None
    server_url: str | None
    cursor: str | None
    last_sync_at: str | None
    last_error: str | None
    last_acked_seq: int


@dataclass(frozen=True)
class UploadItem:
    sha256: str
    claim_id: str
    upload_state: str  # none | preview: what the server holds so far


@dataclass(frozen=True)
class ScanUploadItem:
    id: str
    claim_id: str
    doc_code: str
    sha256: str
    byte_size: int
    content_type: str


@dataclass(frozen=True)
class ApplyResult:
    """What apply_remote_changes did with one page of server changes."""

    applied: int
    # (entity, id, field): server values NOT applied because an unsent local edit of the same field
    # is waiting in the outbox; the push sends the local value and the server decides.
    kept_local: list[tuple[str, str, str]]
    # Changes this app version does not know (a newer server): skipped, never guessed at.
    skipped: list[tuple[str, str]]
    # Claims the server told this phone to forget (a co-insurer's survey access ended): deleted
    # with everything under them.
    forgotten: list[str] = field(default_factory=list)
