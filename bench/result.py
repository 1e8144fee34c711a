"""The one JSON line every benchmark prints last."""

from __future__ import annotations

import json
import platform
from typing import Any, Literal


def machine() -> str:
    import os

    return f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}"


def print_result(
    bench: str,
    value: float,
    target: float,
    better: Literal["lower", "higher"],
    unit: str,
    peer: dict[str, Any],
    **details: Any,
) -> None:
    met = value <= target if better == "lower" else value >= target
    line = {
        "bench": bench,
        "value": round(value, 4),
        "target": target,
        "better": better,
        "unit": unit,
        "met": met,
        "peer": peer,
        "machine": machine(),
        **details,
    }
    print(json.dumps(line), flush=True)
