"""Effective object, field and system rights, decided by Casbin once per permission combination.

pycasbin's `enforce()` costs ~1 ms at this policy size and 2.8 has no cached enforcer, so we never
call it per request: for each distinct (profile, permission sets, groups) combination we ask the
enforcer once for the combination's implicit permissions and keep them as a frozenset. A warm
decision is one set lookup.

The generated policy is loaded through an adapter, like a policy file: `Enforcer.add_policies`
checks each rule against a Python list of the rules already added — O(n²), 100–190 ms of the
Runtime compile for the stock apps' 3,500 rules; a dict drops duplicates in O(n) instead.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass

import casbin
from casbin.model import Model
from casbin.persist import Adapter

from .policy import MODEL_TEXT, policy_rules, subjects_of


@dataclass(frozen=True)
class Rights:
    grants: frozenset  # {(object, action)}

    def can(self, obj: str, action: str) -> bool:
        return (obj, action) in self.grants

    def can_field(self, obj: str, field: str, action: str) -> bool:
        return (f"{obj}.{field}", action) in self.grants

    def system(self, permission: str) -> bool:
        return ("system", permission) in self.grants


ALL = None  # marker used by callers for "no restriction" (system actor)


class _GeneratedPolicy(Adapter):
    """Read-only adapter over `policy_rules(md)`: fills the model the way casbin's file adapter
    does (appending to each assertion's rule list), without a duplicate check per rule."""

    def __init__(self, p_rules, g_rules):
        self.p_rules, self.g_rules = p_rules, g_rules

    def load_policy(self, model):
        model["p"]["p"].policy.extend(list(rule) for rule in dict.fromkeys(map(tuple, self.p_rules)))
        model["g"]["g"].policy.extend(list(rule) for rule in dict.fromkeys(map(tuple, self.g_rules)))


class RightsCache:
    def __init__(self, md):
        model = Model()
        model.load_model_from_text(MODEL_TEXT)
        self.p_rules, self.g_rules = policy_rules(md)
        self.enforcer = casbin.Enforcer(model, _GeneratedPolicy(self.p_rules, self.g_rules))
        self.enforcer.enable_auto_save(False)   # the policy lives in metadata, never in the adapter
        self._cache: dict[tuple, Rights] = {}
        self._lock = threading.Lock()

    def rights(self, profile: str | None, permission_sets=(), groups=()) -> Rights:
        key = (profile, tuple(sorted(permission_sets)), tuple(sorted(groups)))
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        grants = set()
        for subject in subjects_of(*key):
            for _sub, obj, act in self.enforcer.get_implicit_permissions_for_user(subject):
                grants.add((obj, act))
        rights = Rights(frozenset(grants))
        with self._lock:
            self._cache[key] = rights
        return rights
