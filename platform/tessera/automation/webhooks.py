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
from functools import lru_cache

from sqlalchemy import bindparam, func, insert, select, update
from standardwebhooks import Webhook

from ..records.errors import WorkflowFailed
from ..records.ids import new_id
from ..records.serialize import to_api
from ..security.actor import SYSTEM
from ..storage.engine import begin_read, begin_write
from ..storage.platform_tables import (named_credentials, webhook_attempts as attempts_table,
                                       webhook_deliveries as deliveries,
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
# Built once (constructing statements per delivery cost as much as running them). One read gives
# the delivery, whether its endpoint is disabled and its credential: a correlated lookup of the
# disabled endpoints by URL (a short list: endpoints that answered 410) and of the credential by name.
_credential = named_credentials.alias("credential")
_READ_DELIVERY = (
    select(deliveries,
           select(disabled_table.c.reason).where(disabled_table.c.url == deliveries.c.url)
           .limit(1).scalar_subquery().label("disabled_reason"),
           select(_credential.c.kind).where(_credential.c.name == deliveries.c.credential)
           .scalar_subquery().label("credential_kind"),
           select(_credential.c.secret).where(_credential.c.name == deliveries.c.credential)
           .scalar_subquery().label("credential_secret"))
    .where(deliveries.c.id == bindparam("delivery_id")))
_RECORD_ATTEMPT = (update(deliveries).where(deliveries.c.id == bindparam("b_id")).values(
    status=bindparam("b_status"), attempts=deliveries.c.attempts + 1, last_attempt_at=bindparam("b_at"),
    last_error=bindparam("b_error"), last_status_code=bindparam("b_code"), last_response=bindparam("b_text"),
    delivered_at=func.coalesce(bindparam("b_delivered_at", type_=deliveries.c.delivered_at.type),
                               deliveries.c.delivered_at)))
# the attempt's number is the delivery's count just incremented (run after _RECORD_ATTEMPT)
_LOG_ATTEMPT = insert(attempts_table).values(
    delivery_id=bindparam("b_id"), attempt=func.coalesce(
        select(deliveries.c.attempts).where(deliveries.c.id == bindparam("b_id")).scalar_subquery(), 0),
    at=bindparam("b_at"), status_code=bindparam("b_code"), response=bindparam("b_text"),
    error=bindparam("b_error"), duration_ms=bindparam("b_duration"))


@register(KIND, backoff=BACKOFF)
def deliver(payload, context) -> None:
    """Send one delivery (see the module docstring). Raises to have the queue retry it. The
    attempt is logged with the job's outcome (JobContext.write_with_outcome): in the worker's
    transaction that records it, batched with the other jobs finished meanwhile."""
    engine = context.services.engine
    delivery_id = payload["delivery"]
    with begin_read(engine) as conn:
        row = conn.execute(_READ_DELIVERY, {"delivery_id": delivery_id}).first()
    if row is None:
        log.warning("webhook delivery %s no longer exists", delivery_id)
        return
    if row.status in ("delivered", "disabled"):   # a re-run after its outcome was recorded
        return
    if row.disabled_reason is not None:
        _finish(engine, row, "disabled", error=f"the endpoint is disabled: {row.disabled_reason}")
        return
    last = context.attempt >= context.max_attempts
    secret, credential_error = _secret(row)
    if secret is None:           # retried: an admin may (re)create the credential
        _record(context, row, "failed" if last else "pending", error=credential_error)
        raise WebhookError(credential_error)
    sent_at = _now()
    headers = {"content-type": "application/json", "user-agent": USER_AGENT, "webhook-id": row.id,
               "webhook-timestamp": str(int(sent_at.timestamp())),
               "webhook-signature": _signer(secret).sign(row.id, sent_at, row.body)}
    try:
        answer = outbound.post(row.url, row.body.encode(), headers, timeout=_timeout())
    except outbound.Refused as exc:      # retrying cannot help: the log says why, nothing was sent
        _record(context, row, "failed", error=str(exc))
        return
    except outbound.OutboundError as exc:
        _record(context, row, "failed" if last else "pending", error=str(exc))
        raise WebhookError(str(exc)) from None
    if 200 <= answer.status < 300:
        _record(context, row, "delivered", answer=answer)
        return
    if answer.status == 410:     # at once, not with the outcome: the next deliveries must see it
        with begin_write(engine) as conn:
            _disable(conn, row.url, f"answered 410 Gone to {row.id} at {to_api(sent_at)}")
        _record(context, row, "disabled", answer=answer, error="410 Gone: the endpoint is disabled")
        return
    error = f"HTTP {answer.status}" + (" (redirects are not followed)" if 300 <= answer.status < 400 else "")
    _record(context, row, "failed" if last else "pending", answer=answer, error=error)
    raise WebhookError(f"{row.url} answered {error}")


def _secret(row) -> tuple[str | None, str | None]:
    """(the signing secret, None) or (None, why there is none), from the delivery's read."""
    name, kind = row.credential, "webhook_signing"
    if row.credential_kind is None:
        return None, f"there is no credential '{name}' (create it: tessera credential set {name} --kind {kind})"
    if row.credential_kind != kind:
        return None, f"credential '{name}' is a {row.credential_kind} credential; a {kind} credential is needed"
    return row.credential_secret, None


@lru_cache(maxsize=64)
def _signer(secret: str) -> Webhook:
    """A signer per secret (decoding the key each time is wasted work; a rotated secret is a new key)."""
    return Webhook(secret)


def _timeout() -> float:
    try:
        return max(0.05, float(os.environ.get(TIMEOUT_ENV, DEFAULT_TIMEOUT)))
    except ValueError:
        return DEFAULT_TIMEOUT


def _record(context, row, status: str, *, answer: outbound.Response | None = None, error: str | None = None) -> None:
    """Log one attempt and move the delivery to `status`, with the job's outcome."""
    now = _now()
    code, text = (answer.status, answer.text) if answer else (None, None)
    context.write_with_outcome(_write_attempts, {
        "b_id": row.id, "b_status": status, "b_at": now, "b_error": error, "b_code": code, "b_text": text,
        "b_delivered_at": now if status == "delivered" else None,
        "b_duration": answer.duration_ms if answer else None})


def _write_attempts(conn, attempts: list[dict]) -> None:
    """The outcome writer of `deliver`: update the deliveries, then log their attempts (two
    statements for the whole batch)."""
    conn.execute(_RECORD_ATTEMPT, attempts)
    conn.execute(_LOG_ATTEMPT, attempts)


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
