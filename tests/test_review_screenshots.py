"""`python -m jobs.review.screenshots RUN OUT`: a PNG of each page of the review app, taken in
headless chromium on a hand-made finished run, which it leaves as it was."""

from __future__ import annotations

from pathlib import Path

from review_runs import confidence, make_run

from jobs.review.review_run import open_review
from jobs.review.screenshots import pages, take_screenshots

PNG = b"\x89PNG\r\n\x1a\n"


def test_the_sample_shown_is_the_lowest_scored_one_without_an_error(tmp_path):
    make_run(tmp_path / "run")
    shown = pages(open_review(str(tmp_path / "run")))
    assert set(shown) == {"review-samples", "review-sample", "review-queue", "review-overview"}
    sample = shown["review-sample"].removeprefix("/samples/")
    assert sample != "r5"  # row 5 has an error
    yes_share = {  # the hand-made run's primary score: the share of "yes"
        n: sum(confidence(n, i) >= 0.5 for i in range(3)) / 3 for n in range(120) if n != 5
    }
    assert yes_share[int(sample[1:])] == min(yes_share.values())


def test_each_page_is_a_png_and_the_run_is_only_read(tmp_path):
    run = tmp_path / "run"
    make_run(run)
    before = sorted(p.relative_to(run) for p in run.rglob("*"))
    written = take_screenshots(str(run), tmp_path / "shots")
    assert sorted(p.name for p in written) == [
        "review-overview.png",
        "review-queue.png",
        "review-sample.png",
        "review-samples.png",
    ]
    for path in written:
        assert Path(path).read_bytes()[:8] == PNG and path.stat().st_size > 5_000
    assert sorted(p.relative_to(run) for p in run.rglob("*")) == before
