"""What the label queue page offers once labels are saved: the command that runs the job again
on them, calibrated on every reviewer's labels and reusing the run's judgments, into a new run
directory beside this one (nothing here is rewritten)."""

from __future__ import annotations

import shlex

from jobs.review.review_run import ReviewRun

SUFFIX = "-relabelled"


def recalibrate_command(run: ReviewRun) -> str:
    spec_file = run.results.manifest.get("spec_file") or "SPEC.yaml"
    uri = run.results.uri.rstrip("/")
    words = ["rayscore", "run", spec_file, "--annotations", run.store.uri, "--from", uri]
    return shlex.join([*words, "--output", uri + SUFFIX])


def calibrates(run: ReviewRun) -> bool:
    """Whether the run's spec fits a calibration (else the next run only counts the labels)."""
    calibration = run.spec.get("calibration")
    return calibration is not None and not calibration.get("from")
