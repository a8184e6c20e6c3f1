"""`GET /openapi.json`: an OpenAPI 3.1 document built from the models that validate requests."""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from router import __version__
from router.schemas import ChatCompletion, ChatCompletionRequest, ErrorResponse, Health, ModelList

OPENAPI_DOCUMENT = web.AppKey("openapi_document", bytes)
_REF = "#/components/schemas/{model}"


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": _REF.format(model=model.__name__)}


def _json(model: type[BaseModel]) -> dict[str, Any]:
    return {"application/json": {"schema": _ref(model)}}


def _errors(*statuses: int) -> dict[str, Any]:
    return {str(s): {"description": "Error", "content": _json(ErrorResponse)} for s in statuses}


def build_openapi(prefixes: tuple[str, ...]) -> dict[str, Any]:
    _, schemas = models_json_schema(
        [
            (ChatCompletionRequest, "validation"),
            (ChatCompletion, "serialization"),
            (ModelList, "serialization"),
            (Health, "serialization"),
            (ErrorResponse, "serialization"),
        ],
        ref_template=_REF,
    )
    security: list[dict[str, list[str]]] = [{"bearerAuth": []}]
    paths: dict[str, Any] = {
        "/health": {
            "get": {
                "operationId": "health",
                "summary": "Health check",
                "responses": {
                    "200": {"description": "Healthy", "content": _json(Health)},
                    "503": {"description": "Draining", "content": _json(Health)},
                },
            }
        }
    }
    for prefix in prefixes:
        tag = prefix.strip("/").replace("/", "_")
        paths[f"{prefix}/chat/completions"] = {
            "post": {
                "operationId": f"{tag}_create_chat_completion",
                "summary": "Create a chat completion",
                "security": security,
                "requestBody": {"required": True, "content": _json(ChatCompletionRequest)},
                "responses": {
                    "200": {
                        "description": "A completion, or with `stream: true` server-sent events",
                        "content": {
                            **_json(ChatCompletion),
                            "text/event-stream": {"schema": {"type": "string"}},
                        },
                    },
                    **_errors(400, 401, 404, 413, 429, 500, 502, 503, 504),
                },
            }
        }
        paths[f"{prefix}/models"] = {
            "get": {
                "operationId": f"{tag}_list_models",
                "summary": "List models",
                "security": security,
                "responses": {
                    "200": {"description": "The models", "content": _json(ModelList)},
                    **_errors(401),
                },
            }
        }
    return {
        "openapi": "3.1.0",
        "info": {"title": "HybridInference", "version": __version__},
        "paths": paths,
        "components": {
            "schemas": schemas["$defs"],
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
        },
    }


async def openapi_document(request: web.Request) -> web.Response:
    return web.Response(body=request.app[OPENAPI_DOCUMENT], content_type="application/json")


def openapi_body(prefixes: tuple[str, ...]) -> bytes:
    return orjson.dumps(build_openapi(prefixes))
