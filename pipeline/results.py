"""Read a finished run with Polars: lazy scans only, local or remote run directories.

run = open_run("runs/demo")       # or ("s3://bucket/runs/demo", {"endpoint_url": ...})
run.samples.select("id", pl.col("quality").struct.field("primary_score")).collect()
run.items.filter(pl.col("answer") == "no").group_by("question").len().collect()
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from typing import Any

import polars as pl

from pipeline.storage.run_dir import (
    AGREEMENT_TABLE,
    MANIFEST,
    METRICS_TABLE,
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
    scores_long: pl.LazyFrame  # score records, EVAL and ANNOTATION
    metrics: pl.LazyFrame
    agreement: pl.LazyFrame | None  # when the run had annotations


def open_run(uri: str, storage_options: dict[str, Any] | None = None) -> RunResults:
    """A finished run's tables as lazy scans. `storage_options` are fsspec's (the spec's
    output.storage_options); the Polars scans get them translated (polars_storage_options)."""
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
    return RunResults(
        uri=uri,
        manifest=manifest,
        samples=samples,
        items=items,
        scores_long=scan(SCORES_LONG, glob=True),
        metrics=scan(METRICS_TABLE, glob=False),
        agreement=scan(AGREEMENT_TABLE, glob=False) if has_agreement else None,
    )


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
