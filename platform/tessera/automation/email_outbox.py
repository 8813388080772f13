"""Email: templates rendered with a record's values, the outbox, and the `email.send` job.

A workflow's send_email step (engine.py) renders the template with the record's values as they
are in the write's transaction, read through the record service as the system; it writes the
message to the outbox (`tessera_email_outbox`, status queued) and enqueues an `email.send` job —
both in the write's transaction, so a rolled-back write sends nothing. A worker delivers it
(mail_transport.py: SMTP, or .eml files) and marks the row sent.

Delivery is at-least-once. The Message-ID is fixed when the message is queued (derived from the
outbox id), so every attempt sends the same message; a row marked sent is never sent again. A
worker that dies between handing the message to the server and marking the row sent leaves the
job to be retried, which sends it again with the same Message-ID (receiving systems and mail
clients use it to recognise the duplicate). A failed attempt raises: the queue retries with
backoff and the row records attempts and the last error; when the queue gives up (the last
attempt failed) the row becomes failed. `tessera jobs --requeue ID` tries a failed one again.
"""
from __future__ import annotations

import logging
import re
import uuid
import weakref
from dataclasses import dataclass
from datetime import datetime, timezone
from types import SimpleNamespace

from sqlalchemy import insert, select, update

from ..meta.validate_email_templates import PARTS, environment, parse
from ..records.ids import new_id
from ..security.actor import SYSTEM
from ..storage.engine import begin_read, begin_write
from ..storage.platform_tables import email_outbox
from ..records.serialize import to_api   # datetimes as ISO 8601 UTC, like every API value
from . import mail_transport
from .handlers import register
from .queue import enqueue, truncate_error

log = logging.getLogger(__name__)

JOB_KIND = "email.send"
QUEUED, SENT, FAILED = "queued", "sent", "failed"
STATUSES = (QUEUED, SENT, FAILED)
MAX_SUBJECT = 500
# one address: no spaces, separators or line breaks (header injection), one @ with a dotless-or-dotted domain
_ADDRESS = re.compile(r"[^@\s,;<>()\"\\]+@[^@\s,;<>()\"\\]+")


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str | None


class CompiledTemplate:
    def __init__(self, comp):
        self.name, self.object = comp.name, comp["object"]
        self.parts, paths = {}, {}
        for part in PARTS:
            text = comp.get(part)
            if text is None:
                continue
            html = part == "html_body"
            tree, found = parse(text, html=html)
            self.parts[part] = environment(html).from_string(tree)
            paths.update((path, None) for path, _line in found)
        self.paths = tuple(paths)

    def render(self, values: dict, record_id) -> Rendered:
        """`values`: the record's fields as the record service returns them ({"contact.email": ...})."""
        context = {"record": _nest(values, self.paths, record_id)}
        out = {part: template.render(context) for part, template in self.parts.items()}
        return Rendered(subject=one_line(out["subject"])[:MAX_SUBJECT], text=out["text_body"], html=out.get("html_body"))


def one_line(text: str) -> str:
    """A subject: line breaks (and other control characters) become spaces, so no merge value
    can end the Subject header and start another."""
    return " ".join(re.sub(r"[\x00-\x1f\x7f]", " ", text).split())


class _Fields:
    """The record (or a record a lookup points at) as templates see it: `record.field` and
    `record["field"]` read its values; a lookup used on its own shows its id. A plain object, not
    a dict, so a field named `items` or `values` is the field, not dict's method."""
    __slots__ = ("_values", "_value")

    def __init__(self, value=None):
        self._values, self._value = {}, value

    def __getattr__(self, name):
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(name) from None

    def __getitem__(self, name):
        return self._values[name]

    def __str__(self):
        return "" if self._value is None else str(self._value)

    def __bool__(self):
        return self._value is not None


def _nest(values: dict, paths, record_id) -> _Fields:
    root = _Fields(str(record_id))
    for path in paths:
        node = root
        for name in path[:-1]:
            child = node._values.get(name)
            if not isinstance(child, _Fields):
                child = node._values[name] = _Fields(child)
            node = child
        value = _shown(values.get(".".join(path)))
        existing = node._values.get(path[-1])
        if isinstance(existing, _Fields):
            existing._value = value
        else:
            node._values[path[-1]] = value
    return root


def _shown(value):
    """Numbers as people write them: 7, not 7.0 (the API gives currency and numbers as floats)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


_cache: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def templates_of(runtime) -> dict[str, CompiledTemplate]:
    """The runtime's email templates, compiled on first use and kept as long as the Runtime."""
    compiled = _cache.get(runtime)
    if compiled is None:
        compiled = _cache.setdefault(runtime, {name: CompiledTemplate(comp)
                                               for name, comp in runtime.metadata.email_templates.items()})
    return compiled


def render(records, runtime, template_name: str, record_id) -> Rendered:
    """Render a template with the record's current values (read as the system: the template's
    author chose the fields; whoever triggered the write need not see them). Inside a write, the
    record service reads through the write's transaction."""
    template = templates_of(runtime)[template_name]
    fields = sorted({".".join(path) for path in template.paths}) or ["id"]
    values = records.get(SYSTEM, template.object, record_id, fields=fields)
    return template.render(values, record_id)


def split_addresses(values) -> tuple[list[str], list[str]]:
    """(addresses, rejected): each value may hold several addresses separated by , or ;
    blanks are dropped, anything that is not one plain address is rejected."""
    good, bad = [], []
    for value in values:
        for item in re.split(r"[,;]", "" if value is None else str(value)):
            item = item.strip()
            if not item:
                continue
            (good if _ADDRESS.fullmatch(item) else bad).append(item)
    return list(dict.fromkeys(good)), bad


def queue_email(conn, *, to: list[str], cc: list[str], message: Rendered, template: str, workflow: str | None,
                object_name: str | None, record_id, version: int | None) -> tuple[uuid.UUID, int]:
    """Write the message to the outbox and enqueue its delivery, in the caller's transaction."""
    outbox_id = new_id()
    job_id = enqueue(conn, JOB_KIND, {"outbox_id": str(outbox_id)}, unique_key=f"email:{outbox_id}", version=version)
    conn.execute(insert(email_outbox).values(
        id=outbox_id, to=to, cc=cc, subject=message.subject, text=message.text, html=message.html, status=QUEUED,
        attempts=0, created_at=datetime.now(timezone.utc), template=template, workflow=workflow,
        object=object_name, record_id=uuid.UUID(str(record_id)) if record_id else None,
        message_id=f"<{outbox_id.hex}@{mail_transport.sender_domain()}>", job_id=job_id))
    return outbox_id, job_id


@register(JOB_KIND)
def send_email_job(payload, context) -> None:
    deliver(context.services.engine, uuid.UUID(payload["outbox_id"]), attempt=context.attempt,
            max_attempts=context.max_attempts)


def deliver(engine, outbox_id: uuid.UUID, *, attempt: int = 1, max_attempts: int = 1) -> str:
    """Send one outbox message (unless it was sent already); raise when it could not be sent."""
    t = email_outbox
    with begin_read(engine) as conn:
        row = conn.execute(select(t).where(t.c.id == outbox_id)).first()
    if row is None:
        return "not in the outbox"
    if row.status == SENT:
        return "sent already"
    created = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=timezone.utc)
    row = SimpleNamespace(**{**row._mapping, "created_at": created})
    try:
        detail = mail_transport.transport(engine).send(mail_transport.build_message(row),
                                                       f"{created:%Y%m%dT%H%M%SZ}-{row.id}")
    except Exception as exc:
        status = FAILED if attempt >= max_attempts else QUEUED
        with begin_write(engine) as conn:
            conn.execute(update(t).where(t.c.id == outbox_id, t.c.status != SENT).values(
                status=status, attempts=attempt, last_error=truncate_error(f"{type(exc).__name__}: {exc}")))
        raise
    with begin_write(engine) as conn:
        conn.execute(update(t).where(t.c.id == outbox_id).values(
            status=SENT, attempts=attempt, sent_at=datetime.now(timezone.utc), last_error=None))
    log.info("email %s %s", outbox_id, detail)
    return detail


def outbox(engine, *, status: str | None = None, limit: int = 50, offset: int = 0) -> list[dict]:
    """The outbox, newest first (what the API, `tessera emails` and Setup → Email Outbox show)."""
    t = email_outbox
    stmt = select(t).order_by(t.c.created_at.desc(), t.c.id.desc()).limit(limit).offset(offset)
    if status is not None:
        stmt = stmt.where(t.c.status == status)
    with begin_read(engine) as conn:
        return [_message_dict(r) for r in conn.execute(stmt)]


def message(engine, outbox_id) -> dict | None:
    """One outbox message (None: no such id, or not an id at all)."""
    try:
        key = uuid.UUID(str(outbox_id))
    except ValueError:
        return None
    with begin_read(engine) as conn:
        row = conn.execute(select(email_outbox).where(email_outbox.c.id == key)).first()
    return _message_dict(row) if row is not None else None


def _message_dict(r) -> dict:
    return {"id": str(r.id), "status": r.status, "to": list(r.to), "cc": list(r.cc), "subject": r.subject,
            "text": r.text, "html": r.html, "attempts": r.attempts, "last_error": r.last_error,
            "created_at": to_api(r.created_at), "sent_at": to_api(r.sent_at), "template": r.template,
            "workflow": r.workflow, "object": r.object, "record_id": str(r.record_id) if r.record_id else None,
            "message_id": r.message_id, "job_id": r.job_id}
