"""Dated exchange rates: how many units of a currency one unit of the org's corporate currency buys,
from a date until the next rate of that currency (Salesforce's dated exchange rates). The corporate
currency's rate is always 1 and is never stored.

Rates are data, not metadata — they change daily and arrive from a treasury feed — so they are
kept in `tessera_currency_rate` and set through the API, the CLI or Setup, by admins
(customize_metadata). A rate is for a currency the org declares (settings/org.yaml); it is refused
otherwise, as are rates that are not positive or have more than 12 decimal places.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal, InvalidOperation

from sqlalchemy import and_, delete, insert, select, update

from ..meta.currencies import OrgSettings
from ..storage.engine import begin_read, begin_write
from ..storage.platform_tables import currency_rates

MAX_RATE = Decimal("1e12")


class RateRefused(ValueError):
    """A rate that cannot be set: `field` names the bad part (code, rate, effective_from)."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field, self.message = field, message


@dataclass(frozen=True)
class Rate:
    code: str
    effective_from: date
    rate: Decimal

    def to_api(self) -> dict:
        return {"code": self.code, "effective_from": self.effective_from.isoformat(), "rate": _plain(self.rate)}


def _plain(value: Decimal) -> str:
    """1.08 rather than 1.080000000000: a rate as people write it (a string: exact in JSON)."""
    text = format(value.normalize(), "f")
    return text


def parse_rate(code, rate, effective_from, settings: OrgSettings) -> Rate:
    if not isinstance(code, str) or code not in settings.codes:
        raise RateRefused("code", f"{code!r} is not one of the org's currencies ({', '.join(settings.codes)})")
    if code == settings.corporate_currency:
        raise RateRefused("code", f"{code} is the corporate currency: its rate is always 1")
    try:
        value = Decimal(str(rate)) if isinstance(rate, (int, float, str)) and not isinstance(rate, bool) else None
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite():
        raise RateRefused("rate", f"{rate!r} is not a number")
    if value <= 0 or value >= MAX_RATE:
        raise RateRefused("rate", "must be more than 0 and less than 1,000,000,000,000")
    if value != value.quantize(Decimal("1e-12"), rounding="ROUND_DOWN"):
        raise RateRefused("rate", "has more than 12 decimal places")
    if isinstance(effective_from, date):
        start = effective_from
    else:
        try:
            start = date.fromisoformat(effective_from) if isinstance(effective_from, str) else None
        except ValueError:
            start = None
        if start is None:
            raise RateRefused("effective_from", f"{effective_from!r} is not a date (YYYY-MM-DD)")
    return Rate(code, start, value)


def set_rate(engine, rate: Rate, *, actor_id=None) -> bool:
    """Store a rate (replacing the one of that code and date). True when it was new."""
    now = datetime.now(timezone.utc)
    key = and_(currency_rates.c.code == rate.code, currency_rates.c.effective_from == rate.effective_from)
    with begin_write(engine) as conn:
        changed = conn.execute(update(currency_rates).where(key).values(
            rate=rate.rate, updated_at=now, updated_by=actor_id)).rowcount
        if not changed:
            conn.execute(insert(currency_rates).values(code=rate.code, effective_from=rate.effective_from,
                                                       rate=rate.rate, updated_at=now, updated_by=actor_id))
    return not changed


def delete_rate(engine, code: str, effective_from: date) -> bool:
    with begin_write(engine) as conn:
        return bool(conn.execute(delete(currency_rates).where(
            currency_rates.c.code == code, currency_rates.c.effective_from == effective_from)).rowcount)


def list_rates(engine, code: str | None = None) -> list[Rate]:
    stmt = select(currency_rates.c.code, currency_rates.c.effective_from, currency_rates.c.rate) \
        .order_by(currency_rates.c.code, currency_rates.c.effective_from.desc())
    if code is not None:
        stmt = stmt.where(currency_rates.c.code == code)
    with begin_read(engine) as conn:
        return [Rate(c, d, Decimal(r)) for c, d, r in conn.execute(stmt)]


def rate_on(engine, code: str, day: date, settings: OrgSettings) -> Decimal | None:
    """The rate of `code` on `day` (1 for the corporate currency); None when none is in effect yet."""
    if code == settings.corporate_currency:
        return Decimal(1)
    with begin_read(engine) as conn:
        found = conn.execute(select(currency_rates.c.rate).where(
            currency_rates.c.code == code, currency_rates.c.effective_from <= day)
            .order_by(currency_rates.c.effective_from.desc()).limit(1)).scalar()
    return Decimal(found) if found is not None else None


def currencies_with_rates(engine, settings: OrgSettings, day: date) -> list[dict]:
    """Each org currency with the rate in effect on `day` (what GET /api/v1/currencies shows)."""
    out = []
    for c in settings.currencies:
        rate = rate_on(engine, c.code, day, settings)
        out.append({"code": c.code, "label": c.label, "decimal_places": c.decimal_places, "active": c.active,
                    "corporate": c.code == settings.corporate_currency,
                    "rate": _plain(rate) if rate is not None else None})
    return out
