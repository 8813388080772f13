"""Tessera's own tables (prefix `tessera_`; object tables use `obj_`, so they never collide)."""
from sqlalchemy import (JSON, BigInteger, Boolean, Column, Computed, Date, DateTime, Float, Index, Integer, LargeBinary, MetaData,
                        Numeric, String, Table, Text, Uuid, text)

from .naming import NAMING_CONVENTION

platform_metadata = MetaData(naming_convention=NAMING_CONVENTION)

versions = Table(
    "tessera_version", platform_metadata,
    Column("number", Integer, primary_key=True, autoincrement=False),
    Column("parent", Integer),
    Column("content_hash", String(64), nullable=False),
    Column("author", String(120), nullable=False),
    Column("source", String(20), nullable=False),      # ui, cli, package, deploy, rollback
    Column("message", Text, nullable=False, default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("snapshot", JSON, nullable=False),          # {"packages": [...], "org": {...}}
    Column("active", Boolean, nullable=False, default=False),
)

credentials = Table(
    "tessera_credential", platform_metadata,
    Column("user_id", Uuid, primary_key=True),
    Column("password_hash", String(255), nullable=False),
    Column("failed_logins", Integer, nullable=False, default=0),
    Column("locked_until", DateTime(timezone=True)),   # retired: sign-in throttling (login_throttle) replaced it
    # bumped on logout, password change, deactivation and profile/role change: a browser session
    # keeps the generation it signed in with and stops working once it differs (NULL counts as 0)
    Column("session_generation", Integer),
)

# Failed sign-ins per key (security/throttle.py): `a:<address>|u:<username>`, `u:<username>` and
# `a:<address>`, hashed. In the database so every worker counts the same attempts.
login_throttle = Table(
    "tessera_login_throttle", platform_metadata,
    Column("key", String(64), primary_key=True),
    Column("username", String(80), index=True),      # lower-cased; NULL for the address-only key
    Column("failures", Integer, nullable=False),
    Column("window_start", DateTime(timezone=True), nullable=False),
    Column("blocked_until", DateTime(timezone=True)),
)

# Request rate-limit counters (web/rate_limit_storage.py): one row per limit key and fixed window.
# In the database so every gunicorn worker counts the same requests without another service.
rate_limits = Table(
    "tessera_rate_limit", platform_metadata,
    Column("key", String(255), primary_key=True),     # Flask-Limiter's key: limit, scope, client
    Column("hits", Integer, nullable=False),
    Column("expires_at", Float, nullable=False, index=True),   # epoch seconds: the window's end
)

api_tokens = Table(
    "tessera_api_token", platform_metadata,
    Column("id", String(16), primary_key=True),         # public part, shown in listings
    Column("user_id", Uuid, nullable=False, index=True),
    Column("secret_hash", String(128), nullable=False),  # sha256 of the secret: tokens are random
    Column("name", String(120), nullable=False, default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True)),
    Column("revoked_at", DateTime(timezone=True)),
    Column("last_used_at", DateTime(timezone=True)),
)

autonumbers = Table(
    "tessera_autonumber", platform_metadata,
    Column("object", String(80), primary_key=True),
    Column("field", String(80), primary_key=True),
    Column("next_value", BigInteger, nullable=False),
)

audit_log = Table(
    "tessera_audit", platform_metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", Uuid),
    Column("action", String(60), nullable=False),
    Column("subject", String(200), nullable=False, default=""),
    Column("detail", JSON),
)

settings = Table(
    "tessera_setting", platform_metadata,
    Column("key", String(80), primary_key=True),
    Column("value", Text, nullable=False),
)

# Field history (records/history.py): one row per tracked field a write changed. Values are kept in
# their API representation (JSON), so an entry reads the same after the field's type changes.
field_history = Table(
    "tessera_field_history", platform_metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("object", String(80), nullable=False),
    Column("record_id", Uuid, nullable=False),
    Column("field", String(80), nullable=False),
    Column("old_value", JSON(none_as_null=True)),
    Column("new_value", JSON(none_as_null=True)),
    Column("changed_by", Uuid),
    Column("changed_at", DateTime(timezone=True), nullable=False),
    # a record's history newest first (the keyset order: changed_at, then id)
    Index("ix_tessera_field_history_record", "object", "record_id", "changed_at", "id"),
)

shares = Table(
    "tessera_share", platform_metadata,
    Column("id", Uuid, primary_key=True),
    Column("object", String(80), nullable=False),
    Column("record_id", Uuid, nullable=False),
    Column("grantee_type", String(30), nullable=False),   # user | role | role_and_subordinates | group
    Column("grantee", String(80), nullable=False),        # user id, role name or group name
    Column("access", String(10), nullable=False),         # read | edit
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", Uuid),
    # `grantee_type:grantee` ('role:sales_rep', 'user:<id>'), kept by the database: the sharing
    # predicate asks for the actor's principals as one list, `principal IN (...)` — one index
    # condition instead of an OR of (type, grantee) pairs. A column, not an expression index:
    # PostgreSQL answers it from the index alone (index-only scan), never computing the
    # expression per share. Unambiguous: the grantee types contain no ':'.
    Column("principal", String(120), Computed("grantee_type || ':' || grantee", persisted=True)),
    # a record's shares (its sharing page; the per-record probe of the sharing predicate)
    Index("ix_tessera_share_record", "object", "record_id"),
)


def share_principal(grantee_type: str, grantee) -> str:
    """The `principal` value of a share to `grantee` (see the column)."""
    return f"{grantee_type}:{grantee}"


# the shares granted to a user's principals, for the sharing predicate when PostgreSQL collects
# them once per query (a hashed subplan) instead of probing per record: without it that is a scan
# of every share. PostgreSQL only: SQLite always probes per record, and given this index it probes
# it once per principal and access level instead of ix_tessera_share_record once (3× slower)
Index("ix_tessera_share_grants", shares.c.object, shares.c.principal, shares.c.access,
      shares.c.record_id).ddl_if(dialect="postgresql")

# The job queue (automation/queue.py documents the protocol). `status`: ready, running, done,
# retry (failed, waiting for run_at to try again), dead (out of attempts), cancelled.
jobs = Table(
    "tessera_job", platform_metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("queue", String(60), nullable=False),
    Column("kind", String(120), nullable=False),          # a registered handler's name
    Column("payload", JSON, nullable=False),
    Column("status", String(12), nullable=False),
    Column("priority", Integer, nullable=False, default=0),   # lower runs first
    Column("run_at", DateTime(timezone=True), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),   # claims so far, this one included
    Column("max_attempts", Integer, nullable=False),
    Column("last_error", Text),
    Column("lease_owner", String(120)),
    Column("lease_until", DateTime(timezone=True)),
    Column("unique_key", String(255)),                   # see ix_tessera_job_unique_key
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("version", Integer),                           # the metadata version it was enqueued under
    # Every index is partial, so an enqueue (inside the caller's record write) updates two
    # B-trees — the table and the claim index — not five.
    # At most one job per key while the row exists (done and cancelled rows are pruned after the
    # retention period): concurrent inserts of a key collide here and the later one is ignored.
    Index("ix_tessera_job_unique_key", "unique_key", unique=True,
          postgresql_where=text("unique_key IS NOT NULL"), sqlite_where=text("unique_key IS NOT NULL")),
    # the claim: the first claimable jobs of some queues in (priority, run_at, id) order; only the
    # waiting jobs, never the (many) finished ones
    Index("ix_tessera_job_claim", "queue", "priority", "run_at", "id",
          postgresql_where=text("status IN ('ready', 'retry')"), sqlite_where=text("status IN ('ready', 'retry')")),
    # leases that expired (a worker was lost)
    Index("ix_tessera_job_lease", "lease_until",
          postgresql_where=text("status = 'running'"), sqlite_where=text("status = 'running'")),
    # pruning, and the admin listing of finished jobs by status
    Index("ix_tessera_job_finished", "status", "finished_at",
          postgresql_where=text("status IN ('done', 'dead', 'cancelled')"),
          sqlite_where=text("status IN ('done', 'dead', 'cancelled')")),
)

# indexes of earlier releases that later ones replaced: dropped where an older database has them
RETIRED_INDEXES = {
    "tessera_share": ["ix_tessera_share_principal"],   # the expression index before the principal column
}

# Workflow runs (automation/runlog.py): one row per workflow whose condition held on a write, with
# the metadata version it ran under and its steps. A run that failed rolled its write back; it is
# recorded afterwards, in a transaction of its own. A failed run outside a write (time-relative,
# scheduled, manual) may be retried from its failed step once (automation/retry.py): the new run
# names it in retry_of, unique so that two retries of one run cannot both happen.
workflow_runs = Table(
    "tessera_workflow_run", platform_metadata,
    Column("id", Uuid, primary_key=True),
    Column("workflow", String(80), nullable=False),
    Column("object", String(80), nullable=False),
    Column("record_id", Uuid),
    Column("event", String(20), nullable=False),       # create, update, delete
    Column("timing", String(20), nullable=False),      # before_save, after_save
    Column("status", String(20), nullable=False),      # succeeded, failed, waiting, cancelled
    Column("version", Integer),                        # the metadata version it ran under
    Column("actor", Uuid),                             # whose write triggered it
    Column("depth", Integer, nullable=False, default=1),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("steps", JSON, nullable=False),
    Column("error", Text),
    Column("resume_at", DateTime(timezone=True)),      # a waiting run: when its wait ends
    Column("failed_step", String(200)),                # the step that failed (actions.1.then.0)
    Column("retry_of", Uuid),                          # the failed run this one retried
    Index("ix_tessera_workflow_run_record", "object", "record_id", "started_at"),
    Index("ix_tessera_workflow_run_workflow", "workflow", "started_at"),
    Index("ix_tessera_workflow_run_status", "status", "started_at"),
    Index("ux_tessera_workflow_run_retry_of", "retry_of", unique=True),
)

# Inbound webhooks (automation/inbound.py): the webhook-id of every request accepted in the last
# REPLAY_WINDOW, so a replayed (still validly signed) request is refused.
inbound_webhook_ids = Table(
    "tessera_inbound_webhook_id", platform_metadata,
    Column("workflow", String(80), primary_key=True),
    Column("message_id", String(200), primary_key=True),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Index("ix_tessera_inbound_webhook_id_received", "received_at"),
)

# Round-robin assignment (automation/assignment.py): the member a workflow step assigned last.
assignment_cursors = Table(
    "tessera_assignment_cursor", platform_metadata,
    Column("key", String(200), primary_key=True),      # <workflow>:<step>
    Column("last_user", Uuid, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# In-app notifications (automation/notifications.py): assignments, approvals, workflow `notify` steps.
notifications = Table(
    "tessera_notification", platform_metadata,
    Column("id", Uuid, primary_key=True),
    Column("user_id", Uuid, nullable=False),           # the recipient
    Column("title", String(255), nullable=False),
    Column("body", Text, nullable=False, default=""),
    Column("object", String(80)),                      # the record it is about, if any
    Column("record_id", Uuid),
    Column("source", String(120), nullable=False, default=""),   # e.g. workflow:<name>
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("read_at", DateTime(timezone=True)),
    Index("ix_tessera_notification_user", "user_id", "created_at"),
)

# The email outbox (automation/email.py): one row per message a workflow sent, rendered when it was
# queued (written in the write's transaction with its `email.send` job) and updated by the worker
# that delivers it. The message's Message-ID is fixed here, so a resend is recognisably the same mail.
email_outbox = Table(
    "tessera_email_outbox", platform_metadata,
    Column("id", Uuid, primary_key=True),
    Column("to", JSON, nullable=False),                # [address, ...]
    Column("cc", JSON, nullable=False),
    Column("subject", String(500), nullable=False),
    Column("text", Text, nullable=False),
    Column("html", Text),
    Column("status", String(12), nullable=False),      # queued, sent, failed
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("sent_at", DateTime(timezone=True)),
    Column("template", String(80), nullable=False),
    Column("workflow", String(80)),
    Column("object", String(80)),
    Column("record_id", Uuid),
    Column("message_id", String(255), nullable=False),
    Column("job_id", BigInteger().with_variant(Integer, "sqlite")),
    Index("ix_tessera_email_outbox_status", "status", "created_at"),
    Index("ix_tessera_email_outbox_record", "object", "record_id", "created_at"),
)

# Named credentials (automation/credentials.py): secrets that metadata refers to by name — webhook
# signing keys, tokens of other systems. Data of this database, never metadata: never exported,
# never printed back.
named_credentials = Table(
    "tessera_named_credential", platform_metadata,
    Column("name", String(80), primary_key=True),
    Column("kind", String(30), nullable=False),        # webhook_signing, http_bearer, basic
    Column("secret", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("rotated_at", DateTime(timezone=True)),
)

# Outgoing webhooks (automation/webhooks.py): one row per message, written in the transaction of
# the record change it announces; its id is the `webhook-id` header (the same on every retry).
webhook_deliveries = Table(
    "tessera_webhook_delivery", platform_metadata,
    Column("id", String(40), primary_key=True),        # msg_<hex>
    Column("workflow", String(80), nullable=False),
    Column("object", String(80)),
    Column("record_id", Uuid),
    Column("url", Text, nullable=False),
    Column("credential", String(80), nullable=False),
    Column("event", String(120), nullable=False),
    Column("body", Text, nullable=False),              # the exact JSON sent (signed) on every attempt
    Column("status", String(12), nullable=False),      # pending, delivered, failed, disabled
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_status_code", Integer),
    Column("last_response", Text),                     # the start of the receiver's last answer
    Column("last_error", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_attempt_at", DateTime(timezone=True)),
    Column("delivered_at", DateTime(timezone=True)),
    Index("ix_tessera_webhook_delivery_status", "status", "created_at"),
)

# Every attempt of a delivery: the delivery log's detail.
webhook_attempts = Table(
    "tessera_webhook_attempt", platform_metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("delivery_id", String(40), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("status_code", Integer),
    Column("response", Text),
    Column("error", Text),
    Column("duration_ms", Integer),
    Index("ix_tessera_webhook_attempt_delivery", "delivery_id", "id"),
)

# Endpoints that answered 410 Gone: nothing more is sent to them until an admin re-enables them.
webhook_disabled_endpoints = Table(
    "tessera_webhook_disabled_endpoint", platform_metadata,
    Column("url_hash", String(64), primary_key=True),  # sha256 of the URL (URLs can be long)
    Column("url", Text, nullable=False),
    Column("disabled_at", DateTime(timezone=True), nullable=False),
    Column("reason", Text, nullable=False),
)

# Approval requests (automation/approvals.py): one per submission of a record to an approval
# process, written in the transaction of the submission (with its work items and notifications).
approval_requests = Table(
    "tessera_approval_request", platform_metadata,
    Column("id", Uuid, primary_key=True),
    Column("process", String(80), nullable=False),
    Column("object", String(80), nullable=False),
    Column("record_id", Uuid, nullable=False),
    Column("status", String(12), nullable=False),      # pending, approved, rejected, recalled
    Column("submitter", Uuid, nullable=False),
    Column("step", Integer),                           # the current step's index while pending
    Column("locked", Boolean, nullable=False),         # the record is locked while pending
    Column("version", Integer),                        # the metadata version it was submitted under
    Column("comment", Text, nullable=False, default=""),
    Column("submitted_at", DateTime(timezone=True), nullable=False),
    Column("completed_at", DateTime(timezone=True)),
    Index("ix_tessera_approval_request_record", "object", "record_id", "submitted_at"),
    Index("ix_tessera_approval_request_submitter", "submitter", "status"),
    # at most one pending request per record: concurrent submissions collide here (and the lock
    # check of every write to a locked object is this index's probe)
    Index("ux_tessera_approval_request_pending", "object", "record_id", unique=True,
          postgresql_where=text("status = 'pending'"), sqlite_where=text("status = 'pending'")),
)

# An approval request's history: its submission, each approver's work item per step (pending until
# they decide, closed when another's answer decided the step), skipped steps and the recall.
approval_items = Table(
    "tessera_approval_item", platform_metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("request_id", Uuid, nullable=False),
    Column("step", Integer),                           # NULL: the submission, the recall
    Column("step_label", String(255)),
    Column("user_id", Uuid),                           # the approver; for a submission or recall, who did it
    # submitted, pending, approved, rejected, closed, skipped, recalled
    Column("status", String(12), nullable=False),
    Column("comment", Text, nullable=False, default=""),
    Column("acted_by", Uuid),                          # who decided: the approver, or an administrator for them
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("acted_at", DateTime(timezone=True)),
    Index("ix_tessera_approval_item_request", "request_id", "id"),
    Index("ix_tessera_approval_item_pending", "user_id", "request_id",
          postgresql_where=text("status = 'pending'"), sqlite_where=text("status = 'pending'")),
)

# Exchange rates (currency/rates.py): how many units of `code` one unit of the corporate currency buys,
# from `effective_from` until the next rate of that code. Data, not metadata: rates change daily.
currency_rates = Table(
    "tessera_currency_rate", platform_metadata,
    Column("code", String(3), primary_key=True),
    Column("effective_from", Date, primary_key=True),
    Column("rate", Numeric(24, 12), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("updated_by", Uuid),
)

# A dashboard's figures as of their computation (analytics/snapshots.py), for dashboards with
# `cache_minutes`: keyed by the dashboard, the metadata version, whom it ran as (user, role,
# profile, groups, permission sets: a change of access is a new key) and the filter values.
dashboard_snapshots = Table(
    "tessera_dashboard_snapshot", platform_metadata,
    Column("key", String(64), primary_key=True),
    Column("dashboard", String(80), nullable=False, index=True),
    Column("computed_at", DateTime(timezone=True), nullable=False),
    Column("result", JSON, nullable=False),            # tagged JSON (analytics/snapshots.py: dates, decimals…)
)

# Attachments (tessera/files): a file linked to any record, like Salesforce's ContentDocumentLink.
# A platform table, not a core object: a link has no access of its own (who sees or adds one is
# decided by its parent record alone), no fields to customize and no place in the UI of its own;
# as an object it would carry owner, sharing and permissions that must never apply.
file_links = Table(
    "tessera_file_link", platform_metadata,
    Column("file_id", Uuid, primary_key=True),
    Column("object", String(80), primary_key=True),
    Column("record_id", Uuid, primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", Uuid),
    Index("ix_tessera_file_link_record", "object", "record_id"),
)

# File contents when the blob store is the database (TESSERA_FILE_STORE=database, files/blobs.py).
blobs = Table(
    "tessera_blob", platform_metadata,
    Column("key", String(64), primary_key=True),
    Column("size", BigInteger, nullable=False),
    Column("data", LargeBinary, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# Imports through the /app wizard (tessera/dataio): the uploaded file, its mapping, and the run's
# progress and outcome, written by the job that runs it (`status`: uploaded, queued, running, done,
# failed). The file and the error report are kept here so any worker process can read them.
import_runs = Table(
    "tessera_import", platform_metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("user_id", Uuid, nullable=False, index=True),
    Column("object", String(80), nullable=False),
    Column("filename", String(200), nullable=False),
    Column("format", String(8), nullable=False),
    Column("content", LargeBinary, nullable=False),
    Column("headers", JSON, nullable=False),
    Column("sample", JSON),                           # the first rows, shown next to the mapping
    Column("mapping", JSON),
    Column("operation", String(10)),
    Column("match_field", String(80)),
    Column("status", String(12), nullable=False),
    Column("total", Integer, nullable=False, default=0),
    Column("progress", Integer, nullable=False, default=0),
    Column("created", Integer, nullable=False, default=0),
    Column("updated", Integer, nullable=False, default=0),
    Column("error_count", Integer, nullable=False, default=0),
    Column("errors_csv", LargeBinary),
    Column("message", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
)

# Saved column mappings of the import wizard, per user and object, reusable by name.
import_mappings = Table(
    "tessera_import_mapping", platform_metadata,
    Column("user_id", Uuid, primary_key=True),
    Column("object", String(80), primary_key=True),
    Column("name", String(80), primary_key=True),
    Column("mapping", JSON, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# Full org data exports (tessera/dataio/org_export.py): a zip made by a job, downloadable by admins.
data_exports = Table(
    "tessera_data_export", platform_metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("user_id", Uuid, nullable=False),
    Column("status", String(12), nullable=False),     # queued, running, done, failed
    Column("content", LargeBinary),
    Column("size", BigInteger),
    Column("message", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
)

# Metadata deploys into this org (tessera/deploys): one row per deploy, check-only validation or
# undo. `org` is the org layer the deploy makes active (a validated deploy applies it later);
# `base_version` the version it was planned against; `plan` the steps as shown. A deploy's row
# commits in the change's own transaction, so `succeeded` and the new version exist together.
deploys = Table(
    "tessera_deploy", platform_metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("kind", String(12), nullable=False),        # deploy, validation, undo
    Column("status", String(12), nullable=False),      # running, succeeded, validated, failed, refused, undone
    Column("source", Text, nullable=False),             # where the metadata came from (no passwords)
    Column("author", String(120), nullable=False),
    Column("message", Text, nullable=False, default=""),
    Column("base_version", Integer),
    Column("result_version", Integer),
    Column("content_hash", String(64)),
    Column("org", JSON),
    Column("lock", JSON),
    Column("deletes", JSON),                           # components the deploy deletes explicitly
    Column("plan", JSON),                              # [{"safety", "step", "notes"}]
    Column("error", Text),
    Column("of_deploy", BigInteger().with_variant(Integer, "sqlite")),   # an undo's deploy; a run of a validation
    Column("host", String(255)),
    Column("pid", Integer),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("duration_ms", Integer),
)

# Keys whose signed package archives this org installs (packaging/trust.py): added and removed
# with `tessera package trust/untrust`, each change in the audit log.
trusted_keys = Table(
    "tessera_trusted_key", platform_metadata,
    Column("label", String(80), primary_key=True),
    Column("key_id", String(64), nullable=False, unique=True),   # sha256 hex of the raw public key
    Column("public_key", String(64), nullable=False),            # base64 of the 32 raw bytes
    Column("added_at", DateTime(timezone=True), nullable=False),
    Column("added_by", String(120), nullable=False),
)

# Package archives uploaded in Setup → Installed Packages (packaging/uploads.py): kept so a
# reviewed plan can be confirmed by any worker, and to offer "upgrade available". One row per
# content hash; the bytes are checked again whenever one is installed.
package_archives = Table(
    "tessera_package_archive", platform_metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("name", String(80), nullable=False, index=True),
    Column("version", String(40), nullable=False),
    Column("content_hash", String(64), nullable=False, unique=True),
    Column("filename", String(200), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("content", LargeBinary, nullable=False),
    Column("signer_key_id", String(64)),
    Column("signer", String(120)),
    Column("uploaded_at", DateTime(timezone=True), nullable=False),
    Column("uploaded_by", Uuid),
)

# The package data patches and seed data files run in this org (packaging/data_patches.py): each
# runs once per org, so the next upgrade knows which of a package's patches are new. Written in
# the upgrade's transaction: a rolled-back upgrade leaves no row.
package_patches = Table(
    "tessera_package_patch", platform_metadata,
    Column("package", String(80), primary_key=True),
    Column("name", String(120), primary_key=True),       # 0001_fill_region, or data/<object>.csv
    Column("kind", String(10), nullable=False),           # patch | data
    Column("package_version", String(40), nullable=False),
    Column("outcome", String(20), nullable=False),        # ran | skipped (a first install: seed data is their result)
    Column("rows", Integer, nullable=False),              # records created or updated
    Column("applied_at", DateTime(timezone=True), nullable=False),
)
