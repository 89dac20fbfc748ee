"""Pages for developers: the AsyncAPI document of the public streams."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from .parts import Parts

router = APIRouter(tags=["events"])


@router.get("/asyncapi", summary="AsyncAPI 3.0 document of the public streams")
async def asyncapi(parts: Parts) -> JSONResponse:
    return JSONResponse(parts.asyncapi)


def document_request_bodies(app: FastAPI, models: list[type[BaseModel]]) -> None:
    """Put the request bodies that routes read by hand (forwarded, or checked by our
    own rules for per-field messages) into the OpenAPI components they refer to."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = generate()
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for model in models:
            body = model.model_json_schema(ref_template="#/components/schemas/{model}")
            components.update(body.pop("$defs", {}))
            components[model.__name__] = body
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
