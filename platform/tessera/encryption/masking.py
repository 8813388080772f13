"""What a reader without the `view_encrypted_data` system permission sees of an encrypted field.

A mask keeps the last four characters of values of 8 characters or more ("•••• 6789": enough to
tell two cards or numbers apart on the phone, as banks show them) and nothing of shorter ones,
whose last four would be most of the secret. Its length never follows the value's.

Masking is applied by the record service to what it returns (REST API, forms and record pages,
exports and reports all read through it); the actor without the permission may still write the
field when their field rights allow it — a form sending a mask back unchanged keeps the stored
value (`unmasked`, called by the record service's update).
"""
from __future__ import annotations

BULLETS = "••••"
PERMISSION = "view_encrypted_data"


def mask(value):
    if value is None or value == "":
        return value
    text = str(value)
    return f"{BULLETS} {text[-4:]}" if len(text) >= 8 else BULLETS


def is_mask_of(sent, stored) -> bool:
    """Is `sent` what a masked reader was shown of `stored` (a form sent back unchanged)?"""
    return isinstance(sent, str) and sent.startswith(BULLETS) and sent == mask(stored)


def encrypted_paths(md, obj, paths) -> list[str]:
    """The paths (dotted, through lookups) that end in an encrypted field."""
    out = []
    for p in paths:
        path = tuple(p.split("."))
        steps = md.resolve_path(obj, path)
        if steps and len(steps) == len(path):
            owner, name = steps[-1]
            f = owner.fields.get(name)
            if f is not None and f.encrypted:
                out.append(p)
    return out


def mask_records(md, obj, access, records: list[dict], paths) -> list[dict]:
    """Mask the encrypted fields of `records` (in place) unless `access` may view encrypted data."""
    if not records or access.system(PERMISSION):
        return records
    hidden = encrypted_paths(md, obj, paths)
    for record in records:
        for p in hidden:
            if p in record:
                record[p] = mask(record[p])
    return records


def unmasked(obj, access, data: dict, current) -> dict:
    """`data` without the encrypted fields a masked reader sent back exactly as shown to them: the
    mask is not a value to write."""
    if access.system(PERMISSION):
        return data
    kept = {n for n, v in data.items() if n in obj.fields and obj.fields[n].encrypted and is_mask_of(v, current.get(n))}
    return {k: v for k, v in data.items() if k not in kept} if kept else data
