"""`rayscore report`: the terminal tables, the HTML page and its plots, --compare, and the page
opened in headless Chromium. Two real runs on a real local Ray cluster, judged by a fake
OpenAI-compatible server (named as such): the report is checked, not the judge."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fake_openai_server import FakeOpenAIServer, Reply, fake_judge_job

from jobs.cli import main
from jobs.report_calibration import NO_CALIBRATION, calibration_parts
from jobs.report_data import collect_report
from jobs.report_histograms import BIMODAL_ABOVE, bimodality_coefficient
from jobs.report_html import reliability_section
from jobs.report_reliability import LabelledItems
from pipeline.runner import run_job
from pipeline.spec_loader import parse_spec
from scorers.calibration import in_holdout

N_ROWS = 20
NULL_ROW = 4  # its response is null: an error in its row, no items
GOOD, CONCISE = "Is the response good?", "Is the response concise?"
# Log-probs of the fake vocabulary's yes tokens (10..13) and no tokens (20..22).
SAYS_YES = {10: -0.2, 11: -1.0, 12: -4.0, 13: -5.0, 20: -3.0, 21: -2.5, 22: -4.0}  # P(yes) .89
SAYS_NO = {10: -3.0, 11: -2.5, 12: -4.0, 13: -5.0, 20: -0.2, 21: -1.0, 22: -4.0}  # P(yes) .12
# Any other prompt gets the fake server's default log-probs: P(yes) .41, "unsure", answer "no".
CHROMIUM_TIMEOUT_S = 90


def kind(row: int) -> str:
    return ("poor", "great", "fair")[row % 3]


def pass_rate_of_good() -> float:
    scored = [n for n in range(N_ROWS) if n != NULL_ROW]
    return sum(kind(n) == "great" for n in scored) / len(scored)


def make_run(folder: Path, concise_answer: dict[int, float], labelled: bool) -> str:
    """One checklist run over N_ROWS; `labelled` adds human labels, a `model` column and a
    metric grouped by it, so the other run shows the report without them."""
    ids = [f"r{n}" for n in range(N_ROWS)]
    responses = [None if n == NULL_ROW else f"a {kind(n)} answer {n}" for n in range(N_ROWS)]
    columns = {"id": ids, "response": responses, "model": ["m1", "m2"] * (N_ROWS // 2)}
    pq.write_table(pa.table(columns), folder / "in.parquet")
    with FakeOpenAIServer() as server:
        server.on(Reply(match=CONCISE, token_logprobs=concise_answer))
        server.on(Reply(match="great", token_logprobs=SAYS_YES))
        server.on(Reply(match="poor", token_logprobs=SAYS_NO))
        raw = fake_judge_job(
            str(folder / "in.parquet"), str(folder / "run"), server.url, batch_size=4
        )
        scorer = raw["definition"]["scorers"][0]
        scorer["checklist"] = [
            {"question": GOOD, "weight": 100},
            {"question": CONCISE, "weight": 40},
        ]
        if labelled:  # humans say yes to the great and the fair answers
            verdicts = ["no" if kind(n) == "poor" else "yes" for n in range(N_ROWS)]
            labels = pa.table({"id": ids, "name": ["q.item_0"] * N_ROWS, "value": verdicts})
            pq.write_table(labels, folder / "labels.parquet")
            raw["annotations"] = {"path": str(folder / "labels.parquet")}
            raw["input"]["passthrough_columns"] = ["model"]
            scorer["metrics"] = [{"type": "mean", "field": "primary_score", "group_by": ["model"]}]
        return run_job(parse_spec(raw)).run_dir


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, ray_cluster: None) -> tuple[str, str]:
    """(labelled run where the judge says "no" to CONCISE, unlabelled run where it says yes)."""
    base = make_run(tmp_path_factory.mktemp("base"), SAYS_NO, labelled=True)
    other = make_run(tmp_path_factory.mktemp("other"), SAYS_YES, labelled=False)
    return base, other


def section(output: str, title: str) -> list[list[str]]:
    """The rows of the terminal table under `title`, as lists of cell texts."""
    block = next(b for b in output.split("\n\n") if b.lstrip("\n").startswith(title))
    return [
        [cell.strip() for cell in re.split("[│┆]", line)[1:-1]]
        for line in block.splitlines()
        if line.startswith("│")
    ]


@pytest.mark.ray
def test_report_prints_pass_rates_costly_items_errors_and_writes_the_page(runs, tmp_path, capsys):
    base, _ = runs
    page = tmp_path / "report.html"
    assert main(["report", base, "--html", str(page)]) == 0
    out = capsys.readouterr().out

    header, *rows = section(out, "per-item pass rates")
    by_question = {row[header.index("question")]: row for row in rows}
    assert by_question[GOOD][header.index("pass_rate")] == f"{pass_rate_of_good():.3f}"
    assert by_question[CONCISE][header.index("pass_rate")] == "0.000"
    assert by_question[GOOD][header.index("scored")] == str(N_ROWS - 1)

    header, *rows = section(out, "items that lose the most points")
    assert [row[header.index("question")] for row in rows] == [GOOD, CONCISE]
    points = header.index("points_lost")
    assert rows[0][points] == f"{100 * (1 - pass_rate_of_good()):.3f}"
    assert rows[1][points] == "40.000"

    assert f"rows: {N_ROWS} in, {N_ROWS} out, 1 with an error" in out
    assert section(out, "errors by reason")[1] == ["q: 'response' is null", "1"]
    header, masses = section(out, "label mass")  # one judged scorer: one row
    assert masses[header.index("answers")] == str(2 * (N_ROWS - 1))  # every item's
    assert masses[header.index("under_min")] == "0"
    header, *rows = section(out, "agreement with human labels")
    assert {row[header.index("level")] for row in rows} == {"score", "scorer", "overall"}
    header, *rows = section(out, "mean primary score per group")
    assert {row[header.index("group")] for row in rows} == {"m1", "m2"}
    assert f"html report: {page.resolve()}" in out

    html = page.read_text()
    for heading in (
        "Metrics",
        "Errors",
        "Score distributions",
        "Label mass",
        "Per-item pass rates",
        "Items that lose the most points",
        "Confidence levels",
        "Reliability",
        "Groups",
        "Agreement with human labels",
    ):
        assert f">{heading}</h2>" in html
    assert (
        html.count("<svg") == 6
    )  # histograms, label mass, pass rates, levels, reliability, groups
    assert "before calibration" in html and "after calibration" not in html
    assert f"all {N_ROWS - 1} labelled items" in html
    assert "<script" not in html
    assert not re.search(r"""(src|href)=["'](https?:)?//""", html), "an external URL"


@pytest.mark.ray
def test_compare_shows_the_diff_of_the_two_runs(runs, tmp_path, capsys):
    base, other = runs
    page = tmp_path / "compare.html"
    assert main(["report", base, "--compare", other, "--html", str(page)]) == 0
    out = capsys.readouterr().out
    header, *rows = section(out, f"changes from {base} (A) to {other} (B)")
    shown = {row[header.index("question")]: row for row in rows}
    change = {question: row[header.index("change")] for question, row in shown.items()}
    assert change == {"(primary score)": change["(primary score)"], CONCISE: "1.000", GOOD: "0.000"}
    assert shown[CONCISE][header.index("flag")] == "exceeds noise"
    assert shown[GOOD][header.index("flag")] == ""
    assert shown[GOOD][header.index("both/A/B")] == f"{N_ROWS - 1}/0/0"
    html = page.read_text()
    assert f"Compared with {other}</h2>" in html and html.count("<svg") == 7
    assert "95% CI</th>" in html and "exceeds noise</td>" in html


@pytest.mark.ray
def test_a_run_without_labels_or_groups_says_so(runs, tmp_path, capsys):
    _, other = runs
    page = tmp_path / "plain.html"
    assert main(["report", other, "--html", str(page)]) == 0
    assert "no annotations in this run" in capsys.readouterr().out
    html = page.read_text()
    assert "no annotations in this run for checklist items" in html
    assert "no group_by in the metrics and no model column" in html


@pytest.mark.ray
def test_a_calibrated_run_shows_its_held_out_items_only(runs, tmp_path):
    base, _ = runs
    copy = tmp_path / "run"
    shutil.copytree(base, copy)
    (copy / "calibration.json").write_text(json.dumps({"holdout": 0.5}))
    labelled = collect_report(str(copy)).labelled
    assert labelled is not None
    ids = [f"r{n}" for n in range(N_ROWS) if n != NULL_ROW]
    held_out = {i for i, kept in zip(ids, in_holdout(ids, 0.5), strict=True) if kept}
    assert 0 < len(held_out) < len(ids)
    assert set(labelled.frame["sample_id"]) == held_out
    assert labelled.note.startswith(f"{len(held_out)} held-out labelled items")


CALIBRATION_FILE = {
    "method": "isotonic",
    "holdout": 0.5,
    "calibrators": {},
    "composite": {
        "coef": [2.5, -0.75],
        "intercept": -1.0,
        "n": 9,
        "scorer": "q",
        "label": "q.overall",
        "column": "q_composite",
    },
    "report": {
        "q.item_0": {
            "n_fit": 9,
            "n_holdout": 8,
            "before": {"ece": 0.213, "brier": 0.187},
            "after": {"ece": 0.057, "brier": 0.121},
        },
        "q.item_1": {"n_fit": 3, "skipped": "too few labels to fit"},
        "overall": {
            "n_fit": 9,
            "n_holdout": 8,
            "before": {"ece": 0.213, "brier": 0.187},
            "after": {"ece": 0.057, "brier": 0.121},
        },
        "composite": {
            "n_fit": 9,
            "n_holdout": 8,
            "composite": {
                "n": 8,
                "skipped": 0,
                "spearman": 0.811,
                "kendall": 0.702,
                "roc_auc": 0.938,
                "accuracy_at_0_5": 0.875,
                "brier": 0.094,
            },
            "weighted_score": {
                "n": 8,
                "skipped": 0,
                "spearman": 0.522,
                "kendall": 0.431,
                "roc_auc": 0.719,
                "accuracy_at_0_5": 0.625,
                "brier": 0.246,
            },
            "weights": {GOOD: 2.5, CONCISE: -0.75},
        },
    },
}


@pytest.mark.ray
def test_a_calibrated_run_shows_before_after_and_the_composite(runs, tmp_path, capsys):
    base, _ = runs
    copy, page = tmp_path / "run", tmp_path / "calibrated.html"
    shutil.copytree(base, copy)
    (copy / "calibration.json").write_text(json.dumps(CALIBRATION_FILE))
    assert main(["report", str(copy), "--html", str(page)]) == 0
    out = capsys.readouterr().out

    assert "fitted on labelled samples outside the holdout; measured on the held-out ones" in out
    header, *rows = section(out, "calibration (isotonic, holdout 0.5): ECE and Brier")
    by_name = {row[header.index("name")]: dict(zip(header, row, strict=True)) for row in rows}
    assert list(by_name) == ["q.item_0", "q.item_1", "overall"]
    assert [by_name["overall"][c] for c in ("ece_before", "ece_after")] == ["0.213", "0.057"]
    assert [by_name["overall"][c] for c in ("brier_before", "brier_after")] == ["0.187", "0.121"]
    assert by_name["q.item_1"]["skipped"] == "too few labels to fit"

    header, *rows = section(out, "composite q_composite vs weighted_score, predicting q.overall")
    by_score = {row[0]: dict(zip(header, row, strict=True)) for row in rows}
    assert [by_score[s]["roc_auc"] for s in ("composite", "weighted_score")] == ["0.938", "0.719"]
    assert [by_score[s]["brier"] for s in ("composite", "weighted_score")] == ["0.094", "0.246"]
    header, *rows = section(out, "composite weights of q_composite")
    assert rows == [[GOOD, "2.500"], [CONCISE, "-0.750"]]

    html = page.read_text()
    assert html.index(">Reliability</h2>") < html.index(">Calibration</h2>")
    calibration = html[html.index(">Calibration</h2>") :]
    assert "<td>0.213</td><td>0.057</td>" in calibration and "<td>0.938</td>" in calibration


def test_the_calibration_section_says_so_without_a_file_or_a_composite(tmp_path):
    [missing] = calibration_parts(str(tmp_path))
    assert missing.note == NO_CALIBRATION and missing.table is None
    skipped = {"n_fit": 3, "skipped": "too few labels to fit"}
    stored = {
        "method": "platt",
        "holdout": 0.3,
        "composite": None,
        "report": {"composite": skipped},
    }
    (tmp_path / "calibration.json").write_text(json.dumps(stored))
    calibrators, composite = calibration_parts(str(tmp_path))
    assert calibrators.title.startswith("calibration (platt, holdout 0.3)")
    assert calibrators.table is None
    assert composite.table is None
    assert composite.note == "no composite: too few labels to fit (3 usable labels)"


def test_reliability_draws_the_calibrated_curve_only_when_there_is_one():
    frame = pl.DataFrame(
        {
            "sample_id": ["a", "b", "c", "d"],
            "name": ["q.item_0"] * 4,
            "human": [True, False, True, True],
            "confidence": [0.95, 0.85, 0.15, 0.55],
            "calibrated_confidence": [0.9, 0.4, 0.6, 0.7],
        }
    )
    calibrated = "".join(reliability_section(LabelledItems(frame, "4 items")))
    assert "before calibration" in calibrated and "after calibration" in calibrated
    raw = frame.with_columns(pl.lit(None, pl.Float64).alias("calibrated_confidence"))
    uncalibrated = "".join(reliability_section(LabelledItems(raw, "4 items")))
    assert "after calibration" not in uncalibrated
    assert "raw confidences only" in uncalibrated


def test_the_bimodality_coefficient_tells_two_modes_from_one():
    def coefficient(values: np.ndarray) -> float | None:
        series = pl.Series(values)
        return bimodality_coefficient(
            series.skew(bias=False), series.kurtosis(bias=False), len(values)
        )

    rng = np.random.default_rng(0)
    one_mode = rng.normal(0.5, 0.1, 500)
    two_modes = np.concatenate([rng.normal(0.1, 0.05, 250), rng.normal(0.9, 0.05, 250)])
    assert (coefficient(one_mode) or 0) < BIMODAL_ABOVE < (coefficient(two_modes) or 0)
    assert coefficient(np.full(10, 0.5)) is None


def open_in_chromium(page: Path, screenshot: Path) -> list[str]:
    """Open `page` in headless Chromium and save a screenshot; the console messages logged.

    Chromium runs in its own process group, which is killed afterwards: it leaves helper
    processes (zygote, GPU, utility) that would otherwise outlive the test."""
    chromium = shutil.which("chromium")
    assert chromium, "no chromium on PATH: `make browser` installs it (apt-get install chromium)"
    command = [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--enable-logging=stderr",  # prints the page's console messages (the control shows)
        f"--user-data-dir={screenshot.parent / 'chromium-profile'}",  # not ~/.config's, shared
        f"--screenshot={screenshot}",
        "--window-size=1280,2400",
        page.as_uri(),
    ]
    browser = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        log, _ = browser.communicate(timeout=CHROMIUM_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(browser.pid, signal.SIGKILL)
        browser.communicate()
        pytest.fail(f"chromium did not finish {page} in {CHROMIUM_TIMEOUT_S}s")
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(browser.pid, signal.SIGKILL)
    # console.log and console.error alike arrive as "INFO:CONSOLE..." lines
    return [line for line in log.splitlines() if ":CONSOLE" in line]


@pytest.mark.ray
def test_the_page_renders_in_headless_chromium_without_console_errors(runs, tmp_path):
    import matplotlib.image

    control = tmp_path / "control.html"
    control.write_text("<html><body><script>console.error('control-message')</script></body>")
    assert any(
        "control-message" in line for line in open_in_chromium(control, tmp_path / "control.png")
    ), "chromium's console messages are not being captured: the check below would be blind"

    base, other = runs
    page, screenshot = tmp_path / "report.html", tmp_path / "report.png"
    assert main(["report", base, "--compare", other, "--html", str(page)]) == 0
    assert open_in_chromium(page, screenshot) == []
    assert screenshot.exists(), "chromium wrote no screenshot"
    pixels = (matplotlib.image.imread(screenshot)[..., :3] * 255).astype(np.uint32)
    assert pixels.shape[:2] == (2400, 1280)
    colours = np.unique(pixels[..., 0] << 16 | pixels[..., 1] << 8 | pixels[..., 2])
    not_white = (pixels.min(axis=-1) < 250).mean()
    assert len(colours) > 50 and not_white > 0.02, (len(colours), not_white)
