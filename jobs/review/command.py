"""`rayscore review RUN`: the run in the browser, labels saved to RUN/annotations/."""

from __future__ import annotations

from jobs.storage_options_flag import parse_storage_options


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

    options = parse_storage_options(storage_options)
    run = open_review(run_dir, compare, author or default_author(), options)
    server = ReviewServer(run, host, port)
    print(f"rayscore review: {run_dir} (labels go to {run.store.uri}, as {run.author})")
    print(f"open {server.url}")
    print(f"next run: annotations: {{path: {run.store.uri}}} calibrates on them (Ctrl-C stops)")
    server.serve_forever()
    return 0
