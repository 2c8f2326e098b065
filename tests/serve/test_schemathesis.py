"""schemathesis against the app's own OpenAPI schema: no generated request (valid or not) gets a 5xx,
and every response has a documented status, content type and body schema."""

from __future__ import annotations

import pytest
from serve_fixtures import *  # noqa: F401,F403
from serve_fixtures import upload_frames

schemathesis = pytest.importorskip("schemathesis", reason="schemathesis is not installed (the dev extra has it)")
from hypothesis import HealthCheck, settings  # noqa: E402


@pytest.fixture
def api_schema(db_url, make_client, davis_clip):
    """The app on SQLite, then on PostgreSQL (which refuses some text SQLite keeps, e.g. NUL)."""
    client = make_client(database_url=db_url)
    project = client.post("/api/projects", json={"name": "p"}).json()
    media = upload_frames(client, project["id"], davis_clip[0][:2])
    client.post(f"/api/media/{media['id']}/objects")
    client.post(f"/api/media/{media['id']}/objects/1/clicks", json={"frame_idx": 0, "box": [100, 50, 300, 200]})
    return schemathesis.openapi.from_asgi("/openapi.json", client.app)


def test_no_server_error_and_responses_as_documented(api_schema):
    """Every operation, 10 valid and 10 invalid generated requests each (a plain loop:
    schemathesis's pytest integration does not run under this pytest)."""
    from hypothesis import given
    from hypothesis.errors import Unsatisfiable
    from schemathesis.checks import (
        content_type_conformance,
        not_a_server_error,
        response_schema_conformance,
        status_code_conformance,
    )

    CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
    from schemathesis.generation import GenerationMode

    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) > 20
    for operation, mode in [(op, mode) for op in operations for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)]:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def no_5xx(case):
            case.call_and_validate(checks=CHECKS)

        try:
            no_5xx()
        except Unsatisfiable:  # no invalid request exists for an operation without inputs
            assert mode is GenerationMode.NEGATIVE
