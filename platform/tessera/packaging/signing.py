"""Ed25519 signing keys and package signatures (the `cryptography` library).

A key pair is two PEM files: NAME.key (PKCS#8, unencrypted, mode 0600) and NAME.pub
(SubjectPublicKeyInfo): standard formats `openssl pkey` reads too. A key is known by its id, the
sha256 of its 32 raw public bytes.

The signature (`.tpkg/signature.json`) signs the manifest's exact bytes, which carry the content
hash and every file's hash, behind a domain prefix so the signature can never be replayed as a
signature of anything else. It carries the public key and the signer's name, both only claims:
an org trusts a key by its id (packaging/trust.py), never by the name an archive gives itself.
"""
from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from .archive_format import canonical, parse_json

DOMAIN = b"tessera-package-signature/1\n"
ALGORITHM = "ed25519"
MAX_KEY_FILE_BYTES = 16 * 1024


class KeyFileError(ValueError):
    """A key file that cannot be used; the message names the file."""


@dataclass(frozen=True)
class Signature:
    key_id: str        # sha256 hex of the raw public key
    public_key: bytes  # 32 raw bytes
    signer: str        # the name the signer gave (a claim)

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.key_id)


def key_id(raw_public: bytes) -> str:
    return hashlib.sha256(raw_public).hexdigest()


def fingerprint(kid: str) -> str:
    """The short form people compare: `ed25519:` and the first 16 hex digits of the key id."""
    return f"{ALGORITHM}:{kid[:16]}"


def _raw(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _write_new(path: Path, data: bytes, mode: int) -> None:
    # O_EXCL: never overwrite a key (losing a private key cannot be undone)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def keygen(name: str, directory: Path) -> tuple[Path, Path]:
    """Write NAME.key (0600) and NAME.pub in `directory`; FileExistsError when either exists."""
    private_path, public_path = directory / f"{name}.key", directory / f"{name}.pub"
    for path in (private_path, public_path):
        if path.exists() or path.is_symlink():
            raise FileExistsError(f"{path} already exists (keys are never overwritten)")
    key = Ed25519PrivateKey.generate()
    _write_new(private_path, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()), 0o600)
    _write_new(public_path, key.public_key().public_bytes(serialization.Encoding.PEM,
                                                          serialization.PublicFormat.SubjectPublicKeyInfo), 0o644)
    return private_path, public_path


def _read_key_file(path: Path) -> bytes:
    try:
        if not path.is_file():
            raise KeyFileError(f"{path}: no such key file")
        if path.stat().st_size > MAX_KEY_FILE_BYTES:
            raise KeyFileError(f"{path}: too large for a key file")
        return path.read_bytes()
    except OSError as exc:
        raise KeyFileError(f"{path}: cannot read: {exc.strerror or exc}") from None


def load_private_key(path: Path) -> Ed25519PrivateKey:
    data = _read_key_file(path)
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise KeyFileError(f"{path}: not an unencrypted PEM private key ({exc})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(f"{path}: not an Ed25519 private key (make one with `tessera package keygen NAME`)")
    return key


def load_public_key(path: Path) -> bytes:
    """The raw 32 bytes of the Ed25519 public key in the PEM file `path`."""
    data = _read_key_file(path)
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError):
        hint = " (that is the private key: give the .pub file)" if b"PRIVATE KEY" in data else ""
        raise KeyFileError(f"{path}: not a PEM public key{hint}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise KeyFileError(f"{path}: not an Ed25519 public key")
    return _raw(key)


def sign(manifest: bytes, key: Ed25519PrivateKey, signer: str) -> bytes:
    """The signature document (`.tpkg/signature.json`) of the manifest bytes."""
    raw = _raw(key.public_key())
    return canonical({"algorithm": ALGORITHM, "signer": signer, "public_key": base64.b64encode(raw).decode("ascii"),
                      "signature": base64.b64encode(key.sign(DOMAIN + manifest)).decode("ascii")})


def verify(manifest: bytes, signature_doc: bytes) -> Signature:
    """The signature of `manifest`, checked against the key it names. ValueError says why not."""
    doc = parse_json(signature_doc)
    if doc.get("algorithm") != ALGORITHM:
        raise ValueError(f"algorithm must be '{ALGORITHM}'")
    signer = doc.get("signer")
    if not isinstance(signer, str) or not 0 < len(signer) <= 120:
        raise ValueError("'signer' must be a name of 1 to 120 characters")
    try:
        raw = base64.b64decode(doc.get("public_key") or "", validate=True)
        signature = base64.b64decode(doc.get("signature") or "", validate=True)
        public = Ed25519PublicKey.from_public_bytes(raw)
    except (ValueError, TypeError):
        raise ValueError("the public key or signature is not base64 of an Ed25519 key and signature") from None
    try:
        public.verify(signature, DOMAIN + manifest)
    except InvalidSignature:
        raise ValueError("the signature does not match the manifest (the archive was changed after signing, "
                         "or signed with another key)") from None
    return Signature(key_id(raw), raw, signer)
