"""Telephone-number authorization: TNAuthList and JWT claim constraints (RFC 8226, RFC 9118).

Everything outside this package imports from here; the modules behind it may move.
"""

from ca.tnauth.certificate import tn_auth_list_der, tn_auth_list_from_certificate
from ca.tnauth.codec import decode_strict, encode
from ca.tnauth.constraints import EnhancedJWTClaimConstraints, JWTClaimConstraints
from ca.tnauth.lenient import LenientDecode, decode_lenient
from ca.tnauth.numbers import TelephoneNumber, TNRange, normalize_tn
from ca.tnauth.tnauthlist import Entry, TNAuthList

__all__ = [
    "EnhancedJWTClaimConstraints",
    "Entry",
    "JWTClaimConstraints",
    "LenientDecode",
    "TNAuthList",
    "TNRange",
    "TelephoneNumber",
    "decode_lenient",
    "decode_strict",
    "encode",
    "normalize_tn",
    "tn_auth_list_der",
    "tn_auth_list_from_certificate",
]
