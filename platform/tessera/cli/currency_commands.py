"""`tessera currency …`: the org's currencies (settings/org.yaml) and their dated exchange rates."""
from __future__ import annotations

from datetime import date

import click

from .context import database_option, fail, open_services


@click.group("currency")
def currency():
    """Currencies and exchange rates (which currencies exist is metadata: settings/org.yaml)."""


@currency.command("list")
@database_option
@click.option("--on", "day", metavar="YYYY-MM-DD", help="Show the rates in effect on this day (default: today).")
def currency_list(ctx, day):
    """The org's currencies, each with the rate in effect (units per 1 corporate unit)."""
    from ..currency.rates import currencies_with_rates
    services = open_services(ctx, require_ready=True)
    settings = services.runtimes.current().metadata.org_settings
    for c in currencies_with_rates(services.engine, settings, _day(day)):
        marks = " ".join(m for m, on in (("corporate", c["corporate"]), ("inactive", not c["active"])) if on)
        rate = c["rate"] if c["rate"] is not None else "no rate"
        click.echo(f"{c['code']}  {c['label']}  {rate}{'  (' + marks + ')' if marks else ''}")


@currency.command("rates")
@database_option
@click.argument("code", required=False)
def currency_rates(ctx, code):
    """Every dated rate (of CODE only, when given), newest first."""
    from ..currency.rates import list_rates
    services = open_services(ctx, require_ready=True)
    if code is not None and code not in services.runtimes.current().metadata.org_settings.codes:
        fail(f"{code!r} is not one of the org's currencies")
    found = list_rates(services.engine, code)
    if not found:
        click.echo("no rates")
    for rate in found:
        shown = rate.to_api()
        click.echo(f"{shown['code']}  from {shown['effective_from']}  {shown['rate']}")


@currency.command("set-rate")
@database_option
@click.argument("code")
@click.argument("rate")
@click.option("--from", "effective_from", metavar="YYYY-MM-DD", help="In effect from this day (default: today).")
def currency_set_rate(ctx, code, rate, effective_from):
    """Set how many CODE one unit of the corporate currency buys, from a day on."""
    from ..currency.rates import RateRefused, parse_rate, set_rate
    services = open_services(ctx, require_ready=True)
    settings = services.runtimes.current().metadata.org_settings
    try:
        parsed = parse_rate(code, rate, effective_from or date.today().isoformat(), settings)
    except RateRefused as exc:
        fail(f"{exc.field}: {exc.message}")
    created = set_rate(services.engine, parsed)
    click.echo(f"{code} from {parsed.effective_from}: {parsed.to_api()['rate']} ({'set' if created else 'replaced'})")


def _day(text: str | None) -> date:
    if text is None:
        return date.today()
    try:
        return date.fromisoformat(text)
    except ValueError:
        fail(f"--on: {text!r} is not a date (YYYY-MM-DD)")


COMMANDS = [currency]
