"""Generated requests against every /api/v1 operation: none may end in a server
error, and every response must match what the OpenAPI document promises.

Schemathesis derives valid and invalid requests from the document. Examples are
few and derandomised, so the test is quick and a failure repeats on rerun.
"""

from __future__ import annotations

import hypothesis
import pytest
import schemathesis
from fastapi.testclient import TestClient
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.generation.case import Case
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api.conftest import Person, open_incident
from tocsin.services.context import Context
from tocsin.services.integrations import IntegrationRef

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_generated_requests_get_documented_answers_and_no_server_error(
    client: TestClient,
    ctx: Context,
    checkout: IntegrationRef,
    ann: Person,
    mode: GenerationMode,
) -> None:
    # A few incidents, so small generated numbers find something to act on.
    for key in ("a", "b", "c"):
        open_incident(ctx, checkout, key)
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", client.app)
    ours = schema.include(path_regex="^/api/v1/(incidents|me)")
    operations = [result.ok() for result in ours.get_all_operations()]
    assert {"GET /api/v1/me", "POST /api/v1/incidents/{number}/notes"} <= {
        operation.label for operation in operations
    }

    for operation in operations:

        @hypothesis.given(case=operation.as_strategy(generation_mode=mode))
        @hypothesis.settings(
            max_examples=12,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=list(hypothesis.HealthCheck),
        )
        def check(case: Case) -> None:
            case.call_and_validate(headers=ann.headers, checks=CHECKS)

        check()
