"""Password hashing: werkzeug's scrypt (salted, memory-hard); never stored or logged in clear."""
from __future__ import annotations

import secrets

from werkzeug.security import check_password_hash, generate_password_hash


def hash_password(password: str) -> str:
    return generate_password_hash(password, method="scrypt")


def verify_password(password_hash: str, password: str) -> bool:
    return check_password_hash(password_hash, password)


def generate_password() -> str:
    return secrets.token_urlsafe(15)
