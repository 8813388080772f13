"""Setup → Automation operations: the job queue (dead jobs re-queued), the email outbox and the
webhook delivery log (replayed). Read and changed only through the automation service functions
(queue.py, email_outbox.py, webhooks.py) the CLI and the API use; state changes are POSTs with the
setup app's CSRF token, answered by a redirect with a flash message (no state change over GET).
"""
from __future__ import annotations

import json

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose

from ....automation import email_outbox, queue, webhooks
from ....storage.engine import begin_read, begin_write
from ..base import SetupView, has_permission

PAGE = 50
# the queue's states as an admin reads them (queue.py has the life of a job)
JOB_STATES = {queue.READY: "Queued", queue.RUNNING: "Running", queue.RETRY: "Failed, waiting to retry",
              queue.DEAD: "Dead", queue.DONE: "Done", queue.CANCELLED: "Cancelled"}
JOB_BADGES = {queue.READY: "info", queue.RUNNING: "primary", queue.RETRY: "warning", queue.DEAD: "danger",
              queue.DONE: "success", queue.CANCELLED: "secondary"}


MAX_JOB_ID = 2 ** 63 - 1    # a BIGINT: a larger id in the URL is no job (not a database error)


def _job_id(job_id: int) -> int:
    if job_id > MAX_JOB_ID:
        abort(404)
    return job_id


def _key(text: str) -> str:
    """An id or name from the URL; with a NUL in it, it names nothing (PostgreSQL text cannot hold
    NUL, so it must never reach a query)."""
    if "\x00" in text:
        abort(404)
    return text


def _page() -> int:
    text = request.args.get("page", "1")
    return int(text) if text.isdigit() and 1 <= int(text) <= 100_000 else 1


def _choice(name: str, allowed) -> str | None:
    """A filter from the query string; an unknown value is ignored (the list shows everything)."""
    value = request.args.get(name) or None
    return value if value in allowed else None


class JobsView(SetupView):
    icon = "fa-tasks"

    @expose("/")
    def index(self):
        page = _page()
        with begin_read(self.services.engine) as conn:
            counts = queue.count_by_status(conn)
            kinds = queue.count_by_kind(conn)
            status = _choice("status", queue.STATUSES)
            kind = request.args.get("kind") or None
            kind = None if kind is not None and "\x00" in kind else kind
            found = queue.list_jobs(conn, status=status, kind=kind, limit=PAGE + 1, offset=(page - 1) * PAGE)
            dead_kinds = queue.count_by_kind(conn, queue.DEAD)
        return self.render("setup/operations/jobs.html", jobs=found[:PAGE], more=len(found) > PAGE, page=page,
                           counts=counts, kinds=kinds, dead_kinds=dead_kinds, filters={"status": status, "kind": kind},
                           states=JOB_STATES, badges=JOB_BADGES)

    @expose("/<int:job_id>")
    def detail(self, job_id: int):
        with begin_read(self.services.engine) as conn:
            job = queue.get_job(conn, _job_id(job_id))
        if job is None:
            abort(404)
        payload = json.dumps(job.payload, indent=2, sort_keys=True, default=str)
        return self.render("setup/operations/job.html", job=job, payload=payload, states=JOB_STATES,
                           badges=JOB_BADGES)

    @expose("/<int:job_id>/requeue", methods=("POST",))
    def requeue(self, job_id: int):
        try:
            with begin_write(self.services.engine) as conn:
                job = queue.requeue(conn, _job_id(job_id), only=(queue.DEAD,))
        except queue.JobNotFound:
            abort(404)
        except queue.JobStateError as exc:
            flash(f"Not re-queued: {exc}.", "error")
            return redirect(url_for(".detail", job_id=job_id))
        flash(f"Job {job.id} ({job.kind}) is queued again and runs from attempt 1.", "success")
        return redirect(_back(url_for(".detail", job_id=job_id)))

    @expose("/requeue-dead", methods=("POST",))
    def requeue_kind(self):
        kind = (request.form.get("kind") or "").strip()
        if not kind or "\x00" in kind:
            flash("Not re-queued: choose the kind of job to re-queue.", "error")
            return redirect(url_for(".index"))
        with begin_write(self.services.engine) as conn:
            n = queue.requeue_dead(conn, kind)
        if n:
            flash(f"{n} dead {kind} job{'s' if n != 1 else ''} queued again.", "success")
        else:
            flash(f"There is no dead {kind} job to re-queue.", "warning")
        return redirect(url_for(".index", status=queue.DEAD))


def _back(default: str) -> str:
    """Where a form asked to go back to: only a path of this setup app (never another site)."""
    target = request.form.get("next") or ""
    root = request.script_root + "/"
    return target if target.startswith(root) and not target.startswith("//") and "\\" not in target else default


class EmailOutboxView(SetupView):
    icon = "fa-envelope-o"

    def is_accessible(self) -> bool:   # the same right as GET /api/v1/email-outbox
        return has_permission("customize_metadata") or has_permission("manage_users")

    @expose("/")
    def index(self):
        page = _page()
        status = _choice("status", email_outbox.STATUSES)
        found = email_outbox.outbox(self.services.engine, status=status, limit=PAGE + 1, offset=(page - 1) * PAGE)
        return self.render("setup/operations/outbox.html", emails=found[:PAGE], more=len(found) > PAGE, page=page,
                           status=status, statuses=email_outbox.STATUSES)

    @expose("/<message_id>")
    def detail(self, message_id: str):
        found = email_outbox.message(self.services.engine, message_id)
        if found is None:
            abort(404)
        return self.render("setup/operations/email.html", email=found)


class WebhookDeliveriesView(SetupView):
    icon = "fa-paper-plane"

    @expose("/")
    def index(self):
        page = _page()
        status = _choice("status", webhooks.STATUSES)
        engine = self.services.engine
        found = webhooks.list_deliveries(engine, status=status, limit=PAGE + 1, offset=(page - 1) * PAGE)
        disabled = webhooks.disabled_endpoints(engine)
        return self.render("setup/operations/deliveries.html", deliveries=found[:PAGE], more=len(found) > PAGE,
                           page=page, status=status, statuses=webhooks.STATUSES, disabled=disabled,
                           disabled_urls={d["url"] for d in disabled})

    @expose("/<delivery_id>")
    def detail(self, delivery_id: str):
        engine = self.services.engine
        found = webhooks.get_delivery(engine, _key(delivery_id))
        if found is None:
            abort(404)
        disabled = {d["url"]: d for d in webhooks.disabled_endpoints(engine)}
        body = json.dumps(found["request"]["body"], indent=2, default=str)
        return self.render("setup/operations/delivery.html", d=found, body=body, disabled=disabled.get(found["url"]),
                           headers=_request_headers(found))

    @expose("/<delivery_id>/replay", methods=("POST",))
    def replay(self, delivery_id: str):
        try:    # the function the API's and the CLI's replay call
            job_id = webhooks.replay(self.services.engine, _key(delivery_id))
        except LookupError:
            abort(404)
        except webhooks.WebhookError as exc:
            flash(f"Not replayed: {exc}", "error")
            return redirect(url_for(".detail", delivery_id=delivery_id))
        flash(f"Delivery {delivery_id} is queued again (job {job_id}): it is sent with the same webhook-id.",
              "success")
        return redirect(url_for(".detail", delivery_id=delivery_id))


def _request_headers(delivery: dict) -> list[tuple[str, str]]:
    """The headers every attempt sends; the timestamp and signature are made afresh per attempt
    (webhooks.deliver) and never stored, so they are described, not shown."""
    return [("content-type", "application/json"), ("user-agent", webhooks.USER_AGENT),
            ("webhook-id", delivery["id"]), ("webhook-timestamp", "the time of each attempt (Unix seconds)"),
            ("webhook-signature", "v1,… signed per attempt with the named credential")]
