"""`/app`: the end-user UI, generated from metadata and served through the record service.

Server-rendered Jinja pages (Bootstrap 4 and jQuery from Flask-Admin's package, Select2 for
lookups and multi-picklists), a little JavaScript for inline edit, kanban drag and drop and bulk
selection, and two small JSON endpoints under `/app/_api` (session + CSRF header).

Rules every view here follows:
  * every record read and write goes through `services.records` with the signed-in actor (the
    record service enforces object, field and record security; the UI only hides what the
    actor's Access says they may not read or edit, so nothing offered fails for lack of rights);
  * metadata comes from the active Runtime, never from disk;
  * user text reaches the expression language only as literals made by `expr.expr_literal`;
  * everything is autoescaped; the only markup marked safe is rich text cleaned by nh3 and the
    HTML that `display.py` builds with `Markup.format` (which escapes every value it inserts).

Modules: context (request state, errors), meta (metadata → what pages show), display (value
formatting), expr (safe expressions), forms (form widgets and form → API values), views_* (routes),
prefs (saved list views), list_figures (column figures and kanban lane totals).
"""
from .context import ui  # noqa: F401
from . import views_nav, views_list, views_record, views_api, views_notifications, views_automation, views_approvals, views_export, views_reports, views_report_builder, views_settings, views_files, views_import, views_activities, views_search, views_conversion, views_merge  # noqa: F401,E402  (register routes)
