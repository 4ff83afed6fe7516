"""The phone's local store: SQLite through SQLAlchemy 2.x, the outbox, encryption, upgrades.

The phone is the system of record until sync succeeds, so every method that changes data writes the
change AND its outbox mutation in ONE SQLite transaction (WAL, ``synchronous=FULL``): after a crash
or a dead battery both exist or neither does. No Flet and no sync_server imports here.

Opening
-------
``store = open_store(data_dir, key_provider=None)``
    Creates or opens ``data_dir/store.db``. Runs ``PRAGMA quick_check``; a damaged file is moved to
    ``data_dir/quarantine/<time>/``, its readable unsent changes exported to ``unsent_outbox.json``
    there and queued again in a fresh database; ``store.recovery_report`` (a
    :class:`RecoveryReport`, ``.message("zh"|"en")``) is then set for the UI to show, else None.
    Upgrades an older schema (``store.upgraded_to`` lists the versions passed). Raises
    :class:`StoreKeyError` (data key missing or not this database's) and
    :class:`StoreTooNewError` (database from a newer app). ``store.close()`` / ``with store:``.

Keys (crypto.py): ``KeyProvider`` (``load_key() -> bytes | None``, ``create_key() -> bytes``);
``FileKeyProvider(path)`` keeps a 0600 key file (the default: ``data_dir/store.key``). On a phone
implement KeyProvider over Android Keystore / iOS Keychain; Flet's SharedPreferences is NOT secure
storage and must not hold the key. Sealed at rest (AES-256-GCM, nonce per value, associated data
``table|column|row id``): persons' id_number, phone, bank_card, medical; the device token; those
fields while waiting in the outbox; scanned papers (files under ``scans/``). Site photos are not.

Claims (``store.claims``)
    ``create(*, coverage, role, created_by=None, township_code=None, village_code=None,
    incident_at=None, address=None, lat=None, lon=None, accuracy_m=None, description=None,
    loss_types=(), claimed_amount_fen=None, event_id=None, catalogue_version=None, is_draft=False,
    claim_id=None, at=None) -> claim_id``  state ``reported`` (``role`` checked with
    claimcore.workflow.check_report), report number ``DZ-YYYYMMDD-TTTT-NNNN`` made here (local
    date, TTTT: this install's random tag, NNNN: daily counter), first timeline entry. Pass the
    wizard's draft id as ``claim_id``: that draft is deleted in the same transaction.
    ``update(claim_id, **fields) -> frozenset[changed names]``  only real changes are written;
    the outbox entry carries only those. Editable: see ``CLAIM_EDITABLE``; status is not.
    ``transition(claim_id, target, *, role, user, lat=None, lon=None, reason=None,
    checklist_complete=False, authority_cleared=False, survey_participant=False, at=None)
    -> TransitionRecord``  via ``claimcore.workflow.check_transition`` (raises WorkflowError,
    nothing written).
    ``get(claim_id) -> ClaimDetail``  all fields, persons (decrypted), documents, photos, notes,
    timeline, ``pending_fields`` (unsynced claim fields). Masking is the screen's job
    (claimcore.masking).
    ``list_page(*, status=None, township_code=None, coverage=None, event_id=None, is_draft=None,
    search=None, limit=30, after=None, offset=None) -> ClaimPage(rows, next_key)``  newest first;
    rows are ``ClaimListRow`` (a NamedTuple) with township_name, victim_name, photo_count,
    unsynced; ``next_key`` is a ``PageKey`` for ``after=``, None on the last page.
    ``office_rows() -> [OfficeClaimRow]`` (every claim with amounts and its submitted / approved /
    paid moments, for the office console); ``timeline(claim_id)``, ``count(status=None)``, ``existing_ids(ids) -> set`` (which of these
    claims this phone holds).
Field names are the record contract's (claimcore.entities), the same on the phone and the server;
every write is checked with the contract's rules first (fieldapp/store/contract.py).
Persons (``store.persons``): ``add(claim_id, *, role_in_claim, name, relation, id_number, phone,
    bank_card, bank_name, medical, person_id=None, id_type=None) -> id``; ``update(person_id, **fields)``;
    ``remove(person_id)``; ``get(person_id)``; ``list_for_claim(claim_id)``;
    ``claims_with_id_number(number) -> {claim ids}`` (exact match, sealed values opened). Roles: victim,
    claimant, payee, agent, heir, household_head. id_type: the identity document (claimcore.entities.
    ID_TYPES; None and records from before schema v5 are ``resident_id``); id_number is checked by its
    type's rule (GB 11643 for a resident ID), phone (mainland mobile) and bank_card
    (16-19 digits: card, Luhn-checked; other 8-30 digit numbers: passbook) are checked and
    normalised with claimcore.validators; a bad one raises StoreValidationError, nothing written.
Documents (``store.documents``): ``set_status(claim_id, code, status, *, note=..., user=None)``
    (missing | collected | verified | not_applicable; one record per claim and document code, id
    ``document_id(claim_id, code)`` is the same on every phone); ``attach_scan(claim_id,
    doc_code, data, *, user) -> scan_id`` (encrypted file; JPEG, PNG, HEIC or PDF judged by the bytes,
    at most 20 MiB: claimcore.filetypes; a ``content_type`` argument is ignored); ``read_scan(scan_id)``;
    ``pending_scan_uploads()``; ``mark_scan_uploaded(scan_id)``; ``list_for_claim(claim_id)``.
Photos (``store.photos``): ``add(claim_id, intake, *, fix=None, taken_at=None, user=None) -> id``
    (intake: fieldapp.media's IntakeResult; fix: lat, lon, altitude, accuracy_m, fix_time);
    ``pending_upload(limit=None) -> [UploadItem]``; ``mark_uploaded(sha256, "preview"|"original")``;
    ``mark_all_uploaded([(sha256, kind), ...])``; ``get_by_sha``; ``list_for_claim``.
Notes (``store.notes``, append-only): ``add(claim_id, text, *, author=None)``; ``list_for_claim``.
Assignments (``store.assignments``): ``list(status=None)``, ``get(id)``, ``set_status(id, status,
    user=None, reason=None, lat=None, lon=None)`` (decline reason, arrival fix travel with it),
    ``log_cost(id, *, on, amount_fen, note, receipt_sha256, category="survey") -> cost id`` (entity
    ``cost`` for the work fund); they arrive with apply_remote_changes (entity ``assignment``).
Fund (``store.fund``): ``queue_spending(*, on, amount_fen, category, note="") -> id`` (the office's
    spending booked offline, entity ``cost`` without an assignment); ``unsent()``.
Drafts (``store.drafts``, local only, never synced): ``save(draft_id, data, *, step=None,
    kind="claim_wizard")``, ``load(draft_id)``, ``delete(draft_id)``, ``list(kind=None)``.
Settings (``store.settings``): ``get(key, default)``, ``set(key, value)``.
Conflicts (``store.conflicts``): ``list(claim_id=None, unseen_only=False)``, ``mark_seen(id)``.

For the sync client
    ``store.outbox.pending(limit=100) -> [mutation dicts]`` (wire format of claimcore.wire, seq
    order, personal fields opened); ``store.outbox.ack(up_to_seq) -> removed``; ``count()``;
    ``pending_fields(entity, id)``. Every pending mutation passes claimcore.wire.validate_mutation.
    ``store.apply_remote_changes(changes, new_cursor) -> ApplyResult`` in one transaction; every
    change is checked with claimcore.wire.validate_change (a malformed one rolls back the whole
    page, cursor included, with StoreValidationError). RULE:
    a field with an unsent local edit keeps its local value (the push will send it and the server
    decides); every other field and the version take the server's; a server delete of a record
    with unsent edits is not applied; ``conflict`` changes become conflict notes; unknown
    entities are skipped and listed.
    ``store.sync_state.get() -> SyncStateRecord`` (device_id, token, server_url, cursor,
    last_sync_at, last_error, last_acked_seq); ``store.sync_state.set(**fields)``.
    Mutation entities written here: claim, person (op upsert|delete), document, photo, note,
    transition (the timeline entry; the claim mutation carries the new status), assignment.

Errors: ``StoreValidationError`` (bad input, nothing written; ``.message("zh")``),
``NotFoundError``, ``StoreKeyError``, ``StoreTooNewError``, claimcore's ``WorkflowError``.
"""
from ._base import NotFoundError, StoreError, StoreValidationError
from .claims import CLAIM_EDITABLE, township_names
from .crypto import DecryptionError, FieldCipher, FileKeyProvider, KeyProvider, StoreKeyError
from .documents import document_id
from .records import (
    ApplyResult,
    AssignmentRecord,
    ClaimDetail,
    ClaimListRow,
    ClaimPage,
    ConflictRecord,
    DocumentRecord,
    DraftRecord,
    NoteRecord,
    OfficeClaimRow,
    PageKey,
    PersonRecord,
    PhotoRecord,
    ScanUploadItem,
    SyncStateRecord,
    TransitionRecord,
    UploadItem,
)
from .recovery import RecoveryReport
from .schema import SCHEMA_VERSION
from .store import DB_NAME, KEY_FILE, Store, open_store
from .upgrade import StoreTooNewError

__all__ = [
    "ApplyResult", "AssignmentRecord", "CLAIM_EDITABLE", "ClaimDetail", "ClaimListRow", "ClaimPage",
    "ConflictRecord", "DB_NAME", "DecryptionError", "DocumentRecord", "DraftRecord", "FieldCipher",
    "FileKeyProvider", "KEY_FILE", "KeyProvider", "NotFoundError", "NoteRecord", "OfficeClaimRow", "PageKey",
    "PersonRecord", "PhotoRecord", "RecoveryReport", "SCHEMA_VERSION", "ScanUploadItem", "Store",
    "StoreError", "StoreKeyError", "StoreTooNewError", "StoreValidationError", "SyncStateRecord",
    "TransitionRecord", "UploadItem", "document_id", "open_store", "township_names",
]
