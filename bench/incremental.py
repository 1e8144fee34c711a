"""Incremental scoring (issue 22): a nightly rerun judges only what changed.

Night 1 scores N rows on the 20-question checklist (bench/workload.py). Night 2's corpus has
10% new rows and 5% of the old rows edited, and its checklist one question more. Night 2 runs
twice: incrementally (`incremental: {from: night 1}`) and as a fresh full run. The figures are
the incremental run's judge requests and wall time as shares of the full run's (targets 0.15
and 0.25). Every stored answer of the incremental run is checked against the full run's, and
every reused judgment against night 1's stored value, bit for bit.

    python -m bench.incremental --samples 10000
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from bench.rayscore_job import JobRun, run_job
from bench.result import print_result
from bench.workload import questions, rows, spec

NEW_SHARE = 0.10
EDITED_SHARE = 0.05
ADDED_QUESTION = "Does the response stay on the topic of the request?"
REQUESTS_TARGET = 0.15
WALL_TARGET = 0.25


def night_two_rows(night_one: pa.Table, seed: int) -> pa.Table:
    """Night 1's rows with EDITED_SHARE of responses changed, plus NEW_SHARE new rows."""
    count = night_one.num_rows
    edited = max(1, int(count * EDITED_SHARE))
    responses = night_one["response"].to_pylist()
    # every 1/EDITED_SHARE-th row, spread over the corpus
    step = max(1, count // edited)
    for index in range(0, step * edited, step):
        responses[index] = responses[index] + " Edited: one more sentence at the end."
    old = night_one.set_column(
        night_one.schema.get_field_index("response"), "response", pa.array(responses)
    )
    new = rows(max(1, int(count * NEW_SHARE)), seed=seed + 1)
    new_ids = pc.binary_join_element_wise("n", new["id"], "")
    new = new.set_column(new.schema.get_field_index("id"), "id", new_ids)
    return pa.concat_tables([old, new])


COMPARED = ("answer", "confidence_level", "confidence", "label_mass")


def compare(
    incremental: JobRun, full: JobRun, first: JobRun, unchanged: pl.Series
) -> dict[str, Any]:
    """The incremental run's items against the full run's (answers the same; confidences
    within the engine's float noise, which the batches a request shares decide), and its
    reused items against night 1's stored values (bit for bit)."""
    night2 = incremental.item_confidences(fields=COMPARED)
    joined = night2.join(full.item_confidences(fields=COMPARED), on=["id", "index"], suffix="_full")
    answers_differ = joined.filter(
        pl.col("answer").ne_missing(pl.col("answer_full"))
        | pl.col("confidence_level").ne_missing(pl.col("confidence_level_full"))
    ).height
    noise = (pl.col("confidence") - pl.col("confidence_full")).abs()
    reused = night2.filter(
        pl.col("id").is_in(unchanged.implode()), pl.col("index") < len(questions(20))
    ).join(first.item_confidences(fields=COMPARED), on=["id", "index"], suffix="_night1")
    reused_differ = reused.filter(
        pl.col("confidence").ne_missing(pl.col("confidence_night1"))
        | pl.col("label_mass").ne_missing(pl.col("label_mass_night1"))
    ).height
    return {
        "items": joined.height,
        "answers_differ_from_full_run": answers_differ,
        "items_with_confidence_noise": joined.filter(noise > 0).height,
        "max_confidence_diff_from_full_run": joined.select(noise.max()).item(),
        "reused_items_checked_against_night1": reused.height,
        "reused_items_differ_from_night1": reused_differ,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=1000, help="night 1's rows")
    parser.add_argument("--response-tokens", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", type=Path, default=None, help="work here and keep the runs")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = args.keep or Path(tmp)
        night_one = rows(args.samples, args.response_tokens, args.seed)
        pq.write_table(night_one, work / "night1.parquet")
        night_two_table = night_two_rows(night_one, args.seed)
        pq.write_table(night_two_table, work / "night2.parquet")
        first = run_job(spec(work / "night1.parquet", work / "night1"), work, "night1")
        night_two = spec(
            work / "night2.parquet",
            work / "night2",
            scorer={
                "checklist": [
                    {"question": q, "weight": 1.0} for q in [*questions(20), ADDED_QUESTION]
                ]
            },
        )
        incremental = run_job({**night_two, "incremental": {"from": str(first.out)}}, work, "inc")
        full = run_job(night_two, work, "full")
        old, new = pl.from_arrow(night_one), pl.from_arrow(night_two_table)
        assert isinstance(old, pl.DataFrame) and isinstance(new, pl.DataFrame)
        unchanged = old.join(new, on=["id", "response"])["id"]
        checked = compare(incremental, full, first, unchanged)
        # judge.requests counts every request a row's scores answer, reused ones too
        judged = incremental.manifest["incremental"]["requests_judged"]
        requests_share = judged / full.requests
        print_result(
            "incremental",
            requests_share,
            REQUESTS_TARGET,
            "lower",
            "night-2 judge requests as a share of a full run's",
            peer={"full_run_requests": full.requests, "full_run_wall_s": round(full.wall_s, 2)},
            wall_share=round(incremental.wall_s / full.wall_s, 4),
            wall_target=WALL_TARGET,
            wall_met=incremental.wall_s / full.wall_s <= WALL_TARGET,
            night1_rows=args.samples,
            night2_rows=night_two_table.num_rows,
            incremental_requests=judged,
            incremental_wall_s=round(incremental.wall_s, 2),
            incremental_score_s=round(incremental.judge_s, 2),
            full_score_s=round(full.judge_s, 2),
            night1_wall_s=round(first.wall_s, 2),
            reuse=incremental.manifest.get("incremental"),
            **checked,
        )
        if checked["answers_differ_from_full_run"] or checked["reused_items_differ_from_night1"]:
            raise SystemExit("the incremental run's answers differ from the full run's")


if __name__ == "__main__":
    main()
