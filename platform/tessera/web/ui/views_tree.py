"""The tree display of a list: an object with a hierarchy (a self-lookup declared `hierarchy: true`)
lists its top records with their children indented beneath, expanded on demand.

On when the list is in its default order with no search or quick filter, and either the list view
says `tree: true` or the person turned it on (`tree=1`; `tree=0` turns a view's tree off). The page
shows the first level paged as usual — the records with no parent the person can see (a rep whose
accounts sit below a region she cannot see gets her accounts as the top level); a row with children has a toggle
(aria-expanded) whose first click fetches its children — the record service's query with
`filter=<field> == '<id>'` (and the view's own filter) — rendered here by the same row macros as
the page, CHILD_PAGE at a time with a "show more" row for the rest.
"""
from __future__ import annotations

from flask import jsonify, render_template, request, url_for

from ...records.coerce import parse_id
from ...records.errors import BadQuery
from .context import access, actor, records, ui
from .expr import all_of, expr_literal
from .meta import columns, name_field, query_fields, readable_name_field, require_app, require_object

NUMERIC_TYPES = ("currency", "number", "integer", "percent")
CHILD_PAGE = 50
MAX_DEPTH_SHOWN = 100   # the record service refuses deeper trees (expr/hierarchy.py MAX_DEPTH)


def _hierarchy(obj):
    f = obj.hierarchy_field
    return f if f is not None and access().can_read_field(obj.name, f.name) else None


def tree_offered(obj, state) -> bool:
    """Whether the list can be shown as a tree now: a readable hierarchy, the default order, no
    search or quick filter (a search's matches are shown flat, wherever they are in the tree)."""
    return _hierarchy(obj) is not None and not state.sort and not state.q and not state.filters


def tree_field(obj, state, view):
    if not tree_offered(obj, state):
        return None
    if state.tree == "1" or (view.get("tree") and state.tree != "0"):
        return _hierarchy(obj)
    return None


def mark_children(obj, rows: list[dict]) -> None:
    """`_has_children` on each row that has children the actor may see (one query for the page)."""
    parents = records().with_children(actor(), obj.name, [r["id"] for r in rows])
    for r in rows:
        r["_has_children"] = r["id"] in parents


def tree_context(obj, state, data) -> dict | None:
    """What the row macros need to draw toggles: the arguments of the children requests."""
    if data.get("tree_field") is None:
        return None
    args = {"view": data["view"]["name"], "tree": "1"}
    if state.cols:
        args["cols"] = ",".join(state.cols)
    return {"field": data["tree_field"], "args": args}


@ui.get("/<app_name>/<object_name>/children")
def tree_children(app_name, object_name):
    """One page of a record's children in a tree display, as table rows and as phone list items."""
    from .views_list import ListState, list_views_for
    app = require_app(app_name)
    obj = require_object(object_name)
    field = _hierarchy(obj)
    if field is None:
        raise BadQuery(f"{obj.plural_label} have no hierarchy to show as a tree")
    try:
        parent = str(parse_id(request.args.get("parent", "")))
    except ValueError:
        raise BadQuery("parent: give the id of the record whose children to show") from None
    depth = request.args.get("depth", "1")
    depth = min(int(depth), MAX_DEPTH_SHOWN) if depth.isdigit() and int(depth) > 0 else 1
    state = ListState.from_args(request.args, obj)
    views = list_views_for(obj)
    view = next((v for v in views if v["name"] == state.view), views[0])
    cols = columns(obj, state.cols or view["columns"]) or columns(obj, [name_field(obj) or "id"])
    fields = query_fields(cols)
    nf = readable_name_field(obj)
    if nf and nf not in fields:
        fields.append(nf)
    sort = [k for k in view["sort"] if columns(obj, [k.lstrip("-")])]
    cursor = request.args.get("cursor", "")[:2000] or None
    result = records().query(actor(), obj.name, filter=all_of(view.get("filter"), f"{field.name} == {expr_literal(parent)}"),
                             sort=sort or None, fields=fields, limit=CHILD_PAGE, cursor=cursor, with_access=True)
    mark_children(obj, result.records)
    tree = tree_context(obj, state, {"tree_field": field, "view": view})
    # the ids above the children (the client hides them all when an ancestor collapses)
    ancestors = " ".join([a for a in request.args.get("ancestors", "")[:4000].split() if _is_id(a)] + [parent])
    more = None
    if result.next_cursor:
        more = url_for("ui.tree_children", app_name=app.name, object_name=obj.name, parent=parent, depth=depth,
                       cursor=result.next_cursor, **tree["args"])
    context = dict(app=app, obj=obj, rows=result.records, columns=cols, tree=tree, depth=depth, ancestors=ancestors,
                   more=more, numeric=NUMERIC_TYPES, selectable=bool(request.args.get("selectable")),
                   can_edit=access().can(obj.name, "edit"),
                   return_path=request.args.get("back", "")[:2000] or request.full_path)
    return jsonify(rows=render_template("app/_tree_children.html", mobile=False, **context),
                   items=render_template("app/_tree_children.html", mobile=True, **context))


def _is_id(text: str) -> bool:
    try:
        parse_id(text)
        return True
    except ValueError:
        return False
