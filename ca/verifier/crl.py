"""Revocation by CRL, direct and indirect (RFC 5280 §5, §6.3; STANDARDS.md §4, §8).

A direct CRL is signed by the certificate's issuer (with cRLSign). An indirect CRL is signed by the
cRLIssuer its distribution point names, as the STI-PA's CRL is; its entries carry
certificateIssuer, which applies to that entry and the ones after it (RFC 5280 §5.3.3). The signer
of an indirect CRL is found among the path, the anchors and the trust source's other certificates,
and must itself chain to an anchor. Matches are on (issuer name by RFC 5280 §7.1, serial).
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.x509.oid import CRLEntryExtensionOID, ExtensionOID

from ca.verifier.certs import CertFacts, name_key
from ca.verifier.chain import CertificatePath, check_validity, verify_link
from ca.verifier.errors import CRLError, FetchError, PathError, RevokedError
from ca.verifier.trust import Anchors

_CRL_CRITICAL_OK = frozenset({ExtensionOID.ISSUING_DISTRIBUTION_POINT})
_ENTRY_CRITICAL_OK = frozenset({CRLEntryExtensionOID.CERTIFICATE_ISSUER})
#: STANDARDS.md §8: CRLs are fetched again at least every 12 hours.
CRL_REFRESH = 12 * 3600.0


@dataclass(frozen=True)
class CheckedCRL:
    """A CRL whose signature, signer and scope were checked; its entries by (issuer, serial)."""

    url: str
    number: int | None
    this_update: float
    next_update: float
    issuer: str
    revoked: dict[tuple[str, int], float]
    #: Wall-clock time of the fetch, for the 12-hour refresh.
    fetched: float = field(default_factory=time.time)

    def to_json(self) -> dict[str, object]:
        def iso(t: float) -> str:
            return dt.datetime.fromtimestamp(t, dt.UTC).isoformat()

        return {
            "url": self.url,
            "number": self.number,
            "issuer": self.issuer,
            "this_update": iso(self.this_update),
            "next_update": iso(self.next_update),
        }


def parse_crl(data: bytes, url: str) -> x509.CertificateRevocationList:
    """DER (``application/pkix-crl``) or, tolerated, PEM."""
    try:
        if data.lstrip().startswith(b"-----BEGIN X509 CRL-----"):
            return x509.load_pem_x509_crl(data)
        return x509.load_der_x509_crl(data)
    except ValueError as error:
        raise CRLError("crl-invalid", f"the CRL at {url} is unreadable: {error}") from None


class CRLChecker:
    """Checks a path's certificates against their CRLs, caching each checked CRL."""

    def __init__(self, fetch: Callable[[str, str], bytes], forget: Callable[[str], None]) -> None:
        self._fetch = fetch
        self._forget = forget
        self._cache: dict[tuple[str, str, int], CheckedCRL] = {}
        self._lock = threading.Lock()

    def check(self, path: CertificatePath, anchors: Anchors, moment: float) -> list[CheckedCRL]:
        """Raise RevokedError, CRLError or FetchError; return the CRLs that were consulted."""
        used = []
        for index, facts in enumerate(path.certs):
            if not facts.crl_points:
                raise CRLError(
                    "crl-missing", f"{facts.label} names no CRL distribution point to check"
                )
            issuer = path.issuer_of(index)
            crl = self._first_usable(facts, issuer, path, anchors, moment)
            url = crl.url
            revoked_at = crl.revoked.get((facts.issuer_key, facts.cert.serial_number))
            if revoked_at is not None and revoked_at <= moment:
                raise RevokedError(
                    "certificate-revoked", f"{facts.label} is revoked on the CRL at {url}"
                )
            used.append(crl)
        return used

    def _first_usable(
        self,
        facts: CertFacts,
        issuer: CertFacts,
        path: CertificatePath,
        anchors: Anchors,
        moment: float,
    ) -> CheckedCRL:
        """The first distribution point whose CRL can be had (RFC 5280 §6.3.3 tries each)."""
        failure: Exception | None = None
        for url, crl_issuer in facts.crl_points:
            try:
                return self._get(url, facts, issuer, crl_issuer, path, anchors, moment)
            except (CRLError, FetchError) as error:
                failure = error
        assert failure is not None
        raise failure

    def _get(
        self,
        url: str,
        facts: CertFacts,
        issuer: CertFacts,
        crl_issuer: x509.Name | None,
        path: CertificatePath,
        anchors: Anchors,
        moment: float,
    ) -> CheckedCRL:
        expected = name_key(crl_issuer) if crl_issuer is not None else issuer.subject_key
        key = (url, expected, anchors.generation)
        cached = self._cache.get(key)
        if (
            cached is not None
            and cached.this_update <= moment <= cached.next_update
            and time.time() - cached.fetched < CRL_REFRESH
        ):
            return cached
        for attempt in (1, 2):
            crl = parse_crl(self._fetch(url, "crl"), url)
            signer = issuer
            if crl_issuer is not None:
                signer = _indirect_signer(crl, path, anchors, moment)
            checked = self._verify(crl, url, expected, facts, signer, crl_issuer is not None)
            if checked.next_update >= moment or attempt == 2:
                break
            self._forget(url)  # past nextUpdate: a newer CRL may be published
        if moment > checked.next_update:
            raise CRLError("crl-stale", f"the CRL at {url} is past its nextUpdate")
        if moment < checked.this_update:
            raise CRLError("crl-invalid", f"the CRL at {url} is not valid yet (thisUpdate)")
        with self._lock:
            self._cache[key] = checked
        return checked

    def _verify(
        self,
        crl: x509.CertificateRevocationList,
        url: str,
        expected: str,
        facts: CertFacts,
        signer: CertFacts,
        indirect: bool,
    ) -> CheckedCRL:
        if name_key(crl.issuer) != expected:
            raise CRLError(
                "crl-invalid", f"the CRL at {url} is issued by {crl.issuer.rfc4514_string()}"
            )
        if not signer.may_sign_crls() or not crl.is_signature_valid(signer.cert.public_key()):  # type: ignore[arg-type]
            raise CRLError("crl-invalid", f"the CRL at {url} is not validly signed")
        _check_scope(crl, url, facts, indirect=indirect)
        if crl.next_update_utc is None:
            raise CRLError("crl-invalid", f"the CRL at {url} has no nextUpdate")
        return CheckedCRL(
            url=url,
            number=_number(crl),
            this_update=crl.last_update_utc.timestamp(),
            next_update=crl.next_update_utc.timestamp(),
            issuer=crl.issuer.rfc4514_string(),
            revoked=_entries(crl, url),
        )


def _indirect_signer(
    crl: x509.CertificateRevocationList, path: CertificatePath, anchors: Anchors, moment: float
) -> CertFacts:
    """The cRLIssuer's certificate, checked back to an anchor (RFC 5280 §6.3.3 (f))."""
    try:
        aki = crl.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
        key_id = aki.key_identifier
    except x509.ExtensionNotFound:
        key_id = None
    pool = [*path.certs, *anchors.helpers, *anchors.anchors]
    wanted = name_key(crl.issuer)
    for candidate in pool:
        if candidate.subject_key == wanted and (key_id is None or candidate.ski == key_id):
            _check_signer_path(candidate, pool, anchors, moment)
            return candidate
    raise CRLError(
        "crl-invalid", f"no certificate of the CRL signer {crl.issuer.rfc4514_string()} is known"
    )


def _check_signer_path(
    signer: CertFacts, pool: list[CertFacts], anchors: Anchors, moment: float
) -> None:
    """The indirect CRL signer chains to an anchor and is in its validity period.

    Decision: the signer's own revocation is not checked (it would recurse into the same CRL).
    """
    current, seen = signer, 0
    while not anchors.is_anchor(current):
        parent = next(
            (p for p in pool if current.issued_by_name(p) and p.may_sign_certificates()), None
        )
        if parent is None or seen > 8:
            raise CRLError("crl-invalid", f"the CRL signer {signer.label} is not trusted")
        try:
            verify_link(current, parent)
            check_validity(CertificatePath((current,), parent, ()), moment)
        except PathError as error:
            raise CRLError("crl-invalid", f"the CRL signer is not valid: {error.detail}") from None
        current, seen = parent, seen + 1


def _check_scope(
    crl: x509.CertificateRevocationList, url: str, facts: CertFacts, *, indirect: bool
) -> None:
    """Critical extensions and the issuing distribution point (RFC 5280 §5.2.5, §6.3.3 (b))."""
    for extension in crl.extensions:
        if extension.critical and extension.oid not in _CRL_CRITICAL_OK:
            raise CRLError("crl-invalid", f"the CRL at {url} has an unknown critical extension")
    try:
        idp = crl.extensions.get_extension_for_class(x509.IssuingDistributionPoint).value
    except x509.ExtensionNotFound:
        return
    names = [n.value for n in idp.full_name or [] if isinstance(n, x509.UniformResourceIdentifier)]
    problem = None
    if names and url not in names:
        problem = f"covers {', '.join(names)}, not {url}"
    elif indirect and not idp.indirect_crl:
        problem = "is not marked indirect but is named as a cRLIssuer"
    elif (idp.only_contains_user_certs and facts.is_ca) or (
        idp.only_contains_ca_certs and not facts.is_ca
    ):
        problem = "does not cover this kind of certificate"
    elif idp.only_contains_attribute_certs or idp.only_some_reasons:
        problem = "is a partial CRL"
    if problem:
        raise CRLError("crl-invalid", f"the CRL at {url} {problem}")


def _entries(crl: x509.CertificateRevocationList, url: str) -> dict[tuple[str, int], float]:
    """(issuer key, serial) -> revocation time; certificateIssuer carries over (RFC 5280 §5.3.3)."""
    current = name_key(crl.issuer)
    revoked: dict[tuple[str, int], float] = {}
    for entry in crl:
        for extension in entry.extensions:
            if extension.critical and extension.oid not in _ENTRY_CRITICAL_OK:
                raise CRLError("crl-invalid", f"the CRL at {url} has an unknown critical entry")
            if isinstance(extension.value, x509.CertificateIssuer):
                names = [n for n in extension.value if isinstance(n, x509.DirectoryName)]
                if names:
                    current = name_key(names[0].value)
        revoked[(current, entry.serial_number)] = entry.revocation_date_utc.timestamp()
    return revoked


def _number(crl: x509.CertificateRevocationList) -> int | None:
    try:
        return crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    except x509.ExtensionNotFound:
        return None
