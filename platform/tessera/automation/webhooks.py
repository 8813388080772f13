"""Outgoing webhooks: a workflow's `webhook` action, delivered by the job queue, signed per the
Standard Webhooks spec (https://www.standardwebhooks.com), logged, and replayable.

    record write ──(same transaction)──▶ tessera_webhook_delivery row (pending) + a webhook.deliver job
    worker ──▶ POST url   webhook-id: msg_…   webhook-timestamp: <unix s>   webhook-signature: v1,<hmac>
            2xx  → delivered
            410  → the endpoint is disabled (this and later deliveries to it: disabled, nothing sent)
            refused (a private address, see outbound.py) → failed, not retried
            anything else (no answer, timeout, 3xx, 4xx, 5xx) → the job fails and is retried with
              backoff (BACKOFF, MAX_ATTEMPTS: about a day of trying), then failed

The message id is the delivery's id: the same on every attempt and on a manual replay, so the
receiver can drop duplicates (delivery is at-least-once: a worker lost after sending but before
recording the outcome sends again). The body is fixed when the record is written (the record as it
was then) and signed afresh on every attempt with the current timestamp, as the spec asks.
Every attempt is logged (tessera_webhook_attempt): time, status code, the start of the answer, the
error, the duration.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import insert, select, update
from standardwebhooks import Webhook

from ..records.errors import WorkflowFailed
from ..records.ids import new_id
from ..records.serialize import to_api
from ..security.actor import SYSTEM
from ..storage.engine import begin_read, begin_write
from ..storage.platform_tables import (webhook_attempts as attempts_table, webhook_deliveries as deliveries,
                                       webhook_disabled_endpoints as disabled_table)
from . import credentials, outbound
from .handlers import register
from .queue import Backoff, enqueue

log = logging.getLogger(__name__)

KIND = "webhook.deliver"
# Full-jitter exponential backoff from 30 s up to 3 h per wait: 24 retries wait about 24.6 h in all
# on average (each wait averages half its ceiling) — the "about a day" that Svix and Stripe keep trying.
BACKOFF = Backoff(base=30.0, cap=3 * 3600.0)
MAX_ATTEMPTS = 25
TIMEOUT_ENV = "TESSERA_WEBHOOK_TIMEOUT"
DEFAULT_TIMEOUT = 15.0
STATUSES = ("pending", "delivered", "failed", "disabled")
DELIVERY_ID_PATTERN = "^msg_[0-9a-f]{32}$"   # msg_ + new_id().hex (enqueue_for_record)
USER_AGENT = "Tessera-Webhooks/1"


class WebhookError(Exception):
    code = "webhook_error"


@dataclass(frozen=True)
class WebhookSpec:
    """A compiled `webhook` action."""
    url: str
    credential: str
    event: str | None = None          # None: <object>.<event>
    fields: tuple[str, ...] = ()      # () : the whole record


def _now() -> datetime:
    return datetime.now(timezone.utc)



def url_hash(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()


# -- the workflow action: in the record write's transaction -------------------------------------
def enqueue_for_record(records, ctx, workflow: str, spec: WebhookSpec, event: str, values: dict) -> str:
    """Write the delivery and its job on the write's connection; returns the delivery (message) id."""
    event_type, data = message_for_record(records, ctx, workflow, spec, event, values)
    return enqueue_delivery(ctx.conn, workflow=workflow, object_name=ctx.object_name, record_id=values.get("id"),
                            url=spec.url, credential=spec.credential, event=event_type, data=data,
                            version=ctx.runtime.version, now=ctx.now)


def message_for_record(records, ctx, workflow: str, spec: WebhookSpec, event: str, values: dict) -> tuple[str, dict]:
    """(the message's type, its `data`): what a webhook action sends about the record (a dry run
    shows it without enqueueing). Fails the run when the signing credential does not exist."""
    if not credentials.exists(ctx.conn, spec.credential, "webhook_signing"):
        raise WorkflowFailed(f"workflow '{workflow}': there is no webhook_signing credential '{spec.credential}' "
                             f"(create it: tessera credential set {spec.credential} --kind webhook_signing)",
                             details={"workflow": workflow, "credential": spec.credential})
    if event == "delete":        # the record is gone: what it was
        data = {name: to_api(value) for name, value in values.items()}
        if spec.fields:
            data = {name: data.get(name) for name in ("id", *spec.fields)}
    else:                        # joins the write's transaction (records.on_connection)
        data = records.get(SYSTEM, ctx.object_name, values["id"], fields=["id", *spec.fields] if spec.fields else None)
        if spec.fields:          # exactly what was asked for (not the service's _row_version)
            data = {name: data.get(name) for name in ("id", *spec.fields)}
    return spec.event or f"{ctx.object_name}.{event}", data


def message_body(event: str, data, now: datetime) -> str:
    """The Standard Webhooks payload: type, timestamp, data."""
    return json.dumps({"type": event, "timestamp": to_api(now), "data": data}, separators=(",", ":"), default=str)


def enqueue_delivery(conn, *, workflow: str, url: str, credential: str, event: str, data, object_name=None,
                     record_id=None, version: int | None = None, now: datetime | None = None) -> str:
    now = now or _now()
    delivery_id = f"msg_{new_id().hex}"
    body = message_body(event, data, now)
    conn.execute(insert(deliveries).values(
        id=delivery_id, workflow=workflow, object=object_name, record_id=record_id, url=url, credential=credential,
        event=event, body=body, status="pending", attempts=0, created_at=now))
    enqueue(conn, KIND, {"delivery": delivery_id}, max_attempts=MAX_ATTEMPTS, version=version, now=now)
    return delivery_id


# -- the job handler -----------------------------------------------------------------------------
@register(KIND, backoff=BACKOFF)
def deliver(payload, context) -> None:
    """Send one delivery (see the module docstring). Raises to have the queue retry it."""
    engine = context.services.engine
    delivery_id = payload["delivery"]
    with begin_read(engine) as conn:
        row = conn.execute(select(deliveries).where(deliveries.c.id == delivery_id)).first()
        if row is None:
            log.warning("webhook delivery %s no longer exists", delivery_id)
            return
        if row.status in ("delivered", "disabled"):   # a re-run after its outcome was recorded
            return
        gone = conn.execute(select(disabled_table.c.reason)
                            .where(disabled_table.c.url_hash == url_hash(row.url))).scalar()
        try:
            secret = credentials.secret_of(conn, row.credential, "webhook_signing")
        except credentials.CredentialError as exc:
            secret, credential_error = None, str(exc)
    if gone is not None:
        _finish(engine, row, "disabled", error=f"the endpoint is disabled: {gone}")
        return
    last = context.attempt >= context.max_attempts
    if secret is None:           # retried: an admin may (re)create the credential
        _record(engine, row, "failed" if last else "pending", error=credential_error)
        raise WebhookError(credential_error)
    sent_at = _now()
    headers = {"content-type": "application/json", "user-agent": USER_AGENT, "webhook-id": row.id,
               "webhook-timestamp": str(int(sent_at.timestamp())),
               "webhook-signature": Webhook(secret).sign(row.id, sent_at, row.body)}
    try:
        answer = outbound.post(row.url, row.body.encode(), headers, timeout=_timeout())
    except outbound.Refused as exc:      # retrying cannot help: the log says why, nothing was sent
        _record(engine, row, "failed", error=str(exc))
        return
    except outbound.OutboundError as exc:
        _record(engine, row, "failed" if last else "pending", error=str(exc))
        raise WebhookError(str(exc)) from None
    if 200 <= answer.status < 300:
        _record(engine, row, "delivered", answer=answer)
        return
    if answer.status == 410:
        with begin_write(engine) as conn:
            _disable(conn, row.url, f"answered 410 Gone to {row.id} at {to_api(sent_at)}")
        _record(engine, row, "disabled", answer=answer, error="410 Gone: the endpoint is disabled")
        return
    error = f"HTTP {answer.status}" + (" (redirects are not followed)" if 300 <= answer.status < 400 else "")
    _record(engine, row, "failed" if last else "pending", answer=answer, error=error)
    raise WebhookError(f"{row.url} answered {error}")


def _timeout() -> float:
    try:
        return max(0.05, float(os.environ.get(TIMEOUT_ENV, DEFAULT_TIMEOUT)))
    except ValueError:
        return DEFAULT_TIMEOUT


def _record(engine, row, status: str, *, answer: outbound.Response | None = None, error: str | None = None) -> None:
    """Log one attempt and move the delivery to `status`."""
    now = _now()
    code, text = (answer.status, answer.text) if answer else (None, None)
    values = dict(status=status, attempts=deliveries.c.attempts + 1, last_attempt_at=now, last_error=error,
                  last_status_code=code, last_response=text)
    if status == "delivered":
        values["delivered_at"] = now
    with begin_write(engine) as conn:
        attempt = conn.execute(update(deliveries).where(deliveries.c.id == row.id).values(values)
                               .returning(deliveries.c.attempts)).scalar()
        conn.execute(insert(attempts_table).values(
            delivery_id=row.id, attempt=attempt, at=now, status_code=code, response=text, error=error,
            duration_ms=answer.duration_ms if answer else None))


def _finish(engine, row, status: str, *, error: str) -> None:
    """Close a delivery without an attempt (nothing was sent)."""
    with begin_write(engine) as conn:
        conn.execute(update(deliveries).where(deliveries.c.id == row.id).values(status=status, last_error=error))


def _disable(conn, url: str, reason: str) -> None:
    if conn.execute(select(disabled_table.c.url).where(disabled_table.c.url_hash == url_hash(url))).first() is None:
        conn.execute(insert(disabled_table).values(url_hash=url_hash(url), url=url, disabled_at=_now(), reason=reason))


# -- the delivery log, replay, endpoints ----------------------------------------------------------
def _shown(row, attempt_rows=None) -> dict:
    out = {"id": row.id, "workflow": row.workflow, "object": row.object,
           "record_id": str(row.record_id) if row.record_id else None, "url": row.url, "event": row.event,
           "status": row.status, "attempts": row.attempts, "last_status_code": row.last_status_code,
           "last_response": row.last_response, "last_error": row.last_error, "created_at": to_api(row.created_at),
           "last_attempt_at": to_api(row.last_attempt_at), "delivered_at": to_api(row.delivered_at)}
    if attempt_rows is not None:
        out["request"] = {"method": "POST", "url": row.url, "webhook_id": row.id, "body": json.loads(row.body)}
        out["attempt_log"] = [{"attempt": a.attempt, "at": to_api(a.at), "status_code": a.status_code,
                               "response": a.response, "error": a.error, "duration_ms": a.duration_ms}
                              for a in attempt_rows]
    return out


def list_deliveries(engine, *, status: str | None = None, limit: int = 50, offset: int = 0) -> list[dict]:
    """Newest first."""
    if status is not None and status not in STATUSES:
        raise WebhookError(f"status must be one of: {', '.join(STATUSES)}")
    stmt = (select(deliveries).order_by(deliveries.c.created_at.desc(), deliveries.c.id.desc())
            .limit(limit).offset(offset))
    if status is not None:
        stmt = stmt.where(deliveries.c.status == status)
    with begin_read(engine) as conn:
        return [_shown(row) for row in conn.execute(stmt)]


def get_delivery(engine, delivery_id: str) -> dict | None:
    """One delivery with its request body and every attempt."""
    with begin_read(engine) as conn:
        row = conn.execute(select(deliveries).where(deliveries.c.id == delivery_id)).first()
        if row is None:
            return None
        tries = conn.execute(select(attempts_table).where(attempts_table.c.delivery_id == delivery_id)
                             .order_by(attempts_table.c.id)).all()
    return _shown(row, tries)


def replay(engine, delivery_id: str) -> int:
    """Send a delivery again (same message id, a fresh run of attempts); returns the new job's id."""
    with begin_write(engine) as conn:
        row = conn.execute(select(deliveries).where(deliveries.c.id == delivery_id)).first()
        if row is None:
            raise LookupError(f"there is no webhook delivery '{delivery_id}'")
        if row.status == "pending":
            raise WebhookError(f"delivery {delivery_id} is pending already (a job is sending or retrying it)")
        reason = conn.execute(select(disabled_table.c.reason)
                              .where(disabled_table.c.url_hash == url_hash(row.url))).scalar()
        if reason is not None:
            raise WebhookError(f"the endpoint {row.url} is disabled ({reason}): re-enable it first "
                               f"(tessera webhooks --enable URL)")
        conn.execute(update(deliveries).where(deliveries.c.id == delivery_id).values(status="pending"))
        return enqueue(conn, KIND, {"delivery": delivery_id}, max_attempts=MAX_ATTEMPTS)


def disabled_endpoints(engine) -> list[dict]:
    with begin_read(engine) as conn:
        rows = conn.execute(select(disabled_table).order_by(disabled_table.c.disabled_at)).all()
    return [{"url": r.url, "disabled_at": to_api(r.disabled_at), "reason": r.reason} for r in rows]


def enable_endpoint(engine, url: str) -> bool:
    from sqlalchemy import delete
    with begin_write(engine) as conn:
        return conn.execute(delete(disabled_table).where(disabled_table.c.url_hash == url_hash(url))).rowcount > 0
