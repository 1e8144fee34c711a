"""The `--storage-options` flag that `review`, `report` and `diff` take: fsspec's options for
the runs they read, as JSON or the path of a file holding it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FLAG_HELP = "fsspec options for the runs (as open_run takes them): JSON or a file holding it"


def parse_storage_options(given: str | None) -> dict[str, Any]:
    """The options as a dict ({} when none are given), or a ValueError naming the flag."""
    if not given:
        return {}
    text = given
    if not given.lstrip().startswith("{"):
        if not Path(given).is_file():
            raise ValueError(f"--storage-options: {given!r} is neither a JSON object nor a file")
        text = Path(given).read_text()
    try:
        options = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"--storage-options: not JSON ({exc})") from None
    if not isinstance(options, dict):
        raise ValueError("--storage-options: a JSON object is needed")
    return options
