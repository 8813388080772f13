"""Semantic checks of the org settings (settings/org.yaml) that its JSON Schema cannot make."""
from __future__ import annotations

from .currencies import iso_codes
from .errors import MetaError
from .model import Metadata


def check_settings(md: Metadata) -> list[MetaError]:
    comp = md.settings.get("org")
    if comp is None:
        return []
    doc, src, errors = comp.doc, comp.source, []
    corporate = doc.get("corporate_currency")
    if corporate and corporate not in iso_codes():
        errors.append(MetaError(src, "corporate_currency", f"'{corporate}' is not an ISO 4217 currency code"))
    seen: set[str] = set()
    for i, currency in enumerate(doc.get("currencies") or ()):
        code = currency["code"]
        if code in seen:
            errors.append(MetaError(src, f"currencies.{i}.code", f"{code} is listed twice"))
        elif code not in iso_codes():
            errors.append(MetaError(src, f"currencies.{i}.code", f"'{code}' is not an ISO 4217 currency code"))
        seen.add(code)
        if code == md.org_settings.corporate_currency and currency.get("active") is False:
            errors.append(MetaError(src, f"currencies.{i}.active", f"{code} is the corporate currency: "
                                                                   "the corporate currency cannot be inactive"))
    return errors
