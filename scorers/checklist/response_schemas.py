"""The seed's response schemas as JSON Schema, for endpoints that take `response_format` or
that get the schema in the prompt: ItemScoringResponse ({answer}), ItemScoringResponseReasoned
({reasoning, answer}), BatchScoringResponse ({answers: [{question_index, answer}]}) and
BatchScoringResponseReasoned (each answer with its reasoning). Field order is the grammar's.
"""

from __future__ import annotations

from typing import Any

_ANSWER = {"type": "string", "enum": ["yes", "no"]}
_REASONING = {"type": "string"}


def _object(name: str, properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "title": name,
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


def item_schema(reasoning: bool) -> dict[str, Any]:
    if reasoning:
        return _object("ItemScoringResponseReasoned", {"reasoning": _REASONING, "answer": _ANSWER})
    return _object("ItemScoringResponse", {"answer": _ANSWER})


def batch_schema(reasoning: bool) -> dict[str, Any]:
    fields: dict[str, Any] = {"question_index": {"type": "integer"}, "answer": _ANSWER}
    if reasoning:
        fields["reasoning"] = _REASONING
    name = "BatchScoringResponseReasoned" if reasoning else "BatchScoringResponse"
    answer = _object("Answer", fields)
    return _object(name, {"answers": {"type": "array", "items": answer}})
