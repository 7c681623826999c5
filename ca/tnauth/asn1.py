"""ASN.1 for the STIR certificate extensions (RFC 8226 Appendix A, RFC 9118 Appendix A).

Both modules are declared ``DEFINITIONS EXPLICIT TAGS``: every context tag below wraps a complete
inner TLV, so each tagged field carries ``{'explicit': n}``. These classes are used to *encode*;
decoding goes through :mod:`ca.tnauth.der`, because asn1crypto parses lazily and accepts BER.
"""

from __future__ import annotations

from asn1crypto import core

# -- TNAuthList (RFC 8226 §9) -------------------------------------------------------------------


class TelephoneNumberRange(core.Sequence):
    """``TelephoneNumberRange ::= SEQUENCE { start, count INTEGER (2..MAX), ... }``, RFC 8226."""

    # The RFC's ``...`` extension marker has no field here: we never emit additions, and the
    # strict decoder (ca.tnauth.codec) tolerates unknown trailing components on its own.
    _fields = [  # noqa: RUF012 (asn1crypto fills this list in place)
        ("start", core.IA5String),
        ("count", core.Integer),
    ]


class TNEntry(core.Choice):
    """``TNEntry ::= CHOICE { spc [0], range [1], one [2] }``, EXPLICIT (RFC 8226 §9)."""

    _alternatives = [  # noqa: RUF012 (asn1crypto fills this list in place)
        ("spc", core.IA5String, {"explicit": 0}),
        ("range", TelephoneNumberRange, {"explicit": 1}),
        ("one", core.IA5String, {"explicit": 2}),
    ]


class TNAuthorizationList(core.SequenceOf):
    """``TNAuthorizationList ::= SEQUENCE SIZE (1..MAX) OF TNEntry`` (RFC 8226 §9)."""

    _child_spec = TNEntry


# -- JWT claim constraints (RFC 8226 §8, RFC 9118 §3) -------------------------------------------


class JWTClaimNames(core.SequenceOf):
    """``JWTClaimNames ::= SEQUENCE SIZE (1..MAX) OF JWTClaimName`` (IA5String), RFC 8226 §8."""

    _child_spec = core.IA5String


class UTF8Strings(core.SequenceOf):
    """``SEQUENCE SIZE (1..MAX) OF UTF8String``: the allowed values of one claim (RFC 8226 §8)."""

    _child_spec = core.UTF8String


class JWTClaimPermittedValues(core.Sequence):
    """``JWTClaimPermittedValues ::= SEQUENCE { claim, permitted }`` (RFC 8226 §8)."""

    _fields = [  # noqa: RUF012 (asn1crypto fills this list in place)
        ("claim", core.IA5String),
        ("permitted", UTF8Strings),
    ]


class JWTClaimPermittedValuesList(core.SequenceOf):
    """``JWTClaimPermittedValuesList ::= SEQUENCE SIZE (1..MAX) OF JWTClaimPermittedValues``."""

    _child_spec = JWTClaimPermittedValues


class JWTClaimConstraints(core.Sequence):
    """``JWTClaimConstraints``: mustInclude [0] and permittedValues [1], OPTIONAL (RFC 8226 §8)."""

    _fields = [  # noqa: RUF012 (asn1crypto fills this list in place)
        ("must_include", JWTClaimNames, {"explicit": 0, "optional": True}),
        ("permitted_values", JWTClaimPermittedValuesList, {"explicit": 1, "optional": True}),
    ]


class JWTClaimValues(core.Sequence):
    """``JWTClaimValues ::= SEQUENCE { claim JWTClaimName, values SEQUENCE ... }`` (RFC 9118 §3)."""

    # Same shape as RFC 8226's JWTClaimPermittedValues; RFC 9118 renamed the second field.
    _fields = [  # noqa: RUF012 (asn1crypto fills this list in place)
        ("claim", core.IA5String),
        ("values", UTF8Strings),
    ]


class JWTClaimValuesList(core.SequenceOf):
    """``JWTClaimValuesList ::= SEQUENCE SIZE (1..MAX) OF JWTClaimValues`` (RFC 9118 §3)."""

    _child_spec = JWTClaimValues


class EnhancedJWTClaimConstraints(core.Sequence):
    """``EnhancedJWTClaimConstraints``: mustInclude [0], permittedValues [1], mustExclude [2]."""

    _fields = [  # noqa: RUF012 (asn1crypto fills this list in place)
        ("must_include", JWTClaimNames, {"explicit": 0, "optional": True}),
        ("permitted_values", JWTClaimValuesList, {"explicit": 1, "optional": True}),
        ("must_exclude", JWTClaimNames, {"explicit": 2, "optional": True}),
    ]
