"""Where outgoing email goes: an SMTP server, or `.eml` files.

    TESSERA_SMTP_URL   smtp://[user:password@]host[:port][?starttls=true&timeout=30]
                       smtps://[user:password@]host[:port]          (TLS from the first byte, port 465)
                       Without it, messages are written as .eml files (the embedded default):
    TESSERA_MAIL_DIR   the directory of the .eml files (default: `mail/` next to the SQLite
                       database file, else `./mail`)
    TESSERA_MAIL_FROM  the From address (default: Tessera <tessera@localhost>)

The standard library is enough: `email.message.EmailMessage` builds correct MIME (multipart/
alternative, encoded headers, line lengths) and `smtplib` speaks SMTP with STARTTLS, implicit TLS
and AUTH. A third-party mail library would add a dependency and nothing we use. Secrets in the URL
are percent-encoded (user%40example.com); they are never logged (see `describe`).
"""
from __future__ import annotations

import os
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

SMTP_URL_ENV = "TESSERA_SMTP_URL"
MAIL_DIR_ENV = "TESSERA_MAIL_DIR"
MAIL_FROM_ENV = "TESSERA_MAIL_FROM"
DEFAULT_FROM = "Tessera <tessera@localhost>"


class MailConfigError(ValueError):
    """TESSERA_SMTP_URL cannot be understood (the job fails with this message and is retried)."""


def sender() -> str:
    return os.environ.get(MAIL_FROM_ENV) or DEFAULT_FROM


def sender_domain() -> str:
    address = parseaddr(sender())[1]
    return address.rpartition("@")[2] or "localhost"


def build_message(row) -> EmailMessage:
    """The MIME message of an outbox row: identical on every attempt (same Message-ID and Date),
    so a resend after a crash is recognisably the same mail."""
    msg = EmailMessage()
    msg["From"] = sender()
    msg["To"] = ", ".join(row.to)
    if row.cc:
        msg["Cc"] = ", ".join(row.cc)
    msg["Subject"] = row.subject
    msg["Date"] = formatdate(row.created_at.timestamp(), usegmt=True)
    msg["Message-ID"] = row.message_id
    # RFC 3834: mail a machine sends on its own; well-behaved auto-responders do not answer it
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(row.text)
    if row.html:
        msg.add_alternative(row.html, subtype="html")
    return msg


class SmtpTransport:
    def __init__(self, url: str):
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps"):
            raise MailConfigError(f"{SMTP_URL_ENV}: the scheme must be smtp:// or smtps://, not '{parts.scheme}://'")
        if not parts.hostname:
            raise MailConfigError(f"{SMTP_URL_ENV}: no host")
        options = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        unknown = set(options) - {"starttls", "timeout"}
        if unknown:
            raise MailConfigError(f"{SMTP_URL_ENV}: unknown option(s) {', '.join(sorted(unknown))} (starttls, timeout)")
        self.implicit_tls = parts.scheme == "smtps"
        self.starttls = options.get("starttls", "false").lower() in ("1", "true", "yes")
        try:
            self.port = parts.port or (465 if self.implicit_tls else 587 if self.starttls else 25)
            self.timeout = float(options.get("timeout", 30))
        except ValueError as exc:
            raise MailConfigError(f"{SMTP_URL_ENV}: {exc}") from None
        self.host = parts.hostname
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None

    def describe(self) -> str:
        return f"{'smtps' if self.implicit_tls else 'smtp'}://{self.host}:{self.port}"

    def send(self, msg: EmailMessage, _name: str) -> str:
        if self.implicit_tls:
            client = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout,
                                      context=ssl.create_default_context())
        else:
            client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        with client:
            if self.starttls:
                client.starttls(context=ssl.create_default_context())
            if self.username:
                client.login(self.username, self.password or "")
            refused = client.send_message(msg)
        if refused:   # some recipients were refused, the others accepted: retrying would duplicate
            return f"sent via {self.describe()}; refused: {', '.join(sorted(refused))}"
        return f"sent via {self.describe()}"


class FileTransport:
    """Writes each message to `<dir>/<name>.eml` (written whole, then renamed into place: a reader
    never sees half a file; a resend overwrites the same file)."""

    def __init__(self, directory: Path):
        self.directory = directory

    def describe(self) -> str:
        return str(self.directory)

    def send(self, msg: EmailMessage, name: str) -> str:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"{name}.eml"
        partial = self.directory / f".{name}.eml.partial"
        partial.write_bytes(msg.as_bytes())
        os.replace(partial, path)
        return f"written to {path}"


def default_mail_dir(engine) -> Path:
    if engine is not None and engine.url.get_backend_name() == "sqlite" and engine.url.database \
            and engine.url.database != ":memory:":
        return Path(engine.url.database).resolve().parent / "mail"
    return Path.cwd() / "mail"


def transport(engine=None):
    """The transport the environment configures (read at each delivery: no restart to change it)."""
    url = os.environ.get(SMTP_URL_ENV, "").strip()
    if url:
        return SmtpTransport(url)
    directory = os.environ.get(MAIL_DIR_ENV, "").strip()
    return FileTransport(Path(directory) if directory else default_mail_dir(engine))
