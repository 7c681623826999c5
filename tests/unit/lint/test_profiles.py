"""Profiles load from data and refuse bad files with the file and key named."""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path

import pytest

from ca.errors import CAError, ErrorKind
from ca.issuance.profiles import (
    PROFILE_DIR,
    Profile,
    load_profile,
    load_profile_file,
    load_profiles,
    load_profiles_from,
)
from ca.lint import LINTS

BUILT_IN = {
    "delegate_ee",
    "sca",
    "test_root",
    "crl_signer",
    "status_signer",
    "shaken_sp",
    "shaken_ca",
    "shaken_root",
}


def test_every_built_in_profile_loads() -> None:
    profiles = load_profiles()
    assert set(profiles) == BUILT_IN
    for name, profile in profiles.items():
        assert isinstance(profile, Profile)
        assert profile.name == name
        assert set(profile.lints) <= set(LINTS)


def test_load_profiles_returns_a_copy() -> None:
    load_profiles().clear()
    assert set(load_profiles()) == BUILT_IN


def test_delegate_profile_values() -> None:
    profile = load_profile("delegate_ee")
    assert profile.ca is False
    assert profile.path_len is None
    assert profile.key_usage == frozenset({"digital_signature"})
    assert profile.subject_key_curves == frozenset({"secp256r1"})
    assert profile.certificate_policies == ("2.16.840.1.114569.1.1.4",)
    assert profile.tn_auth_list == "numbers"
    assert profile.claim_constraints_allowed is True
    assert profile.max_validity == dt.timedelta(days=30)
    assert profile.subject_required == ("C", "O", "CN")
    assert profile.min_serial_bits == 64


def test_sca_requires_a_tn_auth_list_while_shaken_ca_profiles_forbid_it() -> None:
    # RFC 9060 delegation wins for our SCA; the plain SHAKEN profiles keep ATIS-1000080 v005.
    assert load_profile("sca").tn_auth_list == "any"
    assert load_profile("sca").path_len == 0
    for name in ("test_root", "shaken_ca", "shaken_root", "crl_signer"):
        assert load_profile(name).tn_auth_list == "forbidden"


def test_roots_have_no_policies_and_no_crl_distribution_point() -> None:
    for name in ("test_root", "shaken_root"):
        profile = load_profile(name)
        assert profile.certificate_policies == ()
        assert profile.crl_distribution_point == "forbidden"
        assert profile.self_signed is True


def test_unknown_profile_name_is_refused() -> None:
    with pytest.raises(CAError) as caught:
        load_profile("nope")
    assert caught.value.kind is ErrorKind.CONFIGURATION
    assert "delegate_ee" in caught.value.detail


def _table(name: str = "delegate_ee") -> dict[str, object]:
    with (PROFILE_DIR / f"{name}.toml").open("rb") as handle:
        return tomllib.load(handle)


def _dump(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_dump(item) for item in value) + "]"
    return '"' + str(value) + '"'


def _write(directory: Path, table: dict[str, object], stem: str = "delegate_ee") -> Path:
    path = directory / f"{stem}.toml"
    path.write_text("".join(f"{key} = {_dump(value)}\n" for key, value in table.items()))
    return path


def _refused(path: Path) -> CAError:
    with pytest.raises(CAError) as caught:
        load_profile_file(path)
    assert caught.value.kind is ErrorKind.CONFIGURATION
    assert str(path) in caught.value.detail
    return caught.value


def test_a_rewritten_copy_loads_identically(tmp_path: Path) -> None:
    assert load_profile_file(_write(tmp_path, _table())) == load_profile("delegate_ee")


def test_unknown_key_is_refused(tmp_path: Path) -> None:
    table = _table() | {"max_validty": "1d"}
    error = _refused(_write(tmp_path, table))
    assert error.field == "max_validty"
    assert "unknown key" in error.detail


def test_unknown_lint_id_is_refused(tmp_path: Path) -> None:
    table = _table()
    table["lints"] = [*table["lints"], "e_no_such_lint"]  # type: ignore[misc]
    error = _refused(_write(tmp_path, table))
    assert error.field == "lints"
    assert "e_no_such_lint" in error.detail


@pytest.mark.parametrize(
    ("key", "value", "fragment"),
    [
        ("ca", "yes", "true or false"),
        ("key_usage", ["digital_signature", "sign_everything"], "sign_everything"),
        ("subject_key_curves", ["secp256k1"], "secp256k1"),
        ("signature_hashes", ["md5"], "md5"),
        ("certificate_policies", ["2.16.840.x"], "dotted object identifier"),
        ("crl_distribution_point", "sometimes", "required, forbidden, optional"),
        ("tn_auth_list", "everything", "numbers, spc, any"),
        ("max_validity", "a fortnight", "not a duration"),
        ("min_serial_bits", 8, "from 32 to 159"),
        ("subject_required", ["C", "Planet"], "Planet"),
        ("lints", ["e_version_v3", "e_version_v3"], "twice"),
        ("path_len", 1, "only a CA profile"),
        ("key_usage", ["key_cert_sign"], "needs ca = true"),
        ("description", "", "non-empty string"),
    ],
)
def test_bad_values_are_refused(tmp_path: Path, key: str, value: object, fragment: str) -> None:
    error = _refused(_write(tmp_path, _table() | {key: value}))
    assert error.field == key
    assert fragment in error.detail


def test_missing_key_is_refused(tmp_path: Path) -> None:
    table = _table()
    del table["lints"]
    error = _refused(_write(tmp_path, table))
    assert error.field == "lints"
    assert "missing" in error.detail


def test_name_must_match_the_file(tmp_path: Path) -> None:
    error = _refused(_write(tmp_path, _table(), stem="other"))
    assert error.field == "name"


def test_invalid_toml_and_missing_files_are_refused(tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text("name = [unclosed\n")
    assert "not valid TOML" in _refused(broken).detail
    assert "cannot read" in _refused(tmp_path / "absent.toml").detail


def test_a_directory_of_profiles_fails_on_its_first_bad_file(tmp_path: Path) -> None:
    _write(tmp_path, _table())
    _write(tmp_path, _table("sca") | {"colour": "red"}, stem="sca")
    with pytest.raises(CAError, match="colour"):
        load_profiles_from(tmp_path)
