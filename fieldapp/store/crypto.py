"""Encryption at rest for personal data (PIPL): AES-256-GCM with a data key kept outside the database.

What is encrypted on the phone: resident ID numbers, phone numbers, bank account numbers, medical
details (columns ``*_enc`` of ``persons``), the device token in ``sync_state``, the same values while
they wait in the outbox (``outbox.sealed``), and scanned papers (ID cards, bank cards, medical
records: files under ``scans/``). Site photos are NOT encrypted: they are evidence that is uploaded
as-is and hashed byte for byte.

Format of one sealed value: ``b"\\x01" + nonce (12 random bytes) + ciphertext-with-tag``. A fresh
nonce per value (random 96-bit nonces are safe for far more values than a phone ever writes with one
key). The *associated data* binds each value to where it belongs (``table|column|row id``), so a
ciphertext copied into another row or column fails authentication instead of silently showing
somebody else's ID number.

Where the key lives is the :class:`KeyProvider`'s business:

* desktop and web mode: :class:`FileKeyProvider` writes 32 random bytes (base64) to a file created
  with mode 0600, next to, but never inside, the database;
* on a phone, the same two-method interface is implemented over the platform's secure storage
  (Android Keystore-backed EncryptedSharedPreferences, iOS Keychain). Flet's ``SharedPreferences``
  (``page.shared_preferences``) is plain, unencrypted app storage and is NOT a secure place for the
  key: a backup or a rooted phone reads it like a text file.
"""
from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path
from typing import Protocol, runtime_checkable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from fieldapp.durable import fsync_dir

KEY_BYTES = 32
_FORMAT = b"\x01"
_NONCE_BYTES = 12
# A constant sealed with the data key and stored in the database, so that opening the database with
# the wrong key (restored backup, key file from another install) fails loudly at open instead of
# showing garbage later.
KEY_CHECK_PLAINTEXT = b"dazu-store-key-check"
KEY_CHECK_AAD = "settings|key_check|store"


class StoreKeyError(RuntimeError):
    """The data key is missing or does not belong to this database (shown to the user as is)."""


class DecryptionError(StoreKeyError):
    """A sealed value failed authentication: wrong key, or the value was moved or tampered with."""


@runtime_checkable
class KeyProvider(Protocol):
    """Where the 256-bit data key is kept. Implement this over the platform's secure storage."""

    def load_key(self) -> bytes | None:
        """The stored key, or None when none was ever created."""

    def create_key(self) -> bytes:
        """Create, durably store and return a new random 32-byte key. Never overwrites a key."""


class FileKeyProvider:
    """Key in a 0600 file (desktop and web mode). Keep the file out of shared or synced folders."""

    def __init__(self, path: Path | str):
        self.path = Path(path)

    def load_key(self) -> bytes | None:
        try:
            text = self.path.read_text(encoding="ascii").strip()
        except FileNotFoundError:
            return None
        try:
            key = base64.b64decode(text, validate=True)
        except ValueError as exc:
            raise StoreKeyError(f"key file {self.path} is not valid base64") from exc
        if len(key) != KEY_BYTES:
            raise StoreKeyError(f"key file {self.path} does not hold a {KEY_BYTES}-byte key")
        return key

    def create_key(self) -> bytes:
        key = secrets.token_bytes(KEY_BYTES)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # O_EXCL: two app instances racing must not both "create" and one lose its key; 0600 from the
        # first byte (not chmod afterwards) so the key is never briefly world-readable.
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, base64.b64encode(key) + b"\n")
            os.fsync(fd)
        finally:
            os.close(fd)
        fsync_dir(self.path.parent)
        return key


def aad_for(table: str, column: str, row_id: str) -> str:
    return f"{table}|{column}|{row_id}"


class FieldCipher:
    """Seals and opens single values and files with one data key."""

    def __init__(self, key: bytes):
        if len(key) != KEY_BYTES:
            raise StoreKeyError(f"data key must be {KEY_BYTES} bytes")
        self._aead = AESGCM(key)

    def seal_bytes(self, data: bytes, aad: str) -> bytes:
        nonce = secrets.token_bytes(_NONCE_BYTES)
        return _FORMAT + nonce + self._aead.encrypt(nonce, data, aad.encode("utf-8"))

    def open_bytes(self, sealed: bytes, aad: str) -> bytes:
        if not sealed or sealed[:1] != _FORMAT or len(sealed) < 1 + _NONCE_BYTES + 16:
            raise DecryptionError(f"not a sealed value ({aad})")
        nonce = sealed[1 : 1 + _NONCE_BYTES]
        try:
            return self._aead.decrypt(nonce, sealed[1 + _NONCE_BYTES :], aad.encode("utf-8"))
        except InvalidTag as exc:
            raise DecryptionError(f"sealed value failed authentication ({aad})") from exc

    def seal_text(self, value: str | None, aad: str) -> bytes | None:
        if value is None:
            return None
        return self.seal_bytes(value.encode("utf-8"), aad)

    def open_text(self, sealed: bytes | None, aad: str) -> str | None:
        if sealed is None:
            return None
        return self.open_bytes(sealed, aad).decode("utf-8")

    def key_check(self) -> bytes:
        return self.seal_bytes(KEY_CHECK_PLAINTEXT, KEY_CHECK_AAD)

    def verify_key_check(self, sealed: bytes) -> bool:
        try:
            return self.open_bytes(sealed, KEY_CHECK_AAD) == KEY_CHECK_PLAINTEXT
        except DecryptionError:
            return False
