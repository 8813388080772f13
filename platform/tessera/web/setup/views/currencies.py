"""Setup → Company → Currencies: the org's currencies (settings/org.yaml, saved through the change
pipeline with the plan shown first) and their dated exchange rates (data: currency/rates.py).

Rates change without a new metadata version, as they would from a treasury feed through the API;
the currencies themselves are metadata, so removing one that records use is refused by the
pipeline's data check like any other picklist value."""
from __future__ import annotations

import re
from datetime import date

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose

from ....currency import rates
from ....meta.currencies import iso_codes
from ..base import SetupView

MAX_ROWS = 200
_SHOWN = re.compile(r"corporate_currency|currencies\.\d+\.(code|label|decimal_places|active)")


class CurrenciesView(SetupView):
    icon = "fa-money"

    def _page(self, form: dict, errors: dict, status: int = 200, rate_form=None, rate_errors=None):
        settings = self.md.org_settings
        today = date.today()
        return self.render("setup/currencies/index.html", form=form, errors=errors,
                           settings=settings, declared="org" in self.md.settings,
                           current=rates.currencies_with_rates(self.services.engine, settings, today),
                           rates=rates.list_rates(self.services.engine), today=today.isoformat(),
                           rate_form=rate_form or {"effective_from": today.isoformat()},
                           rate_errors=rate_errors or {}, iso_codes=sorted(iso_codes()),
                           multi_objects=sorted(o.label for o in self.md.objects.values() if o.multi_currency)), status

    def _form_from_settings(self) -> dict:
        s = self.md.org_settings
        return {"corporate": s.corporate_currency,
                "rows": [{"code": c.code, "label": c.label, "places": str(c.decimal_places), "active": c.active}
                         for c in s.currencies]}

    @expose("/")
    def index(self):
        return self._page(self._form_from_settings(), {})

    @expose("/settings", methods=("POST",))
    def save_settings(self):
        form = _read_rows(request.form)
        doc, problems = _settings_doc(form)
        if problems:
            return self._page(form, problems, 422)

        kept = self.md.settings.get("org")
        # the page edits the currencies only: other settings (fiscal_year_start_month) stay as they are
        doc = {**(kept.doc if kept is not None else {}), **doc}

        def build(ed):
            ed.put("settings", "org", doc)
            return f"Currencies: {', '.join(r['code'] for r in doc['currencies'])} (corporate {doc['corporate_currency']})"

        return self.org_change(build, on_invalid=lambda errors: self._page(form, errors, 422),
                               title="Currencies", done_url=url_for(".index"),
                               errors=_by_path)

    @expose("/rates", methods=("POST",))
    def set_rate(self):
        rate_form = {k: (request.form.get(k) or "").strip() for k in ("code", "effective_from", "rate")}
        try:
            parsed = rates.parse_rate(rate_form["code"], rate_form["rate"], rate_form["effective_from"],
                                      self.md.org_settings)
        except rates.RateRefused as exc:
            return self._page(self._form_from_settings(), {}, 422, rate_form, {exc.field: exc.message})
        created = rates.set_rate(self.services.engine, parsed, actor_id=self.actor.user_id)
        flash(f"{parsed.code} from {parsed.effective_from}: {parsed.to_api()['rate']} "
              f"({'added' if created else 'replaced'}).", "success")
        return redirect(url_for(".index"))

    @expose("/rates/<code>/<day>/delete", methods=("POST",))
    def delete_rate(self, code: str, day: str):
        try:
            parsed = rates.parse_rate(code, 1, day, self.md.org_settings)
        except rates.RateRefused:
            abort(404)
        if not rates.delete_rate(self.services.engine, parsed.code, parsed.effective_from):
            abort(404)
        flash(f"The {code} rate from {day} was deleted.", "success")
        return redirect(url_for(".index"))


def _read_rows(form) -> dict:
    rows = []
    for i in range(MAX_ROWS):
        if f"code-{i}" not in form:
            break
        code = (form.get(f"code-{i}") or "").strip().upper()
        if not code and not (form.get(f"label-{i}") or "").strip():
            continue   # the empty "add a currency" row
        rows.append({"code": code, "label": (form.get(f"label-{i}") or "").strip(),
                     "places": (form.get(f"places-{i}") or "").strip(), "active": form.get(f"active-{i}") == "on"})
    return {"corporate": (form.get("corporate") or "").strip().upper(), "rows": rows}


def _settings_doc(form: dict) -> tuple[dict, dict]:
    """The settings document a form describes, and the problems the schema would word less well."""
    problems: dict[str, list[str]] = {}
    currencies = []
    for i, row in enumerate(form["rows"]):
        entry: dict = {"code": row["code"]}
        if row["label"]:
            entry["label"] = row["label"]
        if row["places"]:
            if not row["places"].isdigit() or int(row["places"]) > 4:
                problems.setdefault(f"currencies.{i}.decimal_places", []).append("a whole number from 0 to 4")
            else:
                entry["decimal_places"] = int(row["places"])
        if not row["active"]:
            entry["active"] = False
        currencies.append(entry)
    if not form["corporate"]:
        problems.setdefault("corporate_currency", []).append("choose the corporate currency")
    return {"name": "org", "corporate_currency": form["corporate"], "currencies": currencies}, problems



def _by_path(errors) -> dict[str, list[str]]:
    """Pipeline errors next to the input they are about: `currencies.2.code` is row 2's code; errors
    elsewhere (an object that cannot lose a currency) at the top of the form."""
    out: dict[str, list[str]] = {}
    for e in errors:
        key = e.path if e.source.endswith("settings/org.yaml") and _SHOWN.fullmatch(e.path) else ""
        out.setdefault(key, []).append(e.message if key else str(e))
    return out
