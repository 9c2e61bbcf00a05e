"""Check a response against jupyter_kf/server/openapi.yaml (the document the handlers promise)."""

from __future__ import annotations

import copy
import json
import re
from functools import lru_cache
from typing import Any

import jsonschema
import yaml

from jupyter_kf.server.handlers import OPENAPI_FILE


@lru_cache(maxsize=1)
def document() -> dict[str, Any]:
    return yaml.safe_load(OPENAPI_FILE.read_text())


def _json_schema(node: Any) -> Any:
    """OpenAPI 3.0 schema -> JSON Schema: ``nullable: true`` becomes ``anyOf [..., null]``."""
    if isinstance(node, list):
        return [_json_schema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _json_schema(v) for k, v in node.items() if k not in ("nullable", "example")}
    if node.get("nullable"):
        return {"anyOf": [out, {"type": "null"}]}
    return out


@lru_cache(maxsize=1)
def _components() -> dict[str, Any]:
    return _json_schema(copy.deepcopy(document()["components"]))


def route_of(path: str) -> str:
    """The document's path template that ``path`` (no query, no base_url) matches."""
    for template in document()["paths"]:
        pattern = "^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "/?$"
        if re.match(pattern, path):
            return template
    raise AssertionError(f"{path} is not in openapi.yaml")


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        _, _, section, name = node["$ref"].split("/")
        node = document()["components"][section][name]
    return node


def check(method: str, path: str, status: int, headers: Any, body: bytes) -> None:
    """Fail unless the document lists this status for this operation and the body fits it."""
    operation = document()["paths"][route_of(path)].get(method.lower())
    assert operation is not None, f"{method} {path} is not documented"
    responses = operation["responses"]
    assert str(status) in responses, (
        f"{method} {path} answered {status}, which openapi.yaml does not list "
        f"({sorted(responses)}): {body[:300]!r}"
    )
    response = _resolve(responses[str(status)])
    for name in response.get("headers", {}):
        assert headers.get(name), f"{method} {path} {status}: no {name} header"
    content = response.get("content")
    if not content:
        assert not body, f"{method} {path} {status} should have no body"
        return
    media, spec = next(iter(content.items()))
    assert headers.get("Content-Type", "").startswith(media), (
        f"{method} {path} {status}: Content-Type {headers.get('Content-Type')}, not {media}"
    )
    if media != "application/json":
        return
    schema = {**_json_schema(spec["schema"]), "components": _components()}
    jsonschema.validate(json.loads(body) if body else None, schema, cls=jsonschema.Draft7Validator)
