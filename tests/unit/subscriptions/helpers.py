"""What the subscription tests share: keys, certificates as the holder fetches them, the audit."""

from __future__ import annotations

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from ca.services import Services
from ca.storage import audit as audit_store
from ca.subscriptions import SubscriptionView
from ca.tnauth import TNAuthList, tn_auth_list_from_certificate


def public_key_pem(key: ec.EllipticCurvePrivateKey | None = None) -> bytes:
    key = key or ec.generate_private_key(ec.SECP256R1())
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def certificate(services: Services, serial: str) -> x509.Certificate:
    return x509.load_der_x509_certificate(services.ra.certificate(serial).der)


def carried(services: Services, view: SubscriptionView) -> TNAuthList:
    """The numbers the subscription's current certificate carries, read from the certificate."""
    assert view.serial is not None
    found = tn_auth_list_from_certificate(certificate(services, view.serial))
    assert found is not None
    return found


def revocation_reason(services: Services, serial: str) -> str | None:
    record = services.ra.certificate(serial)
    return record.revocation.reason if record.revocation else None


def signed_count(services: Services) -> int:
    """How many certificates were ever signed (one "certificate.signed" event each)."""
    with services.storage.read() as session:
        return sum(e.action == "certificate.signed" for e in audit_store.iter_audit_events(session))


def actions(services: Services, object_id: str) -> list[str]:
    with services.storage.read() as session:
        return [e.action for e in audit_store.audit_events_for(session, object_id)]
