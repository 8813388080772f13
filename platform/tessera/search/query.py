"""Query compile: tokens → the join, the match condition and the rank of one object's index.

Only bound parameters carry user text. SQLite gets an FTS5 query made of quoted prefix terms
(`"acm"* AND "corp"*`) — the quotes make every token a string, never an operator — limited to the
columns the reader may see (`{f_name f_phone} : (...)`); PostgreSQL gets `to_tsquery('simple',
'acm:* & corp:*')` from tokens of letters and digits only. A field the reader may not see must not
match: on PostgreSQL, whose document mixes every field, the readable fields are matched again.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Table, bindparam, func, literal_column

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


def compile_match(dialect: str, obj: ObjectDef, base: Table, tokens: list[str], readable: list[str]) -> Compiled:
    fields = obj.searchable_fields
    if dialect == "sqlite":
        keys = storage.keys_table(obj.name)
        fts = storage.fts_table(obj.name, fields)
        name = literal_column(f'"{storage.index_name(obj.name)}"')
        columns = None if len(readable) == len(fields) else [storage.fts_column(f) for f in readable]
        rank = func.bm25(name, *[NAME_WEIGHT if i == 0 else 1.0 for i in range(len(fields))])
        return Compiled(
            join=lambda source: source.join(keys, keys.c.record_id == base.c.id).join(fts, fts.c.rowid == keys.c.n),
            where=[name.op("MATCH")(bindparam("_search", fts5_query(tokens, columns)))],
            score=-rank, order=rank)
    docs = storage.documents_table(obj.name)
    query = func.to_tsquery(storage.TS_CONFIG, bindparam("_search", tsquery_text(tokens)))
    where = [docs.c.document.op("@@")(query)]
    if len(readable) != len(fields):
        where.append(storage.document(base, tuple(readable)).op("@@")(query))
    rank = func.ts_rank(docs.c.document, query)
    return Compiled(join=lambda source: source.join(docs, docs.c.record_id == base.c.id),
                    where=where, score=rank, order=rank.desc())
