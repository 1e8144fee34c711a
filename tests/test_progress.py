"""Progress in job logs: rows done of the total, judgments/s, errors and time left."""

from __future__ import annotations

import io
import re

from pipeline.progress import Progress
from pipeline.summary import error_reasons


def test_a_log_line_says_rows_rate_errors_and_time_left():
    log = io.StringIO()
    progress = Progress(total=200, stream=log, every_s=0.0)
    progress.update(rows=50, errored=2, judgments=100)
    progress.update(rows=50, errored=0, judgments=100)
    lines = log.getvalue().splitlines()
    assert len(lines) == 2
    assert re.fullmatch(
        r"rayscore: 100/200 rows \(50%\), [\d.]+ judgments/s, 2 with errors, \d+s left", lines[1]
    )


def test_no_line_before_the_interval_has_passed():
    log = io.StringIO()
    progress = Progress(total=10, stream=log, every_s=3600.0)
    progress.update(rows=5, errored=0, judgments=5)
    assert log.getvalue() == ""
    progress.close()
    assert "5/10 rows" in log.getvalue()


def test_error_reasons_count_rows_and_fold_numbers():
    reasons = error_reasons(
        ["q: 'response' is null", None, "q: 'response' is null; acc.x: 1.5 is outside [0, 1]",
         "acc.x: 2.5 is outside [0, 1]"]
    )  # fmt: skip
    assert reasons["q: 'response' is null"] == 2
    assert reasons["acc.x: # is outside [#, #]"] == 2
