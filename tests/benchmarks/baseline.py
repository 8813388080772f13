"""The hand-written comparison: Flask + SQLAlchemy Core endpoints for the same `obj_bench_item` table.

Written the way a competent developer would write one endpoint by hand: an explicit Table, input
type checks, system columns filled in, one INSERT (answered from the values inserted) or UPDATE (the
row read back), JSON out.
Authentication is a constant-time comparison of the Authorization header with a fixed value (free,
compared with Tessera's token check, but not nothing). No metadata, no expressions, no defaults
or validation rules, no lookup checks beyond the foreign key.
"""
from __future__ import annotations

import hmac
import uuid
from datetime import date, datetime, timezone
from decimal import Decimal, InvalidOperation

from flask import Flask, abort, jsonify, request
from sqlalchemy import (BigInteger, Boolean, Column, Date, DateTime, Integer, MetaData, Numeric, String, Table, Uuid,
                        insert, select, update)

from tessera.storage.engine import make_engine

SECRET = "Bearer baseline-secret-0123456789abcdef"
STATUSES = {"Open", "In Progress", "Won", "Lost"}

md = MetaData()
items = Table(
    "obj_bench_item", md,
    Column("id", Uuid, primary_key=True),
    Column("owner", Uuid),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", Uuid),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("updated_by", Uuid),
    Column("row_version", Integer, nullable=False),
    Column("name", String(120)),
    Column("status", String(255)),
    Column("amount", Numeric(18, 2)),
    Column("quantity", BigInteger),
    Column("due_date", Date),
    Column("active", Boolean(create_constraint=False)),
    Column("account", Uuid),
)


def _json_value(v):
    if isinstance(v, uuid.UUID):
        return str(v)
    if isinstance(v, Decimal):
        return float(v)
    if isinstance(v, datetime):
        return (v if v.tzinfo else v.replace(tzinfo=timezone.utc)).isoformat().replace("+00:00", "Z")
    if isinstance(v, date):
        return v.isoformat()
    return v


def _record(row) -> dict:
    return {k: _json_value(v) for k, v in row._mapping.items()}


def _clean(data: dict, *, creating: bool) -> dict:
    out, errors = {}, {}
    for key, value in data.items():
        try:
            if key == "name":
                if not isinstance(value, str) or not value or len(value) > 120:
                    raise ValueError
            elif key == "status":
                if value not in STATUSES:
                    raise ValueError
            elif key == "amount":
                if value is not None:
                    value = Decimal(str(value)).quantize(Decimal("0.01"))
            elif key == "quantity":
                if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
                    raise ValueError
            elif key == "due_date":
                value = date.fromisoformat(value) if value is not None else None
            elif key == "active":
                if value is not None and not isinstance(value, bool):
                    raise ValueError
            elif key == "account":
                value = uuid.UUID(value) if value is not None else None
            else:
                errors[key] = "unknown field"
                continue
        except (ValueError, TypeError, InvalidOperation):
            errors[key] = "invalid value"
            continue
        out[key] = value
    if creating:
        out.setdefault("status", "Open")
        if not out.get("name"):
            errors["name"] = "is required"
    if errors:
        abort(422, errors)
    return out


def create_baseline_app(url: str, user_id: uuid.UUID) -> Flask:
    app = Flask(__name__)
    engine = make_engine(url)   # the same engine setup (SQLite pragmas, psycopg 3) as Tessera

    @app.before_request
    def check_auth():
        if not hmac.compare_digest(request.headers.get("Authorization", ""), SECRET):
            abort(401)

    @app.get("/items/<item_id>")
    def get_item(item_id):
        try:
            rid = uuid.UUID(item_id)
        except ValueError:
            abort(404)
        with engine.connect() as conn:
            row = conn.execute(select(items).where(items.c.id == rid)).first()
        if row is None:
            abort(404)
        response = jsonify(_record(row))
        response.headers["ETag"] = f'"{row.row_version}"'
        return response

    @app.post("/items")
    def create_item():
        data = request.get_json(force=True)
        values = _clean(data, creating=True)
        now = datetime.now(timezone.utc)
        values.update(id=uuid.uuid4(), owner=user_id, created_at=now, created_by=user_id, updated_at=now,
                      updated_by=user_id, row_version=1)
        with engine.begin() as conn:
            conn.execute(insert(items), values)
        response = jsonify({c.name: _json_value(values.get(c.name)) for c in items.c})
        response.status_code = 201
        return response

    @app.patch("/items/<item_id>")
    def patch_item(item_id):
        try:
            rid = uuid.UUID(item_id)
        except ValueError:
            abort(404)
        values = _clean(request.get_json(force=True), creating=False)
        values.update(updated_at=datetime.now(timezone.utc), updated_by=user_id,
                      row_version=items.c.row_version + 1)
        with engine.begin() as conn:
            done = conn.execute(update(items).where(items.c.id == rid).values(**values))
            if done.rowcount != 1:
                abort(404)
            row = conn.execute(select(items).where(items.c.id == rid)).first()
        return jsonify(_record(row))

    return app
