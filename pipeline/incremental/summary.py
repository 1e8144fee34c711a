"""The manifest's `incremental` block: what an incremental run reused, and from where."""

from __future__ import annotations

from typing import Any

from pipeline.attempt import Run
from pipeline.incremental.prior import PriorJudgments
from pipeline.incremental.recording import Recorded

GENERATIONS_NOTE = (
    "constrained generations (structured and reasoning modes) are judged again each run"
)


def incremental_block(
    run: Run, prior: PriorJudgments | None, recorded: Recorded, requests: int
) -> dict[str, Any] | None:
    """None outside an incremental run; `requests`: the judge requests the run's scores
    stand for (reused ones among them)."""
    earlier = run.earlier
    if earlier is None:
        return None
    reused = recorded.requests_reused
    judged = max(0, requests - reused)
    return {
        "from": earlier.uri,
        "from_run_id": earlier.run_id,
        "rows_matched": prior.rows_matched if prior is not None else 0,
        "rows_reused": recorded.rows_reused,
        "requests_reused": reused,
        "requests_judged": judged,
        "requests_saved_share": round(reused / (reused + judged), 6) if reused + judged else 0.0,
        "nothing_reused_because": earlier.nothing_reused_because,
        "note": GENERATIONS_NOTE if _generates(run) else None,
    }


def _generates(run: Run) -> bool:
    """Whether some judged scorer asks for constrained generations (never reused)."""
    return any(s.generates() for s in run.plan.judged)


def incremental_line(block: dict[str, Any] | None) -> str | None:
    """The one line `rayscore run` prints about it."""
    if block is None:
        return None
    if block["nothing_reused_because"]:
        return (
            f"incremental: nothing reused from {block['from']}: {block['nothing_reused_because']}"
        )
    return (
        f"incremental: {block['requests_reused']} judge requests reused from {block['from']} "
        f"({block['rows_matched']} rows matched), {block['requests_judged']} judged "
        f"({block['requests_saved_share']:.0%} saved)"
    )
