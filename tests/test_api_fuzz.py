"""Schemathesis against the running service (`voice-ai serve` on a free port, the demo tenant seeded so that
tenant routes are exercised): a bounded run, every operation, asserting no 5xx, no answer the OpenAPI document
does not declare (status code, content type, headers, body schema) and correct 405s (with ``Allow``)."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    allow_header_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

from conftest import TEST_SECRET_KEY, PgServer
from helpers import demo_service

pytestmark = pytest.mark.slow
EXAMPLES_PER_OPERATION = 4  # x2 modes x ~45 operations: a few hundred requests, about a minute on 2 cores
DOMAIN: list[str] = []
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    unsupported_method,
    allow_header_conformance,
]


@pytest.fixture(scope="module")
def live_api(pg: PgServer) -> Iterator[Any]:
    name = f"fuzz_{__import__('uuid').uuid4().hex[:10]}"
    asyncio.run(pg.admin(f"CREATE DATABASE {name}"))
    with (
        tempfile.TemporaryDirectory(prefix="voice-ai-fuzz-") as tmp,
        demo_service(pg.url(name), Path(tmp), TEST_SECRET_KEY) as (base, _),
    ):
        domain = httpx.get(f"{base}/api/v1/domains", params={"name": "demo.localhost"}).json()["items"][0]
        config = SchemathesisConfig.from_dict(
            {"parameters": {"path.domain_uuid": str(domain["domain_uuid"])}, "base-url": base}
        )
        DOMAIN[:] = [str(domain["domain_uuid"])]
        yield schemathesis.openapi.from_url(f"{base}/openapi.json", config=config)


def test_api_conforms_to_its_openapi_document(live_api: Any) -> None:
    """Every operation, valid and invalid inputs (schemathesis' pytest plugin does not load under pytest 9, so
    hypothesis drives its strategies here)."""
    failures: list[str] = []
    operations = 0
    for result in live_api.get_all_operations():
        operation = result.ok()
        operations += 1
        fixed = {"domain_uuid": DOMAIN[0]} if "{domain_uuid}" in operation.path else None
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode, path_parameters=fixed))
            @settings(
                max_examples=EXAMPLES_PER_OPERATION,
                deadline=None,
                derandomize=True,
                database=None,
                suppress_health_check=list(HealthCheck),
                phases=[Phase.explicit, Phase.generate],
            )
            def run(case: schemathesis.Case) -> None:
                case.call_and_validate(checks=CHECKS, timeout=60)

            try:
                run()
            except Unsatisfiable:
                continue  # nothing to make invalid (no parameters, no body)
            except (Exception, BaseExceptionGroup) as exc:  # collect every operation's first failure, report them all
                failures.append(f"{operation.label} ({mode.value}): {str(exc)[:1500]}")
    assert operations > 30
    assert not failures, "\n\n".join(failures)
