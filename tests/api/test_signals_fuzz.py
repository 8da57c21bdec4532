"""Generated requests against the signal operations (change events, heartbeats,
HTTP checks): none may end in a server error or answer off the document."""

from __future__ import annotations

import hypothesis
import pytest
import schemathesis
from fastapi.testclient import TestClient
from schemathesis import GenerationMode
from schemathesis.generation.case import Case

from tests.api.conftest import Person
from tests.api.test_fuzz import CHECKS
from tocsin.services.integrations import IntegrationRef


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_generated_signal_requests_get_documented_answers(
    client: TestClient,
    checkout: IntegrationRef,
    adam: Person,
    mode: GenerationMode,
) -> None:
    """As an admin, so that creating heartbeats and checks gets past the role."""
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", client.app)
    ours = schema.include(path_regex="^/api/v1/(changes|heartbeats|checks)")
    operations = [result.ok() for result in ours.get_all_operations()]
    assert {"POST /api/v1/changes", "POST /api/v1/checks"} <= {
        operation.label for operation in operations
    }

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
