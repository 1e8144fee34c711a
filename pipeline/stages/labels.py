"""Human labels (`annotations`) and what is fitted on them (`calibration`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pipeline.annotations.names import ScoreNames, names_after_scoring, source_of, with_config_ids
from pipeline.attempt import Run
from pipeline.stages.score_configs import Configs

if TYPE_CHECKING:
    import polars as pl


def human_labels(run: Run, configs: Configs) -> pl.DataFrame | None:
    """The spec's annotations, read once for the calibration and agreement stages, each with
    the config id its name falls under: a name that names none of the run's scores is
    refused (the load checks already did so wherever the spec alone knows the names)."""
    from pipeline.annotations.labels import read_annotations

    spec = run.spec
    if spec.annotations is None:
        return None
    human = read_annotations(
        spec.annotations,
        spec.input.id_column,
        run.source.files,
        run.source.filesystem,
        spec.input.storage_options,
    )
    return with_config_ids(human, run_score_names(run, configs), source_of(spec.annotations))


def run_score_names(run: Run, configs: Configs) -> ScoreNames:
    """The run's config ids, as score_configs.json lists them."""
    return names_after_scoring(run.spec.definition.scorers, configs, run.spec.calibration)


def calibration_fit(
    run: Run, judged_folder: str, human: pl.DataFrame | None
) -> dict[str, Any] | None:
    """With `calibration`: fitted on the labelled samples' judged rows, or calibration.from's."""
    from pipeline.calibration import fit, read_labelled

    spec = run.spec
    if spec.calibration is None:
        return None
    if run.stored_calibration is not None:
        return run.stored_calibration
    assert human is not None  # fitting requires annotations (JobSpec checks)
    checklists = run.plan.calibrated
    labelled = read_labelled(
        judged_folder,
        run.run_dir.arrow_fs,
        spec.input.id_column,
        human["sample_id"].unique().to_list(),
        [c.key for c in checklists],
    )
    return fit(spec.calibration, human, labelled, spec.input.id_column, checklists)
