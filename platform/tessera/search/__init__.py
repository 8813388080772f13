"""Global search: a full-text index per object over its searchable fields (ObjectDef.searchable_fields).

- storage.py   the index's tables per dialect — SQLite: an FTS5 table keyed by an integer that a
               keys table maps to the record id; PostgreSQL: a side table of `tsvector` documents
               with a GIN index ('simple' configuration: emails, phones and codes match as typed)
- maintain.py  keeps it current: the record service calls it inside every write's transaction;
               the change pipeline rebuilds it when an object's searchable set changes
- query.py     user text → tokens → a ranked, permission-filtered SELECT per object (bound
               parameters only: user text never becomes SQL or FTS syntax)

Side tables rather than triggers or generated columns: SQLite's batch-mode table rewrites drop
triggers, and PostgreSQL refuses to alter the type of a column a generated column reads — either
would couple every field change to search. Keyed by record id, the index survives both.
"""
