"""Semantic checks of the org settings (settings/org.yaml) that its JSON Schema cannot make."""
from __future__ import annotations

from .currencies import iso_codes
from .errors import MetaError
from .model import Metadata


def check_conversion_dates(md: Metadata) -> list[MetaError]:
    """`conversion_date` names a date field of the object. It may be declared before the org makes
    the object multi-currency (the Sales app's opportunities use their close date): it only counts
    once the object is."""
    errors = []
    for obj in md.objects.values():
        name = obj.conversion_date
        field = obj.fields.get(name) if name is not None else None
        if name is not None and (field is None or field.type != "date"):
            dates = sorted(n for n, f in obj.fields.items() if f.type == "date")
            errors.append(MetaError(obj.source, "conversion_date",
                                    f"'{name}' is not a date field of {obj.name} (its date fields: "
                                    f"{', '.join(dates) or 'none'})"))
    return errors


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
