"""What the label queue page offers once labels are saved: the command that runs the job again
on them, calibrated on every reviewer's labels and reusing the run's judgments, into a new run
directory beside this one (nothing here is rewritten)."""

from __future__ import annotations

import os
import shlex

from jobs.review.review_run import ReviewRun

SUFFIX = "-relabelled"


def recalibrate_command(run: ReviewRun) -> str:
    spec_file = run.results.manifest.get("spec_file")
    uri = run.results.uri.rstrip("/")
    words = ["rayscore", "run", _shown(spec_file) if spec_file else "SPEC.yaml"]
    words += ["--annotations", run.store.uri, "--from", uri]
    return shlex.join([*words, "--output", uri + SUFFIX])


def _shown(path: str) -> str:
    """The spec file as the run recorded it (absolute), relative where it is under here."""
    relative = os.path.relpath(path)
    return path if relative.startswith(os.pardir) else relative


def calibrates(run: ReviewRun) -> bool:
    """Whether the run's spec fits a calibration (else the next run only counts the labels)."""
    calibration = run.spec.get("calibration")
    return calibration is not None and not calibration.get("from")
