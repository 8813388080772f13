"""The `tessera` command line. Commands are thin: parse arguments, call a service, print.

Every command takes `--database URL` (default: $TESSERA_DATABASE_URL, else sqlite:///tessera.db).
Errors are printed as `error: ...` on stderr with a non-zero exit status, never as tracebacks.
"""
from __future__ import annotations

import click

from .context import CliContext, database_option, fail  # noqa: F401  (re-exported for command modules)


@click.group("tessera", context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="tessera")
def cli():
    """Tessera: a low-code, metadata-driven CRM platform."""


def _register():
    from . import (approval_commands, automation_commands, currency_commands, deploy_commands, email_commands,
                   key_commands, metadata_commands, operations_commands, package_commands, records_commands,
                   report_commands, security_commands, server_commands, webhook_commands, workflow_commands)

    for module in (metadata_commands, records_commands, server_commands, security_commands, automation_commands,
                   workflow_commands, email_commands, webhook_commands, approval_commands, currency_commands,
                   report_commands, operations_commands, package_commands, deploy_commands, key_commands):
        for command in module.COMMANDS:
            cli.add_command(command)


def main():
    if not cli.commands:
        _register()
    cli(prog_name="tessera")
