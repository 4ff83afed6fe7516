"""Personal data sealed at rest: victims' ID numbers, bank cards, phone numbers and medical details
(the fields the record contract marks ``sealed=True``) are stored AES-GCM encrypted under a server
key kept outside the database, so a copy of the database file, its WAL or a database dump does not
hand them out.

Where: ``records.fields`` and ``changes.fields`` (the column type :class:`SealedFields` seals the
sealed keys of the JSON object when a row is written and opens them when it is read, so the rest of
the server sees plaintext), and ``conflicts.kept_value`` / ``other_value`` (whole values, when the
conflict's field is sealed: :func:`mark_conflict` before the row is written, :class:`SealedValue`
opens them). A sealed value is stored as::

    {"$sealed": "v1:<key id>:<base64 of nonce + ciphertext + tag>"}            (records, changes)
    {"$sealed": "v1:<key id>:<...>", "$of": "person.phone"}                    (conflicts)

The associated data binds the ciphertext to its entity and field (``person.id_number``): moved
into another field it no longer opens. Values written before sealing existed (plaintext) are read
as they are; ``python -m sync_server admin seal-existing`` seals them.

The server key: ``DAZU_SEAL_KEY`` (base64 of 32 random bytes; several separated by commas, the
newest last) or the key file ``DAZU_SEAL_KEY_FILE`` (default ``<DAZU_DATA_DIR>/keys/server.key``,
created on first use, mode 0600 in a 0700 folder). The key file holds several keys; new values use
the newest, older ones still open what they sealed (``admin rotate-seal-key`` adds one and re-seals
everything). From each key two keys are derived (HKDF-SHA256): one for AES-256-GCM, one for the
blind index (HMAC-SHA256 of the normalised ID number with its document type, :func:`indexed_form`,
in ``records.id_index``: exact-match search without opening every person).

Each :class:`sync_server.db.Database` hangs its :class:`Sealer` on its engine's dialect, so two
databases with different data folders or keys in one process never share a key. A sealed value met
without a key, under a key that is not in the keyring, or that does not open under its key raises
:class:`SealError`: never garbage, never the ciphertext served as if it were the value.

Deleting a person erases its sealed values from its record, its change-feed row and its conflicts,
and its blind index (:func:`erase_sealed`). Data files are private to the server's user:
:func:`protect_sqlite_file`, :func:`protect_tree`.
"""
from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import json
import logging
import os
import stat
import threading
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import JSON, select, update
from sqlalchemy.orm import Session, attributes
from sqlalchemy.types import TypeDecorator

from claimcore import entities, validators

log = logging.getLogger("sync_server.sealing")

MARK = "$sealed"
OF = "$of"
VERSION = "v1"
KEY_FILE_FORMAT = "dazu-seal-keys/1"
KEY_BYTES = 32
NONCE_BYTES = 12
KID_CHARS = 12  # key_id(): the first 12 hex digits of a hash of the key
# Sealed files (document scans) start with this; files stored before sealing existed do not.
FILE_MAGIC = b"DAZU-SEALED-FILE/v1\n"
DIALECT_ATTR = "dazu_sealer"
# How often a running server looks whether the key file changed (a rotation by the admin command
# in another process): it then seals with the new key without a restart.
KEY_FILE_RECHECK_SECONDS = 30.0


def _owners() -> dict[str, str]:
    """field name -> "entity.field" of the contract's sealed fields.

    The JSON columns do not know which entity a row is, so a sealed field name must belong to one
    entity only; the contract growing a second one stops the server here rather than binding
    ciphertexts to the wrong place."""
    owners: dict[str, str] = {}
    for name in entities.ENTITIES:
        for field in sorted(entities.sealed_fields(name)):
            if field in owners:
                raise RuntimeError(f"sealed field {field!r} is declared by two entities "
                                   f"({owners[field]} and {name}.{field}); sealing needs one owner")
            owners[field] = f"{name}.{field}"
    return owners


SEALED: dict[str, str] = _owners()
SEALED_OWNERS = frozenset(SEALED.values())


class SealError(RuntimeError):
    """A sealed value cannot be sealed or opened: no key, unknown key id, wrong key or damaged."""


# ------------------------------------------------------------------------------------- keys

@dataclass(frozen=True)
class Key:
    kid: str
    aead: AESGCM
    index_key: bytes


def _hkdf(master: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(master)


def key_id(master: bytes) -> str:
    return hashlib.sha256(b"dazu/seal/key-id/v1" + master).hexdigest()[:12]


def _derive(master: bytes) -> Key:
    if len(master) != KEY_BYTES:
        raise SealError(f"a seal key is {KEY_BYTES} bytes (base64 of 32 random bytes), got {len(master)}")
    return Key(key_id(master), AESGCM(_hkdf(master, b"dazu/seal/aes-256-gcm/v1")),
               _hkdf(master, b"dazu/seal/blind-index/v1"))


def _b64key(text: str, where: str) -> bytes:
    try:
        return base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise SealError(f"{where}: a seal key must be base64 (of 32 random bytes)") from None


def new_master_key() -> bytes:
    return os.urandom(KEY_BYTES)


def _read_key_file(path: Path) -> list[bytes]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        entries = doc["keys"]
        if doc.get("format") != KEY_FILE_FORMAT or not isinstance(entries, list) or not entries:
            raise ValueError
        return [_b64key(e["key"], str(path)) for e in entries]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise SealError(f"the seal key file {path} cannot be read ({type(exc).__name__}); "
                        "the server will not guess a key") from None


def _key_file_text(masters: list[bytes], created: dict[str, str] | None = None) -> str:
    created = created or {}
    now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    entries = [{"id": key_id(m), "created_at": created.get(key_id(m), now),
                "key": base64.b64encode(m).decode()} for m in masters]
    return json.dumps({"format": KEY_FILE_FORMAT, "keys": entries}, indent=2) + "\n"


def _private_dir(path: Path) -> None:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path, 0o700)


def _write_private(path: Path, text: str, *, replace: bool) -> bool:
    """Write ``text`` to ``path`` (mode 0600) atomically. ``replace=False``: only if ``path`` does
    not exist yet (two processes creating the first key agree on one); returns whether written."""
    _private_dir(path.parent)
    tmp = path.parent / f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        if replace:
            os.replace(tmp, path)
            return True
        try:
            os.link(tmp, path)
            return True
        except FileExistsError:
            return False
    finally:
        tmp.unlink(missing_ok=True)
        dfd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)


class Sealer:
    """The keyring of one database and the sealing operations. Thread-safe."""

    def __init__(self, key_file: Path, env_keys: str = ""):
        self.key_file = Path(key_file)
        self.from_env = bool(env_keys.strip())
        self._lock = threading.Lock()
        self._keys: dict[str, Key] = {}
        self._newest: Key | None = None
        self._checked = 0.0
        self._mtime: int | None = None
        if self.from_env:
            masters = [_b64key(k, "DAZU_SEAL_KEY") for k in env_keys.split(",") if k.strip()]
            self._install(masters)

    @classmethod
    def from_settings(cls, settings: Any) -> "Sealer":
        key_file = getattr(settings, "seal_key_file", None) or Path(settings.data_dir) / "keys" / "server.key"
        return cls(Path(key_file), getattr(settings, "seal_key", "") or "")

    # -- keyring
    def _install(self, masters: list[bytes]) -> None:
        keys = [_derive(m) for m in masters]
        self._keys = {k.kid: k for k in keys}
        self._newest = keys[-1]

    def _load_file(self, *, create: bool) -> bool:
        """(Re)load the key file; with ``create`` make the first key when there is none."""
        try:
            st = self.key_file.stat()
        except FileNotFoundError:
            if not create:
                return False
            _write_private(self.key_file, _key_file_text([new_master_key()]), replace=False)
            log.warning("created the seal key file %s: keep it with the backups, apart from the database",
                        self.key_file)
            st = self.key_file.stat()
        if stat.S_IMODE(st.st_mode) != 0o600:  # copied in by hand: the server's user only
            os.chmod(self.key_file, 0o600)
        self._install(_read_key_file(self.key_file))
        self._mtime = st.st_mtime_ns
        self._checked = time.monotonic()
        return True

    def _ensure(self, *, create: bool) -> None:
        if self.from_env:
            return
        with self._lock:
            if self._newest is None:
                self._load_file(create=create)
            elif time.monotonic() - self._checked > KEY_FILE_RECHECK_SECONDS:
                self._checked = time.monotonic()
                try:
                    if self.key_file.stat().st_mtime_ns != self._mtime:
                        self._load_file(create=False)
                except FileNotFoundError:
                    raise SealError(f"the seal key file {self.key_file} has gone") from None

    def reload(self) -> None:
        if not self.from_env:
            with self._lock:
                self._load_file(create=False)

    def newest(self) -> Key:
        self._ensure(create=True)
        assert self._newest is not None
        return self._newest

    def keys(self) -> list[Key]:
        self._ensure(create=True)
        return list(self._keys.values())

    def _key(self, kid: str) -> Key:
        self._ensure(create=False)
        key = self._keys.get(kid)
        if key is None and not self.from_env:
            # Rotated by the admin command in another process since this one loaded the file.
            with self._lock:
                if self._load_file(create=False):
                    key = self._keys.get(kid)
        if key is None:
            if self.from_env:
                source = "DAZU_SEAL_KEY does not hold it"
            elif not self.key_file.exists():
                source = f"the key file {self.key_file} is missing"
            else:
                source = f"the key file {self.key_file} does not hold it"
            raise SealError(f"a value was sealed under key {kid} and {source}; "
                            "restore the server's key (see docs/security.md)")
        return key

    def add_key(self) -> str:
        """Rotation: append a new key to the key file (the newest: new values use it)."""
        if self.from_env:
            raise SealError("the seal keys come from DAZU_SEAL_KEY: append a new key there (comma-separated, "
                            "newest last), restart, then run admin seal-existing")
        with self._lock:
            existing: list[bytes] = []
            created: dict[str, str] = {}
            if self.key_file.exists():
                existing = _read_key_file(self.key_file)
                doc = json.loads(self.key_file.read_text(encoding="utf-8"))
                created = {e.get("id", ""): e.get("created_at", "") for e in doc["keys"]}
            master = new_master_key()
            _write_private(self.key_file, _key_file_text([*existing, master], created), replace=True)
            self._load_file(create=False)
            return key_id(master)

    # -- values
    @staticmethod
    def _aad(owner: str) -> bytes:
        return f"dazu/sealed/{VERSION}/{owner}".encode()

    def seal(self, value: Any, owner: str) -> str:
        key = self.newest()
        nonce = os.urandom(NONCE_BYTES)
        plain = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
        blob = nonce + key.aead.encrypt(nonce, plain, self._aad(owner))
        return f"{VERSION}:{key.kid}:{base64.b64encode(blob).decode()}"

    def open(self, token: Any, owner: str) -> Any:
        if not isinstance(token, str) or token.count(":") != 2:
            raise SealError(f"a sealed {owner} is damaged (not {VERSION}:<key id>:<data>)")
        version, kid, data = token.split(":")
        if version != VERSION:
            raise SealError(f"a sealed {owner} has an unknown format {version!r}")
        key = self._key(kid)
        try:
            blob = base64.b64decode(data, validate=True)
            plain = key.aead.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], self._aad(owner))
            return json.loads(plain.decode())
        except (InvalidTag, ValueError, binascii.Error):
            raise SealError(f"a sealed {owner} does not open under key {kid}: wrong key, or the value "
                            "was damaged or moved") from None

    # -- files (document scans: ID cards, bank cards, medical papers)
    def seal_bytes(self, data: bytes, owner: str) -> bytes:
        """A file's bytes sealed: ``FILE_MAGIC``, the key id, the nonce, ciphertext and tag."""
        key = self.newest()
        nonce = os.urandom(NONCE_BYTES)
        return FILE_MAGIC + key.kid.encode() + nonce + key.aead.encrypt(nonce, data, self._aad(owner))

    def open_bytes(self, blob: bytes, owner: str) -> bytes:
        if not is_sealed_file(blob):
            raise SealError(f"{owner} is not a sealed file")
        start = len(FILE_MAGIC)
        kid = blob[start:start + KID_CHARS].decode("ascii", "replace")
        key = self._key(kid)
        nonce = blob[start + KID_CHARS:start + KID_CHARS + NONCE_BYTES]
        try:
            return key.aead.decrypt(nonce, blob[start + KID_CHARS + NONCE_BYTES:], self._aad(owner))
        except InvalidTag:
            raise SealError(f"{owner} does not open under key {kid}: wrong key, or the file was damaged "
                            "or moved") from None

    # -- blind index
    def blind_indexes(self, id_number: str, id_type: str | None = None) -> list[str]:
        """The index values of an ID number of a document type under every key (rows indexed
        before a rotation are still found); the first is the newest key's."""
        normal = indexed_form(id_number, id_type)
        keys = self.keys()
        keys.sort(key=lambda k: k is not self._newest)
        return [hmac.new(k.index_key, normal.encode(), hashlib.sha256).hexdigest() for k in keys]

    def blind_index(self, id_number: str, id_type: str | None = None) -> str:
        normal = indexed_form(id_number, id_type)
        return hmac.new(self.newest().index_key, normal.encode(), hashlib.sha256).hexdigest()


def normalise_id_number(value: str) -> str:
    """The form an ID number is indexed and searched in: what the contract stores (NFKC, no
    separators, upper-case X), so a search typed with spaces or a full-width X finds it."""
    text = unicodedata.normalize("NFKC", value)
    return "".join(ch for ch in text if ch not in " -\t\u3000").upper()


def indexed_form(id_number: str, id_type: str | None = None) -> str:
    """What the blind index hashes: the normalised number, prefixed with its document type unless
    it is a resident ID (``passport:E12345678``). A passport and a resident ID with the same
    characters then never share an index value, and a resident ID keeps the value it was indexed
    with before other documents existed (no re-indexing). The prefix cannot be forged by a number:
    every type's numbers are letters and digits only, never a colon."""
    normal = normalise_id_number(id_number)
    if id_type in (None, validators.DEFAULT_ID_TYPE):
        return normal
    return f"{id_type}:{normal}"


def is_sealed_file(blob: bytes) -> bool:
    return blob.startswith(FILE_MAGIC)


def sealer_of(dialect: Any) -> Sealer:
    sealer = getattr(dialect, DIALECT_ATTR, None)
    if sealer is None:
        raise SealError("this engine has no server key: open the database through sync_server.db.Database")
    return sealer


def is_sealed(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get(MARK), str)


def token_kid(value: Any) -> str | None:
    if is_sealed(value):
        parts = value[MARK].split(":")
        return parts[1] if len(parts) == 3 else None
    return None


def seal_fields(sealer: Sealer, fields: dict[str, Any]) -> dict[str, Any]:
    out = dict(fields)
    for name, owner in SEALED.items():
        value = out.get(name)
        if value is not None and not is_sealed(value):
            out[name] = {MARK: sealer.seal(value, owner)}
    return out


def open_fields(sealer: Sealer, fields: dict[str, Any]) -> dict[str, Any]:
    out = dict(fields)
    for name, owner in SEALED.items():
        value = out.get(name)
        if is_sealed(value):
            out[name] = sealer.open(value[MARK], owner)
    return out


def _needs_sealing(fields: dict[str, Any]) -> bool:
    for name in SEALED:
        value = fields.get(name)
        if value is not None and not is_sealed(value):
            return True
    return False


def _has_sealed(fields: dict[str, Any]) -> bool:
    return any(is_sealed(fields.get(name)) for name in SEALED)


# ------------------------------------------------------------------------------- column types

class SealedFields(TypeDecorator):
    """JSON object column whose sealed keys are stored sealed (records.fields, changes.fields)."""

    impl = JSON
    cache_ok = True

    def __init__(self) -> None:
        super().__init__(none_as_null=True)

    def process_bind_param(self, value: Any, dialect: Any) -> Any:
        if isinstance(value, dict) and _needs_sealing(value):
            return seal_fields(sealer_of(dialect), value)
        return value

    def process_result_value(self, value: Any, dialect: Any) -> Any:
        if isinstance(value, dict) and _has_sealed(value):
            return open_fields(sealer_of(dialect), value)
        return value


@dataclass(frozen=True)
class ToSeal:
    """A whole value to be stored sealed as ``owner`` ("person.phone") by :class:`SealedValue`."""

    value: Any
    owner: str


class SealedValue(TypeDecorator):
    """A JSON value column holding some values sealed whole (conflicts.kept_value/other_value)."""

    impl = JSON
    cache_ok = True

    def __init__(self) -> None:
        super().__init__(none_as_null=True)

    def process_bind_param(self, value: Any, dialect: Any) -> Any:
        if isinstance(value, ToSeal):
            if value.value is None:
                return None
            return {MARK: sealer_of(dialect).seal(value.value, value.owner), OF: value.owner}
        return value

    def process_result_value(self, value: Any, dialect: Any) -> Any:
        if is_sealed(value):
            owner = value.get(OF)
            if owner not in SEALED_OWNERS:
                raise SealError(f"a sealed conflict value names no sealed field ({owner!r})")
            return sealer_of(dialect).open(value[MARK], owner)
        return value


# ------------------------------------------------------------------------- ORM write hooks
# Registered on the models in sync_server.models.

_CONFLICT_VALUES = ("kept_value", "other_value")


def _conflict_owner(target: Any) -> str | None:
    owner = f"{target.entity}.{target.field}"
    return owner if owner in SEALED_OWNERS else None


def mark_conflict(_mapper: Any, _connection: Any, target: Any) -> None:
    """Before a conflicts row is written: its values are sealed when its field is."""
    owner = _conflict_owner(target)
    if owner is None:
        return
    for name in _CONFLICT_VALUES:
        value = getattr(target, name)
        if value is None or isinstance(value, ToSeal) or is_sealed(value):
            continue
        if attributes.get_history(target, name).has_changes() or attributes.instance_state(target).key is None:
            setattr(target, name, ToSeal(value, owner))


def unmark_conflict(_mapper: Any, _connection: Any, target: Any) -> None:
    """After the row is written the object holds plaintext again (what the code put there)."""
    for name in _CONFLICT_VALUES:
        value = getattr(target, name)
        if isinstance(value, ToSeal):
            attributes.set_committed_value(target, name, value.value)


def id_index_of(dialect: Any, entity: str, deleted: bool, fields: dict[str, Any] | None) -> str | None:
    """A records row's blind index: that of a (not deleted) person's ID number, else None."""
    fields = (fields or {}) if entity == "person" and not deleted else {}
    number = fields.get("id_number")
    return sealer_of(dialect).blind_index(number, fields.get("id_type")) \
        if isinstance(number, str) and number else None


def index_record(_mapper: Any, connection: Any, target: Any) -> None:
    """Before a records row is written through the ORM: its blind index (id_index_of)."""
    wanted = id_index_of(connection.dialect, target.entity, target.deleted, target.fields)
    if target.id_index != wanted:
        target.id_index = wanted


# ---------------------------------------------------------------------------- erasure

def erase_sealed(session: Session, rec: Any) -> None:
    """A deleted record keeps none of its sealed values: not in its row, its change-feed row, its
    conflicts, nor its blind index (``rec`` is a records row just marked deleted)."""
    from ..sync.models import Conflict
    from .models import Change

    sealed = entities.sealed_fields(rec.entity) if rec.entity in entities.ENTITIES else frozenset()
    if not sealed:
        return
    rec.fields = {k: v for k, v in (rec.fields or {}).items() if k not in sealed}
    rec.id_index = None
    feed = session.execute(
        select(Change).where(Change.entity == rec.entity, Change.entity_id == rec.id)
    ).scalar_one_or_none()
    if feed is not None and any(k in sealed for k in (feed.fields or {})):
        feed.fields = {k: v for k, v in feed.fields.items() if k not in sealed}
    session.execute(
        update(Conflict)
        .where(Conflict.entity == rec.entity, Conflict.entity_id == rec.id, Conflict.field.in_(sorted(sealed)))
        .values(kept_value=None, other_value=None)
        .execution_options(synchronize_session=False)
    )


# ---------------------------------------------------------------- sealing existing rows

@dataclass
class SealReport:
    records: int = 0
    changes: int = 0
    conflicts: int = 0
    erased: int = 0
    indexed: int = 0
    kid: str = ""

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _raw(value: Any) -> Any:
    """A JSON column's value as stored (the drivers give text on SQLite, parsed JSON on PostgreSQL)."""
    if isinstance(value, (str, bytes)):
        return json.loads(value)
    return value


def _stale(value: Any, newest: str) -> bool:
    """Plaintext (written before sealing) or sealed under an older key."""
    return value is not None and (not is_sealed(value) or token_kid(value) != newest)


def seal_existing(db: Any, batch: int = 500) -> SealReport:
    """Seal every sealed value still in plaintext and re-seal those under older keys with the newest
    key; erase the sealed values of persons deleted before erasure existed; recompute every blind
    index. Batches of ``batch`` rows, each in its own write transaction (the server may keep
    running). Idempotent."""
    from sqlalchemy import Text, cast

    from ..sync.models import Conflict
    from .models import Change, Record

    sealer: Sealer = sealer_of(db.engine.dialect)
    newest = sealer.newest().kid
    report = SealReport(kid=newest)

    def walk(table: Any, pk: Any, columns: list[Any], handle) -> None:  # noqa: ANN001
        after = None
        while True:
            with db.write() as session:
                q = select(pk, *[cast(c, Text) for c in columns]).order_by(pk).limit(batch)
                if after is not None:
                    q = q.where(pk > after)
                rows = session.execute(q.with_for_update()).all() if db.is_postgres else session.execute(q).all()
                if not rows:
                    return
                for row in rows:
                    handle(session, row[0], [_raw(v) if v is not None else None for v in row[1:]])
                after = rows[-1][0]

    def on_record(session: Session, rid: str, raw: list[Any]) -> None:
        fields = raw[0] or {}
        rec = session.get(Record, rid)
        if rec is None:
            return
        if rec.deleted and any(k in fields for k in entities.sealed_fields(rec.entity)):
            erase_sealed(session, rec)
            report.erased += 1
        elif any(_stale(fields.get(n), newest) for n in SEALED):
            attributes.flag_modified(rec, "fields")  # written back: the type seals with the newest key
            report.records += 1
        wanted = None
        if rec.entity == "person" and not rec.deleted and rec.fields.get("id_number"):
            wanted = sealer.blind_index(rec.fields["id_number"], rec.fields.get("id_type"))
        if rec.id_index != wanted:
            rec.id_index = wanted
            report.indexed += 1
        session.flush()

    def on_change(session: Session, seq: int, raw: list[Any]) -> None:
        fields = raw[0] or {}
        if any(_stale(fields.get(n), newest) for n in SEALED):
            row = session.get(Change, seq)
            attributes.flag_modified(row, "fields")
            session.flush()
            report.changes += 1

    def on_conflict(session: Session, cid: int, raw: list[Any]) -> None:
        row = session.get(Conflict, cid)
        owner = _conflict_owner(row)
        if owner is None:
            return
        changed = False
        for name, value in zip(_CONFLICT_VALUES, raw):
            if _stale(value, newest):
                setattr(row, name, ToSeal(getattr(row, name), owner))
                changed = True
        if changed:
            session.flush()
            unmark_conflict(None, None, row)
            report.conflicts += 1

    walk(Record, Record.id, [Record.fields], on_record)
    walk(Change, Change.seq, [Change.fields], on_change)
    walk(Conflict, Conflict.id, [Conflict.kept_value, Conflict.other_value], on_conflict)
    return report


def compact(db: Any) -> None:
    """Rewrite the tables so that the plaintext and old ciphertexts the re-sealing replaced do not
    linger in free pages (SQLite: checkpoint, VACUUM, truncate the WAL; PostgreSQL: VACUUM FULL of
    records, changes and conflicts, which locks them while it runs)."""
    # Outside any transaction (neither runs in one): the driver's own connection, autocommitting
    # (pysqlite's transaction handling is off on our engines, see sync_server.core.db).
    raw = db.engine.raw_connection()
    try:
        if db.is_postgres:
            raw.driver_connection.autocommit = True
            statements = ["VACUUM FULL records, changes, conflicts"]
        else:
            statements = ["PRAGMA wal_checkpoint(TRUNCATE)", "VACUUM", "PRAGMA wal_checkpoint(TRUNCATE)"]
        cur = raw.cursor()
        for sql in statements:
            cur.execute(sql)
            if cur.description:
                cur.fetchall()
        cur.close()
    finally:
        if db.is_postgres:
            raw.driver_connection.autocommit = False
        raw.close()


# ------------------------------------------------------------------------------- file modes

def sqlite_path(database_url: str) -> Path | None:
    if not database_url.startswith("sqlite:///"):
        return None
    raw = database_url[len("sqlite:///"):].split("?", 1)[0]
    if not raw or raw == ":memory:":
        return None
    return Path(raw)


def protect_sqlite_file(path: Path | None) -> None:
    """The database file and its -wal/-shm: 0600 (SQLite creates the WAL and shared-memory files
    with the database file's mode, so fixing it before WAL mode starts covers them too)."""
    if path is None:
        return
    for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm"),
              path.with_name(path.name + "-journal")):
        try:
            if stat.S_IMODE(p.stat().st_mode) != 0o600:
                os.chmod(p, 0o600)
        except FileNotFoundError:
            pass


def protect_dir(path: Path) -> None:
    """The data folder (database, blobs, scans, keys): made if missing, 0700 either way."""
    path = Path(path)
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if stat.S_IMODE(path.stat().st_mode) != 0o700:
        os.chmod(path, 0o700)


def protect_tree(roots: Iterable[Path]) -> int:
    """Existing data made before these rules: folders 0700, files 0600. Returns how many changed."""
    changed = 0
    for root in roots:
        root = Path(root)
        if not root.exists():
            continue
        for path in [root, *root.rglob("*")]:
            if path.is_symlink():
                continue
            want = 0o700 if path.is_dir() else 0o600
            if stat.S_IMODE(path.stat().st_mode) != want:
                os.chmod(path, want)
                changed += 1
    return changed
