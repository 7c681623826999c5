"""Key ceremonies: the development trust hierarchy that `delegato init` creates.

Development only: a test STI-CA root (CN with ROOT) and an SCA under it whose TNAuthList holds the
operator's SPC and number blocks, so the whole system, verifier included, runs on one machine. In
production the SCA certificate comes from an approved STI-CA and is imported instead.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from ca.audit import AuditLog
from ca.clock import Clock
from ca.config import Config
from ca.errors import malformed
from ca.issuance.issuer import Issuer, SigningIdentity
from ca.issuance.profiles import load_profile
from ca.issuance.serials import draw_serial
from ca.issuance.template import CertificateTemplate, subject_name
from ca.keys import KeyManagers
from ca.keys.file import FileKeyURI
from ca.organizations import new_id
from ca.storage import Session, repo
from ca.storage.engine import Storage
from ca.storage.records import IssuerRecord
from ca.tnauth import TNAuthList

ROOT_LIFETIME = dt.timedelta(days=3650)
SCA_LIFETIME = dt.timedelta(days=730)
CRL_SIGNER_LIFETIME = dt.timedelta(days=365)
STATUS_SIGNER_LIFETIME = dt.timedelta(days=365)


@dataclass(frozen=True)
class DevHierarchy:
    root_id: str
    sca_id: str
    crl_signer_id: str | None
    trust_anchor: Path
    issuer: Path


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _ski(cert: x509.Certificate) -> x509.SubjectKeyIdentifier:
    return cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value


class DevCeremony:
    """Creates keys and certificates through the same prepare/lint/issue path as every certificate."""

    def __init__(
        self, storage: Storage, keys: KeyManagers, config: Config, clock: Clock, audit: AuditLog
    ) -> None:
        self._storage = storage
        self._keys = keys
        self._config = config
        self._clock = clock
        self._audit = audit

    def run(self, *, spc: str, sca_scope: TNAuthList, crl_model: str, actor: str) -> DevHierarchy:
        if crl_model not in ("direct", "indirect"):
            raise malformed("crl_model", "must be direct or indirect")
        now = self._clock.now()
        country = self._config.issuance.country
        org = "Delegato Development"
        root_id, sca_id = new_id("root"), new_id("sca")

        root_uri = self._new_key("root")
        root_identity = SigningIdentity(root_id, None, (), root_uri)
        root = self._sign(
            root_identity,
            CertificateTemplate(
                profile=load_profile("test_root"),
                subject=subject_name(country, org, "SHAKEN Delegato Development ROOT"),
                public_key=self._keys.public_key(root_uri),
                serial=draw_serial(),
                not_before=now - self._config.issuance.backdate,
                not_after=now + ROOT_LIFETIME,
                issuer_certificate=None,
            ),
            now,
        )

        sca_profile = load_profile("sca")
        if crl_model == "direct":
            # RFC 5280 §4.2.1.3: only a certificate with cRLSign may sign CRLs. In the indirect
            # model the SCA keeps keyCertSign alone (ATIS-1000080 v005) and a separate signer signs.
            usage = sca_profile.key_usage | {"crl_sign"}
            sca_profile = dataclasses.replace(sca_profile, key_usage=frozenset(usage))
        sca_uri = self._new_key("sca")
        scope = TNAuthList([spc, *sca_scope.entries]) if spc else sca_scope
        root_signer = SigningIdentity(root_id, root, (), root_uri)
        sca = self._sign(
            root_signer,
            CertificateTemplate(
                profile=sca_profile,
                subject=subject_name(
                    country, org, f"SHAKEN Delegato Development SCA {spc}".strip()
                ),
                public_key=self._keys.public_key(sca_uri),
                serial=draw_serial(),
                not_before=now - self._config.issuance.backdate,
                not_after=now + SCA_LIFETIME,
                issuer_certificate=root,
                tn_auth_list=scope.canonical(),
                crl_url=self._config.crl_url(root_id),
            ),
            now,
        )

        crl_signer_id = crl_signer = crl_signer_uri = None
        if crl_model == "indirect":
            crl_signer_id = new_id("crl")
            crl_signer_uri = self._new_key("crl-signer")
            signer_name = subject_name(country, org, "SHAKEN Delegato Development CRL Signer")
            crl_signer = self._sign(
                SigningIdentity(sca_id, sca, (), sca_uri),
                CertificateTemplate(
                    profile=load_profile("crl_signer"),
                    subject=signer_name,
                    public_key=self._keys.public_key(crl_signer_uri),
                    serial=draw_serial(),
                    not_before=now - self._config.issuance.backdate,
                    not_after=now + CRL_SIGNER_LIFETIME,
                    issuer_certificate=sca,
                    # The signer's own status is on the CRL it signs (the SCA's), so verifiers
                    # that check the whole CRL path (openssl -crl_check_all) find it in scope.
                    crl_url=self._config.crl_url(sca_id),
                    crl_issuer=signer_name,
                ),
                now,
            )

        # The TN status signer (issue 3 item 6): an end entity of the SCA whose key signs the
        # registry's status documents, so they check offline up to the STI-CA root.
        status_id = new_id("status")
        status_uri = self._new_key("status-signer")
        status_signer = self._sign(
            SigningIdentity(sca_id, sca, (), sca_uri),
            CertificateTemplate(
                profile=load_profile("status_signer"),
                subject=subject_name(country, org, "Delegato Development TN Status"),
                public_key=self._keys.public_key(status_uri),
                serial=draw_serial(),
                not_before=now - self._config.issuance.backdate,
                not_after=now + STATUS_SIGNER_LIFETIME,
                issuer_certificate=sca,
                crl_url=self._config.crl_url(sca_id),
                crl_issuer=crl_signer.subject if crl_signer is not None else None,
            ),
            now,
        )

        with self._storage.transaction() as session:
            self._store(
                session, root_id, "root", None, root, "", root_uri, "direct", None, now, actor
            )
            self._store(
                session, sca_id, "sca", root_id, sca, "", sca_uri, crl_model, None, now, actor
            )
            if crl_signer is not None and crl_signer_id and crl_signer_uri:
                self._store(
                    session,
                    crl_signer_id,
                    "crl_signer",
                    sca_id,
                    crl_signer,
                    _pem(sca).decode(),
                    crl_signer_uri,
                    "direct",
                    None,
                    now,
                    actor,
                )
                # The SCA and its CRL signer name each other, so the link is made once both exist.
                repo.set_crl_signer(session, sca_id, crl_signer_id)
            self._store(
                session,
                status_id,
                "status_signer",
                sca_id,
                status_signer,
                _pem(sca).decode(),
                status_uri,
                "direct",
                None,
                now,
                actor,
            )
        return self._write_files(root_id, sca_id, crl_signer_id, root, sca, crl_signer)

    def _new_key(self, name: str) -> str:
        uri = FileKeyURI(self._config.keys_dir / f"{name}.key.pem").to_uri()
        self._keys.create(uri)
        return uri

    def _sign(
        self, identity: SigningIdentity, template: CertificateTemplate, now: dt.datetime
    ) -> x509.Certificate:
        issuer = Issuer(identity, self._keys)
        return issuer.issue(issuer.prepare(template, now))

    def _store(
        self,
        session: Session,
        issuer_id: str,
        role: str,
        parent_id: str | None,
        cert: x509.Certificate,
        chain_pem: str,
        key_uri: str,
        crl_model: str,
        crl_signer_id: str | None,
        now: dt.datetime,
        actor: str,
    ) -> None:
        repo.add_issuer(
            session,
            IssuerRecord(
                id=issuer_id,
                role=role,
                parent_id=parent_id,
                certificate_der=cert.public_bytes(serialization.Encoding.DER),
                chain_pem=chain_pem,
                key_uri=key_uri,
                crl_model=crl_model,
                crl_signer_id=crl_signer_id,
                active=True,
                not_before=cert.not_valid_before_utc,
                not_after=cert.not_valid_after_utc,
                created_at=now,
            ),
        )
        self._audit.record(
            session,
            actor=actor,
            action="issuer.created",
            object_type="issuer",
            object_id=issuer_id,
            details={
                "role": role,
                "subject": cert.subject.rfc4514_string(),
                "serial": format(cert.serial_number, "x"),
                "ski": _ski(cert).digest.hex(),
                "crl_model": crl_model,
            },
        )

    def _write_files(
        self,
        root_id: str,
        sca_id: str,
        crl_signer_id: str | None,
        root: x509.Certificate,
        sca: x509.Certificate,
        crl_signer: x509.Certificate | None,
    ) -> DevHierarchy:
        pki = self._config.pki_dir
        pki.mkdir(parents=True, exist_ok=True)
        (pki / "root.pem").write_bytes(_pem(root))
        (pki / "sca.pem").write_bytes(_pem(sca))
        if crl_signer is not None:
            (pki / "crl-signer.pem").write_bytes(_pem(crl_signer))
        return DevHierarchy(root_id, sca_id, crl_signer_id, pki / "root.pem", pki / "sca.pem")
