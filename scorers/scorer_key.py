"""Scorer keys name output columns: identifiers, and never a column the pipeline writes."""

import re

KEY_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
RESERVED_COLUMNS = frozenset({"error"})


def check_scorer_key(key: str) -> None:
    if not KEY_PATTERN.match(key):
        raise ValueError(f"key {key!r} must be an identifier ([A-Za-z_][A-Za-z0-9_]*)")
    if key in RESERVED_COLUMNS:
        raise ValueError(f"key {key!r} is reserved for the output's error column")
