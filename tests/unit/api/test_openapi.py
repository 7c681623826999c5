"""The OpenAPI document is valid OpenAPI 3.1, describes exactly the routes the app serves, and
the app keeps its word: schemathesis drives every operation with generated data (valid and
invalid) and checks for server errors and answers the document does not allow.

Schema-valid data may still be refused (a CSR is a string to the schema and must be a signed
P-256 request to Delegato; a number must have 1-15 digits after separators are dropped), so
``positive_data_acceptance`` is the one check left out; every refusal must still be a
documented 4xx problem document, and schema-invalid data must be refused.
"""

from __future__ import annotations

import re

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from openapi_spec_validator import validate
from schemathesis import GenerationMode
from schemathesis.checks import positive_data_acceptance
from schemathesis.config import SchemathesisConfig

from api.openapi import document

#: Per operation and generation mode; the suite runs it on SQLite and PostgreSQL.
EXAMPLES = 20
#: A schema-violating body may also be refused for its size before it is read (413).
CONFIG = SchemathesisConfig.from_dict(
    {
        "checks": {
            "negative_data_rejection": {
                "expected-statuses": [400, 401, 403, 404, 405, 409, 413, 415]
            }
        }
    }
)


def test_the_document_is_valid_openapi_3_1(client):
    served = client.get("/openapi.json")
    assert served.status_code == 200 and served.json["openapi"] == "3.1.0"
    validate(served.json)
    assert served.json["servers"][0]["url"] == "http://127.0.0.1:8080"


def test_every_route_is_documented_and_every_documented_path_served(app):
    def openapi_path(rule: str) -> str:
        return re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule)

    served = {
        (openapi_path(rule.rule), method.lower())
        for rule in app.url_map.iter_rules()
        for method in rule.methods - {"HEAD", "OPTIONS"}
        if rule.endpoint not in ("static", "operations.docs", "operations.openapi")
    }
    documented = {
        (re.sub(r"\{\w+\}", lambda m: m.group(0), path), method)
        for path, item in document()["paths"].items()
        for method in item
    }
    normalized = {(re.sub(r"\{\w+\}", "{}", p), m) for p, m in served}
    assert normalized == {(re.sub(r"\{\w+\}", "{}", p), m) for p, m in documented}


def test_the_docs_page_lists_every_operation(client):
    page = client.get("/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    for path in document()["paths"]:
        assert path in page.get_data(as_text=True)


@pytest.mark.parametrize("mode", list(GenerationMode), ids=lambda m: m.value)
def test_no_server_errors_and_answers_match_the_document(app, cast, mode):
    api = schemathesis.openapi.from_wsgi("/openapi.json", app, config=CONFIG)
    for result in api.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def exercise(case: schemathesis.Case) -> None:
            # The generated bearer token is random; a real operator key reaches the handlers. A
            # negative case that dropped the header on purpose keeps it dropped.
            dropped = mode is GenerationMode.NEGATIVE and "Authorization" not in (case.headers or {})
            case.call_and_validate(
                headers=None if dropped else cast.operator.headers,
                excluded_checks=[positive_data_acceptance],
            )

        try:
            exercise()
        except Unsatisfiable:
            # Nothing to break (no parameters, no body): negative mode has no case to make.
            assert mode is GenerationMode.NEGATIVE and not operation.body and not len(operation.query)
