"""With annotations: their ANNOTATION records beside the EVAL ones in scores_long/ (with the
trace fields of their samples), and the judge's agreement with them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pipeline.attempt import Run
from pipeline.stages.labels import run_score_names
from pipeline.stages.scored_folders import ScoredFolders
from pipeline.storage.run_dir import RUN_ANNOTATIONS

if TYPE_CHECKING:
    import polars as pl
    import pyarrow as pa
    import pyarrow.dataset as pads


def agreement_stage(
    run: Run, scored: ScoredFolders, human: pl.DataFrame | None
) -> dict[str, Any] | None:
    import polars as pl
    import pyarrow.dataset as pads
    import pyarrow.parquet as pq

    from pipeline.annotations.labels import agreement
    from pipeline.annotations.names import judged_names, label_configs
    from pipeline.annotations.records import annotation_records

    spec = run.spec
    if human is None:
        return None
    score_names = run_score_names(run, scored.configs)
    known = label_configs(human["name"].unique().to_list(), score_names)
    evaluations = pl.from_arrow(
        _dataset(scored.records, run).to_table(filter=pads.field("name").isin(judged_names(known)))
    )
    assert isinstance(evaluations, pl.DataFrame)
    purposes = {s.key: s.purpose for s in spec.definition.scorers}
    samples = _annotated_samples(run, scored, human["sample_id"].unique().to_list())
    pq.write_table(
        annotation_records(
            human, score_names.configs, purposes, samples, run.run_id, run.started_at
        ),
        f"{scored.records}/{RUN_ANNOTATIONS}",
        filesystem=run.run_dir.arrow_fs,
    )
    return agreement(evaluations, human, known)


def _dataset(path: str, run: Run) -> pads.Dataset:
    import pyarrow.dataset as pads

    return pads.dataset(path, filesystem=run.run_dir.arrow_fs, format="parquet")


def _annotated_samples(run: Run, scored: ScoredFolders, ids: list[str]) -> pa.Table:
    """Sample id and trace fields of the labelled samples: the id and trace columns of scores/
    only."""
    from pipeline.annotations.records import labelled_samples

    trace = run.spec.input.trace.mapping()
    id_col = run.spec.input.id_column
    columns = [id_col, *dict.fromkeys(trace.values())]
    table = _dataset(scored.scores, run).to_table(columns=columns)
    return labelled_samples(table, id_col, trace, ids)
