"""What a run's manifest says the judge's context did, in a line per scorer it touched."""

from __future__ import annotations

from typing import Any


def context_lines(manifest: dict[str, Any]) -> list[str]:
    lines = []
    for key, counts in manifest.get("context", {}).items():  # a run from before has none
        if counts.get("truncated_rows"):
            lines.append(
                f"context: {key}: {counts['truncated_rows']} rows cut to fit (truncate), "
                f"{counts['truncated_tokens']} tokens dropped"
            )
        if counts.get("rows_too_long"):
            lines.append(
                f"context: {key}: {counts['rows_too_long']} rows ({counts['items_too_long']} "
                "items) unscored: prompt longer than the judge's max_model_len "
                "(a `truncate` on the scorer would cut them to fit)"
            )
    return lines
