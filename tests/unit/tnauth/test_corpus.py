"""The decoders over 17,767 production SHAKEN certificates (../shared/testdata/real-shaken-certs)."""

from __future__ import annotations

import re
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from asn1crypto import x509 as asn1_x509
from cryptography import x509

from ca.errors import CAError
from ca.tnauth import TNAuthList, decode_lenient, tn_auth_list_der, tn_auth_list_from_certificate

from .conftest import CORPUS_DIR

pytestmark = pytest.mark.corpus


def readme_figures() -> dict[str, tuple[int, ...]]:
    """The README's table, label -> counts ("end entities / CA certificates ..." -> (17707, 60))."""
    text = (CORPUS_DIR / "README.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| ([^|]+?) \| ([\d,]+(?: / [\d,]+)*) \|$", text, flags=re.MULTILINE)
    return {
        label: tuple(int(count.replace(",", "")) for count in counts.split(" / "))
        for label, counts in rows
    }


@dataclass
class Survey:
    total: int = 0
    without: Counter[str] = field(default_factory=Counter)  # "ca" / "end entity"
    one_spc_only: int = 0
    rejected: dict[str, str] = field(default_factory=dict)  # file name -> strict reason


def _is_ca(certificate: x509.Certificate | bytes) -> bool:
    if isinstance(certificate, bytes):
        extensions = asn1_x509.Certificate.load(certificate)["tbs_certificate"]["extensions"]
        for extension in extensions:
            if extension["extn_id"].native == "basic_constraints":
                return bool(extension["extn_value"].parsed["ca"].native)
        return False
    try:
        return certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        return False


@pytest.fixture(scope="module")
def survey(shaken_corpus: list[Path]) -> Survey:
    result = Survey()
    for path in shaken_corpus:
        der = path.read_bytes()
        certificate: x509.Certificate | bytes = der
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # NULL signature parameters in a few certificates
                certificate = x509.load_der_x509_certificate(der)
        except ValueError:
            pass  # cryptography refuses a few outright; the DER path must still work
        result.total += 1
        try:
            tn_auth_list = tn_auth_list_from_certificate(certificate)
        except CAError as error:
            result.rejected[path.name] = error.detail
            continue
        if tn_auth_list is None:
            result.without["ca" if _is_ca(certificate) else "end entity"] += 1
        elif len(tn_auth_list.spcs) == 1 and len(tn_auth_list) == 1:
            result.one_spc_only += 1
    return result


def test_every_certificate_was_read(survey: Survey) -> None:
    assert survey.total == readme_figures()["certificates"][0] == 17_767


def test_strict_rejects_exactly_twelve(survey: Survey) -> None:
    figures = readme_figures()
    assert len(survey.rejected) == figures["TNAuthList that a strict DER decoder rejects"][0] == 12
    reasons = Counter(
        "untagged" if "untagged PrintableString" in reason else "overrun"
        for reason in survey.rejected.values()
    )
    # README: six untagged PrintableString SPCs, six IA5Strings whose length byte is missing.
    assert reasons == {"untagged": 6, "overrun": 6}


def test_certificates_without_a_tn_auth_list(survey: Survey) -> None:
    figures = readme_figures()
    _, ca_count = figures["end entities / CA certificates (basicConstraints cA)"]
    assert survey.without["end entity"] == figures["end entities with no TNAuthList"][0] == 4
    # No CA certificate carries a TNAuthList (README), so every CA certificate counts here.
    assert figures["CA certificates with a TNAuthList"] == (0,)
    assert survey.without["ca"] == ca_count == 60


def test_end_entities_with_exactly_one_spc(survey: Survey) -> None:
    # The README's independent decoder, like ours, reads the 12 malformed lists as nothing.
    figure = readme_figures()["end entities whose TNAuthList is exactly one SPC"][0]
    assert survey.one_spc_only == figure == 17_691


def test_lenient_recovers_an_spc_from_each_rejected_list(
    survey: Survey, shaken_corpus: list[Path]
) -> None:
    by_name = {path.name: path for path in shaken_corpus}
    for name in survey.rejected:
        raw = tn_auth_list_der(by_name[name].read_bytes())
        assert raw is not None
        result = decode_lenient(raw)
        assert isinstance(result.tn_auth_list, TNAuthList), name
        (spc,) = result.tn_auth_list.entries
        assert isinstance(spc, str) and re.fullmatch(r"[0-9A-Z]{4}", spc), (name, spc)
        assert len(result.warnings) >= 2, result.warnings
        assert result.warnings[0].startswith("not RFC 8226 DER: ")
