"""How far the demo run's judge agrees with the true answers the demo data carries.

The human labels a run sees are noisy; the demo data also holds the truth (`true_item_<n>`),
so the demo can show the judge's own accuracy and Cohen's kappa per checklist question.
"""

from __future__ import annotations

import argparse

import polars as pl

from jobs.demo.checklist_task import QUESTIONS
from pipeline.results import open_run
from scorers.agreement import binary_agreement


def truth_agreement(run_dir: str, data: str) -> pl.DataFrame:
    truth = pl.read_parquet(
        data, columns=["id", *(f"true_item_{n}" for n in range(len(QUESTIONS)))]
    )
    items = open_run(run_dir).items.select("id", "index", "question", "answer", "confidence")
    rows = []
    for n, question in enumerate(QUESTIONS):
        pairs = (
            items.filter(pl.col("index") == n)
            .collect()
            .join(truth.select("id", pl.col(f"true_item_{n}").alias("truth")), on="id")
        )
        stats = binary_agreement(
            pairs["truth"].to_list(),
            [None if a is None else a == "yes" for a in pairs["answer"]],
            pairs["confidence"].to_list(),
        )
        rows.append({"question": question.question} | stats)
    return pl.DataFrame(rows).select("question", "n", "accuracy", "cohen_kappa", "f1")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("run_dir", nargs="?", default="runs/demo")
    parser.add_argument("data", nargs="?", default="data/demo.parquet")
    args = parser.parse_args()
    print("\nthe judge against the true answers (the demo data's true_item_<n>):")
    with pl.Config(
        tbl_rows=-1,
        fmt_str_lengths=70,
        float_precision=3,
        tbl_hide_dataframe_shape=True,
        tbl_hide_column_data_types=True,
    ):
        print(truth_agreement(args.run_dir, args.data))


if __name__ == "__main__":
    main()
