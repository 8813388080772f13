"""Activities in /app (Flask test client): the Activity card of a record page — quick actions
(log a call, new note, new task) posted inline as JSON or as a plain form, the feed fragment with
its kind filter and Load more — the related_to field in the task form, and My tasks on the app home."""
from __future__ import annotations

from datetime import date, timedelta

from tessera.security.actor import SYSTEM
from ui_helpers import BASE, REFERER


def post_for_json(client, url, data):
    """A quick action as timeline.js sends it: the form, asking for JSON."""
    return client.c.post(url, base_url=BASE, headers={**REFERER, "Accept": "application/json"},
                         data={**data, "csrf_token": client.token})


def test_quick_actions_fill_the_timeline(admin, make_record, services):
    acme = make_record("company", {"name": "Acme"})
    page = f"/app/testapp/company/{acme['id']}"
    html = admin.html(page)
    assert 'id="timeline"' in html and 'id="quick-call"' in html and 'id="quick-note"' in html
    r = post_for_json(admin, f"{page}/activities/call", {"subject": "Intro call", "call_duration": "15m",
                                                         "description": "Went well"})
    assert r.status_code == 201, r.get_data(as_text=True)
    r = admin.post(f"{page}/activities/note", data={"title": "Met at fair", "body": "Likes blue"})
    assert r.status_code == 302
    r = post_for_json(admin, f"{page}/activities/task", {"subject": "", "due_date": "2020-01-01"})
    assert r.status_code == 422 and "subject" in r.get_json()["error"]["fields"]
    admin.post(f"{page}/activities/task", data={"subject": "Send quote", "due_date": "2020-01-01"})
    calls = services.records.query(SYSTEM, "task", filter="type == 'Call'", fields=["subject", "status", "call_duration",
                                                                                    "related_to"]).records
    assert calls[0]["status"] == "Completed" and calls[0]["call_duration"] == 900
    assert calls[0]["related_to"]["id"] == acme["id"]
    feed = admin.html(f"{page}/timeline")
    assert "Intro call" in feed and "Met at fair" in feed and "Send quote" not in feed   # open: not in the feed
    assert "Intro call" not in admin.html(f"{page}/timeline?kinds=note")
    opened = admin.html(f"{page}/timeline?part=open")
    assert "Send quote" in opened and "Overdue" in opened
    again = admin.html(page)
    assert "Intro call" in again and "Send quote" in again
    assert admin.post(f"{page}/activities/meeting", data={}).status_code == 404
    assert admin.get(f"{page}/timeline?kinds=nope").status_code == 400


def test_the_task_form_picks_an_object_then_a_record(admin, make_record):
    acme = make_record("company", {"name": "Acme"})
    task = make_record("task", {"subject": "About Acme", "related_to": {"object": "company", "id": acme["id"]}})
    shown = admin.html(f"/app/testapp/task/{task['id']}")
    assert "Acme" in shown and f"/app/testapp/company/{acme['id']}" in shown
    form = admin.html(f"/app/testapp/task/{task['id']}/edit")
    assert 'class="related-picker' in form and f'value="company:{acme["id"]}"' in form
    assert '<option value="deal"' in form


def test_my_tasks_on_the_app_home(admin, services, users):
    me = services.identity.find_user("admin")["id"]
    today = date.today()
    for subject, due in (("Late", today - timedelta(days=2)), ("Now", today), ("Soon", today + timedelta(days=3)),
                         ("Far", today + timedelta(days=60))):
        services.records.create(SYSTEM, "task", {"subject": subject, "due_date": due.isoformat(), "owner": me})
    services.records.create(SYSTEM, "task", {"subject": "Someone else's", "due_date": today.isoformat(),
                                             "owner": users["rep"]["id"]})
    html = admin.html("/app/testapp")
    assert 'id="my-tasks"' in html
    section = html[html.index('id="my-tasks"'):]
    section = section[:section.index("Recently updated")]
    assert section.index("Late") < section.index("Now") < section.index("Soon")
    assert "Far" not in section and "Someone else" not in section
