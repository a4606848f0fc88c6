"""The OpenAPI document: /predict's body described from the version served."""

from __future__ import annotations

from mlprod_cli.core.serve import ENDPOINTS, ServeOptions, openapi_document
from tests.serving import tiny_model


def test_the_row_is_the_schema_of_the_version_served_with_the_limits():
    document = openapi_document(tiny_model(), ServeOptions(max_request_rows=7, max_body_bytes=999))
    row = document["components"]["schemas"]["Row"]
    assert row["required"] == ["size", "color", "seen"]
    assert row["properties"]["size"]["maximum"] == 1e100
    assert row["properties"]["color"]["examples"] == ["blue", "red"]
    assert row["properties"]["seen"]["type"] == ["string", "null"]
    post = document["paths"]["/predict"]["post"]
    assert post["requestBody"]["content"]["application/json"]["schema"]["oneOf"][1]["maxItems"] == 7
    assert "999 bytes" in post["requestBody"]["description"]
    assert set(post["responses"]) == {"200", "400", "413", "422", "500", "503"}
    label = post["responses"]["200"]["content"]["application/json"]["schema"]["oneOf"][0]
    assert label["properties"]["class"]["enum"] == ["a", "b"]
    assert set(document["paths"]) == set(ENDPOINTS) - {"/openapi.json"}


def test_without_a_model_a_row_is_any_object():
    document = openapi_document(None, ServeOptions())
    assert document["components"]["schemas"]["Row"] == {"type": "object"}
    assert "none loaded" in document["info"]["description"]
