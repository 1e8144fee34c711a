"""`rayscore review RUN`: the run in the browser, labels saved to RUN/annotations/."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def review_command(
    run_dir: str,
    compare: str | None,
    host: str,
    port: int,
    author: str | None,
    storage_options: str | None,
) -> int:
    from jobs.review.review_run import open_review
    from jobs.review.server import ReviewServer
    from pipeline.annotations.labels_store import default_author

    run = open_review(run_dir, compare, author or default_author(), parse_options(storage_options))
    server = ReviewServer(run, host, port)
    print(f"rayscore review: {run_dir} (labels go to {run.store.uri}, as {run.author})")
    print(f"open {server.url}")
    print(f"next run: annotations: {{path: {run.store.uri}}} calibrates on them (Ctrl-C stops)")
    server.serve_forever()
    return 0


def parse_options(given: str | None) -> dict[str, Any]:
    """--storage-options: JSON, or a file holding it."""
    if not given:
        return {}
    text = Path(given).read_text() if not given.lstrip().startswith("{") else given
    try:
        options = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"--storage-options: not JSON ({exc})") from None
    if not isinstance(options, dict):
        raise ValueError("--storage-options: a JSON object is needed")
    return options
