"""The OpenAPI description of the report and dashboard routes (web/api_reports.py). A report's
definition is the report metadata format (metadata/schemas/report.schema.json), described here by
reference rather than inlined: the server checks it and answers 400 naming each problem."""
from __future__ import annotations

from .openapi_automation import _error, _json, _ref

_ANY = {"type": ["number", "string", "boolean", "array", "object", "null"]}
_NAME = {"type": "string", "pattern": "^[a-z][a-z0-9_]*(__[a-z][a-z0-9_]*)?$"}
_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "string", "format": "uuid"}}
_RUN_PARAMETERS = [{"name": "filter", "in": "query", "schema": {"type": "string"},
                    "description": "an expression narrowing the report further (ANDed)"},
                   {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1},
                    "description": "the most rows or groups (capped at 2000)"}]


def report_schemas() -> dict:
    figures = {"type": "object", "additionalProperties": {"type": ["number", "string", "null"]},
               "description": "each summary's figure, by its name (sum:amount, count, a formula's name)"}
    group = {"type": "object", "required": ["key", "values", "filter"], "properties": {
        "key": {"type": "object", "additionalProperties": _ANY},
        "labels": {"type": "object", "additionalProperties": {"type": ["string", "null"]},
                   "description": "the linked record's name, for a grouping by a lookup"},
        "values": figures,
        "filter": {"type": ["string", "null"], "description": "the expression selecting this group's records "
                                                              "(drill-down: the list API's filter)"},
        "groups": {"type": "array", "items": {"type": "object"}, "description": "the next grouping's groups"}}}
    return {
        "ReportSummary": {"type": "object", "required": ["name", "label", "object", "format"], "properties": {
            "name": {"type": "string"}, "label": {"type": "string"}, "object": {"type": "string"},
            "format": {"enum": ["tabular", "summary", "matrix"]}, "folder": {"type": ["string", "null"]},
            "description": {"type": ["string", "null"]}, "package": {"type": ["string", "null"]}}},
        "ReportList": {"type": "object", "required": ["reports"],
                       "properties": {"reports": {"type": "array", "items": _ref("ReportSummary")}}},
        "ReportGroup": group,
        "ReportResult": {"type": "object", "required": ["report", "label", "object", "format", "summaries", "total"],
                         "properties": {
            "report": {"type": "string"}, "label": {"type": "string"}, "object": {"type": "string"},
            "format": {"enum": ["tabular", "summary", "matrix"]}, "filter": {"type": ["string", "null"]},
            "groupings": {"type": "array", "items": {"type": "object"}},
            "column_groupings": {"type": "array", "items": {"type": "object"}},
            "summaries": {"type": "array", "items": {"type": "object"}},
            "total": figures,
            "groups": {"type": "array", "items": _ref("ReportGroup"), "description": "summary reports"},
            "rows": {"type": "array", "items": {"type": "object"},
                     "description": "tabular: the records; matrix: the row groups"},
            "columns": {"type": "array", "items": {"type": "object"},
                        "description": "tabular: the columns; matrix: the column groups"},
            "cells": {"type": "array", "items": {"type": "object"}, "description": "matrix reports"},
            "chart": {"type": ["object", "null"], "description": "categories and series of the report's chart"},
            "truncated": {"type": "boolean"}}},
        "ReportDefinition": {"type": "object", "required": ["object"], "description":
                             "A report definition in the report metadata format (without its name): object, "
                             "format, columns, filter, groupings, column_groupings, summaries, sort, limit, chart.",
                             "properties": {"object": {"type": "string"}}},
        "UserReport": {"type": "object", "required": ["id", "name", "label", "object", "definition", "mine"],
                       "properties": {
            "id": {"type": "string", "format": "uuid"}, "name": {"type": "string"}, "label": {"type": "string"},
            "folder": {"type": ["string", "null"]}, "object": {"type": "string"},
            "definition": {"type": "object", "description": "the report definition without object, name, label, folder"},
            "owner": {"type": ["string", "null"]}, "mine": {"type": "boolean"},
            "shared_with_role": {"type": ["string", "null"]}, "shared_with_subordinates": {"type": "boolean"},
            "shared_with_group": {"type": ["string", "null"]}}},
        "UserReportList": {"type": "object", "required": ["user_reports"],
                           "properties": {"user_reports": {"type": "array", "items": _ref("UserReport")}}},
        "UserReportInput": {"type": "object", "required": ["label", "definition"], "additionalProperties": False,
                            "properties": {
            "label": {"type": "string", "maxLength": 80}, "folder": {"type": ["string", "null"], "maxLength": 80},
            "name": {"type": "string", "pattern": "^[a-z][a-z0-9]*(_[a-z0-9]+)*$", "maxLength": 40,
                     "description": "the name it gets when promoted to org metadata; default: from the label"},
            "definition": _ref("ReportDefinition"),
            "shared_with_role": {"type": ["string", "null"], "description": "users in this role may run it"},
            "shared_with_subordinates": {"type": "boolean", "description": "and users in the roles below it"},
            "shared_with_group": {"type": ["string", "null"], "description": "members of this public group may run it"}}},
        "DashboardList": {"type": "object", "required": ["dashboards"], "properties": {
            "dashboards": {"type": "array", "items": {"type": "object"}}}},
        "DashboardResult": {"type": "object", "required": ["dashboard", "label", "run_as", "filters", "components"],
                            "properties": {
            "dashboard": {"type": "string"}, "label": {"type": "string"}, "run_as": {"type": "string"},
            "as_of": {"type": "string", "format": "date-time"}, "cached": {"type": "boolean"},
            "cache_minutes": {"type": "integer"},
            "filters": {"type": "array", "items": {"type": "object"}},
            "components": {"type": "array", "items": {"type": "object", "properties": {
                "report": {"type": "string"}, "title": {"type": "string"}, "display": {"type": "string"},
                "value": {"type": ["number", "string", "null"]}, "previous_value": {"type": ["number", "string", "null"]},
                "result": _ref("ReportResult")}}}}},
    }


def report_paths() -> dict:
    errors = {"400": _error(), "401": _error(), "403": _error()}
    return {
        "/reports": {"get": {"operationId": "list_reports", "summary": "The org's reports you may run",
                             "tags": ["reports"], "responses": {"200": _json("ReportList"), "401": _error()}}},
        "/reports/{name}": {"get": {
            "operationId": "run_report", "summary": "Run a report as yourself", "tags": ["reports"],
            "description": "Figures built only from the records and fields you may read.",
            "parameters": [{"name": "name", "in": "path", "required": True, "schema": _NAME}, *_RUN_PARAMETERS],
            "responses": {"200": _json("ReportResult"), "404": _error(), **errors}}},
        "/reports/run": {"post": {
            "operationId": "run_adhoc_report", "summary": "Run an ad-hoc report definition as yourself",
            "tags": ["reports"],
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("ReportDefinition")}}},
            "responses": {"200": _json("ReportResult"), "422": _error(), **errors}}},
        "/user-reports": {
            "get": {"operationId": "list_saved_reports", "summary": "Your saved reports and those shared with you",
                    "tags": ["reports"], "responses": {"200": _json("UserReportList"), "401": _error()}},
            "post": {"operationId": "save_report", "summary": "Save a report of your own",
                     "tags": ["reports"], "description": "Checked like an ad-hoc definition, then run once as you.",
                     "requestBody": {"required": True,
                                     "content": {"application/json": {"schema": _ref("UserReportInput")}}},
                     "responses": {"201": _json("UserReport"), "422": _error(), **errors}}},
        "/user-reports/{id}": {
            "parameters": [_ID],
            "get": {"operationId": "get_saved_report", "summary": "One saved report you may open", "tags": ["reports"],
                    "responses": {"200": _json("UserReport"), "404": _error(), "401": _error()}},
            "put": {"operationId": "update_saved_report", "summary": "Change one of your saved reports",
                    "tags": ["reports"],
                    "requestBody": {"required": True,
                                    "content": {"application/json": {"schema": _ref("UserReportInput")}}},
                    "responses": {"200": _json("UserReport"), "404": _error(), "422": _error(), **errors}},
            "delete": {"operationId": "delete_saved_report", "summary": "Delete one of your saved reports",
                       "tags": ["reports"], "responses": {"204": {"description": "deleted"}, "404": _error(),
                                                          "401": _error()}}},
        "/user-reports/{id}/run": {"get": {
            "operationId": "run_saved_report", "summary": "Run a saved report as yourself", "tags": ["reports"],
            "parameters": [_ID, *_RUN_PARAMETERS],
            "responses": {"200": _json("ReportResult"), "404": _error(), **errors}}},
        "/dashboards": {"get": {"operationId": "list_dashboards", "summary": "The org's dashboards",
                                "tags": ["dashboards"], "responses": {"200": _json("DashboardList"), "401": _error()}}},
        "/dashboards/{name}": {"get": {
            "operationId": "get_dashboard", "summary": "Every component's figures",
            "tags": ["dashboards"],
            "description": "As you, or as the dashboard's run-as user. Each dashboard filter is a query "
                           "parameter of its name (owner=<user id>). A dashboard with cache_minutes answers "
                           "from its snapshot while it is fresh (cached: true; as_of: when it was computed).",
            "parameters": [{"name": "name", "in": "path", "required": True, "schema": _NAME},
                           {"name": "refresh", "in": "query", "schema": {"type": "boolean"},
                            "description": "recompute now rather than answer from a snapshot (at most once "
                                           "a minute)"}],
            "responses": {"200": _json("DashboardResult"), "404": _error(), **errors}}},
    }
