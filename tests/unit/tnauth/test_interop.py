"""Interop with an independent RFC 8226 / RFC 9118 ASN.1 module (pyasn1-alt-modules)."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from pyasn1.codec.der import decoder as der_decoder
from pyasn1.codec.der import encoder as der_encoder
from pyasn1_alt_modules import rfc8226, rfc9118

from ca.tnauth import (
    EnhancedJWTClaimConstraints,
    JWTClaimConstraints,
    TelephoneNumber,
    TNAuthList,
    TNRange,
    decode_strict,
    encode,
)
from ca.tnauth.tnauthlist import Entry

from .strategies import tn_auth_lists
from .vectors import KNOWN_ANSWERS

pytestmark = pytest.mark.interop


def pyasn1_entries(der: bytes) -> tuple[Entry, ...]:
    """Our entry types, read from DER by pyasn1-alt-modules."""
    decoded, rest = der_decoder.decode(der, asn1Spec=rfc8226.TNAuthorizationList())
    assert rest == b""
    entries: list[Entry] = []
    for entry in decoded:
        name, value = entry.getName(), entry.getComponent()
        if name == "spc":
            entries.append(str(value))
        elif name == "one":
            entries.append(TelephoneNumber(str(value)))
        else:
            entries.append(TNRange(str(value["start"]), int(value["count"]), strict=False))
    return tuple(entries)


def pyasn1_der(entries: tuple[Entry, ...]) -> bytes:
    """DER for the entries, written by pyasn1-alt-modules."""
    tn_list = rfc8226.TNAuthorizationList()
    for entry in entries:
        item = rfc8226.TNEntry()
        if isinstance(entry, TNRange):
            item["range"]["start"] = entry.start
            item["range"]["count"] = entry.count
        elif isinstance(entry, TelephoneNumber):
            item["one"] = entry.value
        else:
            item["spc"] = entry
        tn_list.append(item)
    return bytes(der_encoder.encode(tn_list))


@pytest.mark.parametrize(("entries", "der_hex"), [c[1:] for c in KNOWN_ANSWERS])
def test_pyasn1_agrees_on_the_vectors(entries: list[Entry], der_hex: str) -> None:
    assert pyasn1_entries(bytes.fromhex(der_hex)) == tuple(entries)
    assert pyasn1_der(tuple(entries)).hex() == der_hex


@given(tn_auth_lists(min_size=1))
def test_pyasn1_reads_our_der(tn_auth_list: TNAuthList) -> None:
    assert pyasn1_entries(encode(tn_auth_list)) == tn_auth_list.entries


@given(tn_auth_lists(min_size=1))
def test_we_read_pyasn1_der(tn_auth_list: TNAuthList) -> None:
    der = pyasn1_der(tn_auth_list.entries)
    assert der == encode(tn_auth_list)
    assert decode_strict(der).entries == tn_auth_list.entries


# RFC 8226's example-style JWTClaimConstraints as pyasn1-modules' tests carry it (base64 DER):
# mustInclude ["foo"], permittedValues {foo: [foo1, foo2, foo3], bar: [bar1, bar2]}.
JWTCC_B64 = "MD2gBzAFFgNmb2+hMjAwMBkWA2ZvbzASDARmb28xDARmb28yDARmb28zMBMWA2JhcjAMDARiYXIxDARiYXIy"


def test_claim_constraints_interop() -> None:
    der = base64.b64decode(JWTCC_B64)
    ours = JWTClaimConstraints.from_der(der)
    assert ours.must_include == ("foo",)
    assert ours.permitted_values == {"foo": ("foo1", "foo2", "foo3"), "bar": ("bar1", "bar2")}
    assert ours.to_der() == der
    theirs, rest = der_decoder.decode(der, asn1Spec=rfc8226.JWTClaimConstraints())
    assert rest == b"" and der_encoder.encode(theirs) == der


def test_enhanced_claim_constraints_interop() -> None:
    ours = EnhancedJWTClaimConstraints(
        must_include=["rcdi"], permitted_values={"attest": ["A", "B"]}, must_exclude=["div"]
    )
    der = ours.to_der()
    theirs, rest = der_decoder.decode(der, asn1Spec=rfc9118.EnhancedJWTClaimConstraints())
    assert rest == b""
    assert [str(n) for n in theirs["mustInclude"]] == ["rcdi"]
    assert [str(n) for n in theirs["mustExclude"]] == ["div"]
    values = theirs["permittedValues"][0]
    assert str(values["claim"]) == "attest"
    assert [str(v) for v in values["values"]] == ["A", "B"]
    assert EnhancedJWTClaimConstraints.from_der(bytes(der_encoder.encode(theirs))) == ours
