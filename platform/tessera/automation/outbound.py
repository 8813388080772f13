"""Outgoing HTTP requests of automation (webhooks, HTTP actions), guarded against SSRF.

A workflow's URL is written by an admin, but the request leaves from inside the network: without a
guard, `http://169.254.169.254/…` (a cloud's metadata service), `http://localhost:5432` or an
intranet host is one metadata edit away. So, before every request:

1. the host is resolved, and EVERY address it resolves to is checked: loopback, private, link-local,
   multicast, reserved, unspecified, shared (CGNAT) addresses — anything not globally routable,
   IPv4-mapped IPv6 included — are refused unless the operator allows them
   (TESSERA_WEBHOOK_ALLOW_PRIVATE=1, or TESSERA_WEBHOOK_ALLOWED_NETWORKS=10.1.0.0/16,192.0.2.7);
2. the connection goes to the address that was checked (urllib3 connection pool on the IP, with
   the Host header and the TLS server name / certificate check set to the host name), so a DNS
   answer that changes between the check and the connection (DNS rebinding) cannot redirect it;
3. redirects are not followed (a 3xx is an answer like any other non-2xx).

A refusal raises `Refused` before any connection is opened.
"""
from __future__ import annotations

import ipaddress
import os
import socket
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import urllib3

from ..meta.outbound_url import url_problem as check_url

ALLOW_PRIVATE_ENV = "TESSERA_WEBHOOK_ALLOW_PRIVATE"
ALLOWED_NETWORKS_ENV = "TESSERA_WEBHOOK_ALLOWED_NETWORKS"
RESPONSE_LIMIT = 2000          # characters of an answer kept for the delivery log
_POOL_LIMIT = 64
_READ_LIMIT = 4 * RESPONSE_LIMIT   # bytes of an answer read (the rest is never downloaded)


class OutboundError(Exception):
    """The request could not be made or got no answer (retryable)."""


class Refused(OutboundError):
    """The request is not allowed (not retryable): a bad URL or a forbidden address."""


@dataclass(frozen=True)
class Response:
    status: int
    text: str                    # the start of the body
    duration_ms: int


def _allowed_networks() -> list:
    text = os.environ.get(ALLOWED_NETWORKS_ENV, "")
    networks = []
    for item in (part.strip() for part in text.split(",")):
        if item:
            try:
                networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                raise Refused(f"{ALLOWED_NETWORKS_ENV}: '{item}' is not an address or network") from None
    return networks


def _forbidden(ip) -> str | None:
    """Why an address is not one automation may connect to (None: it is globally routable)."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for flag in ("loopback", "link_local", "unspecified", "multicast", "reserved", "private"):
        if getattr(ip, f"is_{flag}"):
            return f"{ip} is a {flag.replace('_', '-')} address"
    if not ip.is_global:
        return f"{ip} is not a public address"
    return None


def resolve_checked(host: str, port: int) -> str:
    """The address to connect to: every address `host` resolves to must be allowed."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise OutboundError(f"cannot resolve {host}: {exc.strerror or exc}") from None
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not addresses:
        raise OutboundError(f"{host} has no address")
    if os.environ.get(ALLOW_PRIVATE_ENV, "") not in ("1", "true", "yes"):
        allowed = _allowed_networks()
        for text in addresses:
            ip = ipaddress.ip_address(text.split("%", 1)[0])
            why = _forbidden(ip)
            if why and not any(ip in net for net in allowed if net.version == ip.version):
                raise Refused(f"refused to connect to {host}: {why} (outgoing requests go to public addresses "
                              f"only; an admin may allow others with {ALLOW_PRIVATE_ENV}=1 or "
                              f"{ALLOWED_NETWORKS_ENV})")
    return addresses[0]


_pools: dict[tuple, urllib3.HTTPConnectionPool] = {}
_pools_lock = threading.Lock()


def _pool(scheme: str, address: str, port: int, host: str) -> urllib3.HTTPConnectionPool:
    """A keep-alive pool per (scheme, checked address, port, host name)."""
    key = (scheme, address, port, host)
    with _pools_lock:
        pool = _pools.get(key)
        if pool is None:
            if len(_pools) >= _POOL_LIMIT:
                for old in _pools.values():
                    old.close()
                _pools.clear()
            if scheme == "https":
                pool = urllib3.HTTPSConnectionPool(address, port, maxsize=8, block=False, retries=False,
                                                   cert_reqs="CERT_REQUIRED", assert_hostname=host,
                                                   server_hostname=host)
            else:
                pool = urllib3.HTTPConnectionPool(address, port, maxsize=8, block=False, retries=False)
            _pools[key] = pool
        return pool


def post(url: str, body: bytes, headers: dict[str, str], *, timeout: float) -> Response:
    """POST `body` to `url` (checked as above); any HTTP answer is returned, whatever its status.
    Raises Refused (not allowed) or OutboundError (no answer: connection refused, timeout …)."""
    problem = check_url(url)
    if problem:
        raise Refused(problem)
    parts = urlsplit(url)
    host = parts.hostname
    port = parts.port or (443 if parts.scheme == "https" else 80)
    address = resolve_checked(host, port)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    default_port = port == (443 if parts.scheme == "https" else 80)
    host_header = (f"[{host}]" if ":" in host else host) + ("" if default_port else f":{port}")
    started = time.monotonic()
    try:
        answer = _pool(parts.scheme, address, port, host).urlopen(
            "POST", target, body=body, headers={**headers, "Host": host_header}, redirect=False, retries=False,
            timeout=urllib3.Timeout(connect=timeout, read=timeout), preload_content=False, assert_same_host=False)
        try:
            text = answer.read(_READ_LIMIT + 1, decode_content=True)
            if len(text) > _READ_LIMIT:      # not read to the end: this connection cannot be reused
                answer.close()
        finally:
            answer.release_conn()
    except urllib3.exceptions.HTTPError as exc:
        # NewConnectionError (refused, unreachable) subclasses ConnectTimeoutError in urllib3: not a timeout
        if isinstance(exc, urllib3.exceptions.TimeoutError) and not isinstance(exc, urllib3.exceptions.NewConnectionError):
            raise OutboundError(f"POST {url}: no answer within the {timeout:g} s timeout") from None
        raise OutboundError(f"POST {url} failed: {getattr(exc, 'reason', None) or exc}") from None
    return Response(answer.status, text.decode("utf-8", "replace")[:RESPONSE_LIMIT],
                    int((time.monotonic() - started) * 1000))
