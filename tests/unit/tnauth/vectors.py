"""Known-answer DER for TNAuthList (STANDARDS.md §1, checked there against pyasn1-alt-modules)."""

from __future__ import annotations

from ca.tnauth import TelephoneNumber, TNRange

# (test id, entries as given, DER hex)
KNOWN_ANSWERS = [
    ("spc-1234", ["1234"], "3008a006160431323334"),
    ("one", [TelephoneNumber("12125551824")], "300fa20d160b3132313235353531383234"),
    (
        "range-1000",
        [TNRange("12125551000", 1000)],
        "3015a1133011160b3132313235353531303030020203e8",
    ),
    (
        "range-and-one",
        [TNRange("12125551500", 100), TelephoneNumber("12125551824")],
        "3023a1123010160b3132313235353531353030020164a20d160b3132313235353531383234",
    ),
    (
        "spc-range-one",
        ["bogus", TNRange("5715551212", 788), TelephoneNumber("7035551212")],
        "302ba0071605626f677573a1123010160a3537313535353132313202020314"
        "a20c160a37303335353531323132",
    ),
]
