"""Object identifiers used by Delegato, each with its source."""

from cryptography.x509.oid import ObjectIdentifier

#: RFC 8226 §9: id-pe-TNAuthList.
TN_AUTH_LIST = ObjectIdentifier("1.3.6.1.5.5.7.1.26")
#: RFC 8226 §8: id-pe-JWTClaimConstraints.
JWT_CLAIM_CONSTRAINTS = ObjectIdentifier("1.3.6.1.5.5.7.1.27")
#: RFC 9118 §3: id-pe-eJWTClaimConstraints.
ENHANCED_JWT_CLAIM_CONSTRAINTS = ObjectIdentifier("1.3.6.1.5.5.7.1.33")
#: US SHAKEN Certificate Policy v1.4 (ATIS-1000080 v005 §6.3.4).
SHAKEN_CP_V1_4 = ObjectIdentifier("2.16.840.1.114569.1.1.4")
#: Earlier SHAKEN CP versions, recognized when linting others' certificates.
SHAKEN_CP_OLDER = (
    ObjectIdentifier("2.16.840.1.114569.1.1.1"),
    ObjectIdentifier("2.16.840.1.114569.1.1.2"),
    ObjectIdentifier("2.16.840.1.114569.1.1.3"),
)
