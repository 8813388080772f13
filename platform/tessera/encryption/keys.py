"""The encryption keyring: the keys of encrypted fields, from the operator's environment.

`TESSERA_ENCRYPTION_KEY` holds one key — base64 of 32 random bytes, or `key_id: base64` — and
`TESSERA_ENCRYPTION_KEY_FILE` names a file of `key_id: base64` lines (blank lines and `#` comments
allowed): the first line is the *primary* key, which encrypts; every key decrypts. Rotation is
therefore: put a new line first, restart the workers, run `tessera keys rotate`, and drop the old
line once `tessera keys status` counts no value under it.

Keys are process configuration like the database URL (twelve-factor), not database content: a
backup of the database alone never holds what decrypts it. Each master key is stretched with
HKDF-SHA256 into two independent keys, one per mode (AES-256-GCM takes 32 bytes, AES-SIV 64), so
one key never serves two algorithms.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ..environment import EnvironmentSettingError

KEY_VARIABLE = "TESSERA_ENCRYPTION_KEY"
FILE_VARIABLE = "TESSERA_ENCRYPTION_KEY_FILE"
KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
KEY_BYTES = 32


@dataclass(frozen=True)
class Key:
    id: str
    randomized: bytes      # AES-256-GCM key
    deterministic: bytes   # AES-SIV key (two AES-256 keys)


@dataclass(frozen=True)
class Keyring:
    keys: tuple[Key, ...]   # the first one is the primary
    source: str             # the variable it came from, for messages

    @property
    def primary(self) -> Key:
        return self.keys[0]

    def get(self, key_id: str) -> Key | None:
        return next((k for k in self.keys if k.id == key_id), None)


def _derive(master: bytes, purpose: bytes, length: int) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=b"tessera field encryption " + purpose
                ).derive(master)


def make_key(key_id: str, master: bytes) -> Key:
    return Key(key_id, _derive(master, b"randomized", 32), _derive(master, b"deterministic", 64))


def _decode(text: str, where: str) -> bytes:
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != KEY_BYTES:
        raise EnvironmentSettingError(f"{where}: a key must be base64 of {KEY_BYTES} random bytes "
                                      f"(`tessera keys generate` prints one)")
    return raw


def _line(text: str, where: str, *, id_required: bool) -> Key:
    key_id, sep, value = text.partition(":")
    if not sep:
        if id_required:
            raise EnvironmentSettingError(f"{where}: expected `key_id: base64` (`tessera keys generate` prints one)")
        raw = _decode(text, where)
        # a bare key is named by its fingerprint, so moving it into a key file later keeps its id
        return make_key("k" + hashlib.sha256(raw).hexdigest()[:8], raw)
    key_id = key_id.strip()
    if not KEY_ID.match(key_id):
        raise EnvironmentSettingError(f"{where}: key id {key_id!r} must be 1-32 letters, digits, '_' or '-'")
    return make_key(key_id, _decode(value, where))


def parse_keyring(key_text: str | None, file_name: str | None) -> Keyring | None:
    """The keyring the two variables describe (None: neither is set). Raises EnvironmentSettingError."""
    if key_text and key_text.strip():
        return Keyring((_line(key_text.strip(), KEY_VARIABLE, id_required=False),), KEY_VARIABLE)
    if not file_name:
        return None
    try:
        lines = Path(file_name).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise EnvironmentSettingError(f"{FILE_VARIABLE}: cannot read {file_name!r}: {exc.strerror}") from None
    keys = [_line(line.strip(), f"{FILE_VARIABLE} line {n}", id_required=True)
            for n, line in enumerate(lines, 1) if line.strip() and not line.strip().startswith("#")]
    if not keys:
        raise EnvironmentSettingError(f"{FILE_VARIABLE}: {file_name!r} holds no key")
    ids = [k.id for k in keys]
    duplicate = next((i for i in ids if ids.count(i) > 1), None)
    if duplicate:
        raise EnvironmentSettingError(f"{FILE_VARIABLE}: key id {duplicate!r} appears twice")
    return Keyring(tuple(keys), FILE_VARIABLE)


_lock = threading.Lock()
_cache: dict = {}


def current_keyring() -> Keyring | None:
    """The keyring of this process's environment, parsed once per setting (a changed variable —
    a test, a restarted worker — is read again; an edited key file needs a restart)."""
    settings = (os.environ.get(KEY_VARIABLE), os.environ.get(FILE_VARIABLE))
    hit = _cache.get(settings)
    if hit is None:
        with _lock:
            hit = _cache.get(settings)
            if hit is None:
                _cache.clear()
                hit = _cache[settings] = (parse_keyring(*settings),)
    return hit[0]


def required_keyring() -> Keyring:
    keyring = current_keyring()
    if keyring is None:
        raise EnvironmentSettingError(f"encrypted fields need a key: set {KEY_VARIABLE} (base64 of 32 random bytes) "
                                      f"or {FILE_VARIABLE} (`tessera keys generate` prints a key)")
    return keyring


def generate_line(key_id: str | None = None) -> str:
    """A new key as a key-file line: `key_id: base64`."""
    key_id = key_id or "k" + secrets.token_hex(4)
    if not KEY_ID.match(key_id):
        raise ValueError(f"key id {key_id!r} must be 1-32 letters, digits, '_' or '-'")
    return f"{key_id}: {base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()}"


def encrypted_fields(md) -> list[tuple[str, str]]:
    """(object, field) of every encrypted field of a metadata version."""
    return [(o.name, f.name) for o in md.objects.values() for f in o.stored_fields if f.encrypted]


def missing_key_reasons(old_md, new_md) -> list[str]:
    """The change pipeline's refusal when either version has encrypted fields and no key is
    configured (turning encryption off needs the key as much as turning it on)."""
    fields = encrypted_fields(new_md) + (encrypted_fields(old_md) if old_md is not None else [])
    if not fields:
        return []
    try:
        if current_keyring() is not None:
            return []
    except EnvironmentSettingError as exc:
        return [str(exc)]
    return [_no_key_message(fields)]


def _no_key_message(fields) -> str:
    names = ", ".join(dict.fromkeys(f"{o}.{f}" for o, f in fields[:5])) + (" …" if len(fields) > 5 else "")
    return (f"encrypted fields ({names}) need a key: set {KEY_VARIABLE} (base64 of 32 random bytes) or "
            f"{FILE_VARIABLE} (`tessera keys generate` prints a key)")


def require_keys_for(md) -> None:
    """Refuse to run metadata with encrypted fields when no key is configured (the app and the
    change pipeline call this), naming the variables."""
    fields = encrypted_fields(md)
    if fields and current_keyring() is None:
        raise EnvironmentSettingError(_no_key_message(fields))
