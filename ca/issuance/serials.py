"""Certificate serial numbers (RFC 5280 §4.1.2.2, STANDARDS.md §4)."""

import secrets

SERIAL_BITS = 126  # random bits; with the fixed top bit the DER INTEGER is 16 octets, positive


def draw_serial() -> int:
    """≥ 64 bits from a CSPRNG, positive, < 160 bits; fixed width so every URL has one length."""
    return (1 << SERIAL_BITS) | secrets.randbits(SERIAL_BITS)


def serial_hex(serial: int) -> str:
    """The serial as it appears in URLs and storage: lower-case hex, no leading zeros."""
    return format(serial, "x")
