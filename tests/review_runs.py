"""A hand-made finished run for the review app's tests: a 3-item checklist over N samples with
known confidences, a group column, an error, the input's texts and a verdict score config."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from finished_runs import item, write_finished_run, write_item_configs

from scorers.checklist.fields import SCORE_TYPE

N = 120
QUESTIONS = ("Is it correct?", "Is it concise?", "Is it polite?")


def confidence(n: int, index: int) -> float:
    return ((n * 7 + index * 13) % 100) / 100


def items_of(
    n: int, flip: int | None = None, confidence_of: Callable[[int, int], float] = confidence
) -> list[dict[str, object]]:
    made = []
    for index, question in enumerate(QUESTIONS):
        p = confidence_of(n, index)
        answer = "yes" if p >= 0.5 else "no"
        if index == flip:
            answer = "no" if answer == "yes" else "yes"
        made.append(item(index, question, None if n == 5 and index == 2 else answer, p))
    return made


def make_run(
    folder: Path,
    flip_rows: frozenset[int] = frozenset(),
    confidence_of: Callable[[int, int], float] = confidence,
    reordered: bool = False,
) -> str:
    """N samples of a 3-item checklist (item confidences `confidence_of(sample, index)`), a
    `model` group column, an error on row 5, the input's prompt/response beside it, and a
    BOOLEAN verdict config (quality.overall). `reordered`: each sample's items in reverse
    order (the same questions and answers at other indices)."""

    def items(n: int) -> list[dict[str, object]]:
        made = items_of(n, 1 if n in flip_rows else None, confidence_of)
        return [{**i, "index": k} for k, i in enumerate(reversed(made))] if reordered else made

    uri = write_finished_run(folder, {f"r{n}": items(n) for n in range(N)})
    scores_file = folder / "scores" / "part-00000.parquet"
    scores = pq.read_table(scores_file)
    scores = scores.append_column("model", pa.array(["m1", "m2"] * (N // 2)))
    errors = [("quality: judge timed out" if n == 5 else None) for n in range(N)]
    pq.write_table(scores.append_column("error", pa.array(errors, pa.string())), scores_file)
    responses = [f"response {n}" + (" with a RARE word" if n == 42 else "") for n in range(N)]
    inputs = {"id": [f"r{n}" for n in range(N)], "prompt": [f"prompt {n}" for n in range(N)]}
    pq.write_table(pa.table({**inputs, "response": responses}), folder / "in.parquet")
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["spec"]["input"]["path"] = str(folder / "in.parquet")
    input_file = folder / "in.parquet"
    manifest["input"] = {"file_sizes": {str(input_file): input_file.stat().st_size}}
    manifest["spec"]["definition"] = {
        "scorers": [
            {
                "type": "checklist",
                "key": "quality",
                "input_column": "prompt",
                "target_column": "response",
                "checklist": [{"question": q} for q in QUESTIONS],
            }
        ]
    }
    (folder / "manifest.json").write_text(json.dumps(manifest))
    configs = {
        "quality.item": {"scorer_key": "quality", "field": "item_scores", "data_type": "BOOLEAN"},
        "quality.overall": {"scorer_key": "quality", "field": None, "data_type": "BOOLEAN"},
    }
    (folder / "score_configs.json").write_text(json.dumps(configs))
    return uri


JUDGED_QUESTIONS = ("Is it correct?", "Is it concise?")
RIVAL_ANSWERS = {"d2": (1, 0.1), "d5": (1, 0.3), "d7": (0, 0.6)}  # id -> (item, confidence)


def make_two_judge_run(folder: Path) -> str:
    """Ten samples judged twice: `small_says` by judge `small` (every answer yes, confidence
    0.9) and `large_says` by judge `large`, which asks the same questions in the other order
    and says no where RIVAL_ANSWERS has it (confidence as given, else 0.9)."""

    def answer(sample: str, index: int) -> tuple[str, float]:
        flipped = RIVAL_ANSWERS.get(sample)
        return ("no", flipped[1]) if flipped and flipped[0] == index else ("yes", 0.9)

    ids = [f"d{n}" for n in range(10)]
    rival = []
    for sample in ids:
        reordered = [(i, q) for i, q in enumerate(JUDGED_QUESTIONS)][::-1]
        made = [item(k, q, *answer(sample, i)) for k, (i, q) in enumerate(reordered)]
        rival.append({"primary_score": 0.5, "pass_rate": 0.5, "item_scores": made})
    uri = write_finished_run(
        folder, {s: [item(i, q, "yes", 0.9) for i, q in enumerate(JUDGED_QUESTIONS)] for s in ids}
    )
    scores_file = folder / "scores" / "part-00000.parquet"
    scores = pq.read_table(scores_file).rename_columns(["id", "small_says"])
    pq.write_table(scores.append_column("large_says", pa.array(rival, SCORE_TYPE)), scores_file)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["scorers"] = [
        {"key": key, "type": "checklist", "name": key, "purpose": "eval"}
        for key in ("small_says", "large_says")
    ]
    manifest["spec"]["definition"] = {
        "scorers": [
            {"type": "checklist", "key": key, "judge": judge, "target_column": "response"}
            for key, judge in (("small_says", "small"), ("large_says", "large"))
        ]
    }
    (folder / "manifest.json").write_text(json.dumps(manifest))
    write_item_configs(folder, ["small_says", "large_says"])
    return uri
