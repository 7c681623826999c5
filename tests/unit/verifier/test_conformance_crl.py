"""Conformance: revocation by CRL, direct and indirect, under each CRL policy (RFC 5280 §6.3)."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from ca.clock import FixedClock
from ca.revocation import RevocationReason
from ca.verifier import VerificationContext, verify_identity
from ca.verifier.errors import FetchError
from tests.conftest import NOW
from tests.unit.lint.pki import CertSpec, build, crl_points, key, key_usage, name
from tests.unit.verifier.pki import (
    INT_CRL,
    ROOT_CRL,
    SCA_CRL,
    X5U,
    Hierarchy,
    StaticFetcher,
    make_crl,
    spec,
)


def revoke(issued) -> None:
    issued.services.ra.revoke(
        issued.certificate.serial, RevocationReason.KEY_COMPROMISE, actor="t", operator=True
    )


def test_delegato_direct_crl_revoked_leaf(issued):
    assert verify_identity(issued.context(), issued.identity()).valid
    revoke(issued)
    result = verify_identity(issued.context(), issued.identity())
    assert (result.valid, result.reason, result.status) == (False, "certificate-revoked", 437)


def test_delegato_indirect_crl_revoked_leaf(issued_indirect):
    signer = issued_indirect.crl_signer()
    context = issued_indirect.context(helpers=[signer])
    assert verify_identity(context, issued_indirect.identity()).valid
    revoke(issued_indirect)
    result = verify_identity(issued_indirect.context(helpers=[signer]), issued_indirect.identity())
    assert (result.valid, result.reason) == (False, "certificate-revoked")


def test_indirect_crl_with_an_unknown_signer_is_unusable(issued_indirect):
    result = verify_identity(issued_indirect.context(), issued_indirect.identity())
    assert (result.valid, result.reason, result.status) == (False, "crl-invalid", 437)
    assert "CRL signer" in result.detail


STI_PA_CRL = "https://sti-pa.example.net/crl"
# The STI-PA's name as its CRL spells it; the intermediate's CRLDP spells it in another case,
# and RFC 5280 §7.1 still calls the two equal.
STI_PA = name("STI-PA CRL", org="STI-PA")
STI_PA_LOWER = name("sti-pa crl", org="sti-pa")


def sti_pa_hierarchy() -> tuple[Hierarchy, x509.Certificate]:
    """root -> STI-CA intermediate (CRL at the STI-PA, indirect) -> SCA -> leaf."""

    def at_sti_pa(s: CertSpec) -> None:
        s.put(crl_points(STI_PA_CRL, STI_PA_LOWER))

    hierarchy = Hierarchy({"int": at_sti_pa}, intermediate=True)
    signer_spec = spec(
        STI_PA, key("sti-pa"), hierarchy.root, hierarchy.root_key, dt.timedelta(days=365), 9
    )
    signer_spec.put(x509.BasicConstraints(ca=False, path_length=None), critical=True)
    signer_spec.put(key_usage("crl_sign"), critical=True)
    return hierarchy, build(signer_spec)


def sti_pa_crl(hierarchy: Hierarchy, revoked: list) -> bytes:
    idp = x509.IssuingDistributionPoint(
        full_name=[x509.UniformResourceIdentifier(STI_PA_CRL)],
        relative_name=None,
        only_contains_user_certs=False,
        only_contains_ca_certs=False,
        only_some_reasons=None,
        indirect_crl=True,
        only_contains_attribute_certs=False,
    )
    return make_crl(STI_PA, key("sti-pa"), revoked, idp=idp)


def test_indirect_crl_revoked_intermediate():
    hierarchy, signer = sti_pa_hierarchy()
    other_ca = name("Some Other STI-CA")
    # certificateIssuer carries over to later entries (RFC 5280 §5.3.3): serial 2 under
    # "other" does not touch our intermediate, serial 2 under the root does.
    resources = hierarchy.resources(**{STI_PA_CRL: sti_pa_crl(hierarchy, [(2, other_ca), 5])})

    def context(resources):
        return VerificationContext.of(
            [hierarchy.root, signer], StaticFetcher(resources), clock=FixedClock(NOW)
        )

    assert verify_identity(context(resources), hierarchy.identity()).valid
    upper_root = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "us"),
            x509.NameAttribute(
                NameOID.ORGANIZATION_NAME, "DELEGATO  TEST", _type=x509.name._ASN1Type.UTF8String
            ),
            x509.NameAttribute(NameOID.COMMON_NAME, "verifier test root"),
        ]
    )
    resources[STI_PA_CRL] = sti_pa_crl(hierarchy, [(3, other_ca), (2, upper_root)])
    result = verify_identity(context(resources), hierarchy.identity())
    assert (result.valid, result.reason) == (False, "certificate-revoked")
    assert "Intermediate" in result.detail


def test_direct_crl_revoked_intermediate():
    hierarchy = Hierarchy()
    resources = hierarchy.resources(**{ROOT_CRL: hierarchy.crl("root", [3])})
    result = verify_identity(hierarchy.context(resources), hierarchy.identity())
    assert (result.valid, result.reason) == (False, "certificate-revoked")
    assert "SCA" in result.detail


def stale(hierarchy: Hierarchy) -> bytes:
    return hierarchy.crl(
        "sca", this_update=NOW - dt.timedelta(days=2), next_update=NOW - dt.timedelta(days=1)
    )


UNREACHABLE = FetchError("timeout", f"{SCA_CRL} did not answer within the time-out")


@pytest.mark.parametrize("problem", ["stale", "unreachable"])
def test_crl_problem_under_require_fails(problem):
    hierarchy = Hierarchy()
    crl = stale(hierarchy) if problem == "stale" else UNREACHABLE
    result = verify_identity(
        hierarchy.context(hierarchy.resources(**{SCA_CRL: crl})), hierarchy.identity()
    )
    reason = "crl-stale" if problem == "stale" else "crl-unavailable"
    assert (result.valid, result.reason, result.status) == (False, reason, 437)


@pytest.mark.parametrize("problem", ["stale", "unreachable"])
def test_crl_problem_under_best_effort_passes_with_a_warning(problem):
    hierarchy = Hierarchy()
    crl = stale(hierarchy) if problem == "stale" else UNREACHABLE
    context = hierarchy.context(hierarchy.resources(**{SCA_CRL: crl}), crl_policy="best-effort")
    result = verify_identity(context, hierarchy.identity())
    assert result.valid
    assert any("revocation not checked" in w for w in result.warnings)


@pytest.mark.parametrize("problem", ["stale", "unreachable"])
def test_crl_problem_under_off_is_not_even_fetched(problem):
    hierarchy = Hierarchy()
    crl = stale(hierarchy) if problem == "stale" else UNREACHABLE
    context = hierarchy.context(hierarchy.resources(**{SCA_CRL: crl}), crl_policy="off")
    result = verify_identity(context, hierarchy.identity())
    assert result.valid and result.warnings == ()
    assert context.fetcher.calls == [X5U]


def test_revocation_fails_under_best_effort_too():
    hierarchy = Hierarchy()
    context = hierarchy.context(
        hierarchy.resources(**{SCA_CRL: hierarchy.crl("sca", [4])}), crl_policy="best-effort"
    )
    assert verify_identity(context, hierarchy.identity()).reason == "certificate-revoked"


def test_a_crl_past_next_update_is_fetched_again():
    hierarchy = Hierarchy()
    answers = iter([stale(hierarchy), hierarchy.crl("sca")])
    context = hierarchy.context(hierarchy.resources(**{SCA_CRL: lambda: next(answers)}))
    assert verify_identity(context, hierarchy.identity()).valid
    assert context.fetcher.calls.count(SCA_CRL) == 2


def test_a_crl_signed_by_another_key_is_invalid():
    hierarchy = Hierarchy()
    forged = make_crl(hierarchy.sca.subject, key("mallory"))
    result = verify_identity(
        hierarchy.context(hierarchy.resources(**{SCA_CRL: forged})), hierarchy.identity()
    )
    assert (result.reason, result.status) == ("crl-invalid", 437)


def test_a_crl_for_another_distribution_point_is_invalid():
    hierarchy = Hierarchy()
    idp = x509.IssuingDistributionPoint(
        full_name=[x509.UniformResourceIdentifier(INT_CRL)],
        relative_name=None,
        only_contains_user_certs=False,
        only_contains_ca_certs=False,
        only_some_reasons=None,
        indirect_crl=False,
        only_contains_attribute_certs=False,
    )
    other = make_crl(hierarchy.sca.subject, hierarchy.sca_key, idp=idp)
    result = verify_identity(
        hierarchy.context(hierarchy.resources(**{SCA_CRL: other})), hierarchy.identity()
    )
    assert result.reason == "crl-invalid" and "covers" in result.detail


def test_garbage_instead_of_a_crl_is_invalid():
    hierarchy = Hierarchy()
    result = verify_identity(
        hierarchy.context(hierarchy.resources(**{SCA_CRL: b"\x30\x03abc"})), hierarchy.identity()
    )
    assert result.reason == "crl-invalid"


def test_verified_paths_and_crls_are_cached_until_next_update():
    hierarchy = Hierarchy()
    clock = FixedClock(NOW)

    def current(issuer: str):
        return lambda: hierarchy.crl(issuer, this_update=clock.now() - dt.timedelta(hours=1))

    resources = hierarchy.resources(**{SCA_CRL: current("sca"), ROOT_CRL: current("root")})
    context = hierarchy.context(resources, clock=clock)
    for _ in range(3):
        assert verify_identity(context, hierarchy.identity()).valid
    assert context.fetcher.calls.count(SCA_CRL) == 1
    # Past the CRLs' nextUpdate (12 h after thisUpdate) the path is checked again.
    later = NOW + dt.timedelta(hours=12)
    clock.set(later)
    assert verify_identity(context, hierarchy.identity(iat=int(later.timestamp()))).valid
    assert context.fetcher.calls.count(SCA_CRL) == 2
