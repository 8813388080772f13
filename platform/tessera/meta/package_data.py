"""A package's data files: `patches/NNNN_name.yaml` (record operations run once per org when an
upgrade brings them) and `data/<object>.csv` (seed records loaded once, on first install).

They are read with the package (directory or archive) into its source, so the version snapshot
keeps them with the metadata they were written against:
  source["patches"] = {"0001_name": {"source": file, "doc": {...}}}   (data_patch.schema.json)
  source["data"]    = {"object": {"source": file, "csv": text}}
Running them is the packaging layer's (packaging/data_patches.py), inside the change pipeline.
"""
from __future__ import annotations

import csv
import io
import re

from . import safe_yaml
from .errors import MetaError
from .schema import validate_document

PATCH_NAME = re.compile(r"^[0-9]{4}_[a-z][a-z0-9_]{0,59}$")
OBJECT_NAME = re.compile(r"^[a-z][a-z0-9_]{0,79}$")
FOLDERS = ("patches", "data")


def data_member(path: str) -> tuple[str, str] | None:
    """(folder, file stem) when `path` is a patch (`patches/x.yaml`) or seed data (`data/x.csv`)."""
    parts = path.split("/")
    if len(parts) != 2 or parts[0] not in FOLDERS:
        return None
    stem, dot, suffix = parts[1].rpartition(".")
    expected = (".yaml", ".yml") if parts[0] == "patches" else (".csv",)
    return (parts[0], stem) if dot and stem and f".{suffix}" in expected else None


def parse_data_files(files: dict[str, bytes], origin: str, errors: list[MetaError]) -> dict:
    """{"patches": {...}, "data": {...}} from the data members of `files` ({relative path: bytes}),
    each checked: patch names, their schema, CSV text with a header row."""
    out: dict[str, dict] = {"patches": {}, "data": {}}
    for path in sorted(files):
        member = data_member(path)
        if member is None:
            continue
        folder, stem = member
        source = f"{origin}/{path}"
        if stem in out[folder]:
            errors.append(MetaError(source, "", f"'{stem}' is also defined by {out[folder][stem]['source']}"))
        elif folder == "patches":
            _add_patch(out, stem, source, files[path], errors)
        else:
            _add_data(out, stem, source, files[path], errors)
    return out


def _add_patch(out, stem, source, data, errors) -> None:
    if not PATCH_NAME.match(stem):
        errors.append(MetaError(source, "", "a patch file is named NNNN_name.yaml (four digits, then a lowercase "
                                            "name: 0001_fill_region.yaml); patches run in name order"))
        return
    try:
        doc = safe_yaml.parse(data)
    except safe_yaml.YamlRefused as exc:
        errors.append(MetaError(source, "", str(exc)))
        return
    problems = validate_document("data_patch", doc, source)
    if problems:
        errors.extend(problems)
        return
    out["patches"][stem] = {"source": source, "doc": doc}


def _add_data(out, stem, source, data, errors) -> None:
    if not OBJECT_NAME.match(stem):
        errors.append(MetaError(source, "", "a seed data file is named after its object: data/<object>.csv"))
        return
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        errors.append(MetaError(source, "", "is not UTF-8 text"))
        return
    try:
        header = next(csv.reader(io.StringIO(text)), None)
    except csv.Error as exc:
        errors.append(MetaError(source, "", f"is not CSV: {exc}"))
        return
    if not header or not all(h.strip() for h in header):
        errors.append(MetaError(source, "", "the first row names the fields (no blank column names)"))
        return
    out["data"][stem] = {"source": source, "csv": text}


def rows(item: dict) -> list[dict[str, str]]:
    """The records of a seed data file: {field: text} per row, blank cells left out."""
    reader = csv.DictReader(io.StringIO(item["csv"]))
    return [{k.strip(): v for k, v in row.items() if k and v not in (None, "")} for row in reader]
