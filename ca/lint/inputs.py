"""One certificate parsed once for every lint that reads it.

pyca/cryptography parses extensions lazily and raises ``ValueError`` (or ``DuplicateExtension``)
when it meets bytes it refuses. ``LintInput`` asks once, remembers the answer, and falls back to a
raw asn1crypto walk of the extension list only when cryptography refused, so lints that need only
OIDs and criticality still run. Facts about an issuer (its SKI, subject, TNAuthList) are cached per
issuer object because the issuance pipeline lints many certificates under one issuer.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, NamedTuple

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.x509.oid import ExtensionOID, NameOID, ObjectIdentifier

from ca import oids
from ca.errors import CAError
from ca.lint.der import (
    DERError,
    NameAttribute,
    TBSFields,
    first_element,
    name_attributes,
    tbs_fields,
)
from ca.tnauth import TNAuthList, decode_strict

if TYPE_CHECKING:
    from ca.issuance.profiles import Profile


_COMMON_NAME = NameOID.COMMON_NAME.dotted_string


class ExtensionsUnparsable(ValueError):
    """cryptography refused the certificate's extensions; lints that need them report FATAL."""


class RawExtension(NamedTuple):
    """One entry of the extension list as encoded: OID, criticality and the extnValue octets."""

    oid: str
    critical: bool
    value: bytes | None  # None when taken from cryptography's parse, where the octets are unneeded


def _raw_extensions(tbs_der: bytes) -> tuple[RawExtension, ...]:
    """Walk the TBS extension list with asn1crypto, keeping every entry, duplicates included."""
    tbs = asn1_x509.TbsCertificate.load(tbs_der)
    extensions = tbs["extensions"]
    if extensions.native is None:
        return ()
    return tuple(
        RawExtension(
            ext["extn_id"].dotted, bool(ext["critical"].native), ext["extn_value"].contents
        )
        for ext in extensions
    )


def _decode_tn_auth_list(der: bytes | None) -> tuple[TNAuthList | None, str | None]:
    if der is None:
        return None, None
    try:
        return decode_strict(der), None
    except CAError as exc:
        return None, exc.detail
    except ValueError as exc:  # a decoder bug must not hide the certificate's own problem
        return None, str(exc)


class LintInput:
    """A certificate with its parsed parts cached; built once per :func:`run_lints` call."""

    def __init__(
        self,
        cert: x509.Certificate,
        *,
        issuer: x509.Certificate | None = None,
        now: dt.datetime | None = None,
        der: bytes | None = None,
    ) -> None:
        self.cert = cert
        self.issuer = issuer
        self.now = now if now is not None else dt.datetime.now(dt.UTC)
        self._der = der  # the caller's DER of ``cert``, when it has it

    # -- extensions ------------------------------------------------------------------------------

    @cached_property
    def _parsed(self) -> tuple[dict[ObjectIdentifier, x509.Extension[Any]] | None, str | None]:
        try:
            extensions = self.cert.extensions
        except x509.DuplicateExtension as exc:
            return None, f"duplicate extension {exc.oid.dotted_string}"
        except ValueError as exc:
            return None, str(exc)
        return {ext.oid: ext for ext in extensions}, None

    @property
    def extensions_error(self) -> str | None:
        """Why cryptography refused the extensions, or None when it parsed them."""
        return self._parsed[1]

    @property
    def extensions(self) -> dict[ObjectIdentifier, x509.Extension[Any]]:
        """Parsed extensions by OID; raises :class:`ExtensionsUnparsable` if cryptography refused."""
        parsed, error = self._parsed
        if parsed is None:
            raise ExtensionsUnparsable(f"extensions are unparsable: {error}")
        return parsed

    def extension(self, oid: ObjectIdentifier) -> x509.Extension[Any] | None:
        return self.extensions.get(oid)

    @cached_property
    def raw_extensions(self) -> tuple[RawExtension, ...]:
        """The extension list as encoded; from cryptography when it parsed, else asn1crypto."""
        parsed = self._parsed[0]
        if parsed is not None:
            return tuple(
                RawExtension(oid.dotted_string, ext.critical, None) for oid, ext in parsed.items()
            )
        return _raw_extensions(self.tbs)

    def extension_octets(self, oid: ObjectIdentifier) -> bytes | None:
        """The extnValue of an extension cryptography does not know (first instance), or None."""
        parsed = self._parsed[0]
        if parsed is not None:
            ext = parsed.get(oid)
            if ext is None:
                return None
            value = ext.value
            return value.value if isinstance(value, x509.UnrecognizedExtension) else None
        dotted = oid.dotted_string
        for raw in self.raw_extensions:
            if raw.oid == dotted:
                return raw.value
        return None

    # -- STIR content ----------------------------------------------------------------------------

    @cached_property
    def _tn_auth_list(self) -> tuple[TNAuthList | None, str | None]:
        return _decode_tn_auth_list(self.extension_octets(oids.TN_AUTH_LIST))

    @property
    def tn_auth_list(self) -> TNAuthList | None:
        """The strictly decoded TNAuthList, or None when absent or malformed."""
        return self._tn_auth_list[0]

    @property
    def tn_auth_list_error(self) -> str | None:
        """The strict decoder's reason when the TNAuthList is malformed."""
        return self._tn_auth_list[1]

    # -- key and names ---------------------------------------------------------------------------

    @cached_property
    def public_key(self) -> Any:
        return self.cert.public_key()

    @cached_property
    def tbs(self) -> bytes:
        """The TBSCertificate DER (cryptography encodes it anew on every access)."""
        if self._der is not None:
            return first_element(self._der)
        return self.cert.tbs_certificate_bytes

    @cached_property
    def tbs_fields(self) -> TBSFields:
        """Issuer, subject and subject key as encoded, from one walk of the TBS."""
        return tbs_fields(self.tbs)

    @cached_property
    def tbs_asn1(self) -> asn1_x509.TbsCertificate:
        """The TBS as asn1crypto sees it, for the rare lint that needs encoded detail."""
        return asn1_x509.TbsCertificate.load(self.tbs)

    @cached_property
    def names(self) -> tuple[list[NameAttribute], list[NameAttribute]]:
        """Issuer and subject attributes as encoded, string types included."""
        fields = self.tbs_fields
        return self._issuer_attributes(fields.issuer), name_attributes(fields.subject)

    @cached_property
    def _given_issuer_facts(self) -> IssuerFacts:
        assert self.issuer is not None
        return issuer_facts(self.issuer)

    def _issuer_attributes(self, encoded: bytes) -> list[NameAttribute]:
        # The issuer DN is, byte for byte, the issuer certificate's subject DN, whose attributes
        # are read once per issuer (IssuerFacts); anything else is read here.
        if self.issuer is not None and self.issuer is not self.cert:
            try:
                known = self._given_issuer_facts.subject_attributes_if(encoded)
            except ValueError:
                known = None
            if known is not None:
                return list(known)
        return name_attributes(encoded)

    @cached_property
    def common_names(self) -> list[str]:
        """The subject's CN values, in encoded order."""
        texts = [a.text for a in self.names[1] if a.oid == _COMMON_NAME]
        if any(text is None for text in texts):
            # Bytes this reader cannot decode: cryptography decides (and raises if it cannot).
            subject = self.cert.subject
            return [str(a.value) for a in subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
        return [text for text in texts if text is not None]

    @cached_property
    def subject_key_identifier(self) -> bytes | None:
        ext = self.extension(ExtensionOID.SUBJECT_KEY_IDENTIFIER)
        return None if ext is None else ext.value.digest

    def issuer_facts(self, profile: Profile) -> IssuerFacts | None:
        """Facts about the issuer: the given issuer, else the certificate itself if self-signed."""
        if self.issuer is not None and self.issuer is not self.cert:
            return self._given_issuer_facts
        if self.issuer is self.cert or profile.self_signed:
            return IssuerFacts.of(self)
        return None


@dataclass(frozen=True)
class IssuerFacts:
    """What lints need from an issuer certificate."""

    subject: x509.Name
    subject_der: bytes | None  # the subject Name as encoded; None if the TBS does not walk
    subject_attributes: tuple[NameAttribute, ...] | None  # as encoded; None if unreadable
    subject_key_identifier: bytes | None
    ski_error: str | None
    tn_auth_list: TNAuthList | None
    tn_auth_list_error: str | None
    not_valid_after: dt.datetime

    def subject_attributes_if(self, encoded: bytes) -> tuple[NameAttribute, ...] | None:
        """The subject's attributes when ``encoded`` is the subject DN byte for byte."""
        return self.subject_attributes if encoded == self.subject_der else None

    @classmethod
    def of(cls, parsed: LintInput) -> IssuerFacts:
        try:
            ski, ski_error = parsed.subject_key_identifier, None
        except ValueError as exc:
            ski, ski_error = None, str(exc)
        subject_der: bytes | None = None
        attributes: tuple[NameAttribute, ...] | None = None
        try:
            subject_der = parsed.tbs_fields.subject
            attributes = tuple(name_attributes(subject_der))
        except DERError:
            pass
        return cls(
            subject=parsed.cert.subject,
            subject_der=subject_der,
            subject_attributes=attributes,
            subject_key_identifier=ski,
            ski_error=ski_error,
            tn_auth_list=parsed.tn_auth_list,
            tn_auth_list_error=parsed.tn_auth_list_error,
            not_valid_after=parsed.cert.not_valid_after_utc,
        )


_ISSUER_CACHE: dict[int, tuple[x509.Certificate, IssuerFacts]] = {}
_ISSUER_CACHE_SIZE = 32
_ISSUER_LOCK = threading.Lock()


def issuer_facts(issuer: x509.Certificate) -> IssuerFacts:
    """Facts about ``issuer``, cached per object (the cache holds it, so its id stays unique)."""
    key = id(issuer)
    with _ISSUER_LOCK:
        hit = _ISSUER_CACHE.get(key)
    if hit is not None and hit[0] is issuer:
        return hit[1]
    facts = IssuerFacts.of(LintInput(issuer))
    with _ISSUER_LOCK:
        if len(_ISSUER_CACHE) >= _ISSUER_CACHE_SIZE:
            _ISSUER_CACHE.pop(next(iter(_ISSUER_CACHE)))
        _ISSUER_CACHE[key] = (issuer, facts)
    return facts
