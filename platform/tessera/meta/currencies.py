"""The org's currencies (settings/org.yaml): which ones records may use and which one it reports in.

Babel (CLDR data) supplies what ISO 4217 says about a code — that it exists, its English name, its
minor unit (2 for EUR, 0 for JPY) and its symbol — so nothing here is a hand-kept currency table.

A multi-currency object (`multi_currency: true`) gets a `currency_code` field: a restricted picklist
of every declared currency (active or not, so records keep a currency that is later deactivated and
removing one that records use is a data-checked change), required, defaulting to the corporate
currency. The record service refuses choosing an inactive currency (OrgSettings.choice_refusal).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Mapping

from babel.numbers import get_currency_name, get_currency_precision, get_currency_symbol, list_currencies

DEFAULT_CORPORATE = "USD"
CURRENCY_FIELD = "currency_code"


@lru_cache(maxsize=None)
def iso_codes() -> frozenset[str]:
    return frozenset(list_currencies())


def currency_symbol(code: str) -> str:
    """'€' for EUR, '$' for USD, 'CHF' where English has no symbol of its own."""
    return get_currency_symbol(code, locale="en")


@dataclass(frozen=True)
class CurrencyDef:
    code: str
    label: str
    decimal_places: int
    active: bool = True


@dataclass(frozen=True)
class OrgSettings:
    """settings/org.yaml as the platform reads it: the currencies, and the fiscal year's first month
    (1-12; the expression language's fiscal periods and the aggregate's fiscal buckets use it)."""
    corporate_currency: str = DEFAULT_CORPORATE
    currencies: tuple[CurrencyDef, ...] = ()
    fiscal_year_start_month: int = 1

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> "OrgSettings":
        corporate = doc.get("corporate_currency") or DEFAULT_CORPORATE
        declared = [_currency(c) for c in doc.get("currencies") or ()]
        if corporate not in {c.code for c in declared}:
            declared.insert(0, _currency({"code": corporate}))
        return cls(corporate_currency=corporate, currencies=tuple(declared),
                   fiscal_year_start_month=doc.get("fiscal_year_start_month", 1))

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(c.code for c in self.currencies)

    @property
    def active_codes(self) -> tuple[str, ...]:
        return tuple(c.code for c in self.currencies if c.active)

    def currency(self, code: str) -> CurrencyDef | None:
        return next((c for c in self.currencies if c.code == code), None)

    def decimal_places(self, code: str | None) -> int:
        found = self.currency(code) if code else None
        return found.decimal_places if found else 2

    def choice_refusal(self, new: str | None, old: str | None) -> str | None:
        """Why a record may not take currency `new` (from `old`): an inactive currency stays on the
        records that have it, but none may move to it. Unknown codes are the picklist's to refuse."""
        if new is None or new == old or new not in self.codes or new in self.active_codes:
            return None
        return f"{new} is not an active currency (active: {', '.join(self.active_codes)})"

    def currency_field_doc(self) -> dict:
        """The `currency_code` field every multi-currency object gets."""
        return {"type": "picklist", "label": "Currency", "required": True, "default": self.corporate_currency,
                "values": [{"value": c.code, "label": f"{c.code} - {c.label}"} for c in self.currencies],
                "help": "The currency of this record's amounts."}


def _currency(doc: Mapping[str, Any]) -> CurrencyDef:
    code = doc["code"]
    known = code in iso_codes()
    return CurrencyDef(code=code,
                       label=doc.get("label") or (get_currency_name(code, locale="en") if known else code),
                       decimal_places=doc.get("decimal_places", get_currency_precision(code) if known else 2),
                       active=doc.get("active", True))
