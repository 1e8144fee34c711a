"""JSON answers from endpoints without a grammar: the schema put in the prompt, and the JSON
object found in a reply that wraps it in code fences or surrounding text."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


def with_schema(prompt: str, schema: Mapping[str, Any]) -> str:
    """The prompt asking for JSON that matches `schema` (the seed's fallback when the
    provider has no JSON schema enforcement)."""
    return (
        f"{prompt}\n\nRespond with only a JSON object that matches this JSON schema, and "
        f"nothing else:\n{json.dumps(schema, separators=(',', ':'))}"
    )


def json_object_in(text: str) -> str | None:
    """The first complete JSON object in `text` (inside fences or prose), or None."""
    decoder = json.JSONDecoder(strict=False)
    start = text.find("{")
    while start != -1:
        try:
            payload, end = decoder.raw_decode(text, start)
        except json.JSONDecodeError:
            start = text.find("{", start + 1)
            continue
        if isinstance(payload, dict):
            return text[start:end]
        start = text.find("{", end)
    return None


def refuses_response_format(status: int | None, reason: str) -> bool:
    """A 400 (or 422) that names the parameter: the provider has no JSON schema support."""
    lowered = reason.lower()
    return status in (400, 422) and any(
        word in lowered for word in ("response_format", "json_schema", "response format")
    )
