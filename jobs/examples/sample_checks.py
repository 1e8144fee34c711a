from __future__ import annotations

import json
import re
from typing import Any

MAX_WORDS = int("<< config.max_words >>")
NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def normalized(text: str) -> str:
    return " ".join(text.lower().split()).rstrip(".")


def is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def compute_score(sample: dict[str, Any]) -> dict[str, Any]:
    response = sample["response"]
    if response is None:
        raise ValueError("the sample has no response")
    words = len(response.split())
    return {
        "scores": {
            "exact_match": normalized(response) == normalized(sample["reference"]),
            "word_count": words,
            "within_length": words <= MAX_WORDS,
            "valid_json": is_json(response),
        },
        "metadata": {"numbers": NUMBER.findall(response)},
    }
