"""The OpenAPI description of the currency routes (web/api_currency.py): the org's currencies and
their dated exchange rates. Setting and deleting rates is described only to admins, as the rest of
the document shows only what the caller may call (web/openapi.py)."""
from __future__ import annotations

from .openapi_automation import _error, _json, _ref

_CODE = {"type": "string", "pattern": "^[A-Z]{3}$", "description": "ISO 4217 code"}
_DAY = {"type": "string", "format": "date"}
_RATE = {"type": "string", "pattern": r"^\d+(\.\d{1,12})?$",
         "description": "units of the currency one unit of the corporate currency buys (a decimal string)"}



def currency_schemas() -> dict:
    rate = {"type": "object", "required": ["code", "effective_from", "rate"],
            "properties": {"code": _CODE, "effective_from": _DAY, "rate": _RATE}}
    currency = {"type": "object",
                "required": ["code", "label", "decimal_places", "active", "corporate", "rate"],
                "properties": {"code": _CODE, "label": {"type": "string"},
                               "decimal_places": {"type": "integer", "minimum": 0, "maximum": 4},
                               "active": {"type": "boolean"}, "corporate": {"type": "boolean"},
                               "rate": {"anyOf": [_RATE, {"type": "null"}],
                                        "description": "the rate in effect on the day asked for; null: none yet"}}}
    return {
        "ExchangeRate": rate,
        "ExchangeRateList": {"type": "object", "required": ["rates"],
                             "properties": {"rates": {"type": "array", "items": _ref("ExchangeRate")}}},
        "Currency": currency,
        "CurrencyList": {"type": "object", "required": ["corporate_currency", "on", "currencies"],
                         "properties": {"corporate_currency": _CODE, "on": _DAY,
                                        "currencies": {"type": "array", "items": _ref("Currency")}}},
        "ExchangeRateInput": {"type": "object", "required": ["rate"], "additionalProperties": False,
                              "properties": {"rate": {"anyOf": [{"type": "number", "exclusiveMinimum": 0},
                                                                {"type": "string"}]}}},
    }


def currency_paths(access) -> dict:
    unauthorized = {"401": _error()}
    paths = {
        "/currencies": {"get": {
            "operationId": "list_currencies", "summary": "The org's currencies with the rate in effect on a day",
            "tags": ["currencies"],
            "parameters": [{"name": "on", "in": "query", "schema": _DAY, "description": "default: today"}],
            "responses": {"200": _json("CurrencyList"), "400": _error(), **unauthorized}}},
        "/currency-rates": {"get": {
            "operationId": "list_exchange_rates", "summary": "Every dated exchange rate, newest first",
            "tags": ["currencies"],
            "parameters": [{"name": "code", "in": "query", "schema": _CODE}],
            "responses": {"200": _json("ExchangeRateList"), "400": _error(), **unauthorized}}},
    }
    if access.system("customize_metadata"):
        params = [{"name": "code", "in": "path", "required": True, "schema": {"type": "string"}},
                  {"name": "effective_from", "in": "path", "required": True, "schema": {"type": "string"}}]
        paths["/currency-rates/{code}/{effective_from}"] = {
            "put": {"operationId": "set_exchange_rate", "summary": "Set a currency's rate from a day on",
                    "tags": ["currencies"], "parameters": params,
                    "requestBody": {"required": True,
                                    "content": {"application/json": {"schema": _ref("ExchangeRateInput")}}},
                    "responses": {"200": _json("ExchangeRate", "replaced"), "201": _json("ExchangeRate", "created"),
                                  "400": _error(), "403": _error(), "422": _error(), **unauthorized}},
            "delete": {"operationId": "delete_exchange_rate", "summary": "Delete a dated rate",
                       "tags": ["currencies"], "parameters": params,
                       "responses": {"204": {"description": "deleted"}, "403": _error(), "404": _error(),
                                     "422": _error(), **unauthorized}}}
    return paths
