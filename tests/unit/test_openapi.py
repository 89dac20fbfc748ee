from __future__ import annotations

import pytest
from openapi_spec_validator import validate

from services.gateway.app import create_app
from services.gateway.settings import GatewaySettings

pytestmark = pytest.mark.unit


def test_the_public_api_document_is_valid_and_documents_errors() -> None:
    schema = create_app(GatewaySettings()).openapi()
    validate(schema)  # every $ref resolves, the document is OpenAPI 3.1
    post_comment = schema["paths"]["/api/v1/articles/{id_or_slug}/comments"]["post"]
    assert post_comment["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/CommentIn"
    }
    problem = post_comment["responses"]["422"]["content"]["application/problem+json"]["schema"]
    assert problem == {"$ref": "#/components/schemas/ProblemDetails"}
    assert schema["components"]["schemas"]["ArticleIn"]["examples"]
    assert {"/api/v1/articles", "/api/v1/articles/popular", "/api/v1/comments/{comment_id}"} <= set(
        schema["paths"]
    )
