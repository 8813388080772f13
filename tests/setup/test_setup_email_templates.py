"""Setup → Automation → Email Templates: list with the workflows that send each template, editor
saved through the change pipeline with the plan first, merge-field errors next to their inputs, a
preview of the draft on a record that saves and sends nothing, package templates overridden whole
and reverted, a template still sent by a workflow not deletable. Both databases."""
from __future__ import annotations

from pathlib import Path

import pytest

from tessera.meta.source import load_package

ROOT = Path(__file__).resolve().parents[2]


def template_form(**overrides) -> dict:
    form = {"label": "Deal update", "name": "", "object": "deal", "description": "Tells the company",
            "subject": "Deal {{ record.name }} is {{ record.stage }}",
            "text_body": "Hello {{ record.company.name }},\n\nyour deal {{ record.name }} moved.\n",
            "html_body": "<p>Deal <b>{{ record.name }}</b></p>"}
    form.update(overrides)
    return {k: v for k, v in form.items() if v is not None}


def outbox_count(api) -> int:
    return len(api.get("/api/v1/email-outbox").json["emails"])


def test_create_preview_and_use_a_template(admin, services, api):
    company = api.post("/api/v1/records/company", json={"name": "Initech <&>"}).json
    deal = api.post("/api/v1/records/deal", json={"name": "Big <one>", "company": company["id"]}).json
    before = services.changes.active().number

    preview = admin.post("/setup/email-templates/new", template_form(_preview="1", _record=deal["id"]))
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200 and 'id="email-preview"' in html
    assert "Deal Big &lt;one&gt; is New" in html                    # the subject, escaped on the page
    assert "Hello Initech &lt;&amp;&gt;," in html                     # a lookup path
    assert "&lt;b&gt;Big &amp;lt;one&amp;gt;&lt;/b&gt;" in html      # HTML body escaped by the template, shown as source
    assert services.changes.active().number == before and outbox_count(api) == 0

    review, done = admin.change("/setup/email-templates/new", template_form())
    assert "Confirm and save" in review.get_data(as_text=True) and done.status_code == 302
    assert services.changes.active().number == before + 1
    doc = dict(services.runtimes.current().metadata.email_templates["deal_update"].doc)
    assert doc == {"name": "deal_update", "label": "Deal update", "description": "Tells the company", "object": "deal",
                   "subject": "Deal {{ record.name }} is {{ record.stage }}",
                   "text_body": "Hello {{ record.company.name }},\n\nyour deal {{ record.name }} moved.\n",
                   "html_body": "<p>Deal <b>{{ record.name }}</b></p>"}

    # a workflow sends it; the list says so, and deleting the template is refused by the pipeline
    snapshot = services.changes.active().snapshot
    org = snapshot["org"]
    org["components"].setdefault("workflows", {})["tell"] = {
        "source": "workflows/tell.yaml",
        "doc": {"name": "tell", "object": "deal", "trigger": {"event": "update"},
                "actions": [{"type": "send_email", "template": "deal_update", "to": ["'ops@example.com'"]}]}}
    services.changes.apply_org(org, author="test", message="tell")
    listing = admin.get("/setup/email-templates/").get_data(as_text=True)
    row = listing[listing.index('data-template="deal_update"'):]
    assert "<code>tell</code>" in row[:row.index("</tr>")]
    refused = admin.post("/setup/email-templates/deal_update/delete", {}, follow_redirects=True)
    assert "deal_update" in refused.get_data(as_text=True) and "Not deleted" in refused.get_data(as_text=True)
    assert "deal_update" in services.runtimes.current().metadata.email_templates

    api.patch(f"/api/v1/records/deal/{deal['id']}", json={"stage": "Working"})
    [message] = api.get("/api/v1/email-outbox").json["emails"]
    assert message["subject"] == "Deal Big <one> is Working"


@pytest.mark.parametrize("overrides, field, words", [
    ({"text_body": "Hi {{ record.nope }}"}, "text_body", "nope"),
    ({"subject": "{{ record.name "}, "subject", ""),
    ({"subject": ""}, "subject", "required"),
    ({"object": ""}, "object", "required"),
    ({"name": "9bad"}, "name", ""),
])
def test_errors_land_next_to_their_inputs(admin, services, overrides, field, words):
    before = services.changes.active().number
    response = admin.post("/setup/email-templates/new", template_form(**overrides))
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert f'id="{field}"' in html and "is-invalid" in html[html.index(f'id="{field}"') - 200:html.index(f'id="{field}"') + 10]
    assert words in html
    assert services.changes.active().number == before


def test_preview_needs_a_readable_record(admin, services, api):
    for record, words in (("", "enter the id"), ("00000000-0000-7000-8000-000000000000", "")):
        response = admin.post("/setup/email-templates/new", template_form(_preview="1", _record=record))
        assert response.status_code == 422 and 'id="email-preview"' not in response.get_data(as_text=True)
        assert words in response.get_data(as_text=True)


def test_a_package_template_is_overridden_whole_and_reverted(admin, services):
    services.changes.install_packages([load_package(ROOT / "apps" / name) for name in ("sales", "marketing", "service")],
                                      author="test", message="stock apps")
    page = admin.get("/setup/email-templates/case_auto_response/").get_data(as_text=True)
    assert "belongs to the" in page and "case_number" in page
    form = template_form(object="case", subject="Case {{ record.case_number }} received",
                         text_body="We have your request.", html_body="")
    _review, done = admin.change("/setup/email-templates/case_auto_response/", form)
    assert done.status_code == 302
    tpl = services.runtimes.current().metadata.email_templates["case_auto_response"]
    assert tpl["subject"] == "Case {{ record.case_number }} received" and tpl.get("html_body") is None
    listing = admin.get("/setup/email-templates/").get_data(as_text=True)
    assert "Revert to package version" in listing
    _review, done = admin.change("/setup/email-templates/case_auto_response/delete", {})
    assert done.status_code == 302
    assert "We received your request" in services.runtimes.current().metadata.email_templates["case_auto_response"]["subject"]
    # a package's own template cannot be deleted from the org
    assert admin.post("/setup/email-templates/case_auto_response/delete", {}).status_code == 404


def test_non_admins_cannot_open_it(make_browser):
    rep = make_browser("rep1")
    assert rep.get("/setup/email-templates/").status_code in (302, 403)
