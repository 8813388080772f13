"""What one actor may do on one Runtime: object/field rights (Casbin-decided, cached per
permission combination) and the record visibility predicates (sharing). The record service asks
this object; it never calls Casbin itself.
"""
from __future__ import annotations

from ..meta.fieldtypes import SYSTEM_FIELDS
from .rights import RightsCache
from .sharing import SharingCompiler


class SecurityModel:
    """Compiled once per metadata version (part of the Runtime)."""

    def __init__(self, runtime):
        self.metadata = runtime.metadata
        self.rights_cache = RightsCache(runtime.metadata)
        self.sharing = SharingCompiler(runtime)

    def access_for(self, actor) -> "Access":
        rights = None if actor.is_system else self.rights_cache.rights(
            actor.profile, actor.permission_sets, actor.permission_set_groups)
        return Access(self, actor, rights)


class Access:
    def __init__(self, model: SecurityModel, actor, rights):
        self.model = model
        self.actor = actor
        self.rights = rights  # None: the system actor, unrestricted

    @property
    def unrestricted(self) -> bool:
        return self.rights is None

    def can(self, object_name: str, action: str) -> bool:
        return self.rights is None or self.rights.can(object_name, action)

    def system(self, permission: str) -> bool:
        return self.rights is None or self.rights.system(permission)

    def can_read_field(self, object_name: str, field: str) -> bool:
        if self.rights is None:
            return True
        if field in SYSTEM_FIELDS:
            return self.rights.can(object_name, "read")
        return self.rights.can_field(object_name, field, "read")

    def can_edit_field(self, object_name: str, field: str) -> bool:
        if self.rights is None:
            return True
        if field == "owner":
            return self.rights.can(object_name, "edit") or self.rights.can(object_name, "create")
        return self.rights.can_field(object_name, field, "edit")

    def readable_path(self, object_name: str, path) -> bool:
        """Every step of a field path is readable, and every object it passes through."""
        if self.rights is None:
            return True
        steps = self.model.metadata.resolve_path(self.model.metadata.objects[object_name], tuple(path))
        if steps is None:
            return True  # unknown paths are reported as unknown by the caller
        return all(self.can(obj.name, "read") and self.can_read_field(obj.name, name) for obj, name in steps)

    def can_transfer(self, object_name: str) -> bool:
        return self.rights is None or self.rights.system("transfer_records") or self.rights.can(object_name, "modify_all")

    def visible(self, object_name: str, alias, dialect_name: str):
        """SQL predicate limiting `alias` to records the actor may read (None: all)."""
        return self.model.sharing.predicate(self.actor, self.rights, object_name, alias, access="read",
                                            dialect_name=dialect_name)

    def editable(self, object_name: str, alias, dialect_name: str):
        return self.model.sharing.predicate(self.actor, self.rights, object_name, alias, access="edit",
                                            dialect_name=dialect_name)
