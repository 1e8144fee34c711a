"""`rayscore diff` on hand-made finished runs (tests/finished_runs.py): the join on id and
question text, the paired bootstrap interval, flips, confidence shift, the noise flag with and
without a variance result, the exit code, --json and calibration drift."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from finished_runs import item, write_finished_run

from jobs.cli import main
from jobs.diff import diff_runs, regressions
from jobs.diff.intervals import mean_change_interval
from jobs.diff.noise import noise_floors
from jobs.diff.pairing import compared_item_indices, item_pairs, items_changed, paired_items
from pipeline.results import open_run

GOOD, SHORT, POLITE = "Is it good?", "Is it short?", "Is it polite?"
REWORDED_POLITE = "Is it polite and kind?"


def samples(
    ids: range, answers: Callable[[int], list[str]], questions: list[str]
) -> dict[str, list[dict[str, object]]]:
    return {
        f"r{n}": [
            item(i, q, a, 0.9 if a == "yes" else 0.2)
            for i, (q, a) in enumerate(zip(questions, answers(n), strict=True))
        ]
        for n in ids
    }


@pytest.fixture
def two_runs(tmp_path: Path) -> tuple[str, str]:
    """A: rows r0..r19, every answer good=yes short=no polite=yes. B: rows r5..r24; short says
    yes on even rows; polite is reworded and says no everywhere; good is unchanged."""
    a = write_finished_run(
        tmp_path / "a", samples(range(20), lambda n: ["yes", "no", "yes"], [GOOD, SHORT, POLITE])
    )
    b = write_finished_run(
        tmp_path / "b",
        samples(
            range(5, 25),
            lambda n: ["yes", "yes" if n % 2 == 0 else "no", "no"],
            [GOOD, SHORT, REWORDED_POLITE],
        ),
        run_id="run-2",
    )
    return a, b


def row(table: pl.DataFrame, item: int | None) -> dict[str, object]:
    chosen = table.filter(pl.col("item").is_null() if item is None else pl.col("item") == item)
    assert chosen.height == 1, chosen
    return chosen.row(0, named=True)


def test_rows_are_joined_on_id_per_scorer_and_item(two_runs):
    table = diff_runs(open_run(two_runs[0]), open_run(two_runs[1])).table
    assert table.height == 4  # the primary score and three items
    for index in (None, 0, 1, 2):
        counts = row(table, index)
        assert (counts["rows_both"], counts["only_a"], counts["only_b"]) == (15, 5, 5)


def test_a_reworded_item_is_paired_by_index_and_flagged(two_runs):
    table = diff_runs(open_run(two_runs[0]), open_run(two_runs[1])).table
    polite = row(table, 2)
    assert polite["reworded"] and polite["exceeds_noise"]
    assert (polite["question_a"], polite["question"]) == (POLITE, REWORDED_POLITE)
    assert polite["change"] == -1.0 and polite["flipped"] == 1.0
    good = row(table, 0)
    assert not good["reworded"] and not good["exceeds_noise"]
    assert (good["change"], good["low"], good["high"], good["flipped"]) == (0.0, 0.0, 0.0, 0.0)


def test_items_join_on_question_text_not_position(tmp_path):
    a = write_finished_run(
        tmp_path / "a", samples(range(6), lambda n: ["yes", "no"], [GOOD, SHORT])
    )
    b = write_finished_run(
        tmp_path / "b",
        samples(range(6), lambda n: ["no", "yes", "no"], ["A new question?", GOOD, SHORT]),
    )
    table = diff_runs(open_run(a), open_run(b)).table.filter(pl.col("item").is_not_null())
    by_question = {r["question"]: r for r in table.iter_rows(named=True)}
    assert by_question[GOOD]["item"] == 1 and by_question[GOOD]["change"] == 0.0
    assert by_question[SHORT]["change"] == 0.0 and not by_question[SHORT]["reworded"]
    new = by_question["A new question?"]
    assert (new["rows_both"], new["only_b"], new["change"]) == (0, 6, None)


def test_the_interval_is_a_seeded_paired_bootstrap_of_the_differences(two_runs):
    short = row(diff_runs(open_run(two_runs[0]), open_run(two_runs[1])).table, 1)
    differences = np.array([1.0 if n % 2 == 0 else 0.0 for n in range(5, 20)])
    assert short["change"] == pytest.approx(differences.mean())
    assert (short["low"], short["high"]) == mean_change_interval(np.sort(differences))
    assert 0 < short["low"] < short["change"] < short["high"] < 1
    assert short["exceeds_noise"]
    assert short["flipped"] == pytest.approx(differences.mean())
    assert short["confidence_shift"] == pytest.approx(0.7 * differences.mean())
    assert mean_change_interval(np.array([0.5])) == (None, None)


def test_a_variance_floor_decides_what_is_noise(two_runs, tmp_path):
    short_change = 7 / 15  # the even rows of r5..r19
    spread = pl.DataFrame(
        {
            "scorer": ["quality", "quality"],
            "item": [1, 2],
            "repeat_max_abs_diff": [0.0, 0.0],
            "paraphrase_range": [0.6, 0.1],  # above short's change; below polite's
            "answer_flip_rate": [0.2, None],
        }
    )
    spread.write_json(tmp_path / "variance.json")
    floors = noise_floors(str(tmp_path / "variance.json"))
    table = diff_runs(open_run(two_runs[0]), open_run(two_runs[1]), floors).table
    short, polite = row(table, 1), row(table, 2)
    assert short["change"] == pytest.approx(short_change) and short["noise_floor"] == 0.6
    assert not short["exceeds_noise"]
    assert polite["exceeds_noise"] and polite["noise_floor"] == 0.1
    assert row(table, None)["noise_floor"] is None  # not in the variance result: the interval


def test_a_variance_file_without_its_columns_is_named(tmp_path):
    bad = tmp_path / "not-variance.json"
    bad.write_text(json.dumps([{"scorer": "quality", "mean": 0.5}]))
    with pytest.raises(ValueError, match=r"not-variance.json: no column item"):
        noise_floors(str(bad))
    bad.write_text("{oops")
    with pytest.raises(ValueError, match=r"not-variance.json: not a `rayscore variance --json`"):
        noise_floors(str(bad))


def test_fail_on_regression_exits_1_only_for_a_drop_beyond_the_noise(two_runs, capsys):
    a, b = two_runs
    assert main(["diff", a, b]) == 0
    assert main(["diff", a, b, "--fail-on-regression", "0.5"]) == 1  # polite dropped by 1.0
    assert "regression: 1 score(s)" in capsys.readouterr().out
    assert main(["diff", a, b, "--fail-on-regression", "1.0"]) == 0
    assert main(["diff", b, a, "--fail-on-regression", "0.4"]) == 1  # short drops by 7/15
    table = diff_runs(open_run(a), open_run(b)).table
    assert regressions(diff_runs(open_run(a), open_run(b)), 0.5)["item"].to_list() == [2]
    primary = row(table, None)  # 2/3 in A; 1/3 on B's odd rows: a real drop, but under 0.5
    assert primary["exceeds_noise"] and primary["change"] == pytest.approx(-8 / 45)
    assert regressions(diff_runs(open_run(a), open_run(b)), 0.1)["item"].to_list() == [None, 2]
    assert table.filter(pl.col("change") > 0)["exceeds_noise"].all()


def test_the_terminal_shows_the_table_and_json_has_every_row(two_runs, tmp_path, capsys):
    a, b = two_runs
    out = tmp_path / "diff.json"
    assert main(["diff", a, b, "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"reworded (was: {POLITE}), exceeds noise" in printed and "15/5/5" in printed
    written = json.loads(out.read_text())
    assert (written["a"], written["b"], written["calibration"]) == (a, b, None)
    assert len(written["diff"]) == 4
    polite = next(r for r in written["diff"] if r["item"] == 2)
    assert polite["reworded"] is True and polite["change"] == -1.0
    assert {"low", "high", "flipped", "confidence_shift", "noise_floor"} <= set(polite)


def test_bad_storage_options_are_named(two_runs, capsys):
    assert main(["diff", *two_runs, "--storage-options", "{oops"]) == 2
    assert "--storage-options: not JSON" in capsys.readouterr().err


def agreement(kappa: float, ece: float) -> list[dict[str, object]]:
    return [
        {"level": "score", "name": "quality.item_0", "n": 20, "cohen_kappa": kappa, "ece": ece},
        {"level": "overall", "name": None, "n": 20, "cohen_kappa": kappa, "ece": ece},
    ]


def test_calibration_drift_when_both_runs_have_labels(tmp_path, capsys):
    answers = samples(range(4), lambda n: ["yes"], [GOOD])
    a = write_finished_run(tmp_path / "a", answers, agreement=agreement(0.8, 0.05))
    b = write_finished_run(tmp_path / "b", answers, agreement=agreement(0.5, 0.15))
    drift = diff_runs(open_run(a), open_run(b)).calibration
    assert drift is not None
    first = drift.row(0, named=True)
    assert (first["level"], first["name"]) == ("overall", None)  # sorted by level
    assert first["kappa_change"] == pytest.approx(-0.3)
    assert first["ece_change"] == pytest.approx(0.1)
    assert main(["diff", a, b]) == 0
    assert "agreement with human labels (kappa, ECE)" in capsys.readouterr().out
    plain = write_finished_run(tmp_path / "plain", answers)
    assert diff_runs(open_run(a), open_run(plain)).calibration is None


def test_each_kind_is_compared_on_its_primary_field(tmp_path):
    """A boolean scorer's value is a score (1.0/0.0) and an answer; a categorical one's label
    is an answer only: it flips, it has no mean."""
    answers = samples(range(4), lambda n: ["yes"], [GOOD])

    def run(folder: str, correct: list[bool], tone: list[str]) -> str:
        return write_finished_run(
            tmp_path / folder,
            answers,
            other_scorers={
                "correct": ("boolean", [{"value": v, "confidence": 0.9} for v in correct]),
                "tone": ("categorical", [{"label": t, "probability": 0.8} for t in tone]),
            },
        )

    a = run("a", [True, True, False, False], ["calm", "calm", "calm", "rude"])
    b = run("b", [True, True, True, True], ["calm", "rude", "calm", "rude"])
    table = diff_runs(open_run(a), open_run(b)).table.filter(pl.col("item").is_null())
    by_scorer = {r["scorer"]: r for r in table.iter_rows(named=True)}
    assert by_scorer["correct"]["change"] == 0.5 and by_scorer["correct"]["flipped"] == 0.5
    assert by_scorer["tone"]["change"] is None and by_scorer["tone"]["flipped"] == 0.25
    assert by_scorer["quality"]["change"] == 0.0


def test_items_pair_within_each_sample_by_text_then_alone_at_their_index():
    def questions(rows: list[tuple[str, int, str]]) -> pl.DataFrame:
        return pl.DataFrame(
            {
                "sample_id": [s for s, _, _ in rows],
                "scorer": ["q"] * len(rows),
                "index": [i for _, i, _ in rows],
                "question": [t for _, _, t in rows],
            },
            schema_overrides={"index": pl.Int32},
        )

    a = questions(
        [("s1", 0, "same"), ("s1", 1, "old"), ("s1", 2, "x1"), ("s2", 0, "x2"), ("s2", 1, "same")]
    )
    b = questions([("s1", 0, "same"), ("s1", 1, "new"), ("s1", 2, "y1"), ("s2", 0, "same")])
    pairs = item_pairs(a, b).sort("sample_id", "index_a", "index_b", nulls_last=True)
    got = pairs.select("sample_id", "index_a", "question_a", "index_b", "question_b").rows()
    assert got == [
        ("s1", 0, "same", 0, "same"),
        ("s1", 1, "old", 1, "new"),  # reworded: the only one left at index 1 on both sides
        ("s1", 2, "x1", 2, "y1"),
        ("s2", 0, "x2", None, None),  # B's index 0 holds "same", paired by text
        ("s2", 1, "same", 0, "same"),
    ]


def test_repeated_question_text_pairs_by_occurrence_within_a_sample():
    def questions(texts: list[str]) -> pl.DataFrame:
        return pl.DataFrame(
            {"sample_id": "s1", "scorer": "q", "index": [0, 1, 2], "question": texts}
        )

    a, b = questions(["Q", "R", "Q"]), questions(["Q", "Q", "R"])
    pairs = item_pairs(a, b).sort("index_a")
    assert pairs.select("index_a", "index_b").rows() == [(0, 0), (1, 2), (2, 1)]
    assert (pairs["question_a"] == pairs["question_b"]).all()


def test_a_question_at_different_indices_in_different_samples_is_no_change(tmp_path):
    """The reviewer's repro: s1 asks Q first, s2 second; both runs identical."""
    answers = {
        "s1": [item(0, "Q", "yes", 0.9), item(1, GOOD, "no", 0.2)],
        "s2": [item(0, GOOD, "yes", 0.9), item(1, "Q", "no", 0.2), item(2, "Q", "yes", 0.9)],
    }
    a = write_finished_run(tmp_path / "a", answers)
    b = write_finished_run(tmp_path / "b", answers, run_id="run-2")
    table = diff_runs(open_run(a), open_run(b)).table
    assert table["only_a"].sum() == 0 and table["only_b"].sum() == 0
    assert table["change"].to_list() == [0.0] * table.height
    assert table["flipped"].drop_nulls().to_list() == [0.0] * (table.height - 1)
    assert not table["reworded"].any()
    assert table["rows_both"].sum() == 2 + 5  # both samples' primary scores and their 5 items
    pairs = paired_items(open_run(a), open_run(b), ["s2"])
    assert pairs.select("index_a", "index_b").sort("index_a").rows() == [(0, 0), (1, 1), (2, 2)]
    assert pairs["in_a"].all() and pairs["in_b"].all()


def test_a_run_that_is_not_finished_is_named(two_runs, tmp_path, capsys):
    missing = str(tmp_path / "no-run-here")
    assert main(["diff", two_runs[0], missing]) == 2
    assert f"{missing!r} holds no finished run" in capsys.readouterr().err


def test_the_diff_does_not_depend_on_how_scores_are_split_and_flips_sign_with_the_order(
    two_runs, tmp_path
):
    a, b = two_runs
    whole = diff_runs(open_run(a), open_run(b)).table
    part = Path(b) / "scores" / "part-00000.parquet"
    scores = pl.read_parquet(part).sample(fraction=1.0, shuffle=True, seed=3)
    part.unlink()
    for n, chunk in enumerate(scores.iter_slices(7)):
        chunk.write_parquet(part.with_name(f"part-{n:05d}.parquet"))
    split = diff_runs(open_run(a), open_run(b)).table
    assert split.equals(whole)
    backwards = diff_runs(open_run(b), open_run(a)).table
    assert backwards["change"].to_list() == [-c for c in whole["change"].to_list()]
    assert backwards["flipped"].equals(whole["flipped"])


def test_the_review_app_helpers_pair_items_within_the_sample(tmp_path):
    """What `rayscore review --compare` needs: s1's items reordered (same answers) is no
    change; s2's answer flipped and s3 (in B only) are."""
    a = write_finished_run(
        tmp_path / "a",
        {
            "s1": [item(0, "Q", "yes", 0.9), item(1, GOOD, "no", 0.2)],
            "s2": [item(0, GOOD, "yes", 0.9)],
        },
    )
    b = write_finished_run(
        tmp_path / "b",
        {
            "s1": [item(0, GOOD, "no", 0.2), item(1, "Q", "yes", 0.9)],
            "s2": [item(0, GOOD, "no", 0.2)],
            "s3": [item(0, GOOD, "yes", 0.9)],
        },
        run_id="run-2",
    )
    assert compared_item_indices(open_run(a), open_run(b), "s1") == {"quality": {0: 1, 1: 0}}
    changed = items_changed(open_run(a), open_run(b)).sort("sample_id")
    assert changed.rows() == [("s1", False), ("s2", True), ("s3", True)]
    assert items_changed(open_run(a), open_run(b), ["s1"]).rows() == [("s1", False)]
