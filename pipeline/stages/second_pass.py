"""The second pass of a two-pass run (pipeline.stages.pass_layout): the judged parts read
once more, each block finished (cross-sample results, config checks, calibration) and
written as final parts into this attempt's staging folder."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import pyarrow as pa

from pipeline.attempt import Run
from pipeline.stages.cross_sample import CrossSampleResult
from pipeline.stages.finish_rows import Checks
from pipeline.stages.score_configs import Configs
from pipeline.stages.write_parts import write_block
from pipeline.stages.writers import final_writer
from pipeline.storage.parts import Part


def second_pass(
    run: Run,
    judged: Sequence[Part],
    schema: pa.Schema | None,
    cross: Sequence[CrossSampleResult],
    configs: Configs,
    checks: Checks,
    calibration: dict[str, Any] | None,
) -> str:
    """The staging folder holding scores/ and scores_long/."""
    import ray

    from pipeline.calibration import calibrate_batch

    calibrate = None
    if calibration is not None:
        checklists = {c.key: c.name for c in run.plan.calibrated}
        calibrate = functools.partial(
            calibrate_batch, calibration=calibration, checklists=checklists
        )
    writer = final_writer(run, run.staging, cross, configs, checks, calibrate)
    fs = run.run_dir.fs
    fs.makedirs(writer.folder, exist_ok=True)
    assert writer.finish is not None
    fs.makedirs(writer.finish.records_folder, exist_ok=True)
    if judged:
        rows = ray.data.read_parquet(
            [p.path for p in judged], filesystem=run.run_dir.arrow_fs, schema=schema
        )
        rows.map_batches(
            write_block, fn_kwargs={"writer": writer}, batch_format="pyarrow", batch_size=None
        ).materialize()
    return run.staging
