"""One guarded HTTP GET of an x5u chain or a CRL (ATIS-1000074 §5.3.1, STANDARDS.md §5).

The rules: https on 443 or 8443; no userinfo, query or fragment; never follow a redirect; a size
cap and connect/read time-outs; the host is resolved first and private, loopback and link-local
addresses are refused, then the connection goes to the address that was checked (so a second DNS
answer cannot swap it). A development allow-list admits named hosts over http, on any port and on
private addresses, so tests and `delegato demo` can use a loopback server.
"""

from __future__ import annotations

import http.client
import ipaddress
import re
import socket
import ssl
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from email.message import Message
from urllib.parse import urlsplit

from ca.errors import malformed
from ca.verifier.errors import FetchError

#: ATIS-1000080 §6.3.3: certificate repositories listen on 443 or 8443.
HTTPS_PORTS = frozenset({443, 8443})
_HOST_PORT = re.compile(r"(?:[a-z0-9.\-]+|\[[0-9a-f:.]+\])(?::[0-9]{1,5})?")
_ACCEPT = {"x5u": "application/pem-certificate-chain", "crl": "application/pkix-crl"}


def parse_allow_host(text: str) -> tuple[str, int | None]:
    """``HOST`` or ``HOST:PORT`` (IPv6 as ``[::1]:8080``) for the development allow-list."""
    value = str(text).strip().lower()
    if not _HOST_PORT.fullmatch(value):
        raise malformed("allow_host", f"{text!r} is not HOST or HOST:PORT")
    parts = urlsplit(f"//{value}")
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        raise malformed("allow_host", f"{text!r} has a bad port") from None
    if not host or parts.path or parts.query or "@" in value:
        raise malformed("allow_host", f"{text!r} is not HOST or HOST:PORT")
    return host, port


@dataclass(frozen=True)
class FetchPolicy:
    """Limits for repository fetches; the defaults follow STANDARDS.md §5."""

    allow_hosts: frozenset[tuple[str, int | None]] = frozenset()
    connect_timeout: float = 2.0
    #: The whole response must arrive within this many seconds of the request.
    read_timeout: float = 3.0
    max_x5u_bytes: int = 64 * 1024
    max_crl_bytes: int = 8 * 1024 * 1024
    ssl_context: ssl.SSLContext | None = field(default=None, compare=False)

    @classmethod
    def allowing(cls, hosts: Iterable[str], **limits: object) -> FetchPolicy:
        return cls(allow_hosts=frozenset(parse_allow_host(h) for h in hosts), **limits)  # type: ignore[arg-type]

    def is_allowed(self, host: str, port: int) -> bool:
        return (host, port) in self.allow_hosts or (host, None) in self.allow_hosts

    def max_bytes(self, kind: str) -> int:
        return self.max_crl_bytes if kind == "crl" else self.max_x5u_bytes


@dataclass(frozen=True)
class Target:
    """A URL that passed the rules: where to connect and whether the allow-list admitted it."""

    scheme: str
    host: str
    port: int
    path: str
    allowed: bool


def check_url(url: str, policy: FetchPolicy) -> Target:
    """Apply the repository URL rules (ATIS-1000074 §5.3.1, RFC 9060 §7) before any I/O."""
    if not isinstance(url, str) or not url.isascii() or any(c.isspace() for c in url):
        raise FetchError("bad-url", f"{url!r} is not a URL", transient=False)
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise FetchError("bad-url", f"{url!r} is not an http(s) URL", transient=False)
    if "@" in parts.netloc or "?" in url or "#" in url:
        raise FetchError("bad-url", f"{url!r} has userinfo, a query or a fragment", transient=False)
    try:
        host, port = parts.hostname or "", parts.port
    except ValueError:
        raise FetchError("bad-url", f"{url!r} has a bad port", transient=False) from None
    port = port or (443 if parts.scheme == "https" else 80)
    allowed = policy.is_allowed(host, port)
    if not allowed and (parts.scheme != "https" or port not in HTTPS_PORTS):
        raise FetchError(
            "url-refused",
            f"{url!r} is not https on port 443 or 8443 (allow-list the host for development)",
            transient=False,
        )
    return Target(parts.scheme, host, port, parts.path or "/", allowed)


def resolve(target: Target) -> list[str]:
    """The host's addresses, refusing non-global ones unless allow-listed (SSRF guard)."""
    try:
        infos = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise FetchError("unreachable", f"cannot resolve {target.host}: {error}") from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if target.allowed:
        return addresses
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%")[0])
        mapped = getattr(ip, "ipv4_mapped", None)
        if not (mapped or ip).is_global or ip.is_multicast:
            raise FetchError(
                "private-address",
                f"{target.host} resolves to {address}, a private, loopback or link-local address",
                transient=False,
            )
    return addresses


class _PinnedConnection(http.client.HTTPConnection):
    """Connects to an address already checked, naming the host for Host, SNI and the certificate."""

    def __init__(
        self, target: Target, address: str, timeout: float, context: ssl.SSLContext | None
    ) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self._address = address
        self._context = context

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        if self._context is not None:
            sock = self._context.wrap_socket(sock, server_hostname=self.host)
        self.sock = sock


@dataclass(frozen=True)
class Response:
    """A successful fetch: the body and the headers that decide how long it may be cached."""

    body: bytes
    headers: Message
    content_type: str


def get(url: str, kind: str, policy: FetchPolicy) -> Response:
    """GET ``url`` under the rules; 200 only, no redirects, capped in size and time."""
    target = check_url(url, policy)
    addresses = resolve(target)
    context = None
    if target.scheme == "https":
        context = policy.ssl_context or ssl.create_default_context()
    deadline = time.monotonic() + policy.connect_timeout + policy.read_timeout
    last: Exception | None = None
    for address in addresses:
        connection = _PinnedConnection(target, address, policy.connect_timeout, context)
        try:
            connection.connect()
        except (OSError, ssl.SSLError) as error:
            last = error
            connection.close()
            continue
        try:
            return _exchange(connection, target, url, kind, policy, deadline)
        finally:
            connection.close()
    raise FetchError("unreachable", f"cannot connect to {target.host}:{target.port}: {last}")


def _exchange(
    connection: _PinnedConnection,
    target: Target,
    url: str,
    kind: str,
    policy: FetchPolicy,
    deadline: float,
) -> Response:
    try:
        # Kept here: http.client drops connection.sock once a response says Connection: close.
        sock = connection.sock
        assert sock is not None
        sock.settimeout(policy.read_timeout)
        connection.request(
            "GET",
            target.path,
            headers={"Accept": _ACCEPT.get(kind, "*/*"), "User-Agent": "delegato-verifier"},
        )
        response = connection.getresponse()
        if 300 <= response.status < 400:
            raise FetchError(
                "redirect",
                f"{url} answered {response.status}: redirects are never followed",
                transient=False,
            )
        if response.status != 200:
            raise FetchError(
                "http-status",
                f"{url} answered {response.status}, not 200",
                transient=response.status >= 500,
            )
        body = _read_capped(response, sock, url, policy.max_bytes(kind), deadline)
    except TimeoutError:
        raise FetchError("timeout", f"{url} did not answer within the time-out") from None
    except (OSError, http.client.HTTPException, ssl.SSLError) as error:
        raise FetchError("unreachable", f"{url}: {type(error).__name__}: {error}") from None
    content_type = (response.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    return Response(body, response.headers, content_type)


def _read_capped(
    response: http.client.HTTPResponse, sock: socket.socket, url: str, cap: int, deadline: float
) -> bytes:
    declared = response.headers.get("Content-Length")
    if declared and declared.strip().isascii() and declared.strip().isdigit() and int(declared) > cap:
        raise FetchError(
            "too-large", f"{url} declares {declared} bytes, more than {cap}", transient=False
        )
    chunks: list[bytes] = []
    size = 0
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        # The socket time-out bounds each read; the deadline bounds a slow trickle of bytes.
        sock.settimeout(remaining)
        chunk = response.read1(min(65536, cap + 1 - size))
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        size += len(chunk)
        if size > cap:
            raise FetchError("too-large", f"{url} sent more than {cap} bytes", transient=False)
