"""Which requests arrived over HTTPS, and from which client: trusted proxies only.

A TLS proxy in front of Tessera (nginx, Caddy, a load balancer) talks plain HTTP to it and says
what the client used in `X-Forwarded-Proto` / `-For` / `-Host` / `-Port`. Those headers are
believed only from the addresses the operator lists (`--forwarded-allow-ips` or
TESSERA_FORWARDED_ALLOW_IPS: IPs or networks, comma-separated, or `*` for any — only safe when
nothing but the proxy can reach the server); from anyone else they are ignored, or a client could
claim any address (dodging rate limits) or HTTPS. Werkzeug's ProxyFix does the rewriting, one
proxy hop deep, for the requests it is given.

Session cookies are then `Secure` exactly when the request arrived over HTTPS (BrowserSessions,
web/app.py): a browser signs in on https://, on http://127.0.0.1 and on a LAN address over plain
HTTP alike. The last sends passwords and cookies in clear text over the network, so the first such
request logs a warning.
"""
from __future__ import annotations

import ipaddress
import logging
import os

from werkzeug.middleware.proxy_fix import ProxyFix

from ..environment import EnvironmentSettingError

ENV = "TESSERA_FORWARDED_ALLOW_IPS"
HEALTH_PATHS = ("/healthz", "/readyz")   # a load balancer probes over plain HTTP even in front of TLS
log = logging.getLogger("tessera.web")


def trusted_proxies(value: str | None = None, *, source: str = f"{ENV} (--forwarded-allow-ips)") -> tuple | None:
    """The networks of `value` (default: $TESSERA_FORWARDED_ALLOW_IPS); "*" gives every address
    (a tuple of the two catch-all networks); None when nothing is trusted."""
    if value is None:
        value = os.environ.get(ENV, "")
    items = [item for item in value.replace(",", " ").split() if item]
    if not items:
        return None
    if "*" in items:
        return (ipaddress.ip_network("0.0.0.0/0"), ipaddress.ip_network("::/0"))
    networks = []
    for item in items:
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise EnvironmentSettingError(f"{source}: {item!r} is not an IP address or network such as 10.0.0.5 "
                                          "or 10.0.0.0/24 (comma-separated; '*' trusts every address)") from None
    return tuple(networks)


def _address(text: str | None):
    try:
        return ipaddress.ip_address((text or "").split("%")[0])
    except ValueError:
        return None


class TrustedProxies:
    """WSGI middleware: ProxyFix for requests from a trusted proxy, nothing for the others; then
    the warning, once per process, when a non-loopback client uses plain HTTP."""

    def __init__(self, app, networks: tuple | None):
        self.app = app
        self.networks = networks or ()
        self.fixed = ProxyFix(self._checked, x_for=1, x_proto=1, x_host=1, x_port=1)
        self.warned = False

    def trusts(self, remote_addr: str | None) -> bool:
        address = _address(remote_addr)
        return address is not None and any(address in network for network in self.networks)

    def __call__(self, environ, start_response):
        if self.networks and self.trusts(environ.get("REMOTE_ADDR")):
            return self.fixed(environ, start_response)
        return self._checked(environ, start_response)

    def _checked(self, environ, start_response):
        """The app, for an environ that says what the client used (after ProxyFix when trusted)."""
        if not self.warned and environ.get("wsgi.url_scheme") != "https" \
                and environ.get("PATH_INFO") not in HEALTH_PATHS:
            address = _address(environ.get("REMOTE_ADDR"))
            if address is not None and not address.is_loopback:
                self.warned = True
                log.warning("plain HTTP from %s: passwords and session cookies cross the network unencrypted. "
                            "Serve Tessera behind a TLS proxy (and list it in --forwarded-allow-ips / %s).",
                            address, ENV)
        return self.app(environ, start_response)
