"""`rayscore variance`: score a sample of rows again and again through the real job path, and
measure how far the scores move (pipeline.variance.spread).

Each sampled row becomes copies with ids of their own: `<id>#repeat-0` and `<id>#repeat-1`
ask exactly the same prompts; `<id>#paraphrase-<k>` asks each checklist item's k-th
paraphrase in place of its question. An item with fewer paraphrases keeps its question there
and those answers are left out, as are a paraphrase copy's scalar scores (every scorer scores
every copy). For this, corpus-level checklists become a per-row checklist column.

One job scores every copy: the spec's judges, prompts and judged scorers, without metrics,
annotations, calibration or cross-sample scorers (they are not per sample), into a temporary
run directory, never the spec's own output.path. That directory is under TMPDIR: on a
multi-node cluster, point TMPDIR at storage every node reads.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow.parquet as pq

from pipeline.resolve import resolve_spec_paths
from pipeline.results import open_run
from pipeline.runner import run_job
from pipeline.source import InputSource, resolve_input
from pipeline.spec import JobSpec
from pipeline.variance.spread import PARAPHRASE, REPEAT, SCORES_SCHEMA, score_spread
from scorers.checklist.spec import ChecklistItem, ChecklistScorerSpec
from scorers.rating.spec import BooleanSpec, CategoricalSpec, LikertSpec, RatingBase
from scorers.scorer_spec import ScorerSpec

# Scalar scorers: (the struct field whose spread is measured, the field that is the answer).
SCALAR_FIELDS: dict[type[ScorerSpec], tuple[str, str]] = {
    BooleanSpec: ("confidence", "value"),
    LikertSpec: ("score", "mode"),
    CategoricalSpec: ("probability", "label"),
}
MEASURED: tuple[type[ScorerSpec], ...] = (ChecklistScorerSpec, *SCALAR_FIELDS)

SOURCE_ID = "_variance_source_id"
COPY = "_variance_copy"
COPY_INDEX = "_variance_copy_index"
CHECKLIST_TYPE = pl.List(pl.Struct({"question": pl.String, "weight": pl.Float64}))


def measure_variance(
    spec: JobSpec, rows: int, seed: int = 0, *, ray_address: str | None = None
) -> pl.DataFrame:
    """Score `rows` rows of the spec's input (sampled by `seed`) as repeats and paraphrases in
    one job, and return the spread per scorer x item (pipeline.variance.spread)."""
    if rows < 1:
        raise ValueError(f"rows must be at least 1, got {rows}")
    spec = resolve_spec_paths(spec)
    scorers = measured_scorers(spec)
    source = resolve_input(spec)
    id_column = spec.input.id_column
    ids = sample_ids(read_ids(source, id_column), rows, seed)
    columns = list(dict.fromkeys([id_column, *(c for s in scorers for c in s.column_names())]))
    sampled = read_rows(source, columns, id_column, ids)
    with tempfile.TemporaryDirectory(prefix="rayscore-variance-") as tmp:
        copies_path = str(Path(tmp, "copies.parquet"))
        copies_of(sampled, id_column, scorers).write_parquet(copies_path)
        derived = derived_spec(spec, scorers, copies_path, str(Path(tmp, "run")))
        result = run_job(derived, ray_address=ray_address)
        samples = open_run(result.run_dir).samples.collect()
    return score_spread(scored_copies(samples, scorers))


def measured_scorers(spec: JobSpec) -> list[ScorerSpec]:
    scorers = [s for s in spec.judged_scorers() if type(s) in MEASURED]
    if not scorers:
        raise ValueError(
            f"{spec.name}: no scorer to measure; variance scores checklist, likert, "
            "categorical and boolean scorers"
        )
    return scorers


def read_ids(source: InputSource, id_column: str) -> pl.Series:
    """Every id, in dataset order (files by name, rows in file order)."""
    return pl.concat(
        [
            pl.from_arrow(pq.read_table(p, columns=[id_column], filesystem=source.filesystem)[0])
            for p in source.files
        ]
    )


def sample_ids(ids: pl.Series, rows: int, seed: int) -> pl.Series:
    """`rows` ids (all of them when there are fewer), the same ones for the same seed."""
    return ids.sample(n=min(rows, ids.len()), seed=seed).sort()


def read_rows(
    source: InputSource, columns: list[str], id_column: str, ids: pl.Series
) -> pl.DataFrame:
    """The rows with these ids, read one file at a time, keeping only the sampled rows."""
    frames = []
    for path in source.files:
        table = pq.read_table(path, columns=columns, filesystem=source.filesystem)
        frames.append(pl.DataFrame(table).filter(pl.col(id_column).is_in(ids)))
    return pl.concat(frames, how="vertical_relaxed").sort(id_column)


def copies_of(sampled: pl.DataFrame, id_column: str, scorers: list[ScorerSpec]) -> pl.DataFrame:
    """Two repeats of every sampled row and one copy per paraphrase, with new ids and, per
    corpus-level checklist, the checklist that copy asks."""
    checklists = _corpus_checklists(scorers)
    most = max((len(i.paraphrases) for items in checklists.values() for i in items), default=0)
    copies = [(REPEAT, 0), (REPEAT, 1), *((PARAPHRASE, k) for k in range(most))]
    return pl.concat(
        [
            sampled.with_columns(
                pl.col(id_column).cast(pl.String).alias(SOURCE_ID),
                (pl.col(id_column).cast(pl.String) + f"#{copy}-{k}").alias(id_column),
                pl.lit(copy).alias(COPY),
                pl.lit(k, dtype=pl.Int32).alias(COPY_INDEX),
                *(
                    pl.Series(
                        checklist_column(key),
                        [_asked(items, copy, k)] * sampled.height,
                        dtype=CHECKLIST_TYPE,
                    )
                    for key, items in checklists.items()
                ),
            )
            for copy, k in copies
        ]
    )


def _corpus_checklists(scorers: list[ScorerSpec]) -> dict[str, list[ChecklistItem]]:
    return {
        s.key: s.checklist
        for s in scorers
        if isinstance(s, ChecklistScorerSpec) and s.checklist is not None
    }


def _asked(items: list[ChecklistItem], copy: str, k: int) -> list[dict[str, Any]]:
    """The checklist one copy asks: paraphrase copy k asks each item's k-th paraphrase."""
    return [
        {
            "question": item.paraphrases[k]
            if copy == PARAPHRASE and k < len(item.paraphrases)
            else item.question,
            "weight": item.weight,
        }
        for item in items
    ]


def checklist_column(scorer_key: str) -> str:
    return f"_variance_checklist_{scorer_key}"


def derived_spec(
    spec: JobSpec, scorers: list[ScorerSpec], input_path: str, output_path: str
) -> JobSpec:
    """The job that scores the copies: the spec's judges and scorers, nothing after them."""
    return JobSpec.model_validate(
        {
            "name": f"{spec.name}-variance",
            "input": {
                "path": input_path,
                "id_column": spec.input.id_column,
                "passthrough_columns": [SOURCE_ID, COPY, COPY_INDEX],
            },
            "output": {"path": output_path},
            "judge": spec.judge,
            "judges": spec.judges,
            "definition": {"scorers": [_per_copy(s) for s in scorers]},
        }
    )


def _per_copy(scorer: ScorerSpec) -> dict[str, Any]:
    raw = scorer.model_dump(mode="json")
    raw["metrics"] = []
    if isinstance(scorer, ChecklistScorerSpec) and scorer.checklist is not None:
        raw["checklist"] = None
        raw["checklist_column"] = checklist_column(scorer.key)
    return raw


def scored_copies(samples: pl.DataFrame, scorers: list[ScorerSpec]) -> pl.DataFrame:
    """The scored copies as spread.SCORES_SCHEMA: one row per copy x scorer x item,
    paraphrase copies only where the item has that paraphrase."""
    return pl.concat([_scores_of(samples, s) for s in scorers])


def _scores_of(samples: pl.DataFrame, scorer: ScorerSpec) -> pl.DataFrame:
    if isinstance(scorer, ChecklistScorerSpec):
        return _checklist_scores(samples, scorer)
    assert isinstance(scorer, RatingBase), scorer.type  # measured_scorers picked it
    return _scalar_scores(samples, scorer)


def _copy_columns() -> list[pl.Expr]:
    return [
        pl.col(SOURCE_ID).alias("source_id"),
        pl.col(COPY).alias("copy"),
        pl.col(COPY_INDEX).alias("copy_index"),
    ]


def _as_scores(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select(SCORES_SCHEMA.names()).cast(dict(SCORES_SCHEMA))


def _checklist_scores(samples: pl.DataFrame, scorer: ChecklistScorerSpec) -> pl.DataFrame:
    paraphrases = {n: len(item.paraphrases) for n, item in enumerate(scorer.checklist or [])}
    items = (
        samples.select(*_copy_columns(), pl.col(scorer.key).struct.field("item_scores"))
        .explode("item_scores")
        .drop_nulls("item_scores")
        .unnest("item_scores")
    )
    has_paraphrase = pl.col("copy_index") < pl.col("index").replace_strict(
        paraphrases, default=0, return_dtype=pl.Int32
    )
    return _as_scores(
        items.filter((pl.col("copy") != PARAPHRASE) | has_paraphrase).with_columns(
            pl.lit(scorer.name).alias("scorer"),
            pl.col("index").alias("item"),
            pl.col("confidence").alias("value"),
        )
    )


def _scalar_scores(samples: pl.DataFrame, scorer: RatingBase) -> pl.DataFrame:
    value_field, answer_field = SCALAR_FIELDS[type(scorer)]
    score = pl.col(scorer.key).struct
    return _as_scores(
        samples.filter(pl.col(COPY) == REPEAT).select(
            *_copy_columns(),
            pl.lit(scorer.name).alias("scorer"),
            pl.lit(None, dtype=pl.Int32).alias("item"),
            pl.lit(scorer.question).alias("question"),
            score.field(value_field).cast(pl.Float64).alias("value"),
            score.field(answer_field).cast(pl.String).alias("answer"),
        )
    )
