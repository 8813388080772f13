"""Approvals in /app (Flask test client, both databases): the record page's Approval card (submit,
pending step and approvers, approve / reject / recall with a comment, history), the lock shown
as such with no edit controls for those it refuses, and Items to approve from the header."""
from __future__ import annotations

import re

import pytest

from ui_helpers import actor_of

BOSS_PASSWORD = "harbor-violet-ledger-5"
PROCESS = {"name": "big_deals", "label": "Big deals", "object": "deal", "entry_condition": "amount > 100",
           "steps": [{"label": "Lead review", "approvers": [{"type": "manager"}]}],
           "on_approve": [{"type": "update_record", "values": {"stage": "'Working'"}}]}


@pytest.fixture
def setup(services, users, login):
    services.changes.apply_org({"manifest": None, "components": {"approval_processes": {
        "big_deals": {"source": "approval_processes/big_deals.yaml", "doc": PROCESS}}}}, author="test")
    boss, _ = services.identity.create_user("boss", password=BOSS_PASSWORD, profile="tp_rep", role="tp_lead",
                                            last_name="Boss")
    deal = services.records.create(actor_of(services, users["rep"]), "deal", {"name": "Globex", "amount": 500})
    return {"deal": deal, "boss": boss, "rep": login("rep"), "boss_ui": login("boss", BOSS_PASSWORD),
            "rep2": login("rep2"), "url": f"/app/testapp/deal/{deal['id']}"}


def _card(html: str) -> str:
    start = html.index('id="approval"')
    return html[start:html.index("</table>", start) if "</table>" in html[start:] else len(html)]


def test_submit_from_the_record_page_then_the_manager_approves(services, setup, admin):
    rep, boss, url = setup["rep"], setup["boss_ui"], setup["url"]
    page = rep.html(url)
    assert 'id="submit-for-approval"' in page and "Big deals" in _card(page)
    assert 'id="locked-badge"' not in page and 'id="edit-record"' in page
    submitted = rep.post(f"{url}/approval", {"process": "big_deals", "comment": "Discount <b>30%</b>"})
    assert submitted.status_code == 302
    page = rep.html(url)
    card = _card(page)
    assert "Pending" in card and "step 1: Lead review" in card and "Waiting for: Boss" in card
    assert "Discount &lt;b&gt;30%&lt;/b&gt;" in card                     # the comment is escaped
    assert 'id="recall-button"' in card and 'id="approve-button"' not in card
    # the lock: the submitter sees it and gets no edit controls, nor the edit form
    assert 'id="locked-badge"' in page and 'id="edit-record"' not in page and "js-inline-edit" not in page
    assert 'id="delete-record"' not in page
    assert rep.get(f"{url}/edit").status_code == 403
    # the approver: the header counts the item, Items to approve lists it, the card offers the decision
    boss_page = boss.html("/app/")
    assert re.search(r'id="items-to-approve"[^>]*aria-label="Items to approve \(1 waiting\)"', boss_page)
    items = boss.html("/app/approvals")
    assert "Globex" in items and "Lead review" in items and 'data-decision="approve"' in items
    card = _card(boss.html(url))
    assert 'id="approve-button"' in card and 'id="reject-button"' in card and 'id="recall-button"' not in card
    assert 'id="locked-badge"' not in boss.html(url)                       # approvers may edit it
    [request] = services.approvals.list(actor_of(services, setup["boss"]), mine=True)
    done = boss.post(f"/app/approvals/{request['id']}/approve", {"comment": "Go", "_return": url})
    assert done.status_code == 302 and done.headers["Location"].endswith(url)
    page = rep.html(url)
    card = _card(page)
    assert "Approved" in card and "Go" in card and 'id="locked-badge"' not in page and 'id="edit-record"' in page
    assert services.records.get(actor_of(services, setup["boss"]), "deal", setup["deal"]["id"])["stage"] == "Working"
    assert "Nothing waits for you" in boss.html("/app/approvals")
    # the notifications page links to Items to approve
    assert 'id="notifications-approvals"' in boss.html("/app/notifications")


def test_recall_reject_and_refusals_are_flashed(services, setup, admin):
    rep, boss, rep2, url = setup["rep"], setup["boss_ui"], setup["rep2"], setup["url"]
    rep.post(f"{url}/approval", {"process": "big_deals"})
    [request] = services.approvals.list(actor_of(services, setup["boss"]), mine=True)
    # someone who is no approver: refused by the service, told so
    refused = rep.post(f"/app/approvals/{request['id']}/approve", {"_return": url}, follow_redirects=True)
    assert "not an approver" in refused.get_data(as_text=True)
    twice = rep.post(f"{url}/approval", {"process": "big_deals"}, follow_redirects=True)
    assert "already pending approval" in twice.get_data(as_text=True)
    recalled = rep.post(f"/app/approvals/{request['id']}/recall", {"comment": "Oops", "_return": url},
                        follow_redirects=True)
    assert "Recalled" in recalled.get_data(as_text=True)
    rep.post(f"{url}/approval", {"process": "big_deals"})
    [second] = services.approvals.list(actor_of(services, setup["boss"]), mine=True)
    boss.post(f"/app/approvals/{second['id']}/reject", {"comment": "No", "_return": "/app/approvals"})
    card = _card(rep.html(url))
    assert "Rejected" in card or "rejected" in card
    # an admin sees the decision offered for the approvers, and is not locked out
    rep.post(f"{url}/approval", {"process": "big_deals"})
    page = admin.html(url)
    assert 'id="approve-button"' in page and "decide this step for its approvers" in page
    assert 'id="locked-badge"' not in page
    # bad input: an unknown decision, a request that does not exist, a record without a process
    assert "Unknown action" in rep.post(f"/app/approvals/{second['id']}/explode", follow_redirects=True).get_data(as_text=True)
    assert "no approval request" in rep.post("/app/approvals/nope/approve", follow_redirects=True).get_data(as_text=True)
    company = services.records.create(actor_of(services, setup["boss"]), "company", {"name": "Initech"})
    assert 'id="approval"' not in admin.html(f"/app/testapp/company/{company['id']}")
    bad = admin.post(f"/app/testapp/company/{company['id']}/approval", {}, follow_redirects=True)
    assert bad.status_code == 200 and "Not submitted" in bad.get_data(as_text=True)
