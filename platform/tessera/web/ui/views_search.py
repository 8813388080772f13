"""The top bar's search suggestions (static/search.js), a small JSON endpoint of the session UI:

  GET /app/_api/search?q=&app=   q of 2+ characters: the best hits over every object (the same
                                 RecordService.search as the search page, ranked as one list);
                                 q empty: the user's recent items (views_nav.recent_items)

Text goes out as JSON, inserted by the script as text, never as HTML.
"""
from __future__ import annotations

from flask import jsonify, request, url_for

from ...search.tokens import MIN_QUERY
from .context import ui
from .expr import clean_search
from .meta import apps_for_user, readable_name_field
from .views_nav import _app_for, _search_app, recent_items, search_groups, search_hit

SUGGESTIONS = 8


@ui.get("/_api/search")
def search_suggestions():
    q = clean_search(request.args.get("q"))
    app = _search_app(request.args.get("app"))
    if not q:
        return jsonify(q="", recent=_recent(app), hits=[])
    if len(q) < MIN_QUERY:
        return jsonify(q=q, hits=[])
    hits = [h for g in search_groups(q, app, SUGGESTIONS) for h in g["hits"]]
    hits.sort(key=lambda h: -h["rank"])
    shown = [search_hit(h, _app_for(h["object"], app)) for h in hits[:SUGGESTIONS]]
    params = {"q": q, **({"app": app.name} if app is not None else {})}
    return jsonify(q=q, hits=shown, all_url=url_for("ui.search", **params))


def _recent(app) -> list[dict]:
    if app is None:   # outside an app: the recent items of the user's first app
        apps = apps_for_user()
        app = _search_app(apps[0]["name"]) if apps else None
    if app is None:
        return []
    out = []
    for item in recent_items(app, limit=6):
        obj, record = item["object"], item["record"]
        nf = readable_name_field(obj)
        out.append(search_hit({"id": record["id"], "object": obj.name, "name": str(record.get(nf) or record["id"]),
                               "matched": [], "values": {}}, app.name))
    return out
