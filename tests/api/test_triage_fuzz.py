"""Generated requests against the triage and report operations, as an admin
(who may reach every write): none may end in a server error, and every answer
must be one the OpenAPI document promises."""

from __future__ import annotations

import hypothesis
import pytest
import schemathesis
from fastapi.testclient import TestClient
from schemathesis import GenerationMode
from schemathesis.generation.case import Case

from tests.api.conftest import Person, open_incident
from tests.api.test_fuzz import CHECKS
from tocsin.services.context import Context
from tocsin.services.integrations import IntegrationRef


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_generated_triage_requests_get_documented_answers(
    client: TestClient,
    ctx: Context,
    checkout: IntegrationRef,
    adam: Person,
    mode: GenerationMode,
) -> None:
    open_incident(ctx, checkout, "a")
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", client.app)
    ours = schema.include(
        path_regex="^/api/v1/(triage/|reports|incidents/declare|incidents/[^/]+/"
        "(declare|severity|priority|impact|stage)$)"
    )
    operations = [result.ok() for result in ours.get_all_operations()]
    assert "POST /api/v1/incidents/declare" in {op.label for op in operations}

    for operation in operations:

        @hypothesis.given(case=operation.as_strategy(generation_mode=mode))
        @hypothesis.settings(
            max_examples=8,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=list(hypothesis.HealthCheck),
        )
        def check(case: Case) -> None:
            case.call_and_validate(headers=adam.headers, checks=CHECKS)

        check()
