"""The package archive format (`NAME-VERSION.tpkg`): a zip of the package's files plus a manifest.

Why zip rather than tar: a zip's central directory lists every member's name, type bits and
declared size up front, so the reader judges the whole archive (names, links, devices, counts,
sizes) before inflating a single byte, and reads members one by one from memory with the
standard library. A tar must be streamed member by member to learn what it holds, and it can
express hard links and devices natively; zip can only through Unix mode bits, which the reader
refuses.

Layout:
  package.yaml, objects/x.yaml, layouts/…   the package's files, at the archive's root
  .tpkg/manifest.json                        the manifest (below)
  .tpkg/signature.json                       only when signed (packaging/signing.py)

The manifest is canonical JSON (sorted keys, no spaces), so its bytes are what is signed:
  {"format": "tessera-package/1", "name", "version", "content_hash",
   "files": [{"path", "size", "sha256"}, …] sorted by path}
`content_hash` = sha256 over the sorted lines "<sha256> <size> <path>\\n" of every file: the
package's identity, whatever zip tool wrote the bytes around them.
"""
from __future__ import annotations

import hashlib
import json

from ..meta import safe_yaml
from ..meta.package_data import data_member
from ..meta.source import MAX_DIRECTORY_BYTES, package_member

FORMAT = "tessera-package/1"
SUFFIX = ".tpkg"
META_DIR = ".tpkg/"
MANIFEST = META_DIR + "manifest.json"
SIGNATURE = META_DIR + "signature.json"

# What one archive may hold: the same budget as a package directory (meta/source.py), since the
# archive's content becomes one. Checked against the declared sizes first, then counted again
# while reading (a zip may lie about its sizes).
MAX_FILES = 2000                                  # the stock Sales app has under 100
MAX_FILE_BYTES = safe_yaml.MAX_FILE_BYTES         # one metadata file
MAX_TOTAL_BYTES = MAX_DIRECTORY_BYTES             # every file, uncompressed
MAX_META_BYTES = 1024 * 1024                      # manifest.json, signature.json
MAX_ARCHIVE_BYTES = MAX_TOTAL_BYTES + 4 * MAX_META_BYTES   # the .tpkg file itself


def is_package_file(path: str) -> bool:
    """A file an archive may carry: package.yaml, a component (`objects/x.yaml`), a data patch
    (`patches/0001_x.yaml`) or seed data (`data/x.csv`)."""
    return path == "package.yaml" or package_member(path) is not None or data_member(path) is not None


def file_entry(path: str, data: bytes) -> dict:
    return {"path": path, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def content_hash(entries: list[dict]) -> str:
    lines = "".join(f"{e['sha256']} {e['size']} {e['path']}\n" for e in sorted(entries, key=lambda e: e["path"]))
    return hashlib.sha256(lines.encode("utf-8")).hexdigest()


def canonical(doc: dict) -> bytes:
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def make_manifest(name: str, version: str, files: dict[str, bytes]) -> bytes:
    entries = [file_entry(path, files[path]) for path in sorted(files)]
    return canonical({"format": FORMAT, "name": name, "version": version, "content_hash": content_hash(entries),
                      "files": entries})


def parse_json(data: bytes) -> dict:
    """A JSON object, refusing duplicate keys (the last would silently win). ValueError names why."""
    def no_duplicates(pairs):
        keys = [k for k, _ in pairs]
        if len(set(keys)) != len(keys):
            raise ValueError(f"duplicate key {safe_yaml.short(repr(next(k for k in keys if keys.count(k) > 1)))}")
        return dict(pairs)
    try:
        doc = json.loads(data.decode("utf-8"), object_pairs_hook=no_duplicates)
    except UnicodeDecodeError:
        raise ValueError("is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"is not valid JSON (line {exc.lineno}, column {exc.colno})") from None
    if not isinstance(doc, dict):
        raise ValueError("is not a JSON object")
    return doc


def check_manifest(doc: dict) -> list[str]:
    """What is wrong with a parsed manifest's shape (not its hashes)."""
    problems = []
    if doc.get("format") != FORMAT:
        problems.append(f"format must be '{FORMAT}'")
    for key in ("name", "version", "content_hash"):
        if not isinstance(doc.get(key), str) or not doc.get(key):
            problems.append(f"'{key}' must be a non-empty string")
    files = doc.get("files")
    if not isinstance(files, list):
        return problems + ["'files' must be a list"]
    for i, entry in enumerate(files):
        if not (isinstance(entry, dict) and set(entry) == {"path", "size", "sha256"}
                and isinstance(entry["path"], str) and isinstance(entry["sha256"], str)
                and isinstance(entry["size"], int) and not isinstance(entry["size"], bool) and entry["size"] >= 0):
            problems.append(f"files[{i}] must be {{path, size, sha256}}")
    return problems
