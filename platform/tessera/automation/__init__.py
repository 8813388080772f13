"""tessera.automation — what makes metadata act.

Workflows: record-triggered workflows (engine.py, compiled per Runtime by compiler.py, logged by
runlog.py) plugged into the record service's write path through records.hooks; assignment
(assignment.py), in-app notifications (notifications.py) and email (email_outbox.py: templates
rendered into an outbox, delivered by the `email.send` job through mail_transport.py).
The durable job queue (queue.py), its handlers (handlers.py), the worker (worker.py) and recurring
jobs (schedule.py): asynchronous work, email and webhooks build on these. Outgoing webhooks
(webhooks.py: the `webhook` action and the `webhook.deliver` job every worker knows), their
SSRF-guarded HTTP (outbound.py) and the named credentials that sign them (credentials.py).
Approval processes (approvals.py: submit, approve, reject, recall, the record lock; compiled by
approval_processes.py, approvers resolved by approvers.py, stored by approval_store.py, guarded in
the change pipeline by approval_guard.py). Waits (waits.py: a run pauses and a job continues it)
and inbound webhooks (inbound.py: signed POSTs to /api/v1/hooks/<workflow> create records).

    WorkflowEngine(services.records).install()   # done by Services.open
    from tessera.automation import enqueue, register, JobContext
    job_id = enqueue(conn, "kind", {"json": "payload"}, unique_key=None, run_at=None, version=None)
"""
from . import email_outbox  # noqa: F401  (registers the built-in email.send job handler)
from . import inbound  # noqa: F401  (inbound webhooks: registers the workflow.inbound job handler)
from .engine import WorkflowEngine  # noqa: F401  (also registers the workflow job handlers: deferred.py)
from .approval_guard import approval_guard  # noqa: F401
from .approvals import ApprovalService  # noqa: F401
from .handlers import (HandlerRegistry, JobContext, add_schedule, idempotency_key, load_handler_modules,  # noqa: F401
                       register, registry)
from .queue import (CANCELLED, DEAD, DONE, READY, RETRY, RUNNING, STATUSES, Backoff, Job, JobNotFound,  # noqa: F401
                    JobStateError, QueueError, cancel, claim, complete, count_by_status, enqueue, enqueue_job,
                    fail, get_job, heartbeat, list_jobs, prune, reap_expired, release, requeue)
from .schedule import Schedule, firing_key, schedule_due  # noqa: F401
from .worker import Worker, WorkerStats, run_worker  # noqa: F401
