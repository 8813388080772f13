"""Query compile: tokens → the join, the match condition and the rank of one object's index.

Only bound parameters carry user text. SQLite gets an FTS5 query made of quoted prefix terms
(`"acm"* AND "corp"*`) — the quotes make every token a string, never an operator — limited to the
columns the reader may see (`{f_name f_phone} : (...)`); PostgreSQL gets `to_tsquery('simple',
'acm:* & corp:*')` from tokens of letters and digits only. A field the reader may not see must not
match: on PostgreSQL, whose document mixes every field, the readable fields are matched again.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Table, bindparam, func, literal_column, select

from ..meta.model import ObjectDef
from . import storage

NAME_WEIGHT = 10.0   # SQLite bm25 column weight of the name field (PostgreSQL: weight 'A')


@dataclass
class Compiled:
    join: object        # a function: from clause -> from clause joined to the index
    where: list         # match conditions
    score: object       # higher is better
    order: object       # ORDER BY term (best first)


def fts5_query(tokens: list[str], columns: list[str] | None) -> str:
    terms = " AND ".join(f'"{t}"*' for t in tokens)   # tokens hold letters and digits only
    return f"{{{' '.join(columns)}}} : ({terms})" if columns else terms


def tsquery_text(tokens: list[str]) -> str:
    return " & ".join(f"{t}:*" for t in tokens)


class _Index:
    """One object's index tables and the match of `tokens` in the `readable` fields, per dialect."""

    def __init__(self, dialect: str, obj: ObjectDef, base: Table, tokens: list[str], readable: list[str],
                 param: str, unique: bool = False):
        fields = obj.searchable_fields
        self.fields, self.sqlite = fields, dialect == "sqlite"
        if self.sqlite:
            self.keys = storage.keys_table(obj.name)
            self.fts = storage.fts_table(obj.name, fields)
            self.name = literal_column(f'"{storage.index_name(obj.name)}"')
            columns = None if len(readable) == len(fields) else [storage.fts_column(f) for f in readable]
            self.where = [self.name.op("MATCH")(bindparam(param, fts5_query(tokens, columns), unique=unique))]
            return
        self.docs = storage.documents_table(obj.name)
        self.query = func.to_tsquery(storage.TS_CONFIG, bindparam(param, tsquery_text(tokens), unique=unique))
        self.where = [self.docs.c.document.op("@@")(self.query)]
        # the document mixes every field: the readable ones are matched again
        self.recheck = [] if len(readable) == len(fields) else [
            storage.document(base, tuple(readable)).op("@@")(self.query)]


def compile_match(dialect: str, obj: ObjectDef, base: Table, tokens: list[str], readable: list[str]) -> Compiled:
    ix = _Index(dialect, obj, base, tokens, readable, "_search")
    if ix.sqlite:
        keys, fts = ix.keys, ix.fts
        rank = func.bm25(ix.name, *[NAME_WEIGHT if i == 0 else 1.0 for i in range(len(ix.fields))])
        return Compiled(
            join=lambda source: source.join(keys, keys.c.record_id == base.c.id).join(fts, fts.c.rowid == keys.c.n),
            where=ix.where, score=-rank, order=rank)
    docs = ix.docs
    rank = func.ts_rank(docs.c.document, ix.query)
    return Compiled(join=lambda source: source.join(docs, docs.c.record_id == base.c.id),
                    where=ix.where + ix.recheck, score=rank, order=rank.desc())


def matching(dialect: str, obj: ObjectDef, base: Table, tokens: list[str], readable: list[str]) -> list:
    """WHERE conditions keeping the rows of `base` whose index entry matches, for a list: a
    semi-join (`id IN (ids the index finds)`) rather than compile_match's join, so the list's own
    FROM, sort, keyset paging and count stay as they are — a list is ordered by its sort, not rank."""
    ix = _Index(dialect, obj, base, tokens, readable, "_list_search", unique=True)
    if ix.sqlite:
        found = select(ix.keys.c.record_id).select_from(ix.keys.join(ix.fts, ix.fts.c.rowid == ix.keys.c.n))
        return [base.c.id.in_(found.where(*ix.where))]
    return [base.c.id.in_(select(ix.docs.c.record_id).where(*ix.where)), *ix.recheck]
