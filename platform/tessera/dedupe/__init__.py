"""Duplicate rules at run time (metadata: meta/duplicate_rules.py): match keys kept per record, so a
duplicate check is an index lookup at any table size.

- keys.py      values → normalized parts → one hashed key per record and rule (plus the fuzzy texts)
- storage.py   the keys table of an object, `dupkeys__<object>` (one row per record and active rule)
- maintain.py  keeps it current: the record service calls it inside every write's transaction; the
               change pipeline builds a rule's keys from every row when the rule is added or its
               conditions change (changes/dedupe_steps.py)
- match.py     the candidates of a record under a rule: equal keys (and, for fuzzy conditions, a
               length range a similarity allows), then fuzzy texts scored with rapidfuzz

A side table rather than key columns on the object table: rules come and go through the change
pipeline without altering the object's table (SQLite rewrites a table to change it), one table
holds the keys of every rule of the object, and a record's keys go with one DELETE by id.
The record service decides who sees which match (records/duplicates.py).
"""
