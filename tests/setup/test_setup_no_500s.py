"""Nothing malformed ever produces a 500 in setup: random form posts to the object, field, rule,
layout, list-view, app, profile, role, sharing, workflow and approval process editors (each is reviewed by the change pipeline,
which must refuse bad input with a form error, never crash) and to the automation operations pages
(jobs, deliveries, credentials), and random paths."""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30)
names = st.one_of(text, st.sampled_from(["company", "deal", "name", "industry", "revenue", "x1", "1x", "__a", ""]))
FORM_KEYS = ["label", "name", "plural_label", "type", "required", "unique", "default", "default_expression",
             "help", "values", "to", "on_delete", "expression", "returns", "function", "rollup_relation",
             "rollup_field", "rollup_filter", "format", "condition", "message", "field", "sharing_model",
             "name_type", "name_format", "layout_json", "columns", "filter", "sort_field", "sort_dir", "object",
             "tabs", "read", "edit", "create", "delete", "system", "criteria", "access", "basis", "owner",
             "new_name", "new_label", "new_parent", "kind", "copy_from", "_confirm", "_base_version",
             "trigger.event", "trigger.timing", "trigger.condition", "actions.0.type", "actions.0.lookup",
             "actions.0.values.0.field", "actions.0.values.0.expr", "actions.0.then.0.type", "actions.x.type",
             "entry_condition", "lock_record", "steps.0.label", "steps.0.approvers.0.type", "steps.0.approvers.0.value",
             "steps.0.decision", "steps.0.when_no_approver", "steps.0.entry_condition", "steps.x.approvers.y.type",
             "on_approve.0.type", "on_reject.0.values.0.field", "on_recall.0.to.0", "actions.0.process",
             "secret", "next"]
forms = st.lists(st.tuples(st.sampled_from(FORM_KEYS), st.one_of(text, names)), max_size=8)
PAGES = ["/setup/objects/new", "/setup/objects/company/fields/new", "/setup/objects/company/fields/industry/",
         "/setup/objects/company/details", "/setup/objects/company/rules/new", "/setup/objects/company/check-expression",
         "/setup/layouts/new", "/setup/list-views/new", "/setup/apps/new", "/setup/permissions/new",
         "/setup/permissions/profile/tp_rep/", "/setup/permissions/profile/tp_rep/fields/company",
         "/setup/roles/", "/setup/sharing/defaults", "/setup/sharing/rules/new", "/setup/packages/testpkg/uninstall",
         "/setup/packages/nope/uninstall", "/setup/workflows/new", "/setup/workflows/task_completed_at/",
         "/setup/workflows/task_completed_at/active", "/setup/approval-processes/new",
         "/setup/credentials/new", "/setup/credentials/nope/rotate", "/setup/credentials/nope/delete",
         "/setup/jobs/requeue-dead", "/setup/jobs/1/requeue", "/setup/jobs/99999999999999999999/requeue",
         "/setup/webhook-deliveries/msg_x/replay"]
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))


@SETTINGS
@given(page=st.sampled_from(PAGES), form=forms)
def test_random_form_posts(admin, page, form):
    r = admin.post(page, form)
    assert r.status_code < 500, (page, form, r.get_data(as_text=True)[:800])


@SETTINGS
@given(a=names, b=names, view=st.sampled_from(["objects", "layouts", "list-views", "apps", "permissions/profile",
                                               "permissions/permission_set", "sharing/rules", "versions/diff?a=",
                                               "packages", "workflows", "workflow-runs/?status=",
                                               "approval-processes", "jobs", "jobs/?page=", "jobs/?kind=",
                                               "email-outbox", "email-outbox/?status=", "webhook-deliveries",
                                               "webhook-deliveries/?page=", "credentials"]))
def test_random_paths(admin, a, b, view):
    for path in (f"/setup/{view}/{a}/", f"/setup/objects/{a}/fields/{b}/", f"/setup/{view}{a}&b={b}"):
        r = admin.get(path)
        assert r.status_code < 500, (path, r.get_data(as_text=True)[:800])
