"""The org's currencies and their dated exchange rates (currency/rates.py).

    GET    /api/v1/currencies                              signed-in users: the org's currencies, each
                                                           with the rate in effect today (?on=YYYY-MM-DD)
    GET    /api/v1/currency-rates[?code=EUR]               signed-in users: every dated rate, newest first
    PUT    /api/v1/currency-rates/{code}/{effective_from}  admins (customize_metadata): {"rate": "1.08"};
                                                           201 new, 200 replaced
    DELETE /api/v1/currency-rates/{code}/{effective_from}  admins: 204, or 404 when there is no such rate

Which currencies exist is metadata (settings/org.yaml, changed through the change pipeline); rates
are data and change here.
"""
from __future__ import annotations

from datetime import date

from flask import g, jsonify, request

from ..currency import rates
from ..records.errors import BadQuery, NotFound, ValidationFailed
from .api import api, services
from .api_automation import _require_setup_rights


def _settings():
    return services().runtimes.current().metadata.org_settings


def _day(text: str | None, name: str) -> date:
    if text is None:
        return date.today()
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise BadQuery(f"{name}: '{text[:40]}' is not a date (YYYY-MM-DD)") from None


@api.get("/currencies")
def currencies():
    settings = _settings()
    day = _day(request.args.get("on"), "on")
    return jsonify(corporate_currency=settings.corporate_currency, on=day.isoformat(),
                   currencies=rates.currencies_with_rates(services().engine, settings, day))


@api.get("/currency-rates")
def currency_rates():
    code = request.args.get("code")
    if code is not None and code not in _settings().codes:
        raise BadQuery(f"code: '{code[:10]}' is not one of the org's currencies")
    return jsonify(rates=[r.to_api() for r in rates.list_rates(services().engine, code)])


def _parsed(code: str, effective_from: str, rate) -> rates.Rate:
    try:
        return rates.parse_rate(code, rate, effective_from, _settings())
    except rates.RateRefused as exc:
        raise ValidationFailed(f"{exc.field}: {exc.message}", fields={exc.field: [exc.message]}) from None


@api.put("/currency-rates/<code>/<effective_from>")
def put_currency_rate(code: str, effective_from: str):
    _require_setup_rights("setting exchange rates")
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or "rate" not in body:
        raise BadQuery('the body must be a JSON object with a "rate" (e.g. {"rate": "1.08"})')
    unknown = sorted(set(body) - {"rate"})
    if unknown:
        raise BadQuery(f"unknown propert{'ies' if len(unknown) > 1 else 'y'}: {', '.join(unknown)}")
    rate = _parsed(code, effective_from, body["rate"])
    created = rates.set_rate(services().engine, rate, actor_id=g.actor.user_id)
    return jsonify(rate.to_api()), 201 if created else 200


@api.delete("/currency-rates/<code>/<effective_from>")
def delete_currency_rate(code: str, effective_from: str):
    _require_setup_rights("deleting exchange rates")
    rate = _parsed(code, effective_from, 1)
    if not rates.delete_rate(services().engine, rate.code, rate.effective_from):
        raise NotFound(f"there is no {code} rate from {effective_from}")
    return "", 204
