"""Pages for developers: the AsyncAPI document of the public streams, as JSON and as a
page a person can read (every public stream, its events and their fields)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel

from shared.web.caching import cached_response

from .parts import Parts

router = APIRouter(tags=["events"])


@router.get("/asyncapi.json", summary="AsyncAPI 3.0 document of the public streams")
async def asyncapi(parts: Parts) -> JSONResponse:
    return JSONResponse(parts.asyncapi)


@router.get("/asyncapi", response_class=HTMLResponse, include_in_schema=False)
async def asyncapi_page(request: Request, parts: Parts) -> Response:
    html = parts.templates.get_template("asyncapi.html").render(
        {"request": request, "site_name": parts.settings.site_name, **readable(parts.asyncapi)}
    )
    return cached_response(request, html.encode(), "text/html; charset=utf-8", "public, max-age=60")


def readable(document: dict[str, Any]) -> dict[str, Any]:
    """The document as the page lists it: channels, their messages, each message's fields
    (references followed, so that ``data`` shows its own fields)."""
    schemas = document["components"]["schemas"]
    messages = document["components"]["messages"]

    def fields(schema: dict[str, Any], prefix: str = "") -> list[dict[str, Any]]:
        out = []
        required = set(schema.get("required", ()))
        for name, prop in schema.get("properties", {}).items():
            ref = prop.get("$ref") or (prop.get("items") or {}).get("$ref")
            kind = prop.get("type") or ("object" if ref else _any_of(prop))
            if prop.get("type") == "array":
                kind = "array"
            out.append(
                {
                    "name": prefix + name,
                    "type": kind,
                    "format": prop.get("format") or prop.get("const") or "",
                    "required": name in required,
                    "description": prop.get("description", ""),
                }
            )
            if ref and ref.rsplit("/", 1)[1] != "BodyBlock":
                out += fields(schemas[ref.rsplit("/", 1)[1]], f"{prefix}{name}.")
        return out

    channels = []
    for key, channel in document["channels"].items():
        listed = []
        for ref in channel["messages"].values():
            message = messages[ref["$ref"].rsplit("/", 1)[1]]
            listed.append({"name": message["name"], "fields": fields(message["payload"])})
        channels.append(
            {
                "name": key,
                "address": channel["address"],
                "description": channel["description"],
                "messages": listed,
            }
        )
    return {
        "title": document["info"]["title"],
        "version": document["info"]["version"],
        "channels": channels,
    }


def _any_of(prop: dict[str, Any]) -> str:
    kinds = [p.get("type", "") for p in prop.get("anyOf", ()) if p.get("type") != "null"]
    return " | ".join(k for k in kinds if k) or "any"


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
