"""Parse metadata YAML that may come from anyone (a partner's package, a downloaded org export).

Metadata is small, plain data. So this reader refuses what only an attacker needs, while parsing:
  - anchors and aliases (`&a` / `*a`): "billion laughs" grows a few lines into gigabytes; metadata
    never needs them. Refused at the first anchor, before anything is expanded.
  - nesting deeper than MAX_DEPTH: PyYAML's composer recurses once per level, so 100,000 `[`
    end in a RecursionError. Counted as the composer descends, refused at level MAX_DEPTH + 1.
  - files larger than MAX_FILE_BYTES, links, devices and pipes: the file is opened without
    following a link and must be a regular file; at most MAX_FILE_BYTES + 1 bytes are ever read.
  - duplicate keys (PyYAML silently keeps the last one).
Errors name the file, line and column and never quote the file's content.
"""
from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import ComposerError
from yaml.constructor import ConstructorError
from yaml.events import AliasEvent, MappingStartEvent, SequenceStartEvent

MAX_FILE_BYTES = 1024 * 1024     # one metadata file; the largest stock file is under 20 KiB
MAX_DEPTH = 64                   # stock metadata nests fewer than 10 levels


class YamlRefused(Exception):
    """The file cannot be read as metadata; the message names the place, never the content."""


def short(text: str, limit: int = 80) -> str:
    """`text` cut to `limit` characters: errors may name a value, never paste a huge one."""
    text = str(text)
    return text if len(text) <= limit else text[:limit - 3] + "..."


class StrictLoader(yaml.SafeLoader):
    """SafeLoader without anchors/aliases, with a depth limit and no duplicate keys."""

    def __init__(self, stream):
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(event, AliasEvent):
            raise ComposerError(None, None, "aliases (*name) are not allowed in metadata", event.start_mark)
        if event.anchor is not None:
            raise ComposerError(None, None, "anchors (&name) are not allowed in metadata", event.start_mark)
        if not isinstance(event, (MappingStartEvent, SequenceStartEvent)):
            return super().compose_node(parent, index)
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise ComposerError(None, None, f"nested more than {MAX_DEPTH} levels deep", event.start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _construct_mapping(loader, node, deep=False):
    seen = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        try:
            duplicate = key in seen
            seen.add(key)
        except TypeError:    # an unhashable key (a list); the schema names it later
            continue
        if duplicate:
            raise ConstructorError(None, None, f"duplicate key {short(repr(key))}", key_node.start_mark)
    return loader.construct_mapping(node, deep=deep)


StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def read_bytes(path: Path, limit: int = MAX_FILE_BYTES) -> bytes:
    """The content of the regular file `path`, refusing links, non-files and files over `limit`.

    O_NOFOLLOW closes the gap between a caller's "is it a link?" check and the open; O_NONBLOCK
    keeps a named pipe from blocking the open (it is then refused as not a regular file)."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    if path.is_symlink():
        raise YamlRefused("is a symbolic link (links are not allowed in metadata directories)")
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise YamlRefused(f"cannot read file: {exc.strerror or exc}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise YamlRefused("is not a regular file")
        if info.st_size > limit:
            raise YamlRefused(f"is too large ({info.st_size} bytes; a metadata file may have at most {limit})")
        with os.fdopen(fd, "rb", closefd=False) as handle:
            data = handle.read(limit + 1)
    except OSError as exc:
        raise YamlRefused(f"cannot read file: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    if len(data) > limit:   # grew after fstat
        raise YamlRefused(f"is too large (a metadata file may have at most {limit} bytes)")
    return data


def parse(data: bytes) -> Any:
    """Parse one YAML document with StrictLoader. Raises YamlRefused("invalid YAML at line L, column C: ...")."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise YamlRefused(f"is not UTF-8 text (byte {exc.start})") from None
    try:
        return yaml.load(text, Loader=StrictLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        # `problem` is PyYAML's one-line reason; str(exc) would add a snippet of the file.
        problem = getattr(exc, "problem", None) or "not a YAML document"
        raise YamlRefused(f"invalid YAML{where}: {short(problem, 160)}") from None
