"""Schema versions of the phone's database and the ordered steps between them.

The version lives in ``PRAGMA user_version`` (in the file header, changed inside the same transaction
as the step, so a step is applied entirely or not at all). A phone with last month's database opens
with this month's app: :func:`upgrade` runs every step from the file's version to
``SCHEMA_VERSION`` in order, after a ``VACUUM INTO`` copy of the old file under ``backups/``.

Every step is literal SQL written for the version it upgrades from, never generated from today's
mappings: when v3 changes a table again, the v1->v2 step must still produce v2. The test suite keeps
``V1_DDL`` (a file exactly as the first release created it), upgrades it, and checks that the result
matches a database created fresh from schema.py, and that every row survived.

History
  v1  first release.
  v2  photos: boolean ``uploaded`` replaced by ``upload_state`` (none | preview | original), because
      the sync client uploads previews before originals so the office can triage early, and a phone
      must know which of the two the server already holds. An uploaded v1 photo becomes 'original'.
      New table ``conflict_notes``: the server's record of a field changed on two devices, so the
      user can see the value that was not kept.
  v3  one vocabulary with the server (the record contract, claimcore.entities): columns renamed
      claims.place/claimed_fen/adjusted_fen/paid_fen -> address/claimed_amount_fen/
      adjusted_amount_fen/paid_amount_fen, persons.role/bank_account_enc -> role_in_claim/
      bank_card_enc, documents.doc_code -> code, photos.captured_at/fix_lat/fix_lon ->
      taken_at/lat/lon, notes.body/created_at -> text/written_at. Queued outbox entries are
      renamed too (their sealed personal part is renamed when it is read:
      fieldapp.store.outbox.V2_SEALED_NAMES).
  v4  money on a claim: claims.loss_items/adjusted_reason/paid_on/payee_person_id/transfer_ref;
      transitions.by_name (who moved the claim, by name); table ``reviews`` (claim-authority
      reviews published by the server).
  v5  persons.id_type: the identity document a person's number is of (passport, foreigner's
      permanent residence ID, residence permit; the notice insures visitors too). Existing persons
      keep NULL, which is a resident ID (claimcore.validators.DEFAULT_ID_TYPE): nothing to rewrite,
      and queued outbox entries without the field stay valid as they are.
"""
from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from fieldapp.i18n import both

from .schema import SCHEMA_VERSION


class StoreTooNewError(RuntimeError):
    """The database was written by a newer app version; opening it with this one could damage it."""


V1_DDL = """
CREATE TABLE claims (
    id VARCHAR(36) NOT NULL, report_no VARCHAR(32) NOT NULL, coverage VARCHAR(32) NOT NULL,
    catalogue_version VARCHAR(32), township_code VARCHAR(12), village_code VARCHAR(15),
    incident_at VARCHAR(32), place TEXT, lat FLOAT, lon FLOAT, accuracy_m FLOAT, description TEXT,
    loss_types JSON NOT NULL, claimed_fen INTEGER, adjusted_fen INTEGER, paid_fen INTEGER,
    status VARCHAR(24) NOT NULL, event_id VARCHAR(36), created_by VARCHAR(64),
    created_at VARCHAR(32) NOT NULL, updated_at VARCHAR(32) NOT NULL, version INTEGER,
    is_draft BOOLEAN NOT NULL,
    PRIMARY KEY (id), UNIQUE (report_no)
);
CREATE INDEX ix_claims_event ON claims (event_id);
CREATE INDEX ix_claims_newest ON claims (created_at, id);
CREATE INDEX ix_claims_status ON claims (status, created_at);
CREATE INDEX ix_claims_township ON claims (township_code, created_at);
CREATE TABLE assignments (
    id VARCHAR(36) NOT NULL, claim_id VARCHAR(36), insurer_code VARCHAR(32),
    status VARCHAR(24) NOT NULL, fields JSON NOT NULL, received_at VARCHAR(32) NOT NULL,
    updated_at VARCHAR(32) NOT NULL, version INTEGER,
    PRIMARY KEY (id)
);
CREATE INDEX ix_assignments_claim ON assignments (claim_id);
CREATE TABLE drafts (
    id VARCHAR(36) NOT NULL, kind VARCHAR(32) NOT NULL, step VARCHAR(48), data JSON NOT NULL,
    saved_at VARCHAR(32) NOT NULL,
    PRIMARY KEY (id)
);
CREATE TABLE outbox (
    seq INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, entity VARCHAR(24) NOT NULL,
    entity_id VARCHAR(36) NOT NULL, op VARCHAR(8) NOT NULL, fields JSON NOT NULL, sealed BLOB,
    base_version INTEGER, created_at VARCHAR(32) NOT NULL
);
CREATE INDEX ix_outbox_entity ON outbox (entity, entity_id);
CREATE TABLE settings (
    "key" VARCHAR(64) NOT NULL, value JSON NOT NULL,
    PRIMARY KEY ("key")
);
CREATE TABLE sync_state (
    id INTEGER NOT NULL, device_id VARCHAR(64), token_enc BLOB, server_url VARCHAR(255),
    cursor VARCHAR(255), last_sync_at VARCHAR(32), last_error TEXT,
    last_acked_seq INTEGER NOT NULL,
    PRIMARY KEY (id)
);
CREATE TABLE documents (
    id VARCHAR(36) NOT NULL, claim_id VARCHAR(36) NOT NULL, doc_code VARCHAR(48) NOT NULL,
    status VARCHAR(16) NOT NULL, note TEXT, scan_ref VARCHAR(36), updated_by VARCHAR(64),
    updated_at VARCHAR(32) NOT NULL, version INTEGER,
    PRIMARY KEY (id),
    CONSTRAINT uq_documents_claim_doc UNIQUE (claim_id, doc_code),
    FOREIGN KEY(claim_id) REFERENCES claims (id) ON DELETE CASCADE
);
CREATE TABLE notes (
    id VARCHAR(36) NOT NULL, claim_id VARCHAR(36) NOT NULL, body TEXT NOT NULL,
    author VARCHAR(64), created_at VARCHAR(32) NOT NULL, version INTEGER,
    PRIMARY KEY (id),
    FOREIGN KEY(claim_id) REFERENCES claims (id) ON DELETE CASCADE
);
CREATE INDEX ix_notes_claim ON notes (claim_id, created_at);
CREATE TABLE persons (
    id VARCHAR(36) NOT NULL, claim_id VARCHAR(36) NOT NULL, role VARCHAR(16) NOT NULL,
    relation VARCHAR(32), name VARCHAR(64), id_number_enc BLOB, phone_enc BLOB,
    bank_account_enc BLOB, bank_name VARCHAR(64), medical_enc BLOB,
    created_at VARCHAR(32) NOT NULL, updated_at VARCHAR(32) NOT NULL, version INTEGER,
    PRIMARY KEY (id),
    FOREIGN KEY(claim_id) REFERENCES claims (id) ON DELETE CASCADE
);
CREATE INDEX ix_persons_claim ON persons (claim_id, role);
CREATE TABLE photos (
    id VARCHAR(36) NOT NULL, sha256 VARCHAR(64) NOT NULL, claim_id VARCHAR(36) NOT NULL,
    captured_at VARCHAR(32), fix_lat FLOAT, fix_lon FLOAT, fix_alt FLOAT, fix_accuracy_m FLOAT,
    fix_at VARCHAR(32), width INTEGER, height INTEGER, flags JSON NOT NULL, exif_gps JSON,
    exif_replaced BOOLEAN NOT NULL, converted_from VARCHAR(16), uploaded BOOLEAN NOT NULL,
    created_by VARCHAR(64), created_at VARCHAR(32) NOT NULL, version INTEGER,
    PRIMARY KEY (id), UNIQUE (sha256),
    FOREIGN KEY(claim_id) REFERENCES claims (id) ON DELETE CASCADE
);
CREATE INDEX ix_photos_claim ON photos (claim_id);
CREATE TABLE scans (
    id VARCHAR(36) NOT NULL, claim_id VARCHAR(36) NOT NULL, doc_code VARCHAR(48) NOT NULL,
    sha256 VARCHAR(64) NOT NULL, byte_size INTEGER NOT NULL, content_type VARCHAR(48) NOT NULL,
    created_at VARCHAR(32) NOT NULL, uploaded BOOLEAN NOT NULL,
    PRIMARY KEY (id),
    FOREIGN KEY(claim_id) REFERENCES claims (id) ON DELETE CASCADE
);
CREATE INDEX ix_scans_claim ON scans (claim_id);
CREATE TABLE transitions (
    id VARCHAR(36) NOT NULL, claim_id VARCHAR(36) NOT NULL, from_status VARCHAR(24),
    to_status VARCHAR(24) NOT NULL, by_user VARCHAR(64), role VARCHAR(16), at VARCHAR(32) NOT NULL,
    lat FLOAT, lon FLOAT, reason TEXT, version INTEGER,
    PRIMARY KEY (id),
    FOREIGN KEY(claim_id) REFERENCES claims (id) ON DELETE CASCADE
);
CREATE INDEX ix_transitions_claim ON transitions (claim_id, at);
"""


def _v1_to_v2(conn: sqlite3.Connection) -> None:
    # SQLite's portable way to change a column: build the new table, copy, swap (ALTER ... DROP
    # COLUMN needs SQLite 3.35, older than some phones' system SQLite).
    conn.execute("DROP INDEX ix_photos_claim")
    conn.execute("ALTER TABLE photos RENAME TO photos_v1")
    conn.execute(
        """CREATE TABLE photos (
    id VARCHAR(36) NOT NULL, sha256 VARCHAR(64) NOT NULL, claim_id VARCHAR(36) NOT NULL,
    captured_at VARCHAR(32), fix_lat FLOAT, fix_lon FLOAT, fix_alt FLOAT, fix_accuracy_m FLOAT,
    fix_at VARCHAR(32), width INTEGER, height INTEGER, flags JSON NOT NULL, exif_gps JSON,
    exif_replaced BOOLEAN NOT NULL, converted_from VARCHAR(16), upload_state VARCHAR(8) NOT NULL,
    created_by VARCHAR(64), created_at VARCHAR(32) NOT NULL, version INTEGER,
    PRIMARY KEY (id), UNIQUE (sha256),
    FOREIGN KEY(claim_id) REFERENCES claims (id) ON DELETE CASCADE
)"""
    )
    conn.execute(
        """INSERT INTO photos (id, sha256, claim_id, captured_at, fix_lat, fix_lon, fix_alt,
            fix_accuracy_m, fix_at, width, height, flags, exif_gps, exif_replaced, converted_from,
            upload_state, created_by, created_at, version)
        SELECT id, sha256, claim_id, captured_at, fix_lat, fix_lon, fix_alt, fix_accuracy_m, fix_at,
            width, height, flags, exif_gps, exif_replaced, converted_from,
            CASE WHEN uploaded THEN 'original' ELSE 'none' END, created_by, created_at, version
        FROM photos_v1"""
    )
    conn.execute("DROP TABLE photos_v1")
    conn.execute("CREATE INDEX ix_photos_claim ON photos (claim_id)")
    conn.execute(
        """CREATE TABLE conflict_notes (
    id VARCHAR(36) NOT NULL, claim_id VARCHAR(36), entity VARCHAR(24) NOT NULL,
    entity_id VARCHAR(36) NOT NULL, field VARCHAR(48) NOT NULL, kept_value JSON NOT NULL,
    other_value JSON NOT NULL, detail TEXT, at VARCHAR(32), received_at VARCHAR(32) NOT NULL,
    seen BOOLEAN NOT NULL,
    PRIMARY KEY (id)
)"""
    )
    conn.execute("CREATE INDEX ix_conflict_notes_claim ON conflict_notes (claim_id)")


# v2 column -> v3 column, per table (RENAME COLUMN keeps the data, position and indexes; SQLite
# 3.25 or newer, which every Python the app ships with has).
V3_RENAMES: dict[str, dict[str, str]] = {
    "claims": {"place": "address", "claimed_fen": "claimed_amount_fen", "adjusted_fen": "adjusted_amount_fen",
               "paid_fen": "paid_amount_fen"},
    "persons": {"role": "role_in_claim", "bank_account_enc": "bank_card_enc"},
    "documents": {"doc_code": "code"},
    "photos": {"captured_at": "taken_at", "fix_lat": "lat", "fix_lon": "lon"},
    "notes": {"body": "text", "created_at": "written_at"},
}
_OUTBOX_ENTITY = {"claims": "claim", "persons": "person", "documents": "document", "photos": "photo",
                  "notes": "note"}


def _v2_to_v3(conn: sqlite3.Connection) -> None:
    for table, renames in V3_RENAMES.items():
        for old, new in renames.items():
            conn.execute(f'ALTER TABLE {table} RENAME COLUMN "{old}" TO "{new}"')
    # Entries queued before the upgrade name the fields the v2 way: rename their plain part here.
    for table, entity in _OUTBOX_ENTITY.items():
        names = {old.removesuffix("_enc"): new.removesuffix("_enc") for old, new in V3_RENAMES[table].items()}
        rows = conn.execute("SELECT seq, fields FROM outbox WHERE entity = ?", (entity,)).fetchall()
        for seq, raw in rows:
            fields = json.loads(raw)
            renamed = {names.get(k, k): v for k, v in fields.items()}
            if renamed != fields:
                conn.execute("UPDATE outbox SET fields = ? WHERE seq = ?", (json.dumps(renamed, ensure_ascii=False), seq))


def _v3_to_v4(conn: sqlite3.Connection) -> None:
    for column, kind in (("loss_items", "JSON"), ("adjusted_reason", "TEXT"), ("paid_on", "VARCHAR(10)"),
                         ("payee_person_id", "VARCHAR(36)"), ("transfer_ref", "VARCHAR(100)")):
        conn.execute(f"ALTER TABLE claims ADD COLUMN {column} {kind}")
    conn.execute("ALTER TABLE transitions ADD COLUMN by_name VARCHAR(100)")
    conn.execute("""CREATE TABLE reviews (
        claim_id VARCHAR(36) NOT NULL,
        doc JSON NOT NULL,
        received_at VARCHAR(32) NOT NULL,
        version INTEGER,
        PRIMARY KEY (claim_id)
    )""")


def _v4_to_v5(conn: sqlite3.Connection) -> None:
    conn.execute("ALTER TABLE persons ADD COLUMN id_type VARCHAR(32)")


# STEPS[n] upgrades a version-n database to version n+1.
STEPS: dict[int, Callable[[sqlite3.Connection], None]] = {1: _v1_to_v2, 2: _v2_to_v3, 3: _v3_to_v4, 4: _v4_to_v5}
assert sorted(STEPS) == list(range(1, SCHEMA_VERSION)), "every version needs exactly one step"


def read_version(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])
    finally:
        conn.close()


def create_v1(path: Path) -> None:
    """A database exactly as the first release created it (used by tests and upgrade drills)."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("BEGIN")
        # statement by statement: executescript() would commit on its own
        for statement in _split_sql(V1_DDL):
            conn.execute(statement)
        conn.execute("PRAGMA user_version = 1")
        conn.execute("COMMIT")
    finally:
        conn.close()


def _split_sql(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]


def upgrade(path: Path, backup_dir: Path) -> list[int]:
    """Bring the database at ``path`` to SCHEMA_VERSION. Returns the versions it passed through.

    Raises StoreTooNewError for a database from a newer app. Each step runs in its own IMMEDIATE
    transaction together with the user_version bump; foreign keys are switched off while tables are
    rebuilt (SQLite only allows that outside a transaction) and checked before each commit.
    """
    version = read_version(path)
    if version > SCHEMA_VERSION:
        raise StoreTooNewError(both("error.store.too_new", version=version, supported=SCHEMA_VERSION))
    if version == SCHEMA_VERSION:
        return []
    backup_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    backup = backup_dir / f"store-v{version}-before-upgrade-{stamp}.db"
    conn = sqlite3.connect(path, isolation_level=None)
    passed = []
    try:
        # A copy before changing anything: if a step ever turns out wrong in the field, support can
        # still read last month's data. Only the newest pre-upgrade copy is kept (phones are small).
        for old in backup_dir.glob("store-v*-before-upgrade-*.db"):
            old.unlink()
        conn.execute("VACUUM INTO ?", (str(backup),))
        conn.execute("PRAGMA foreign_keys=OFF")
        while version < SCHEMA_VERSION:
            conn.execute("BEGIN IMMEDIATE")
            try:
                STEPS[version](conn)
                problems = conn.execute("PRAGMA foreign_key_check").fetchall()
                if problems:
                    raise RuntimeError(f"upgrade v{version}->v{version + 1} broke foreign keys: {problems[:5]}")
                conn.execute(f"PRAGMA user_version = {version + 1}")
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            version += 1
            passed.append(version)
        conn.execute("PRAGMA foreign_keys=ON")
    finally:
        conn.close()
    return passed
