"""Duplicate rules in the record service's write path (step 4, with the other checks), and the
possible duplicates of a saved record.

The keys (tessera/dedupe) find every matching record, whoever may see it: a block rule refuses a
duplicate of a record the actor cannot see too — or a private record would be copied by anyone
who cannot see it. What the actor learns is limited to what they may read: the matches they may
see are listed (id, name if they may read the name field, similarity), the others only counted
(`hidden`). A rule's `where` sets records aside before either.

A finding (one rule's matches for one record):
    {"rule", "label", "action": block|warn, "allow_override", "message",
     "matches": [{"id", "name", "score"}], "hidden": n}
A bulk write's row may also match earlier rows of the same write: `rows` lists their indexes.
"""
from __future__ import annotations

from sqlalchemy import case, literal, select

from ..dedupe import match
from ..security.actor import Actor
from ..storage.engine import retry_on_stale_statements
from .bulk import MISSING
from .errors import DuplicatesFound, NotFound
from .reads import _now
from .select import SelectBuilder
from .serialize import to_api


def _message(rule, finding: dict, what: str) -> str:
    if rule.rule.message:
        return rule.rule.message
    parts = []
    n = len(finding["matches"]) + finding["hidden"]
    if n:
        hidden = f", {finding['hidden']} of them hidden from you" if finding["hidden"] and finding["matches"] else \
            " hidden from you" if finding["hidden"] else ""
        parts.append(f"{n} existing {what}{'s' if n != 1 else ''}{hidden}")
    rows = finding.get("rows")
    if rows:
        parts.append(f"row{'s' if len(rows) != 1 else ''} {', '.join(str(i + 1) for i in rows)} of this batch")
    return f"matches {' and '.join(parts)} (duplicate rule '{rule.rule.label}')"


class RecordDuplicates:
    @retry_on_stale_statements
    def duplicates(self, actor: Actor, object_name: str, record_id) -> list[dict]:
        """The findings of the object's active rules for a saved record the actor may read: the
        records it matches now (itself excluded), under the actor's access. [] without rules."""
        rt = self.runtime()
        cobj = self._object(rt, object_name)
        access = self._access(rt, actor, object_name, "read")
        rid = self._parse_record_id(record_id)
        now = _now()
        with self._read() as conn:
            table = cobj.table
            stmt = select(table).where(table.c.id == rid)
            visible = access.visible(object_name, table, conn.dialect.name)
            row = conn.execute(stmt.where(visible) if visible is not None else stmt).mappings().first()
            if row is None:
                raise NotFound(f"{object_name} '{record_id}' was not found")
            return self._find_duplicates(conn, rt, cobj, access, dict(row), now, actor.user_id, exclude=rid)

    def _find_duplicates(self, conn, rt, cobj, access, values, now, user, exclude=None) -> list[dict]:
        findings = []
        for rule in cobj.duplicate_rules:
            entry = rule.entry(values)
            found = match.find(conn, cobj.name, rule, entry, exclude) if entry is not None else None
            finding = self._finding(conn, rt, cobj, access, rule, found, now, user) if found else None
            if finding is not None:
                findings.append(finding)
        return findings

    def _finding(self, conn, rt, cobj, access, rule, found, now, user, rows=()) -> dict | None:
        """One rule's finding from its candidates `found` [(id, score)] (and earlier `rows` of a
        bulk write); None when the rule's `where` sets every candidate aside."""
        matches, hidden = [], 0
        if found:
            scores = dict(found)
            b = SelectBuilder(rt, cobj.name, dialect_name=conn.dialect.name, now=now, user=user)
            visible = access.visible(cobj.name, b.base, conn.dialect.name)
            title = cobj.obj.name_field if cobj.obj.name_field and access.can_read_field(cobj.name, cobj.obj.name_field) \
                else None
            columns = [b.base.c.id, case((visible, literal(1)), else_=literal(0)) if visible is not None else literal(1)]
            if title:
                columns.append(b.column((title,)))
            where = [b.base.c.id.in_(list(scores))]
            if rule.where is not None:
                where.append(b.condition(rule.where))
            kept = conn.execute(select(*columns).select_from(b.from_clause).where(*where)).all()
            kept.sort(key=lambda r: (-scores[r[0]], str(r[0])))
            name_type = cobj.obj.fields[title].type if title and title in cobj.obj.fields else None
            for row in kept:
                if not row[1]:
                    hidden += 1
                elif len(matches) < match.MAX_MATCHES:
                    name = to_api(row[2], name_type) if title else None
                    matches.append({"id": str(row[0]), "name": str(name) if name is not None else str(row[0]),
                                    "score": round(scores[row[0]], 4)})
        if not matches and not hidden and not rows:
            return None
        finding = {"rule": rule.name, "label": rule.rule.label, "action": rule.rule.action,
                   "allow_override": rule.rule.allow_override, "matches": matches, "hidden": hidden}
        if rows:
            finding["rows"] = list(rows)
        finding["message"] = _message(rule, finding, cobj.obj.label.lower())
        return finding

    @retry_on_stale_statements
    def duplicates_of_values(self, actor: Actor, object_name: str, values: dict) -> list[dict]:
        """The findings of the object's active rules for a record not saved yet (stored values, as
        a conversion proposes them): the saved records it would duplicate, under the actor's access."""
        rt = self.runtime()
        cobj = self._object(rt, object_name)
        access = self._access(rt, actor, object_name, "read")
        if not cobj.duplicate_rules:
            return []
        with self._read() as conn:
            return self._find_duplicates(conn, rt, cobj, access, values, _now(), actor.user_id)

    @staticmethod
    def _blocking(findings: list[dict], allow: bool) -> list[dict]:
        return [f for f in findings if f["action"] == "block" and not (allow and f["allow_override"])]

    def _check_duplicates(self, conn, rt, cobj, access, values, now, actor, allow: bool, exclude=None) -> list[dict]:
        """Raise DuplicatesFound when a block rule finds duplicates (unless `allow` and the rule
        allows an override); else the findings to return as warnings."""
        if not cobj.duplicate_rules:
            return []
        findings = self._find_duplicates(conn, rt, cobj, access, values, now, actor.user_id, exclude)
        blocking = self._blocking(findings, allow)
        if blocking:
            by_rule = {r.name: r for r in cobj.duplicate_rules}
            fields = {}
            for f in blocking:
                fields.setdefault(by_rule[f["rule"]].fields[0], []).append(f["message"])
            raise DuplicatesFound(f"possible duplicate {cobj.obj.label.lower()}: " + "; ".join(f["message"] for f in blocking),
                                  fields=fields,
                                  details={"duplicates": findings,
                                           "overridable": all(f["allow_override"] for f in blocking)})
        return findings

    def _check_duplicates_bulk(self, conn, rt, cobj, access, batch, now, actor, allow: bool) -> list[dict]:
        """Every row of a bulk create against the saved records and the rows before it: a
        blocked row fails (its `duplicates` in the report), the others' findings are returned
        as warnings [{index, ...finding}]."""
        if not cobj.duplicate_rules:
            return []
        fields = [f for f in cobj.duplicate_fields if f in batch.columns]
        rows = {}
        for index in range(batch.n):
            if index not in batch.errors:
                rows[index] = {f: v for f in fields if (v := batch.columns[f][index]) is not MISSING}
        per_row: dict[int, list] = {}
        for rule in cobj.duplicate_rules:
            entries = {i: e for i, values in rows.items() if (e := rule.entry(values)) is not None}
            if not entries:
                continue
            saved = match.find_many(conn, cobj.name, rule, entries)
            earlier = match.within_batch(rule, entries)
            for index in sorted(set(saved) | set(earlier)):
                finding = self._finding(conn, rt, cobj, access, rule, saved.get(index), now, actor.user_id,
                                        rows=earlier.get(index, ()))
                if finding is not None:
                    per_row.setdefault(index, []).append((rule, finding))
        warnings = []
        for index, found in sorted(per_row.items()):
            findings = [f for _r, f in found]
            blocking = self._blocking(findings, allow)
            if blocking:
                for rule, finding in found:
                    if finding in blocking:
                        batch.fail(index, rule.fields[0], finding["message"])
                batch.details[index] = {"duplicates": findings}
            else:
                warnings += [{"index": index, **f} for f in findings]
        return warnings
