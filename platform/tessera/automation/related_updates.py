"""The update_related workflow action: set fields of the records whose lookup points at the
triggering record (the open tasks of a closed case, the contacts of an account).

Every related record is updated through the record service, one by one, in the write's
transaction: their own workflows, rules and roll-ups run exactly as for any other write. A step
touching more than MAX_RELATED records fails the run instead of holding the write lock for
minutes — the same bound Salesforce puts on the rows one transaction may change.
"""
from __future__ import annotations

from ..records.reads import MAX_LIMIT

MAX_RELATED = 10_000


class TooManyRelated(Exception):
    pass


def related_ids(records, actor, object_name: str, lookup: str, record_id, extra_filter: str | None) -> list:
    """Ids of the related records to update, all read before the first update (the updates may
    change what the filter selects, which must not move a page boundary under us)."""
    # the record id is a UUID we read from the database, never user text: quoting it is safe
    text = f"{lookup} == '{record_id}'"
    if extra_filter:
        text = f"({text}) and ({extra_filter})"
    ids, cursor = [], None
    while True:
        page = records.query(actor, object_name, filter=text, fields=["id"], limit=MAX_LIMIT, cursor=cursor)
        ids += [r["id"] for r in page.records]
        if len(ids) > MAX_RELATED:
            raise TooManyRelated(f"more than {MAX_RELATED:,} {object_name} records match; update them with a "
                                 f"scheduled workflow on {object_name} instead")
        if not page.next_cursor:
            return ids
        cursor = page.next_cursor


def update_related(records, actor, object_name: str, lookup: str, record_id, extra_filter: str | None,
                   values: dict) -> list:
    """Update each related record with `values` (record-service input); the ids updated."""
    ids = related_ids(records, actor, object_name, lookup, record_id, extra_filter)
    for rid in ids:
        records.update(actor, object_name, rid, values)
    return ids
