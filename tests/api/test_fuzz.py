"""schemathesis generates requests from `/openapi.json`: no input may make the gateway fail with
a 5xx, and every answer must match the response schema the document declares."""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance

from tests.api.conftest import Gateway

EXAMPLES_PER_OPERATION = 60


def test_generated_requests_never_make_the_gateway_fail(gateway: Gateway) -> None:
    api = schemathesis.openapi.from_url(f"{gateway.url}/openapi.json")
    operations = [result.ok() for result in api.get_all_operations()]
    assert len(operations) == 5, "health, and chat and models under both prefixes"
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
            database=None,
        )
        def check(case: Any) -> None:
            case.call_and_validate(
                headers=gateway.headers, checks=[not_a_server_error, response_schema_conformance]
            )

        check()
