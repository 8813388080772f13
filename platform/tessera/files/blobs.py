"""The blob store: file contents behind a small interface, apart from the records describing them.

    put(stream, limit) -> Stored(key, size, sha256, head)   # reads the stream to its end
    open(key) -> a binary file object                        # FileNotFoundError when absent
    delete(key)                                              # no error when already gone

Keys are random (uuid4 hex): never derived from a name a user chose, so no upload can name a path.
Two stores:
  * DirectoryStore — a directory next to the database (the default for SQLite: `<db>.files/`
    beside the database file; for PostgreSQL the directory TESSERA_FILES_DIR, which every web worker
    must share). Writes go to a temporary file that is renamed into place once complete.
  * DatabaseStore — the `tessera_blob` platform table (TESSERA_FILE_STORE=database; the default
    for PostgreSQL without TESSERA_FILES_DIR, so workers behind a load balancer need no shared disk).
"""
from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import tempfile
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import delete, insert, select
from sqlalchemy.engine import make_url

from ..environment import EnvironmentSettingError
from ..storage.engine import begin_read, begin_write
from ..storage.platform_tables import blobs
from .errors import TooLarge
from .sniff import HEAD_BYTES

CHUNK = 256 * 1024
_KEY = re.compile(r"[0-9a-f]{32}")
DEFAULT_MAX_BYTES = 25 * 1024 * 1024


@dataclass(frozen=True)
class Stored:
    key: str
    size: int
    sha256: str
    head: bytes     # the first bytes, for sniffing the content type


def _copy(stream, sink, limit: int) -> tuple[int, str, bytes]:
    """Copy `stream` to `sink` (a callable taking chunks), hashing; TooLarge past `limit` bytes."""
    digest, size, head = hashlib.sha256(), 0, bytearray()
    while True:
        chunk = stream.read(CHUNK)
        if not chunk:
            break
        size += len(chunk)
        if size > limit:
            raise TooLarge(f"the file is larger than the upload limit of {_human(limit)}",
                           details={"max_bytes": limit})
        digest.update(chunk)
        if len(head) < HEAD_BYTES:
            head += chunk[:HEAD_BYTES - len(head)]
        sink(chunk)
    return size, digest.hexdigest(), bytes(head)


def _human(n: int) -> str:
    return f"{n / 1024 / 1024:g} MB" if n >= 1024 * 1024 else f"{n:,} bytes"


def check_key(key: str) -> str:
    if not isinstance(key, str) or not _KEY.fullmatch(key):
        raise FileNotFoundError(f"no blob {key!r}")
    return key


class DirectoryStore:
    kind = "directory"

    def __init__(self, root: str):
        self.root = os.path.abspath(root)

    def _path(self, key: str) -> str:
        check_key(key)
        return os.path.join(self.root, key[:2], key)

    def put(self, stream, limit: int = DEFAULT_MAX_BYTES) -> Stored:
        key = uuid.uuid4().hex
        final = self._path(key)
        os.makedirs(os.path.dirname(final), exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".upload-", dir=os.path.dirname(final))
        try:
            with os.fdopen(fd, "wb") as out:
                size, sha, head = _copy(stream, out.write, limit)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, final)
        except BaseException:
            _remove(tmp)
            raise
        return Stored(key, size, sha, head)

    def open(self, key: str):
        return open(self._path(key), "rb")

    def keys(self):
        """Every stored key (for backups); files being written (.upload-*) are not keys yet."""
        if not os.path.isdir(self.root):
            return
        for prefix in sorted(os.listdir(self.root)):
            folder = os.path.join(self.root, prefix)
            if len(prefix) == 2 and os.path.isdir(folder):
                yield from sorted(name for name in os.listdir(folder) if _KEY.fullmatch(name))

    def restore(self, key: str, stream) -> None:
        """Store `stream` under the given key (a restore brings blobs back under their own keys)."""
        final = self._path(key)
        os.makedirs(os.path.dirname(final), exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".upload-", dir=os.path.dirname(final))
        try:
            with os.fdopen(fd, "wb") as out:
                shutil.copyfileobj(stream, out, CHUNK)
            os.replace(tmp, final)
        except BaseException:
            _remove(tmp)
            raise

    def delete(self, key: str) -> None:
        try:
            _remove(self._path(key))
        except FileNotFoundError:
            pass


class DatabaseStore:
    kind = "database"

    def __init__(self, engine):
        self.engine = engine

    def put(self, stream, limit: int = DEFAULT_MAX_BYTES) -> Stored:
        buffer = io.BytesIO()
        size, sha, head = _copy(stream, buffer.write, limit)
        key = uuid.uuid4().hex
        with begin_write(self.engine) as conn:
            conn.execute(insert(blobs).values(key=key, size=size, data=buffer.getvalue(),
                                              created_at=datetime.now(timezone.utc)))
        return Stored(key, size, sha, head)

    def open(self, key: str):
        check_key(key)
        with begin_read(self.engine) as conn:
            data = conn.execute(select(blobs.c.data).where(blobs.c.key == key)).scalar()
        if data is None:
            raise FileNotFoundError(f"no blob {key!r}")
        return io.BytesIO(bytes(data))

    def keys(self):
        return iter(())     # blobs live in the database: a database snapshot already holds them

    def restore(self, key: str, stream) -> None:
        check_key(key)
        data = stream.read()
        with begin_write(self.engine) as conn:
            if conn.execute(select(blobs.c.key).where(blobs.c.key == key)).first() is None:
                conn.execute(insert(blobs).values(key=key, size=len(data), data=data,
                                                  created_at=datetime.now(timezone.utc)))

    def delete(self, key: str) -> None:
        check_key(key)
        with begin_write(self.engine) as conn:
            conn.execute(delete(blobs).where(blobs.c.key == key))


def _remove(path: str) -> None:
    try:
        os.remove(path)
    except FileNotFoundError:
        pass


def store_for(engine, environ=os.environ):
    """The org's blob store, from the environment: TESSERA_FILE_STORE (directory | database) and
    TESSERA_FILES_DIR (the directory; default for SQLite: `<database file>.files` beside it)."""
    kind = (environ.get("TESSERA_FILE_STORE") or "").strip().lower()
    directory = (environ.get("TESSERA_FILES_DIR") or "").strip()
    if kind not in ("", "directory", "database"):
        raise EnvironmentSettingError(f"TESSERA_FILE_STORE must be 'directory' or 'database', not {kind!r}")
    if kind == "database":
        return DatabaseStore(engine)
    if not directory:
        url = make_url(str(engine.url))
        if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
            directory = os.path.abspath(url.database) + ".files"
        elif kind == "directory":
            raise EnvironmentSettingError("TESSERA_FILE_STORE=directory needs TESSERA_FILES_DIR (a directory every worker shares)")
        else:
            return DatabaseStore(engine)
    return DirectoryStore(directory)


def max_upload_bytes(environ=os.environ) -> int:
    """TESSERA_MAX_UPLOAD_BYTES (default 25 MB)."""
    text = (environ.get("TESSERA_MAX_UPLOAD_BYTES") or "").strip()
    if not text:
        return DEFAULT_MAX_BYTES
    if not text.isascii() or not text.isdigit() or int(text) < 1:
        raise EnvironmentSettingError(f"TESSERA_MAX_UPLOAD_BYTES must be a positive number of bytes, not {text!r}")
    return int(text)
