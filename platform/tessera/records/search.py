"""Global search through the record service (tessera/search holds the index): the actor's
readable objects, ranked hits per object, only records the sharing predicate lets them see and only
matches in fields they may read — a word found only in a hidden field does not reveal a record.
A list's search box (query(search=...): _list_search) matches through the same index."""
from __future__ import annotations

from sqlalchemy import func, select

from ..search import query as search_query
from ..search.tokens import MAX_QUERY, MIN_QUERY, matched_fields, tokenize
from ..security.actor import Actor
from ..storage.engine import retry_on_stale_statements
from .errors import BadQuery
from .reads import _now
from .serialize import to_api

MAX_SEARCH_LIMIT = 50   # hits per object
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


class RecordSearch:
    @retry_on_stale_statements
    def search(self, actor: Actor, q, *, objects=None, limit: int = 10) -> list[dict]:
        """Groups `{object, label, hits: [{id, object, name, matched, values, rank}], more}` (`values`:
        the matched fields' text, to show why a record was found), best group
        first (by its best hit), hits best first. `objects`: names to search (default: every
        object with searchable fields the actor may read)."""
        if not isinstance(q, str) or len(q.strip()) < MIN_QUERY:
            raise BadQuery(f"q: type at least {MIN_QUERY} characters", details={"parameter": "q"})
        if len(q) > MAX_QUERY or "\x00" in q:
            raise BadQuery(f"q: at most {MAX_QUERY} characters, no NUL", details={"parameter": "q"})
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_SEARCH_LIMIT:
            raise BadQuery(f"limit must be an integer from 1 to {MAX_SEARCH_LIMIT}", details={"parameter": "limit"})
        rt = self.runtime()
        access = rt.security.access_for(actor)
        if objects is not None:
            unknown = [n for n in objects if n not in rt.objects or not access.can(n, "read")]
            if unknown:   # unknown and unreadable alike: an object's existence is not probed
                raise BadQuery(f"objects: no searchable object '{unknown[0]}'", details={"parameter": "objects"})
        tokens = tokenize(q)
        if not tokens:   # only punctuation: nothing to match
            return []
        groups = []
        now = _now()
        with self._read() as conn:
            for name in objects if objects is not None else rt.objects:
                group = self._search_object(conn, rt, access, name, tokens, limit, now)
                if group is not None:
                    groups.append(group)
        groups.sort(key=lambda g: -g["hits"][0]["rank"])
        return groups

    def _search_object(self, conn, rt, access, name, tokens, limit, now) -> dict | None:
        cobj = rt.objects[name]
        obj = cobj.obj
        if not cobj.search_indexed or not access.can(name, "read"):
            return None
        readable = [f for f in obj.searchable_fields if access.can_read_field(name, f)]
        if not readable:
            return None
        b = self._builder(rt, name, conn, now, access)
        title = obj.name_field if obj.name_field and access.can_read_field(name, obj.name_field) else None
        paths = list(dict.fromkeys([*([title] if title else []), *readable]))
        out_cols = [c.label(f"c{i}") for i, c in enumerate(self._columns(b, paths, "fields"))]
        match = search_query.compile_match(conn.dialect.name, obj, b.base, tokens, readable)
        where = list(match.where)
        visible = access.visible(name, b.base, conn.dialect.name)
        if visible is not None:
            where.append(visible)
        stmt = (select(b.base.c.id, match.score.label("score"), *out_cols)
                .select_from(match.join(b.from_clause)).where(*where)
                .order_by(match.order, b.base.c.id).limit(limit + 1))
        rows = conn.execute(stmt).all()
        if not rows:
            return None
        types = [b.field_type((p,)) for p in paths]
        hits = []
        for row in rows[:limit]:
            values = {p: to_api(row[2 + i], t) for i, (p, t) in enumerate(zip(paths, types))}
            matched = matched_fields(tokens, {f: values.get(f) for f in readable})
            hits.append({"id": str(row[0]), "object": name,
                         "name": str(values[title]) if title and values.get(title) is not None else str(row[0]),
                         "matched": matched, "values": {f: str(values[f]) for f in matched},
                         "rank": float(f"{float(row[1] or 0.0):.6g}")})
        return {"object": name, "label": obj.plural_label, "hits": hits, "more": len(rows) > limit}

    def _list_search(self, conn, rt, access, cobj, b, text: str) -> list:
        """WHERE conditions of a list's search box (query(search=...)): every word, by prefix, in
        some searchable field the reader may read, through the object's full-text index — or, for
        an object without one (no searchable field the reader may read, or a database whose index
        is not built yet) or text without letters or digits, every word inside the name field
        (case-insensitive, as typed). The list's filter, sharing, sort and paging apply as usual."""
        obj = cobj.obj
        tokens = tokenize(text)
        readable = [f for f in obj.searchable_fields if access.can_read_field(obj.name, f)]
        if tokens and readable and cobj.search_indexed:
            return search_query.matching(conn.dialect.name, obj, b.base, tokens, readable)
        name = obj.name_field
        if not name or name not in obj.fields or not access.can_read_field(obj.name, name):
            raise BadQuery(f"q: {obj.plural_label} have no field you may search", details={"parameter": "q"})
        column = func.lower(self._columns(b, [name], "fields")[0])
        # LOWER() changes A–Z alike on both databases; the words are lowered the same way
        return [column.contains(word.translate(_ASCII_LOWER), autoescape=True) for word in text.split()[:8]]
