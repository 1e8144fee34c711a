"""`rayscore diff RUN_A RUN_B`: what changed between two finished runs, and whether it is more
than noise. Also the compare section of `rayscore report --compare`."""

from jobs.diff.run_diff import RunDiff, diff_runs, regressions

__all__ = ["RunDiff", "diff_runs", "regressions"]
