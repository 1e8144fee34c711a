"""Screenshots of the review app's pages (samples, a sample, the label queue, the overview) on
a finished run, for the README: the app served on a free local port, opened in headless
chromium by Playwright. Nothing is labelled, so the run is only read.

    python -m jobs.review.screenshots runs/demo docs/
"""

from __future__ import annotations

import argparse
from pathlib import Path

from jobs.review.review_run import ReviewRun, open_review
from jobs.review.samples_query import SamplesQuery, samples_page
from jobs.review.server import ReviewServer

CHROMIUM = "/usr/bin/chromium"  # Debian's
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
VIEWPORT = {"width": 1280, "height": 860}
TIMEOUT_MS = 30_000


def pages(run: ReviewRun) -> dict[str, str]:
    """Screenshot name -> the path it shows; the sample is the lowest-scored one without an
    error (the one a reviewer opens to see why it lost points)."""
    keys = run.score_keys()
    query = SamplesQuery(
        per_page=1, sort=keys[0] if keys else None, error="without" if run.has_errors() else None
    )
    first = samples_page(run, query).rows
    sample = str(first[0][run.id_col]) if first else None
    shown = {"review-samples": "/samples", "review-queue": "/queue", "review-overview": "/overview"}
    if sample is not None:
        shown["review-sample"] = f"/samples/{sample}"
    return shown


def take_screenshots(run_dir: str, out: Path) -> list[Path]:
    from playwright.sync_api import sync_playwright

    run = open_review(run_dir, author="screenshots")
    server = ReviewServer(run)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    server.start()
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                page = browser.new_page(viewport=VIEWPORT)  # type: ignore[arg-type]
                page.set_default_timeout(TIMEOUT_MS)
                page.goto(server.url)  # the token, then the cookie for the other pages
                for name, path in pages(run).items():
                    page.goto(server.base_url + path)
                    page.wait_for_load_state("networkidle")
                    target = out / f"{name}.png"
                    page.screenshot(path=str(target))
                    written.append(target)
            finally:
                browser.close()
    finally:
        server.stop()
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("run_dir", help="a finished run (the demo's: runs/demo)")
    parser.add_argument("out", help="folder the PNGs are written to (docs/)")
    args = parser.parse_args()
    for path in take_screenshots(args.run_dir, Path(args.out)):
        print(f"{path} ({path.stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    main()
