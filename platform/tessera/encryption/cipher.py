"""Encrypting one field value: `enc1:<key id>:<r|d>:<base64url>`.

The stored text names its key and mode, so a value written under an older key still decrypts
after a rotation, and `tessera keys status` can count values per key with a LIKE on the prefix.

- randomized (`r`): AES-256-GCM with a random 96-bit nonce (nonce ‖ ciphertext ‖ tag). Equal
  values give unrelated ciphertexts: nothing can be learnt by comparing rows, and nothing can be
  filtered either.
- deterministic (`d`): AES-SIV (RFC 5297), the misuse-resistant deterministic AEAD, so equal
  plaintexts under one key give equal ciphertexts and equality can run in SQL (an index serves
  it; a unique index enforces uniqueness under one key). It reveals which rows are equal — the
  price of filtering, chosen per field.

No associated data binds a value to its object or field: a field rename (a column rename in the
change pipeline) must keep its values readable without rewriting them. Blank values ('' and
NULL) are stored as they are: blankness is what `required` and ISBLANK test in SQL, and it tells
no more than the column's NULLs already do.
"""
from __future__ import annotations

import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, AESSIV

from .keys import Key, Keyring

PREFIX = "enc1"
RANDOMIZED, DETERMINISTIC = "randomized", "deterministic"
MODE_CODES = {RANDOMIZED: "r", DETERMINISTIC: "d"}
_MODES = {v: k for k, v in MODE_CODES.items()}


class DecryptionError(ValueError):
    """A stored value that cannot be decrypted: its key is not configured, or it was altered."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encrypt_with(key: Key, mode: str, plaintext: str) -> str:
    data = plaintext.encode("utf-8")
    if mode == DETERMINISTIC:
        sealed = AESSIV(key.deterministic).encrypt(data, None)
    else:
        nonce = os.urandom(12)
        sealed = nonce + AESGCM(key.randomized).encrypt(nonce, data, None)
    return f"{PREFIX}:{key.id}:{MODE_CODES[mode]}:{_b64(sealed)}"


def encrypt(keyring: Keyring, mode: str, plaintext: str) -> str:
    """Under the primary key."""
    return encrypt_with(keyring.primary, mode, plaintext)


def equality_ciphertexts(keyring: Keyring, plaintext: str) -> list[str]:
    """A deterministic value as every key of the keyring writes it: a filter matches rows not yet
    re-encrypted under the primary key too."""
    return [encrypt_with(key, DETERMINISTIC, plaintext) for key in keyring.keys]


def parts(stored: str) -> tuple[str, str, str]:
    """(key id, mode, payload) of a stored value."""
    prefix, key_id, code, payload = (stored.split(":", 3) + ["", "", ""])[:4]
    if prefix != PREFIX or code not in _MODES or not payload:
        raise DecryptionError("not an encrypted value")
    return key_id, _MODES[code], payload


def decrypt(keyring: Keyring, stored: str) -> str:
    key_id, mode, payload = parts(stored)
    key = keyring.get(key_id)
    if key is None:
        raise DecryptionError(f"a value is encrypted under key {key_id!r}, which {keyring.source} does not hold")
    data = _unb64(payload)
    try:
        if mode == DETERMINISTIC:
            plain = AESSIV(key.deterministic).decrypt(data, None)
        else:
            plain = AESGCM(key.randomized).decrypt(data[:12], data[12:], None)
    except (InvalidTag, ValueError):
        raise DecryptionError(f"a value under key {key_id!r} does not decrypt (altered, or another key "
                              f"with the same id)") from None
    return plain.decode("utf-8")


def is_current(keyring: Keyring, stored: str, mode: str) -> bool:
    """Is a stored value under the primary key and in `mode` (nothing for rotation to do)?"""
    return stored.startswith(f"{PREFIX}:{keyring.primary.id}:{MODE_CODES[mode]}:")
