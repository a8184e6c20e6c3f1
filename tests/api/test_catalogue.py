"""`/v1/models`, `/health` and `/openapi.json` as the spec describes them."""

from __future__ import annotations

import re

import httpx
import openai
from openapi_spec_validator import validate

from router.schemas import ChatCompletionRequest
from tests.api.conftest import Gateway


def test_models_lists_every_configured_model_with_the_spec_fields(gateway: Gateway) -> None:
    response = httpx.get(f"{gateway.url}/v1/models", headers=gateway.headers)
    assert response.status_code == 200
    body = response.json()
    assert body["object"] == "list"
    chat = next(m for m in body["data"] if m["id"] == "chat")
    assert chat == {
        "id": "chat",
        "object": "model",
        "created": chat["created"],
        "owned_by": "system",
        "context_length": 32768,
        "architecture": {
            "modality": "text+image->text",
            "tokenizer": "llama3",
            "instruct_type": "llama3",
        },
        "pricing": {"prompt": "0.000001", "completion": "0.000002", "request": "0"},
    }
    assert isinstance(chat["created"], int)
    haiku = next(m for m in body["data"] if m["id"] == "claude-haiku")
    assert haiku["pricing"] == {"prompt": "0.0000008", "completion": "0.000004", "request": "0"}
    assert haiku["context_length"] == 8192


def test_models_through_the_sdk(client: openai.OpenAI) -> None:
    ids = [m.id for m in client.models.list()]
    assert ids[:3] == ["chat", "nousage", "slow"]


def test_health_reports_ok_with_a_utc_timestamp(gateway: Gateway) -> None:
    response = httpx.get(f"{gateway.url}/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", body["timestamp"])


def test_openapi_document_is_valid_3_1_built_from_the_request_model(gateway: Gateway) -> None:
    document = httpx.get(f"{gateway.url}/openapi.json").json()
    validate(document)
    assert document["openapi"].startswith("3.1")
    for prefix in ("/v1", "/api/v1"):
        assert f"{prefix}/chat/completions" in document["paths"]
        assert f"{prefix}/models" in document["paths"]
    schema = document["components"]["schemas"]["ChatCompletionRequest"]
    assert set(schema["properties"]) == set(ChatCompletionRequest.model_fields)
    assert schema["properties"]["temperature"]["anyOf"][0]["maximum"] == 2
    assert set(schema["required"]) == {"model", "messages"}
