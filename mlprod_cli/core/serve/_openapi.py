"""``GET /openapi.json``: the OpenAPI 3.1 description of the server
(:func:`openapi_document`), with ``/predict``'s body described from the served
version's schema and the server's limits.
"""

from __future__ import annotations

from typing import Any

from mlprod_cli.core.serve._model import DATETIME, NUMERIC, Feature, LoadedModel
from mlprod_cli.core.serve._options import MAX_FIELD_DEPTH, MAX_NUMBER, ServeOptions


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_DETAIL = {"type": "object", "required": ["detail"], "properties": {"detail": {"type": "string"}}}
_ERRORS = {
    "type": "object",
    "required": ["detail"],
    "properties": {
        "detail": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["type", "loc", "msg"],
                "properties": {
                    "type": {"type": "string"},
                    "loc": {"type": "array", "items": {"type": ["string", "integer"]}},
                    "msg": {"type": "string"},
                },
            },
        }
    },
}


def _feature_schema(feature: Feature) -> dict[str, Any]:
    """What :meth:`LoadedModel.check` accepts for one feature, as JSON Schema."""
    if feature.kind == NUMERIC:
        schema: dict[str, Any] = {
            "type": ["number", "null"],
            "minimum": -MAX_NUMBER,
            "maximum": MAX_NUMBER,
        }
        seen = ""
        if feature.low is not None and feature.high is not None:
            seen = f"; training range {feature.low:g} to {feature.high:g} (outside it: served, counted)"
        schema["description"] = f"numeric; null is a missing value{seen}"
        return schema
    if feature.kind == DATETIME:
        return {
            "type": ["string", "null"],
            "description": "date and time, ISO 8601; text that does not parse is a missing value",
        }
    schema = {
        "type": ["string", "number", "boolean", "null"],
        "description": "categorical; a number or boolean is taken as its text; "
        "a category unseen in training is served and counted",
    }
    if feature.categories is not None:
        schema["examples"] = sorted(feature.categories)
    return schema


def openapi_document(model: LoadedModel | None, options: ServeOptions) -> dict[str, Any]:
    """The OpenAPI 3.1 description of the app, ``GET /openapi.json``.

    ``/predict``'s body is described from the schema of the version being
    served (feature names, kinds, the categories seen in training), with the
    limits the server applies, so that a client generator or a fuzzer (the
    tests use schemathesis) knows what a valid request is and what is refused.
    Without a model the row is any object.
    """
    from mlprod_cli import __version__

    if model is not None:
        row: dict[str, Any] = {
            "type": "object",
            "required": [f.name for f in model.features],
            "properties": {f.name: _feature_schema(f) for f in model.features},
            "additionalProperties": True,
            "description": f"One row for {model.id}. Fields the model does not use are "
            f"ignored (counted, logged); arrays and objects in them nest "
            f"{MAX_FIELD_DEPTH} levels deep at most.",
        }
        labels = model.labels
        version = model.id
    else:
        row, labels, version = {"type": "object"}, [], "none loaded"
    scores: dict[str, Any] = {
        "type": ["object", "null"],
        "additionalProperties": {"type": ["number", "null"]},
        "description": "a probability per class; null without predict_proba",
    }
    label: dict[str, Any] = {"type": "string"}
    if labels:
        label["enum"] = labels
        scores["properties"] = {name: {"type": ["number", "null"]} for name in labels}
    prediction: dict[str, Any] = {
        "type": "object",
        "required": ["class", "scores"],
        "properties": {"class": label, "scores": scores},
    }
    if model is not None and model.regression:
        prediction = {
            "type": "object",
            "required": ["value"],
            "properties": {
                "value": {
                    "type": ["number", "null"],
                    "description": f"the predicted {model.metadata.get('target') or 'value'} "
                    "(a regression; null if the model gave no finite number)",
                }
            },
        }
    ruleset = model.rules if model is not None else None
    if ruleset is not None:  # the rules' answer: a class, or null where they abstain
        ids = list(ruleset.ids)
        label["type"] = ["string", "null"]
        if "enum" in label:
            label["enum"] = [*label["enum"], None]
        label["description"] = "after the rules; null where they abstain (send it to a person)"
        scores["description"] += "; after the rules (masked and renormalised)"
        prediction["required"] = ["class", "scores", "rules", "abstained"]
        prediction["properties"]["rules"] = {
            "type": "array",
            "items": {"type": "string", "enum": ids},
            "description": f"the rules that fired, in order ({ruleset.policy} policy)",
        }
        prediction["properties"]["abstained"] = {
            "type": "boolean",
            "description": "true when the rules sent the row to a person (class is null)",
        }
    single = {
        "type": "object",
        "required": ["model_version", *prediction["required"]],
        "properties": {"model_version": {"type": "string"}, **prediction["properties"]},
    }
    batch = {
        "type": "object",
        "required": ["model_version", "predictions"],
        "properties": {
            "model_version": {"type": "string"},
            "predictions": {"type": "array", "items": prediction},
        },
    }
    body = {
        "oneOf": [
            {"$ref": "#/components/schemas/Row"},
            {
                "type": "array",
                "items": {"$ref": "#/components/schemas/Row"},
                "minItems": 1,
                "maxItems": options.max_request_rows,
            },
        ]
    }
    status = {
        "type": "object",
        "required": ["status"],
        "properties": {"status": {"type": "string"}},
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "mlprod serve",
            "version": __version__,
            "description": f"Online predictions of {version} (docs/serve.md).",
        },
        "paths": {
            "/predict": {
                "post": {
                    "summary": "Predict one row (an object) or several (an array of objects)",
                    "operationId": "predict",
                    "requestBody": {
                        "required": True,
                        "description": f"At most {options.max_body_bytes} bytes "
                        f"(--max-body-bytes) and {options.max_request_rows} rows "
                        "(--max-request-rows).",
                        "content": {"application/json": {"schema": body}},
                    },
                    "responses": {
                        "200": _json({"oneOf": [single, batch]}, "scored"),
                        "400": _json(_DETAIL, "malformed JSON or an empty body"),
                        "413": _json(_DETAIL, "the body is larger than --max-body-bytes"),
                        "422": _json(_ERRORS, "the rows do not fit the model's schema"),
                        "500": _json(_DETAIL, "the model failed"),
                        "503": _json(_DETAIL, "no model is loaded"),
                    },
                }
            },
            "/health": {
                "get": {
                    "summary": "Liveness",
                    "operationId": "health",
                    "responses": {"200": _json(status, "the process answers")},
                }
            },
            "/ready": {
                "get": {
                    "summary": "Readiness: a model is loaded",
                    "operationId": "ready",
                    "responses": {
                        "200": _json(status, "a model is loaded"),
                        "503": _json(status, "no model is loaded"),
                    },
                }
            },
            "/metadata": {
                "get": {
                    "summary": "The version being served",
                    "operationId": "metadata",
                    "responses": {
                        "200": _json({"type": "object", "required": ["version"]}, "its metadata"),
                        "503": _json(_DETAIL, "no model is loaded"),
                    },
                }
            },
            "/metrics": {
                "get": {
                    "summary": "Prometheus metrics",
                    "operationId": "metrics",
                    "responses": {
                        "200": {
                            "description": "text exposition format 0.0.4",
                            "content": {"text/plain": {"schema": {"type": "string"}}},
                        }
                    },
                }
            },
        },
        "components": {"schemas": {"Row": row}},
    }
