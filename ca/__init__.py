"""Delegato: a delegate-certificate authority for STIR/SHAKEN (RFC 8226, RFC 9060)."""
