"""The caching fetcher: HTTP freshness, the 24-hour x5u floor, coalescing, remembered failures.

RFC 9111 §4.2 decides how long a response stays fresh (Cache-Control max-age, Age, Expires);
ATIS-1000074 §5.3.1 asks verifiers to keep an x5u at least 24 hours, which :meth:`HTTPFetcher.limit`
caps at the certificate's notAfter once the chain is parsed. Concurrent fetches of one URL share
one request, and a failure is remembered briefly so a dead repository is not hammered.
"""

from __future__ import annotations

import email.utils
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.message import Message

from ca.verifier.errors import FetchError
from ca.verifier.fetch import FetchPolicy, Response, get

#: ATIS-1000074 §5.3.1: an x5u is cached at least this long.
X5U_MIN_TTL = 24 * 3600.0
#: STANDARDS.md §8: a CRL is fetched again at least every 12 hours.
CRL_MAX_TTL = 12 * 3600.0
#: A CRL response without freshness headers is kept this long (the CRL's own nextUpdate rules).
CRL_DEFAULT_TTL = 3600.0
#: How long a failure is remembered.
NEGATIVE_TTL = 30.0


def freshness(headers: Message, now: float) -> float | None:
    """Seconds the response stays fresh per RFC 9111 §4.2.1, or None when it says nothing."""
    directives: dict[str, str] = {}
    for value in headers.get_all("Cache-Control") or []:
        for part in value.split(","):
            name, _, argument = part.strip().partition("=")
            directives[name.strip().lower()] = argument.strip().strip('"')
    if "no-store" in directives or "no-cache" in directives:
        return 0.0
    age = _seconds(headers.get("Age")) or 0.0
    for name in ("s-maxage", "max-age"):
        if name in directives:
            seconds = _seconds(directives[name])
            return None if seconds is None else max(0.0, seconds - age)
    expires = headers.get("Expires")
    if expires is not None:
        moment = _http_date(expires)
        if moment is None:
            return 0.0  # RFC 9111 §5.3: an invalid Expires means already expired
        date = _http_date(headers.get("Date") or "") or now
        return max(0.0, moment - date - age)
    return None


def _seconds(text: str | None) -> float | None:
    if text is None or not (text.strip().isascii() and text.strip().isdigit()):
        return None
    return float(int(text.strip()))


def _http_date(text: str) -> float | None:
    try:
        return email.utils.parsedate_to_datetime(text).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


@dataclass
class _Entry:
    body: bytes
    expires: float


class _Flight:
    """One fetch in progress; later callers for the same URL wait for its outcome."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.body: bytes | None = None
        self.error: FetchError | None = None


class HTTPFetcher:
    """Fetches x5u chains and CRLs under :class:`FetchPolicy`, with an in-memory cache."""

    def __init__(
        self,
        policy: FetchPolicy | None = None,
        *,
        clock: Callable[[], float] = time.time,
        negative_ttl: float = NEGATIVE_TTL,
        max_entries: int = 10_000,
    ) -> None:
        self.policy = policy or FetchPolicy()
        self._clock = clock
        self._negative_ttl = negative_ttl
        self._max_entries = max_entries
        self._cache: dict[str, _Entry] = {}
        self._failures: dict[str, tuple[FetchError, float]] = {}
        self._flights: dict[str, _Flight] = {}
        self._lock = threading.Lock()
        #: Requests actually sent, for tests and metrics.
        self.requests = 0

    def fetch(self, url: str, kind: str = "x5u") -> bytes:
        """The body at ``url``, from the cache while fresh; raises :class:`FetchError`."""
        entry = self._cache.get(url)
        if entry is not None and entry.expires > self._clock():
            return entry.body
        return self._fetch_slow(url, kind)

    def _fetch_slow(self, url: str, kind: str) -> bytes:
        with self._lock:
            now = self._clock()
            entry = self._cache.get(url)
            if entry is not None and entry.expires > now:
                return entry.body
            failure = self._failures.get(url)
            if failure is not None and failure[1] > now:
                raise failure[0]
            flight = self._flights.get(url)
            leader = flight is None
            if flight is None:
                flight = self._flights[url] = _Flight()
        if not leader:
            flight.done.wait()
            if flight.error is not None:
                raise flight.error
            assert flight.body is not None
            return flight.body
        try:
            response = self._request(url, kind)
        except FetchError as error:
            with self._lock:
                self._failures[url] = (error, self._clock() + self._negative_ttl)
                del self._flights[url]
            flight.error = error
            flight.done.set()
            raise
        with self._lock:
            self._store(url, response.body, self._ttl(response, kind))
            self._failures.pop(url, None)
            del self._flights[url]
        flight.body = response.body
        flight.done.set()
        return response.body

    def _request(self, url: str, kind: str) -> Response:
        self.requests += 1
        return get(url, kind, self.policy)

    def _ttl(self, response: Response, kind: str) -> float:
        fresh = freshness(response.headers, self._clock())
        if kind == "x5u":
            return max(fresh or 0.0, X5U_MIN_TTL)
        return min(CRL_DEFAULT_TTL if fresh is None else fresh, CRL_MAX_TTL)

    def _store(self, url: str, body: bytes, ttl: float) -> None:
        now = self._clock()
        if len(self._cache) >= self._max_entries:
            for key in [k for k, e in self._cache.items() if e.expires <= now]:
                del self._cache[key]
            while len(self._cache) >= self._max_entries:
                del self._cache[next(iter(self._cache))]
        if ttl > 0:
            self._cache[url] = _Entry(body, now + ttl)

    def limit(self, url: str, until: float) -> None:
        """Keep ``url`` no later than ``until`` (epoch seconds): the x5u's notAfter cap."""
        with self._lock:
            entry = self._cache.get(url)
            if entry is not None and entry.expires > until:
                entry.expires = until

    def forget(self, url: str) -> None:
        """Drop ``url`` from the cache and the failure memory (a CRL past its nextUpdate)."""
        with self._lock:
            self._cache.pop(url, None)
            self._failures.pop(url, None)
