"""Manual shares: a user with full access to a record grants it to a user, role or group.

Full access = the owner, a user above the owner in the role hierarchy, or modify_all on the
object. Shares live in `tessera_share` and feed the sharing predicate (security/sharing.py).
"""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

from sqlalchemy import delete, insert, select

from ..security import audit
from ..security.sharing import descendants
from ..storage.engine import begin_read, begin_write
from ..storage.platform_tables import shares
from .coerce import parse_id
from .errors import Forbidden, NotFound, ValidationFailed

GRANTEE_TYPES = ("user", "role", "role_and_subordinates", "group")
ACCESS_LEVELS = ("read", "edit")


class ShareService:
    def __init__(self, records):
        self.records = records

    def _full_access(self, conn, rt, access, cobj, rid, record_id):
        table = cobj.table
        stmt = select(table.c.owner).where(table.c.id == rid)
        visible = access.visible(cobj.name, table, conn.dialect.name)
        if visible is not None:
            stmt = stmt.where(visible)
        row = conn.execute(stmt).first()
        if row is None:
            raise NotFound(f"{cobj.name} '{record_id}' was not found")
        actor = access.actor
        if access.unrestricted or access.can(cobj.name, "modify_all") or row.owner == actor.user_id:
            return
        if actor.role and row.owner is not None:
            users = rt.tables["user"]
            owner_role = conn.execute(select(users.c.role).where(users.c.id == row.owner)).scalar()
            if owner_role in descendants(rt.metadata, actor.role):
                return
        raise Forbidden(f"only the owner, their managers or users with modify_all can share {cobj.name} '{record_id}'")

    def _refuse_if_controlled_by_parent(self, rt, cobj, record_id):
        # The sharing predicate of such an object reads only its master's access (security/
        # sharing.py): a share row would be stored and never consulted, a silent no-op.
        master = rt.metadata.master_of(cobj.obj) if cobj.obj.sharing_model == "controlled_by_parent" else None
        if master is not None:
            raise ValidationFailed(
                f"{cobj.name} records cannot be shared: access to {cobj.name} '{record_id}' follows its parent "
                f"{master.target} record (sharing model controlled_by_parent); share the {master.target} instead",
                details={"sharing_model": "controlled_by_parent", "parent_object": master.target,
                         "parent_field": master.name})

    def _validate_grantee(self, conn, rt, body):
        errors = {}
        if not isinstance(body, dict):
            raise ValidationFailed("expected a JSON object: {grantee_type, grantee, access}")
        unknown = sorted(set(body) - {"grantee_type", "grantee", "access"})
        for k in unknown:
            errors[k] = ["is not a share property"]
        kind, grantee, level = body.get("grantee_type"), body.get("grantee"), body.get("access", "read")
        if kind not in GRANTEE_TYPES:
            errors["grantee_type"] = [f"must be one of: {', '.join(GRANTEE_TYPES)}"]
        if level not in ACCESS_LEVELS:
            errors["access"] = ["must be read or edit"]
        if not isinstance(grantee, str) or not grantee:
            errors["grantee"] = ["is required"]
        elif kind == "user":
            try:
                uid = parse_id(grantee)
            except ValueError as exc:
                errors["grantee"] = [str(exc)]
            else:
                users = rt.tables["user"]
                if conn.execute(select(users.c.id).where(users.c.id == uid)).first() is None:
                    errors["grantee"] = [f"there is no user with id '{grantee}'"]
                grantee = str(uid)
        elif kind in ("role", "role_and_subordinates") and grantee not in rt.metadata.roles:
            errors["grantee"] = [f"there is no role '{grantee}'"]
        elif kind == "group":
            groups = rt.tables.get("group")
            if groups is None or conn.execute(select(groups.c.id).where(groups.c.name == grantee)).first() is None:
                errors["grantee"] = [f"there is no group '{grantee}'"]
        if errors:
            raise ValidationFailed("invalid share: " + ", ".join(sorted(errors)), fields=errors)
        return kind, grantee, level

    def share(self, actor, object_name, record_id, body) -> dict:
        rt = self.records.runtime()
        cobj = self.records._object(rt, object_name)
        access = rt.security.access_for(actor)
        rid = self.records._parse_record_id(record_id)
        with begin_write(self.records.engine) as conn:
            self._full_access(conn, rt, access, cobj, rid, record_id)
            self._refuse_if_controlled_by_parent(rt, cobj, record_id)
            kind, grantee, level = self._validate_grantee(conn, rt, body)
            share_id = uuid.uuid4()
            row = dict(id=share_id, object=object_name, record_id=rid, grantee_type=kind, grantee=grantee,
                       access=level, created_at=datetime.now(timezone.utc), created_by=actor.user_id)
            conn.execute(insert(shares).values(**row))
            audit.record(conn, actor, "share.create", f"{object_name}/{rid}",
                         {"grantee_type": kind, "grantee": grantee, "access": level})
        return _out(row)

    def list(self, actor, object_name, record_id) -> list[dict]:
        rt = self.records.runtime()
        cobj = self.records._object(rt, object_name)
        access = rt.security.access_for(actor)
        rid = self.records._parse_record_id(record_id)
        with begin_read(self.records.engine) as conn:
            self._full_access(conn, rt, access, cobj, rid, record_id)
            rows = conn.execute(select(shares).where(shares.c.object == object_name, shares.c.record_id == rid)
                                .order_by(shares.c.created_at)).mappings().all()
        return [_out(r) for r in rows]

    def unshare(self, actor, object_name, record_id, share_id) -> None:
        rt = self.records.runtime()
        cobj = self.records._object(rt, object_name)
        access = rt.security.access_for(actor)
        rid = self.records._parse_record_id(record_id)
        try:
            sid = parse_id(share_id)
        except ValueError:
            raise NotFound(f"share '{share_id}' was not found") from None
        with begin_write(self.records.engine) as conn:
            self._full_access(conn, rt, access, cobj, rid, record_id)
            done = conn.execute(delete(shares).where(shares.c.id == sid, shares.c.object == object_name,
                                                     shares.c.record_id == rid))
            if done.rowcount == 0:
                raise NotFound(f"share '{share_id}' was not found")
            audit.record(conn, actor, "share.delete", f"{object_name}/{rid}", {"share": str(sid)})


def _out(row) -> dict:
    created = row["created_at"]
    if created.tzinfo is None:
        created = created.replace(tzinfo=timezone.utc)
    return {"id": str(row["id"]), "object": row["object"], "record_id": str(row["record_id"]),
            "grantee_type": row["grantee_type"], "grantee": row["grantee"], "access": row["access"],
            "created_at": created.isoformat().replace("+00:00", "Z"),
            "created_by": str(row["created_by"]) if row["created_by"] else None}
