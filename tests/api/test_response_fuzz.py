"""Generated requests against the response catalogues (roles, runbooks,
templates, update subscribers), sent as an admin so that writes get past the
role check: none may end in a server error or an undocumented answer."""

from __future__ import annotations

import hypothesis
import pytest
import schemathesis
from fastapi.testclient import TestClient
from schemathesis import GenerationMode
from schemathesis.generation.case import Case

from tests.api.conftest import Person
from tests.api.test_fuzz import CHECKS
from tocsin.services.context import Context
from tocsin.services.integrations import IntegrationRef


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_catalogue_routes_never_fail_on_generated_input(
    client: TestClient,
    ctx: Context,
    checkout: IntegrationRef,
    adam: Person,
    mode: GenerationMode,
) -> None:
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", client.app)
    ours = schema.include(
        path_regex="^/api/v1/(roles|runbooks|templates|update-subscribers)"
    )
    operations = [result.ok() for result in ours.get_all_operations()]
    assert "POST /api/v1/templates" in {operation.label for operation in operations}

    for operation in operations:

        @hypothesis.given(case=operation.as_strategy(generation_mode=mode))
        @hypothesis.settings(
            max_examples=15,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=list(hypothesis.HealthCheck),
        )
        def check(case: Case) -> None:
            case.call_and_validate(headers=adam.headers, checks=CHECKS)

        check()
