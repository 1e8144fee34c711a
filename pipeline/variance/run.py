"""`rayscore variance`: score a sample of rows again and again through the real job path, and
measure how far the scores move (pipeline.variance.spread).

Each sampled row becomes copies with ids of their own: `<id>#repeat-0` and `<id>#repeat-1`
ask exactly the same prompts; `<id>#paraphrase-<k>` asks each item's k-th paraphrase in place
of its question (a checklist's). What a copy asks, how the copies' job runs a scorer and which
of its scores are measured is the variance hook of its kind (scorers.hooks.VarianceHook): the
scorers measured are those whose kind offers one.

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

from pipeline.plan import plan_of
from pipeline.resolve import resolve_spec_paths
from pipeline.results import open_run
from pipeline.runner import run_job
from pipeline.source import InputSource, resolve_input
from pipeline.spec import JobSpec
from pipeline.variance.spread import PARAPHRASE, REPEAT, SCORES_SCHEMA, score_spread
from scorers.hooks.variance_hook import PARAPHRASE as ASKED_PARAPHRASE
from scorers.hooks.variance_hook import SCORE, VarianceHook
from scorers.registry import hooks_of, types_offering
from scorers.scorer_spec import ScorerSpec

SOURCE_ID = "_variance_source_id"
COPY = "_variance_copy"
COPY_INDEX = "_variance_copy_index"


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
    """The judged scorers whose kind offers a variance hook."""
    scorers = [s for s in plan_of(spec).judged if hooks_of(s).variance is not None]
    if not scorers:
        *most, last = types_offering("variance")
        kinds = f"{', '.join(most)} and {last}" if most else last
        raise ValueError(f"{spec.name}: no scorer to measure; variance scores {kinds} scorers")
    return scorers


def _hook(scorer: ScorerSpec) -> VarianceHook:
    hook = hooks_of(scorer).variance
    assert hook is not None, scorer.type  # measured_scorers picked it
    return hook


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
    """Two repeats of every sampled row and one copy per paraphrase, with new ids and the
    columns each scorer's kind says that copy asks."""
    most = max((_hook(s).paraphrases(s) for s in scorers), default=0)
    copies = [(REPEAT, 0), (REPEAT, 1), *((PARAPHRASE, k) for k in range(most))]
    return pl.concat(
        [
            sampled.with_columns(
                pl.col(id_column).cast(pl.String).alias(SOURCE_ID),
                (pl.col(id_column).cast(pl.String) + f"#{copy}-{k}").alias(id_column),
                pl.lit(copy).alias(COPY),
                pl.lit(k, dtype=pl.Int32).alias(COPY_INDEX),
                *(
                    column
                    for s in scorers
                    for column in _hook(s).copy_columns(s, _paraphrase(copy, k), sampled.height)
                ),
            )
            for copy, k in copies
        ]
    )


def _paraphrase(copy: str, k: int) -> int | None:
    """Which paraphrase a copy asks: k for paraphrase copy k, None for a repeat."""
    return k if copy == PARAPHRASE else None


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
    return _hook(scorer).per_copy(scorer, {**scorer.model_dump(mode="json"), "metrics": []})


def scored_copies(samples: pl.DataFrame, scorers: list[ScorerSpec]) -> pl.DataFrame:
    """The scored copies as spread.SCORES_SCHEMA: one row per copy x scorer x item,
    paraphrase copies only where the item has that paraphrase."""
    return pl.concat([_scores_of(samples, s) for s in scorers])


def _scores_of(samples: pl.DataFrame, scorer: ScorerSpec) -> pl.DataFrame:
    copies = samples.select(
        pl.col(SOURCE_ID).alias("source_id"),
        pl.col(COPY).alias("copy"),
        pl.col(COPY_INDEX).alias("copy_index"),
        pl.when(pl.col(COPY) == PARAPHRASE).then(pl.col(COPY_INDEX)).alias(ASKED_PARAPHRASE),
        pl.col(scorer.key).alias(SCORE),
    )
    scores = _hook(scorer).copy_scores(scorer, copies)
    return (
        scores.with_columns(pl.lit(scorer.name).alias("scorer"))
        .select(SCORES_SCHEMA.names())
        .cast(dict(SCORES_SCHEMA))
    )
