"""Read a finished run with Polars: lazy scans only, local or remote run directories.

run = open_run("runs/demo")       # or ("s3://bucket/runs/demo", {"endpoint_url": ...})
run.samples.select("id", pl.col("quality").struct.field("primary_score")).collect()
run.items.filter(pl.col("answer") == "no").group_by("question").len().collect()

nights = open_runs("runs/nightly-*")  # many finished runs, tagged run_id / name / started_at
"""

from __future__ import annotations

import glob
import posixpath
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import fsspec
import polars as pl

from pipeline.annotations.history import latest_labels
from pipeline.annotations.label_parts import label_parts, read_label_parts
from pipeline.storage.run_dir import (
    AGREEMENT_TABLE,
    ANNOTATIONS,
    MANIFEST,
    METRICS_TABLE,
    RUN_ANNOTATIONS,
    SCORES,
    SCORES_LONG,
    RunDirectory,
    RunState,
)
from pipeline.storage.storage_options import polars_storage_options
from scorers.registry import hooks_named


@dataclass(frozen=True)
class RunResults:
    uri: str
    manifest: dict[str, Any]
    samples: pl.LazyFrame  # scores/: one row per input row
    items: pl.LazyFrame  # one row per sample x item (a checklist's), with the scorer's key
    scores_long: pl.LazyFrame  # score records, EVAL and ANNOTATION (review labels too)
    metrics: pl.LazyFrame
    agreement: pl.LazyFrame | None  # when the run had annotations
    storage_options: dict[str, Any] | None = None  # fsspec's, that the run was opened with
    reviewed: bool = False  # scores_long holds labels given in `rayscore review` since the run


def open_run(
    uri: str, storage_options: dict[str, Any] | None = None, review_labels: bool = True
) -> RunResults:
    """A finished run's tables as lazy scans. `storage_options` are fsspec's (the spec's
    output.storage_options); the Polars scans get them translated (polars_storage_options).
    scores_long holds the labels given in `rayscore review` since the run (as they are when
    it is opened) unless `review_labels` is False: the run's own records alone."""
    run_dir = RunDirectory(uri, storage_options)
    if run_dir.state() is not RunState.FINISHED:
        raise FileNotFoundError(f"{uri!r} holds no finished run (no {MANIFEST})")
    manifest = run_dir.read_json(MANIFEST)

    def scan(name: str, glob: bool) -> pl.LazyFrame:
        path = posixpath.join(uri.rstrip("/"), name, "*.parquet" if glob else "")
        options = polars_storage_options(uri, storage_options)
        return pl.scan_parquet(path.rstrip("/"), storage_options=options)

    samples = scan(SCORES, glob=True)
    id_col = manifest["spec"]["input"]["id_column"]
    items = _items(samples, id_col, _item_lists(manifest))
    has_agreement = run_dir.fs.exists(run_dir.join(AGREEMENT_TABLE))
    scores_long = scan(SCORES_LONG, glob=True)
    given = label_parts(run_dir.fs, run_dir.join(ANNOTATIONS)) if review_labels else []
    if given:
        labels = pl.from_arrow(read_label_parts(given, run_dir.arrow_fs))
        assert isinstance(labels, pl.DataFrame)
        scores_long = _with_labels(run_dir, labels, storage_options)
    return RunResults(
        uri=uri,
        manifest=manifest,
        samples=samples,
        items=items,
        scores_long=scores_long,
        metrics=scan(METRICS_TABLE, glob=False),
        agreement=scan(AGREEMENT_TABLE, glob=False) if has_agreement else None,
        storage_options=storage_options,
        reviewed=bool(given),
    )


def _with_labels(
    run_dir: RunDirectory, labels: pl.DataFrame, storage_options: dict[str, Any] | None
) -> pl.LazyFrame:
    """The run's records and the labels reviewers gave it since (RUN/annotations/, read as
    records when the run is opened); of every label, the run's and those, the latest per
    (author, sample, name) counts. The judge's records are scanned as they are, their parts
    named one by one: the run's own labels are a file of their own (RUN_ANNOTATIONS)."""
    names = sorted(
        posixpath.basename(path)
        for path in run_dir.fs.glob(posixpath.join(run_dir.join(SCORES_LONG), "*.parquet"))
    )
    folder = posixpath.join(run_dir.uri.rstrip("/"), SCORES_LONG)
    options = polars_storage_options(run_dir.uri, storage_options)

    def scan(files: list[str]) -> pl.LazyFrame:
        return pl.scan_parquet([posixpath.join(folder, f) for f in files], storage_options=options)

    judged = scan([name for name in names if name != RUN_ANNOTATIONS])
    own = [scan([RUN_ANNOTATIONS])] if RUN_ANNOTATIONS in names else []
    merged = pl.concat([*own, labels.lazy()], how="vertical_relaxed")
    return pl.concat([judged, latest_labels(merged, "sample_id")], how="vertical_relaxed")


def _item_lists(manifest: dict[str, Any]) -> dict[str, str]:
    """Scorer key -> the struct field listing its items, for scorers whose kind offers an
    items hook."""
    lists = {}
    for scorer in manifest.get("scorers", []):
        items = hooks_named(str(scorer.get("type"))).items
        if items is not None:
            lists[scorer["key"]] = items.list_field
    return lists


def _items(samples: pl.LazyFrame, id_col: str, item_lists: dict[str, str]) -> pl.LazyFrame:
    frames = [
        samples.select(id_col, pl.lit(key).alias("scorer"), pl.col(key).struct.field(field))
        .explode(field)
        .drop_nulls(field)
        .unnest(field)
        for key, field in item_lists.items()
    ]
    if not frames:
        return pl.LazyFrame(schema={id_col: pl.String, "scorer": pl.String})
    return pl.concat(frames)


@dataclass(frozen=True)
class ManyRunResults:
    """Finished runs' tables concatenated, each row tagged with its run's `run_id`, `name`
    (the spec's) and `started_at` (a datetime); a table that has a `name` of its own
    (scores_long, agreement: the score's) gets the run's as `run_name`."""

    runs: list[RunResults]  # in the order of started_at
    samples: pl.LazyFrame
    items: pl.LazyFrame
    scores_long: pl.LazyFrame
    metrics: pl.LazyFrame
    agreement: pl.LazyFrame | None  # the runs that had annotations


def open_runs(
    uris: str | Sequence[str], storage_options: dict[str, Any] | None = None
) -> ManyRunResults:
    """Many finished runs read as one: `uris` is a glob ("runs/nightly-*", also on object
    storage) or a list of run directories. Runs that are not finished are skipped with a
    warning; it is an error when none is."""
    candidates = _expand(uris, storage_options) if isinstance(uris, str) else list(uris)
    runs = []
    for uri in candidates:
        try:
            runs.append(open_run(uri, storage_options))
        except FileNotFoundError:
            warnings.warn(f"open_runs: skipped {uri!r}: not a finished run", stacklevel=2)
    if not runs:
        raise FileNotFoundError(f"no finished run in {uris!r}")
    runs.sort(key=lambda run: str(run.manifest.get("started_at")))

    def combined(frames: list[tuple[RunResults, pl.LazyFrame]]) -> pl.LazyFrame:
        return pl.concat([_tagged(f, run.manifest) for run, f in frames], how="diagonal_relaxed")

    labelled = [(run, run.agreement) for run in runs if run.agreement is not None]
    return ManyRunResults(
        runs=runs,
        samples=combined([(run, run.samples) for run in runs]),
        items=combined([(run, run.items) for run in runs]),
        scores_long=combined([(run, run.scores_long) for run in runs]),
        metrics=combined([(run, run.metrics) for run in runs]),
        agreement=combined(labelled) if labelled else None,
    )


def _expand(pattern: str, storage_options: dict[str, Any] | None) -> list[str]:
    fs, path = fsspec.core.url_to_fs(pattern, **(storage_options or {}))
    if not glob.has_magic(path):
        return [pattern]
    protocol = pattern.split("://", 1)[0] + "://" if "://" in pattern else ""
    return [protocol + match for match in sorted(fs.glob(path)) if fs.isdir(match)]


def _tagged(frame: pl.LazyFrame, manifest: dict[str, Any]) -> pl.LazyFrame:
    own = frame.collect_schema().names()
    started = pl.lit(manifest.get("started_at"), dtype=pl.String).str.to_datetime(time_zone="UTC")
    return frame.with_columns(
        pl.lit(manifest.get("run_id"), dtype=pl.String).alias("run_id"),
        pl.lit(manifest.get("name"), dtype=pl.String).alias(
            "run_name" if "name" in own else "name"
        ),
        started.alias("started_at"),
    )
