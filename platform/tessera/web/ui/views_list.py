"""List views (columns, filter, sort, search, quick filters, keyset paging, saved views, bulk
actions) and the kanban board.

The page's state lives in the query string (bookmarkable, back-button friendly):
  view=<list view>  saved=<saved view id>  q=<search>  f.<picklist>=<value> (repeatable)
  sort=<path>|-<path>  cols=<path,...>  limit=<n>  cursor=<next_cursor>  back=<cursor stack>
  agg=<function:path,...> (the footer's column figures, list_figures.py)  total=<field>|none (kanban)
Paging is keyset (the record service's next_cursor); "previous" pops a stack of the cursors of
the pages before, carried in `back` ("~" stands for the first page).
"""
from __future__ import annotations

from dataclasses import dataclass, field as dc_field
from urllib.parse import urlencode

from flask import flash, redirect, render_template, request, url_for

from ...automation.compiler import workflows_of
from ...automation.deferred import run_manual
from ...expr import ExprError
from ...expr.parse import parse as parse_expression
from ...records.errors import BadQuery, RecordError
from . import list_figures, prefs
from .context import access, actor, not_found, records, rt, safe_return, services, ui
from .display import plain_text, render_value
from .expr import all_of, clean_search, value_in
from .field_catalogue import object_fields
from .forms import editable_fields, is_editable, parse_value, read_form, widget
from .meta import (Column, color_for, column, column_choices, columns, field_def, list_views_for, name_field,
                   object_icon, picklist_fields, picklist_options, query_fields, readable_name_field,
                   record_title, require_app, require_object)
from .views_nav import nav_context
from .views_tree import NUMERIC_TYPES, mark_children, tree_context, tree_field, tree_offered

PAGE_SIZES = (10, 25, 50, 100)
DEFAULT_LIMIT = 25
MAX_BACK = 50
QUICK_FILTERS = 4
BULK_MAX = 200
MAX_WHERE = 4000
BULK_TYPES_EXCLUDED = {"json", "rich_text", "textarea"}


@dataclass
class ListState:
    view: str = ""
    saved: str = ""
    q: str = ""
    filters: dict = dc_field(default_factory=dict)      # picklist field -> [values]
    sort: str = ""
    cols: list = dc_field(default_factory=list)
    limit: int = DEFAULT_LIMIT
    cursor: str = ""
    back: list = dc_field(default_factory=list)
    tree: str = ""      # "1" / "0": the tree display on / off (default: the list view's `tree`)
    agg: list = dc_field(default_factory=list)          # ["sum:amount", ...]: figures under columns
    where: str = ""     # an expression (a report's drill-down, a typed condition); the record service checks it

    @classmethod
    def from_args(cls, args, obj) -> "ListState":
        s = cls(view=args.get("view", "")[:80], saved=args.get("saved", "")[:64], q=clean_search(args.get("q")),
                sort=args.get("sort", "")[:200], cursor=args.get("cursor", "")[:2000],
                tree=args.get("tree", "") if args.get("tree", "") in ("0", "1") else "")
        for key in args:
            if key.startswith("f.") and field_def(obj, key[2:]) is not None:
                values = [v[:255] for v in args.getlist(key)][:50]
                if values:
                    s.filters[key[2:]] = values
        cols = args.get("cols", "")
        s.cols = [c.strip() for c in cols.split(",") if c.strip()][:30] if cols else []
        limit = args.get("limit", "")
        s.limit = int(limit) if limit.isdigit() and int(limit) in PAGE_SIZES else DEFAULT_LIMIT
        back = args.get("back", "")
        s.back = back.split(".")[-MAX_BACK:] if back else []
        s.agg = list_figures.parse_choice(args.get("agg", "")[:2000])
        s.where = args.get("where", "")[:MAX_WHERE].strip()
        return s

    def args(self, **changes) -> list[tuple[str, str]]:
        """Query arguments for a link: the current state with `changes`; paging resets unless
        cursor/back are given explicitly."""
        d = {"view": self.view, "saved": self.saved, "q": self.q, "sort": self.sort,
             "cols": ",".join(self.cols), "limit": str(self.limit) if self.limit != DEFAULT_LIMIT else "",
             "filters": self.filters, "cursor": "", "back": "", "tree": self.tree, "agg": ",".join(self.agg), "where": self.where}
        d.update(changes)
        out = [(k, d[k]) for k in ("view", "saved", "q", "sort", "cols", "limit", "tree", "agg", "where") if d[k]]
        for fname, values in (d["filters"] or {}).items():
            out += [(f"f.{fname}", v) for v in values]
        if d["cursor"]:
            out.append(("cursor", d["cursor"]))
        if d["back"]:
            out.append(("back", d["back"]))
        return out

    def url(self, app_name, object_name, endpoint="ui.list_view", **changes) -> str:
        base = url_for(endpoint, app_name=app_name, object_name=object_name)
        args = self.args(**changes)
        return base + ("?" + urlencode(args) if args else "")

    def toggled_filter(self, fname: str, value: str) -> dict:
        current = dict(self.filters)
        values = list(current.get(fname, []))
        if value in values:
            values.remove(value)
        else:
            values.append(value)
        if values:
            current[fname] = values
        else:
            current.pop(fname, None)
        return current


def apply_saved(state: ListState, obj, args) -> dict | None:
    """A saved view's settings, for whatever the URL does not set itself."""
    if not state.saved:
        return None
    saved = prefs.get(obj.name, state.saved)
    if saved is None:
        state.saved = ""
        return None
    if "view" not in args and saved.get("list_view"):
        state.view = saved["list_view"]
    if "q" not in args and saved.get("search"):
        state.q = clean_search(saved["search"])
    if not any(k.startswith("f.") for k in args) and isinstance(saved.get("filters"), dict):
        state.filters = {k: [str(v) for v in vs] for k, vs in saved["filters"].items()
                         if isinstance(vs, list) and field_def(obj, k) is not None}
    if "sort" not in args and saved.get("sort"):
        state.sort = saved["sort"]
    if "cols" not in args and saved.get("columns"):
        state.cols = [c for c in saved["columns"].split(",") if c]
    if "agg" not in args and saved.get("aggregates"):
        state.agg = list_figures.parse_choice(saved["aggregates"])
    if "where" not in args and saved.get("condition"):
        state.where = saved["condition"][:MAX_WHERE].strip()
    return saved


def _sort_keys(obj, state: ListState, view: dict, cols: list[Column]) -> list[str]:
    allowed = {c.path for c in cols if c.sortable}
    if state.sort:
        key = state.sort.lstrip("-")
        if key in allowed:
            return [state.sort] + (["-created_at"] if key != "created_at" else [])
        state.sort = ""
    out = []
    for k in view["sort"]:
        path = k.lstrip("-")
        c = next((c for c in cols if c.path == path), None) or column(obj, path)
        if c is not None and c.sortable:      # column() is None for what the actor cannot read
            out.append(k)
    return out


def _quick_filter_fields(obj, cols: list[Column]) -> list:
    picks = picklist_fields(obj)
    in_cols = {c.path for c in cols}
    picks.sort(key=lambda f: (f.name not in in_cols, list(obj.fields).index(f.name)))
    return picks[:QUICK_FILTERS]


def _filter_expr(obj, state: ListState, view: dict | None) -> str | None:
    """The list's filter (the view's, quick filters, a typed condition). The search box is not part
    of it: the record service matches it through the full-text index (query(search=...)), and every
    reader of the list — page, board, export, figures — passes `search` along with this filter."""
    parts = [view.get("filter") if view else None]
    for fname, values in state.filters.items():
        f = field_def(obj, fname)
        if f is not None and f.type == "picklist" and access().can_read_field(obj.name, fname):
            parts.append(value_in(fname, values))
    if state.where:
        # one whole expression (the parser refuses text closing a parenthesis it did not open),
        # typed and checked against the user's readable fields by the record service; one that does
        # not parse matches nothing (the list says why), so no page, board or export widens silently
        parts.append(f"({state.where})" if where_problem(state.where) is None else "False")
    return all_of(*parts)


def where_problem(text: str) -> str | None:
    try:
        parse_expression(text)
    except ExprError as exc:
        return f"filter: {exc}"
    return None


def load_list(app_name: str, obj, state: ListState, *, flat: bool = False) -> dict:
    """The view, columns, sort and filter of the list's state, and (unless `flat`: the kanban and
    the export read their own rows, never as a tree) the current page."""
    views = list_views_for(obj)
    view = next((v for v in views if v["name"] == state.view), None)
    if view is None:
        view, state.view = views[0], ""
    cols = columns(obj, state.cols or view["columns"])
    if not cols:
        cols = columns(obj, [name_field(obj) or "id"]) or columns(obj, ["id"])
    sort = _sort_keys(obj, state, view, cols)
    tree = tree_field(obj, state, view) if not flat else None
    expr = _filter_expr(obj, state, view)
    if tree is not None:   # the first level: records with no parent the actor can see (joins hide the rest)
        expr = all_of(expr, f"{tree.name}.id == None")
    error = where_problem(state.where) if state.where else None
    search = state.q or None
    result = None
    nf = readable_name_field(obj)
    fields = query_fields(cols)
    if nf and nf not in fields:
        fields.append(nf)
    if not flat and error is None:
        try:
            result = records().query(actor(), obj.name, filter=expr, sort=sort or None, fields=fields, search=search,
                                     limit=state.limit, cursor=state.cursor or None, count=True, with_access=True)
        except BadQuery as exc:
            error = exc.message
            if state.cursor:   # a stale cursor (the view changed): start again from page one
                state.cursor, state.back = "", []
                try:
                    result = records().query(actor(), obj.name, filter=expr, sort=sort or None, fields=fields,
                                             search=search, limit=state.limit, count=True, with_access=True)
                    error = None
                except BadQuery as exc2:
                    error = exc2.message
    if tree is not None and result is not None:
        mark_children(obj, result.records)
    return {"views": views, "view": view, "columns": cols, "sort": sort, "filter": expr, "search": search, "result": result,
            "error": error, "fields": fields, "name_field": nf, "tree_field": tree}


@ui.get("/<app_name>/<object_name>")
def list_view(app_name, object_name):
    app = require_app(app_name)
    obj = require_object(object_name)
    state = ListState.from_args(request.args, obj)
    saved = apply_saved(state, obj, request.args)
    data = load_list(app_name, obj, state)
    result = data["result"]
    rows = result.records if result else []
    page_start = len(state.back) * state.limit + 1 if rows else 0
    total = result.total if result else 0
    if result and state.cursor and total is not None:   # with a cursor, the service counts from it on
        total += len(state.back) * state.limit
    next_url = prev_url = None
    if result and result.next_cursor:
        next_url = state.url(app_name, obj.name, cursor=result.next_cursor,
                             back=".".join([*state.back, state.cursor or "~"][-MAX_BACK:]))
    if state.back:
        prev_cursor = state.back[-1]
        prev_url = state.url(app_name, obj.name, cursor="" if prev_cursor == "~" else prev_cursor,
                             back=".".join(state.back[:-1]))
    quick = []
    for f in _quick_filter_fields(obj, data["columns"]):
        selected = state.filters.get(f.name, [])
        quick.append({"field": f, "selected": selected,
                      "options": [{"value": v, "label": l, "on": v in selected,
                                   "url": state.url(app_name, obj.name, filters=state.toggled_filter(f.name, v))}
                                  for v, l in picklist_options(f)]})
    chips = []
    for fname, values in state.filters.items():
        f = field_def(obj, fname)
        if f is None:
            continue
        for v in values:
            chips.append({"label": f.label, "value": plain_text(f, v) if v else "(blank)",
                          "remove": state.url(app_name, obj.name, filters=state.toggled_filter(fname, v))})
    current_sort = state.sort or (data["sort"][0] if data["sort"] else "")
    sort_links = {c.path: state.url(app_name, obj.name, sort="-" + c.path if current_sort == c.path else c.path)
                  for c in data["columns"] if c.sortable}
    bulk_fields = _bulk_widgets(obj, app_name) if access().can(obj.name, "edit") else []
    # the active manual workflows of this object: running one needs the right to edit its records
    manual_workflows = sorted((wf for wf in workflows_of(rt()).by_name.values()
                               if wf.trigger == "manual" and wf.object == obj.name),
                              key=lambda wf: wf.label.lower()) if access().can(obj.name, "edit") else []
    kanban_fields = [f for f in picklist_fields(obj)]
    # the footer's figures: over the same filter string as the page's query, so over the same rows
    figures, figures_error = list_figures.column_figures(obj.name, data["columns"], state.agg, data["filter"], app_name,
                                                             search=data["search"]) \
        if rows else ({}, None)
    return render_template(
        "app/list.html", app=app, obj=obj, state=state, rows=rows, total=total,
        page_start=page_start, next_url=next_url, prev_url=prev_url, quick=quick, chips=chips,
        sort_links=sort_links, current_sort=current_sort, saved=saved, saved_views=prefs.list_for(obj.name),
        can_save_views=prefs.available(), column_choices=_column_choices(obj, data["columns"]), bulk_fields=bulk_fields,
        manual_workflows=manual_workflows, condition_fields=object_fields(obj),
        can_create=access().can(obj.name, "create"), can_delete=access().can(obj.name, "delete"),
        can_edit=access().can(obj.name, "edit"), kanban_fields=kanban_fields, page_sizes=PAGE_SIZES,
        numeric=NUMERIC_TYPES, selectable=bool(access().can(obj.name, "delete") or bulk_fields or manual_workflows),
        return_path=request.full_path.rstrip("?"), tree=tree_context(obj, state, data),
        tree_available=tree_offered(obj, state), tree_available_label=(obj.hierarchy_field.label
                                                                         if obj.hierarchy_field else ""),
        render_value=render_value, record_title=record_title, icon=object_icon(obj.name),
        color=color_for(obj.name), state_args=state.args(), list_url=state.url(app_name, obj.name),
        figures=figures, figures_error=figures_error, figure_menus=_figure_menus(app_name, obj, state, data["columns"]),
        can_export=access().system("export_data"), **data, **nav_context(app, obj.name))


def _figure_menus(app_name, obj, state: ListState, cols) -> dict[str, list[dict]]:
    """Per visible column, the footer menu's entries: each figure it offers, and "None"."""
    current = list_figures.chosen(cols, state.agg)
    menus = {}
    for c in cols:
        entries = []
        for function in [*list_figures.functions_for(c), ""]:
            picks = {p: f for p, f in current.items() if p != c.path}
            if function:
                picks[c.path] = function
            entries.append({"function": function, "on": current.get(c.path, "") == function,
                            "label": list_figures.function_label(c, function) if function else "None",
                            "url": state.url(app_name, obj.name, agg=list_figures.choice_text(picks))})
        menus[c.path] = entries
    return menus


def _column_choices(obj, cols) -> list[tuple[str, str]]:
    """The columns shown now (in their order), then every other readable field."""
    shown = [(c.path, c.label) for c in cols]
    paths = {p for p, _l in shown}
    return shown + [(p, l) for p, l in column_choices(obj) if p not in paths]


def _bulk_widgets(obj, app_name):
    out = []
    for name in editable_fields(obj, "edit"):
        f = field_def(obj, name)
        if f is None or f.type in BULK_TYPES_EXCLUDED:
            continue
        w = widget(obj, name, mode="edit", value=[] if f.type == "multi_picklist" else "", app_name=app_name,
                   input_name=f"_v.{name}")
        w.required = False
        out.append(w)
    return out


# -- bulk actions ------------------------------------------------------------------------------------
@ui.post("/<app_name>/<object_name>/bulk")
def bulk(app_name, object_name):
    require_app(app_name)
    obj = require_object(object_name)
    back = safe_return(request.form.get("_return"), url_for("ui.list_view", app_name=app_name, object_name=obj.name))
    ids = [i for i in request.form.getlist("_ids") if i][:BULK_MAX]
    action = request.form.get("_action", "")
    if not ids:
        flash("Select at least one record first.", "warning")
        return redirect(back)
    if action == "delete":
        require_object(object_name, "delete")
        done, failures = 0, []
        for rid in ids:
            try:
                records().delete(actor(), obj.name, rid)
                done += 1
            except RecordError as exc:
                failures.append((rid, exc.message))
        _report(obj, done, failures, "Deleted")
    elif action == "update":
        require_object(object_name, "edit")
        fname = request.form.get("_field", "")
        f = field_def(obj, fname)
        if f is None or fname not in editable_fields(obj, "edit") or f.type in BULK_TYPES_EXCLUDED \
                or not is_editable(obj, fname, "edit"):
            flash("Choose a field you can edit.", "danger")
            return redirect(back)
        raw = read_form(obj, [fname], request.form, prefix="_v.")[fname]
        try:
            value = parse_value(f, raw)
        except ValueError as exc:
            flash(f"{f.label}: {exc}", "danger")
            return redirect(back)
        done, failures = 0, []
        for rid in ids:
            try:
                records().update(actor(), obj.name, rid, {fname: value})
                done += 1
            except RecordError as exc:
                msg = exc.message
                if exc.fields:
                    msg = "; ".join(m for ms in exc.fields.values() for m in ms) if not (exc.details or {}).get("rules") else msg
                failures.append((rid, msg))
        _report(obj, done, failures, "Updated")
    elif action == "run":
        _run_automation(obj, request.form.get("_workflow", ""), ids)
    else:
        flash("Unknown action.", "danger")
    return redirect(back)


def _run_automation(obj, workflow: str, ids: list[str]) -> None:
    """The "Run automation" bulk action: the manual-run service (as POST /api/v1/workflows/{name}/run),
    one transaction per record; the message counts what ran and names why the others did not."""
    try:
        results = run_manual(services(), actor(), workflow, ids)
    except RecordError as exc:
        flash(f"Not run: {exc.message}", "danger")
        return
    label = workflows_of(rt()).by_name[workflow].label
    done = sum(1 for r in results if r["status"] == "succeeded")
    if done:
        flash(f"“{label}” ran on {done} {obj.label.lower() if done == 1 else obj.plural_label.lower()}.", "success")
    others = [r for r in results if r["status"] != "succeeded"]
    if others:
        names = _names(obj, [r["record_id"] for r in others])
        flash(f"{len(others)} did not run:", "danger" if any(r["status"] != "skipped" for r in others) else "warning")
        for r in others[:20]:
            why = r.get("reason") or (r.get("error") or {}).get("message") or r["status"]
            flash(f"{names.get(r['record_id']) or r['record_id']}: {why}", "danger-item")


def _report(obj, done, failures, verb):
    if done:
        flash(f"{verb} {done} {obj.label.lower() if done == 1 else obj.plural_label.lower()}.", "success")
    if failures:
        names = _names(obj, [rid for rid, _m in failures])
        lines = [f"{names.get(rid) or rid}: {msg}" for rid, msg in failures[:20]]
        flash(f"{len(failures)} could not be {verb.lower()}:", "danger")
        for line in lines:
            flash(line, "danger-item")


def _names(obj, ids) -> dict:
    nf = readable_name_field(obj)
    out = {}
    if not nf:
        return out
    for rid in ids[:20]:
        try:
            out[rid] = str(records().get(actor(), obj.name, rid, fields=[nf]).get(nf) or "")
        except RecordError:
            pass
    return out


# -- saved views -----------------------------------------------------------------------------------
@ui.post("/<app_name>/<object_name>/views")
def save_view(app_name, object_name):
    require_app(app_name)
    obj = require_object(object_name)
    name = " ".join(request.form.get("_name", "").split())[:80]
    state = ListState.from_args(request.form, obj)
    list_url = url_for("ui.list_view", app_name=app_name, object_name=obj.name)
    if not name:
        flash("Give the view a name.", "danger")
        return redirect(state.url(app_name, obj.name))
    try:
        rec = prefs.save(obj.name, name, {"view": state.view, "q": state.q, "filters": state.filters,
                                          "sort": state.sort, "cols": state.cols, "agg": state.agg,
                                          "where": state.where})
    except RecordError as exc:
        flash(f"The view was not saved: {exc.message}", "danger")
        return redirect(state.url(app_name, obj.name))
    flash(f"Saved the view “{name}”.", "success")
    return redirect(f"{list_url}?{urlencode({'saved': rec['id']})}")


@ui.post("/<app_name>/<object_name>/views/<pref_id>/delete")
def delete_view(app_name, object_name, pref_id):
    require_app(app_name)
    obj = require_object(object_name)
    if not prefs.delete(obj.name, pref_id):
        not_found("There is no such saved view.")
    flash("Deleted the saved view.", "success")
    return redirect(url_for("ui.list_view", app_name=app_name, object_name=obj.name))


# -- kanban ------------------------------------------------------------------------------------------
KANBAN_PER_COLUMN = 50


@ui.get("/<app_name>/<object_name>/kanban")
def kanban(app_name, object_name):
    app = require_app(app_name)
    obj = require_object(object_name)
    picks = picklist_fields(obj)
    if not picks:
        not_found(f"{obj.plural_label} have no picklist field to group a board by.")
    wanted = request.args.get("field", "")
    group = next((f for f in picks if f.name == wanted), None) or \
        next((f for f in picks if f.name in ("stage", "status")), picks[0])
    state = ListState.from_args(request.args, obj)
    state.filters.pop(group.name, None)
    data = load_list(app_name, obj, state, flat=True)
    nf = data["name_field"]
    card_cols = [c for c in data["columns"] if c.path not in (group.name, nf)][:3]
    fields = list(dict.fromkeys([p for p in [nf] if p] + query_fields(card_cols) + [group.name]))
    can_move = access().can(obj.name, "edit") and is_editable(obj, group.name, "edit")
    lanes, error = [], None
    values = picklist_options(group)
    blank_lane = [("", "No " + group.label)]
    for value, label in values + blank_lane:
        cond = value_in(group.name, [value])
        try:
            res = records().query(actor(), obj.name, filter=all_of(data["filter"], cond), fields=fields,
                                  search=data["search"], sort=data["sort"] or None, limit=KANBAN_PER_COLUMN, count=True,
                                  with_access=can_move)
        except BadQuery as exc:
            error = exc.message
            break
        if value == "" and not res.records:
            continue
        if can_move and group.name in rt().objects[obj.name].state_machines:
            for r in res.records:   # a state machine: each card offers only its allowed moves
                if r.get("_access") != "read":
                    r["_moves"] = records().allowed_values(actor(), obj.name, group.name, r.get(group.name), r["id"])
        lanes.append({"value": value, "label": label, "cards": res.records, "total": res.total or 0})
    readable = access().can_read_field
    sum_field = list_figures.lane_sum_field(obj, readable, request.args.get("total"))
    sums, sums_error = list_figures.lane_sums(obj.name, group.name, sum_field, data["filter"], app_name,
                                                  search=data["search"]) \
        if error is None else ({}, None)
    board_url = url_for("ui.kanban", app_name=app_name, object_name=obj.name)
    total_options = [{"name": name, "label": label, "on": name == (sum_field.name if sum_field else "none"),
                      "url": f"{board_url}?{urlencode([*state.args(), ('field', group.name), ('total', name)])}"}
                     for name, label in [*((f.name, f.label) for f in list_figures.lane_sum_fields(obj, readable)),
                                         ("none", "No total")]]
    return render_template(
        "app/kanban.html", app=app, obj=obj, group=group, picks=picks, lanes=lanes, error=error, state=state,
        card_cols=card_cols, name_field=nf, can_move=can_move, render_value=render_value,
        record_title=record_title, icon=object_icon(obj.name), color=color_for(obj.name),
        can_create=access().can(obj.name, "create"), list_url=state.url(app_name, obj.name),
        sum_field=sum_field, sums=sums, sums_error=sums_error, total_options=total_options,
        total_arg=request.args.get("total") or None,     # the group-by links keep the chosen total
        **{k: data[k] for k in ("views", "view")}, **nav_context(app, obj.name))
