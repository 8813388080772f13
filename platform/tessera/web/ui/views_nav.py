"""The app launcher, an app's home page and global search."""
from __future__ import annotations

from flask import render_template, request

from ...records.errors import BadQuery, RecordError
from .context import access, actor, records, rt, ui
from .display import record_url, render_value
from .expr import clean_search
from .meta import apps_for_user, color_for, name_field, object_icon, readable_name_field, readable_tabs, require_app

SEARCH_PER_OBJECT = 5


def nav_context(app=None, current_object=None) -> dict:
    """What the header needs: the user's apps, the current app and its tabs."""
    apps = apps_for_user()
    tabs = []
    if app is not None:
        tabs = [{"name": o.name, "label": o.plural_label, "icon": object_icon(o.name), "color": color_for(o.name)}
                for o in readable_tabs(app)]
    return {"nav_apps": apps, "nav_app": app, "nav_tabs": tabs, "nav_object": current_object,
            "object_icon": object_icon, "color_for": color_for}


@ui.get("/")
def launcher():
    apps = apps_for_user()
    return render_template("app/launcher.html", apps=apps, **nav_context())


@ui.get("/<app_name>")
def app_home(app_name):
    app = require_app(app_name)
    tiles = []
    for obj in readable_tabs(app):
        total = None
        try:
            total = records().query(actor(), obj.name, fields=["id"], limit=1, count=True).total
        except RecordError:
            pass
        tiles.append({"object": obj, "total": total, "icon": object_icon(obj.name), "color": color_for(obj.name),
                      "can_create": access().can(obj.name, "create")})
    recent = recent_items(app)
    from .views_reports import dashboard_for, drill_url, figure
    from .views_activities import my_tasks
    return render_template("app/app_home.html", app=app, tiles=tiles, recent=recent, dashboard=dashboard_for(app),
                           my_tasks=my_tasks(app.name),
                           figure=figure, drill_url=drill_url, **nav_context(app))


def recent_items(app, limit: int = 8) -> list[dict]:
    """Records the user changed most recently in the app's first few objects."""
    out = []
    for obj in readable_tabs(app)[:4]:
        nf = readable_name_field(obj)
        if not nf:
            continue
        try:
            rows = records().query(actor(), obj.name, fields=[nf, "updated_at"], sort=["-updated_at"],
                                   limit=3, filter=None).records
        except RecordError:
            continue
        for r in rows:
            out.append({"object": obj, "record": r, "name_field": nf, "icon": object_icon(obj.name),
                        "color": color_for(obj.name)})
    out.sort(key=lambda x: x["record"].get("updated_at") or "", reverse=True)
    return out[:limit]


UI_STATE_OBJECTS = ("list_view_preference", "user_report")   # users' own UI work, not business records


def searchable_objects(app=None) -> list:
    """Objects the actor may read whose name field they may read; the current app's tabs first."""
    md = rt().metadata
    first = [o.name for o in readable_tabs(app)] if app is not None else []
    order = {n: i for i, n in enumerate(first)}
    objs = [o for o in md.objects.values()
            if o.name not in UI_STATE_OBJECTS and readable_name_field(o) is not None]
    objs.sort(key=lambda o: (order.get(o.name, len(order)), o.plural_label.lower()))
    return objs


@ui.get("/search")
def search():
    """Global search (RecordService.search): ranked hits grouped by object, each with the fields
    it matched in; the suggestions dropdown of the top bar reads /_api/search (views_search.py)."""
    q = clean_search(request.args.get("q"))
    app = _search_app(request.args.get("app"))
    groups, problem = [], None
    if q:
        try:
            groups = [_group(g, app) for g in search_groups(q, app, SEARCH_PER_OBJECT)]
        except BadQuery as exc:
            problem = str(exc).removeprefix("q: ")
    return render_template("app/search.html", q=q, groups=groups, problem=problem, app=app,
                           hits_shown=sum(len(g["hits"]) for g in groups),
                           **nav_context(app, current_object="_search"))


def _search_app(app_name):
    app = rt().metadata.apps.get(app_name) if isinstance(app_name, str) and app_name else None
    return app if app is not None and readable_tabs(app) else None


def search_groups(q: str, app, limit: int) -> list[dict]:
    """The service's groups over the objects a user searches from /app (not UI state objects)."""
    names = [o.name for o in searchable_objects(app)]
    return records().search(actor(), q, objects=names, limit=limit) if names else []


def search_hit(hit: dict, app_name: str) -> dict:
    """A hit as the page and the dropdown show it: where it links, and the matched fields the
    name does not already show (a contact's first name is in its full name), by label, with values."""
    obj = rt().metadata.objects[hit["object"]]
    nf = name_field(obj)
    shown = [(f, hit["values"].get(f, "")) for f in hit["matched"] if f != nf]
    return {"id": hit["id"], "object": obj.name, "object_label": obj.label, "name": hit["name"],
            "url": record_url(app_name, obj.name, hit["id"]), "icon": object_icon(obj.name),
            "color": color_for(obj.name),
            "matched": [{"label": obj.fields[f].label, "value": value} for f, value in shown
                        if value.lower() not in hit["name"].lower()]}


def _group(group: dict, app) -> dict:
    obj = rt().metadata.objects[group["object"]]
    app_name = _app_for(obj.name, app)
    return {"object": obj, "hits": [search_hit(h, app_name) for h in group["hits"]], "more": group["more"],
            "icon": object_icon(obj.name), "color": color_for(obj.name), "app_name": app_name}


def _app_for(object_name: str, preferred=None) -> str:
    """An app to show a record in: the current one, else the first of the user's apps with it."""
    if preferred is not None:
        return preferred.name
    for a in apps_for_user():
        if any(t.name == object_name for t in a["tabs"]):
            return a["name"]
    apps = apps_for_user()
    return apps[0]["name"] if apps else "home"


def name_of(obj, record) -> str:
    nf = name_field(obj)
    return str(record.get(nf) or "") if nf else ""


def cell(c, row: dict, app_name: str, compact: bool = True):
    """One list/related-list cell (a meta.Column of a query row) as HTML."""
    return render_value(c.field, row.get(c.path), app_name=app_name, link_object=c.link_object,
                        link_id=row.get(c.link_id) if c.link_id else None,
                        lookup_text=row.get(c.lookup_text) if c.lookup_text else None, compact=compact,
                        currency=row.get(c.currency_path) if c.currency_path else None)


@ui.context_processor
def _template_helpers():
    from .meta import SYSTEM_DEFS, app_icon, record_title
    return {"render_value": render_value, "cell": cell, "record_title": record_title, "color_for": color_for,
            "app_icon": app_icon,
            "object_icon": object_icon, "updated_at_def": SYSTEM_DEFS["updated_at"]}
