"""The x5u/CRL fetcher against a real loopback HTTP server (STANDARDS.md §5, issue 5 item 2)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from email.message import Message

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ca.errors import CAError
from ca.verifier import verify_identity
from ca.verifier.cache import X5U_MIN_TTL, HTTPFetcher, freshness
from ca.verifier.errors import FetchError
from ca.verifier.fetch import FetchPolicy, check_url, parse_allow_host
from ca.verifier.results import FAILED, NO_VALIDATION
from tests.unit.verifier.httpserver import LocalServer, local_server, respond, slow, trickle
from tests.unit.verifier.pki import Hierarchy, pem


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def server() -> Iterator[LocalServer]:
    with local_server() as running:
        yield running


def fetcher_for(server: LocalServer, clock: Clock | None = None, **limits) -> HTTPFetcher:
    policy = FetchPolicy.allowing([server.host], **limits)
    return HTTPFetcher(policy, clock=clock or Clock())


def reason_of(call) -> str:
    with pytest.raises(FetchError) as caught:
        call()
    return caught.value.reason


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://repo.example/x.pem", "url-refused"),
        ("https://repo.example:8080/x.pem", "url-refused"),
        ("https://user@repo.example/x.pem", "bad-url"),
        ("https://repo.example/x.pem?v=1", "bad-url"),
        ("https://repo.example/x.pem#top", "bad-url"),
        ("ftp://repo.example/x.pem", "bad-url"),
        ("https://repo.example:99999/x.pem", "bad-url"),
        ("https://repo.example/x y.pem", "bad-url"),
    ],
)
def test_url_rules(url, reason):
    assert reason_of(lambda: check_url(url, FetchPolicy())) == reason


@pytest.mark.parametrize("url", ["https://repo.example/x.pem", "https://repo.example:8443/x"])
def test_https_on_443_and_8443_pass_the_url_rules(url):
    assert check_url(url, FetchPolicy()).scheme == "https"


def test_the_allow_list_admits_http_on_any_port():
    policy = FetchPolicy.allowing(["repo.test:8080"])
    assert check_url("http://repo.test:8080/x.pem", policy).allowed
    assert reason_of(lambda: check_url("http://repo.test:8081/x.pem", policy)) == "url-refused"


@pytest.mark.parametrize("text", ["", "a b", "host:port", "user@host", "host/path"])
def test_bad_allow_host_entries(text):
    with pytest.raises(CAError):
        parse_allow_host(text)


@pytest.mark.parametrize(
    "url", ["https://localhost/x.pem", "https://127.0.0.1:8443/x.pem", "https://[::1]/x.pem"]
)
def test_private_addresses_are_refused_after_resolution(url):
    fetcher = HTTPFetcher()
    assert reason_of(lambda: fetcher.fetch(url, "x5u")) == "private-address"
    assert fetcher.requests == 1  # refused before any connection: nothing listens there


def test_a_chain_is_fetched(server):
    url = server.route(
        "/c.pem", respond(200, b"chain", {"Content-Type": "application/pem-certificate-chain"})
    )
    assert fetcher_for(server).fetch(url, "x5u") == b"chain"


def test_redirects_are_never_followed(server):
    server.route("/target.pem", respond(200, b"chain"))
    url = server.route("/moved.pem", respond(302, b"", {"Location": server.url("/target.pem")}))
    assert reason_of(lambda: fetcher_for(server).fetch(url, "x5u")) == "redirect"
    assert server.hits["/target.pem"] == 0


def test_non_200_answers(server):
    url = server.route("/gone.pem", respond(410, b"gone"))
    assert reason_of(lambda: fetcher_for(server).fetch(url, "x5u")) == "http-status"


def test_too_large_by_content_length(server):
    url = server.route("/big.pem", respond(200, b"x" * 70_000))
    assert reason_of(lambda: fetcher_for(server).fetch(url, "x5u")) == "too-large"


def test_too_large_without_content_length(server):
    url = server.route(
        "/big.pem", respond(200, b"x" * 70_000, {"Connection": "close"}, length=False)
    )
    assert reason_of(lambda: fetcher_for(server).fetch(url, "x5u")) == "too-large"


def test_crls_may_be_larger_than_chains(server):
    url = server.route("/big.crl", respond(200, b"x" * 70_000))
    assert len(fetcher_for(server).fetch(url, "crl")) == 70_000


def test_a_silent_server_times_out(server):
    url = server.route("/slow.pem", slow(2.0, respond(200, b"late")))
    fetcher = fetcher_for(server, read_timeout=0.3)
    with pytest.raises(FetchError) as caught:
        fetcher.fetch(url, "x5u")
    assert caught.value.reason == "timeout" and caught.value.transient


def test_a_trickling_server_hits_the_deadline(server):
    url = server.route("/trickle.pem", trickle(50, 0.1))
    fetcher = fetcher_for(server, read_timeout=0.5, connect_timeout=0.1)
    assert reason_of(lambda: fetcher.fetch(url, "x5u")) == "timeout"


def test_a_closed_port_is_unreachable():
    fetcher = HTTPFetcher(FetchPolicy.allowing(["127.0.0.1:9"]))
    assert reason_of(lambda: fetcher.fetch("http://127.0.0.1:9/x.pem", "x5u")) == "unreachable"


def test_an_x5u_is_kept_at_least_24_hours(server):
    url = server.route("/c.pem", respond(200, b"chain", {"Cache-Control": "max-age=60"}))
    clock = Clock()
    fetcher = fetcher_for(server, clock)
    fetcher.fetch(url, "x5u")
    clock.now += X5U_MIN_TTL - 1
    fetcher.fetch(url, "x5u")
    assert server.hits["/c.pem"] == 1
    clock.now += 2
    fetcher.fetch(url, "x5u")
    assert server.hits["/c.pem"] == 2


def test_the_x5u_cache_is_capped_at_not_after(server):
    url = server.route("/c.pem", respond(200, b"chain", {"Cache-Control": "max-age=604800"}))
    clock = Clock()
    fetcher = fetcher_for(server, clock)
    fetcher.fetch(url, "x5u")
    fetcher.limit(url, clock.now + 100)
    clock.now += 101
    fetcher.fetch(url, "x5u")
    assert server.hits["/c.pem"] == 2


@pytest.mark.parametrize(("cache_control", "fetches"), [("no-store", 2), ("max-age=600", 1)])
def test_crl_caching_follows_cache_control(server, cache_control, fetches):
    url = server.route("/x.crl", respond(200, b"crl", {"Cache-Control": cache_control}))
    clock = Clock()
    fetcher = fetcher_for(server, clock)
    fetcher.fetch(url, "crl")
    clock.now += 300
    fetcher.fetch(url, "crl")
    assert server.hits["/x.crl"] == fetches


def test_concurrent_fetches_of_one_url_coalesce(server):
    url = server.route("/c.pem", slow(0.4, respond(200, b"chain")))
    fetcher = fetcher_for(server)
    results: list[bytes] = []
    threads = [
        threading.Thread(target=lambda: results.append(fetcher.fetch(url, "x5u"))) for _ in range(6)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [b"chain"] * 6
    assert server.hits["/c.pem"] == 1


def test_failures_are_remembered_briefly(server):
    url = server.route("/down.pem", respond(503, b""))
    clock = Clock()
    fetcher = fetcher_for(server, clock)
    for _ in range(3):
        assert reason_of(lambda: fetcher.fetch(url, "x5u")) == "http-status"
    assert server.hits["/down.pem"] == 1
    clock.now += 31
    reason_of(lambda: fetcher.fetch(url, "x5u"))
    assert server.hits["/down.pem"] == 2


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Cache-Control": "max-age=600"}, 600.0),
        ({"Cache-Control": "public, max-age=600, immutable", "Age": "100"}, 500.0),
        ({"Cache-Control": "no-cache"}, 0.0),
        (
            {"Expires": "Thu, 01 Jan 1970 00:16:40 GMT", "Date": "Thu, 01 Jan 1970 00:00:00 GMT"},
            1000.0,
        ),
        ({"Expires": "soon"}, 0.0),
        ({}, None),
    ],
)
def test_freshness(headers, expected):
    message = Message()
    for name, value in headers.items():
        message[name] = value
    assert freshness(message, 0.0) == expected


@given(st.text(max_size=80), st.text(max_size=40), st.text(max_size=40))
def test_freshness_never_raises_on_any_header_text(cache_control, expires, age):
    message = Message()
    message["Cache-Control"], message["Expires"], message["Age"] = cache_control, expires, age
    result = freshness(message, 0.0)
    assert result is None or result >= 0


# Conformance through the whole verifier: x5u that redirects, is too large, resolves to a
# private address or times out (issue 5 item 9).


def served_hierarchy(server: LocalServer, handler) -> tuple[Hierarchy, str]:
    hierarchy = Hierarchy()
    return hierarchy, server.route("/delegate.pem", handler)


@pytest.mark.parametrize(
    ("handler", "reason", "verstat"),
    [
        (respond(301, b"", {"Location": "http://127.0.0.1/elsewhere.pem"}), "redirect", FAILED),
        (respond(200, b"-----BEGIN CERTIFICATE-----" * 3000), "too-large", FAILED),
        (slow(2.0, respond(200, b"late")), "timeout", NO_VALIDATION),
    ],
)
def test_x5u_fetch_failures_answer_436(server, handler, reason, verstat):
    hierarchy, url = served_hierarchy(server, handler)
    context = hierarchy.context()
    context.fetcher = fetcher_for(server, read_timeout=0.5)
    result = verify_identity(context, hierarchy.identity(x5u=url))
    assert (result.valid, result.reason, result.status, result.verstat) == (
        False,
        reason,
        436,
        verstat,
    )


def test_x5u_resolving_to_a_private_address_answers_436():
    hierarchy = Hierarchy()
    context = hierarchy.context()
    context.fetcher = HTTPFetcher()
    result = verify_identity(context, hierarchy.identity(x5u="https://localhost/delegate.pem"))
    assert (result.valid, result.reason, result.status) == (False, "private-address", 436)


def test_a_served_chain_verifies_end_to_end(server):
    hierarchy = Hierarchy()
    url = server.route("/delegate.pem", respond(200, pem(*hierarchy.chain)))
    context = hierarchy.context()
    static = context.fetcher
    context.fetcher = fetcher_for(server)
    context.crls._fetch = static.fetch  # CRLs from the static map, the chain over HTTP
    assert verify_identity(context, hierarchy.identity(x5u=url)).valid
