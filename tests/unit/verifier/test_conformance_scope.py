"""Conformance: TNAuthList encompassment on the whole path and the leaf's cover of orig (RFC 9060)."""

from __future__ import annotations

import pytest

from ca import oids
from ca.errors import CAError
from ca.tnauth import TNAuthList
from ca.verifier import verify_identity
from tests.unit.lint.pki import CertSpec, tn_auth_list_ext
from tests.unit.verifier.pki import LEAF_SCOPE, Hierarchy


def scope(entries: TNAuthList):
    def put(s: CertSpec) -> None:
        s.put(tn_auth_list_ext(entries.to_der()))

    return put


def test_orig_outside_the_leaf_scope(issued):
    result = verify_identity(issued.context(), issued.identity(orig="12025550200"))
    assert (result.valid, result.reason, result.status) == (False, "orig-not-in-scope", 438)


def test_orig_inside_the_leaf_scope(issued):
    result = verify_identity(issued.context(), issued.identity(orig="12025550109"))
    assert result.valid and result.orig == "12025550109"
    assert result.signer is not None and result.signer.kind == "delegate"


def test_a_child_scope_not_encompassed_by_its_parent():
    hierarchy = Hierarchy({"leaf": scope(TNAuthList.from_user(ranges=["13035550000:10"]))})
    result = verify_identity(hierarchy.context(), hierarchy.identity(orig="13035550001"))
    assert (result.valid, result.reason, result.status) == (False, "not-encompassed", 437)
    assert "13035550000:10" in result.detail


def test_encompassment_is_checked_at_every_step():
    # Sub-delegation: the SCA's numbers must lie within its issuing CA's TNAuthList too.
    narrow = scope(TNAuthList.from_user(ranges=["12025550000:100"]))
    hierarchy = Hierarchy({"int": narrow}, intermediate=True)
    result = verify_identity(hierarchy.context(), hierarchy.identity())
    assert (result.valid, result.reason) == (False, "not-encompassed")
    assert "SCA" in result.detail


def test_a_leaf_covered_by_several_parent_entries_together():
    parent = TNAuthList.from_user(ranges=["12025550100:5", "12025550105:5"])
    hierarchy = Hierarchy({"sca": scope(parent)})
    assert verify_identity(hierarchy.context(), hierarchy.identity()).valid


SPC_ONLY = scope(TNAuthList(["1234"]))


def test_spc_only_parent_under_strict():
    hierarchy = Hierarchy({"sca": SPC_ONLY})
    result = verify_identity(hierarchy.context(), hierarchy.identity())
    assert (result.reason, result.status) == ("not-encompassed", 437)
    assert "strict" in result.detail


def test_spc_only_parent_under_lenient():
    hierarchy = Hierarchy({"sca": SPC_ONLY})
    result = verify_identity(hierarchy.context(spc_parent_policy="lenient"), hierarchy.identity())
    assert result.valid
    assert any("lenient SPC-parent policy" in w for w in result.warnings)


@pytest.mark.parametrize(
    ("registry_answer", "valid"),
    [
        (TNAuthList.from_user(ranges=["12025550000:1000"]), True),
        (TNAuthList.from_user(ranges=["12025550100:5"]), False),  # only half of the leaf
        (None, False),  # the registry does not know the SPC
    ],
)
def test_spc_only_parent_under_registry(registry_answer, valid):
    asked: list[str] = []

    def registry(spc: str):
        asked.append(spc)
        return registry_answer

    hierarchy = Hierarchy({"sca": SPC_ONLY})
    context = hierarchy.context(spc_parent_policy="registry", spc_registry=registry)
    result = verify_identity(context, hierarchy.identity())
    assert result.valid is valid, result.detail
    assert asked == ["1234"]
    if not valid:
        assert result.reason == "not-encompassed" and "TN registry" in result.detail


def test_the_registry_policy_needs_a_registry():
    with pytest.raises(CAError, match="registry"):
        Hierarchy().context(spc_parent_policy="registry")


def test_an_unknown_policy_name_is_refused():
    with pytest.raises(CAError, match="spc_parent_policy"):
        Hierarchy().context(spc_parent_policy="sometimes")


def test_an_sti_ca_without_tn_auth_list_ends_the_scope_checks():
    def no_scope(s: CertSpec) -> None:
        s.drop(oids.TN_AUTH_LIST)

    hierarchy = Hierarchy({"sca": no_scope})
    result = verify_identity(hierarchy.context(), hierarchy.identity())
    assert result.valid and result.signer is not None
    assert result.signer.tn_auth_list == LEAF_SCOPE.to_json()


def test_a_leaf_with_an_spc_and_numbers_vouches_by_its_spc_for_other_numbers():
    mixed = TNAuthList.from_user(spcs=["1234"], ranges=["12025550100:10"])
    hierarchy = Hierarchy({"leaf": scope(mixed)})
    assert verify_identity(hierarchy.context(), hierarchy.identity(orig="12025550500")).valid
