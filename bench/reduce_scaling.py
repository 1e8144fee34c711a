"""Reduce scaling: rayscore's `uniqueness` scorer (exact duplicates, grouped per hash partition
in Ray tasks) over
a large corpus vs a single-process Polars group-by doing the same, same run, same files.
Prints one JSON line last.

Data: `--rows` synthetic responses (30-45 words, unique suffixes; ~8% exact copies of a row
of the same or previous file with case and spacing changed; ~0.05% null) in Parquet files of
500,000 rows (id, response).

Polars (one process, all its threads): read the files, normalise like the scorer's defaults
(lowercase, whitespace runs to one space, stripped; the regex is an equivalent of the scorer's
"\\s+" regex that Polars runs about twice as fast), group by the normalised text and count,
join the counts back, label every row (is_unique, duplicate_count; a null text is unique),
write (id, is_unique, duplicate_count) to Parquet.

rayscore: a real job with only the uniqueness scorer (no judge), `run_job` in-process on a
local Ray cluster (all CPUs), through commit (scores/, scores_long/, metrics). Ray's start is
timed apart and excluded; the job's seconds are run_job's wall time minus the manifest's `ray`
stage. Both sides must find the same number of non-unique rows.

Memory, sampled every 0.2 s: the headline is the peak PSS summed over the driver and every
process under it (Ray's raylet with its object store, GCS, workers; PSS splits shared pages,
so nothing counts twice), absolute, so Ray's own processes count. Beside it, machine-wide
`used + shared` (the object store is shared memory) above the level before Ray started and
above the level once it was up; that one also counts (or frees) other people's work on the
machine. The Polars side is measured the same way (its process alone).

Figures: time ratio rayscore / Polars (target <= 2) and rayscore peak memory (<= 4 GiB).

    .venv/bin/python -m bench.reduce_scaling                 # 10,000,000 rows
    .venv/bin/python -m bench.reduce_scaling --rows 100000   # quick
    .venv/bin/python -m bench.reduce_scaling --stage-only --rows 2000000   # the stage alone
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from bench.cross_sample_scale import WORDS
from bench.harness import (
    PeakMemory,
    folder_bytes,
    load_average,
    memory_in_use,
    start_ray,
    timed,
)
from bench.result import print_result

TIME_TARGET = 2.0
MEMORY_TARGET_GIB = 4.0
KEY = "exact"
ROWS_PER_FILE = 500_000
COPY_SHARE = 0.08
NULL_SHARE = 0.0005
# What r"\s+" -> " " does, touching only what changes (runs of 2+, or one non-space
# whitespace): about twice as fast in Polars as r"\s+" itself, whose every space matches.
SPACE_RUNS = r"\s{2,}|[\s&&[^ ]]"


def fresh_texts(start: int, rows: int, rng: np.random.Generator) -> pa.Array:
    """`rows` texts of 30-45 random words, each ending in '#<row number>'."""
    lengths = rng.integers(30, 46, size=rows)
    offsets = pa.array(np.concatenate([[0], np.cumsum(lengths)]), pa.int32())
    words = pa.array(WORDS).take(rng.integers(len(WORDS), size=int(lengths.sum())))
    texts = pc.binary_join(pa.ListArray.from_arrays(offsets, words), " ")
    numbers = pc.cast(pa.array(np.arange(start, start + rows)), pa.string())
    return pc.binary_join_element_wise(texts, pc.binary_join_element_wise("#", numbers, ""), " ")


def with_copies(texts: pa.Array, earlier: pa.Array, rng: np.random.Generator) -> pa.Array:
    """Some rows replaced by a copy of an earlier text (this file's or the previous file's),
    upper-cased and indented; some by null."""
    pool = pa.concat_arrays([earlier, texts])
    rows = len(texts)
    roll = rng.random(rows)
    copied = np.flatnonzero(roll < COPY_SHARE)
    sources = (rng.random(len(copied)) * (len(earlier) + copied)).astype(np.int64)
    copies = pc.binary_join_element_wise("  ", pc.utf8_upper(pool.take(sources)), "")
    order = np.arange(rows, dtype=np.int64)
    order[copied] = rows + np.arange(len(copied))
    out = pa.concat_arrays([texts, copies]).take(pa.array(order))
    nulls = pa.array(roll > 1 - NULL_SHARE)
    return pc.if_else(nulls, pa.scalar(None, pa.string()), out)


def write_corpus(folder: Path, rows: int, seed: int = 0) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    earlier = pa.array([], pa.string())
    for f, start in enumerate(range(0, rows, ROWS_PER_FILE)):
        count = min(ROWS_PER_FILE, rows - start)
        fresh = fresh_texts(start, count, rng)
        texts = with_copies(fresh, earlier, rng)
        ids = pc.binary_join_element_wise(
            "r",
            pc.utf8_lpad(pc.cast(pa.array(np.arange(start, start + count)), pa.string()), 9, "0"),
            "",
        )
        pq.write_table(pa.table({"id": ids, "response": texts}), folder / f"part-{f:04d}.parquet")
        earlier = fresh
    return folder


def polars_uniqueness(folder: Path, out: Path) -> dict[str, int]:
    """Read, normalise, group-by count, label each row, write; counts of the labels."""
    import polars as pl

    key = pl.col("response").str.to_lowercase().str.replace_all(SPACE_RUNS, " ").str.strip_chars()
    rows = pl.read_parquet(folder / "*.parquet").with_columns(key=key)
    counts = rows.group_by("key").len("n")
    labelled = rows.join(counts, on="key", how="left").select(
        "id",
        is_unique=pl.col("key").is_null() | (pl.col("n") == 1),
        duplicate_count=pl.when(pl.col("key").is_null()).then(0).otherwise(pl.col("n") - 1),
    )
    labelled.write_parquet(out)
    return {
        "rows": labelled.height,
        "not_unique": int((~labelled["is_unique"]).sum()),
        "duplicate_count_sum": int(labelled["duplicate_count"].sum()),
    }


def job_spec(folder: Path, out: Path) -> Any:
    from pipeline.spec_loader import parse_spec

    return parse_spec(
        {
            "name": "reduce-scaling",
            "input": {"path": str(folder), "id_column": "id"},
            "output": {"path": str(out)},
            "definition": {"scorers": [{"type": "uniqueness", "key": KEY, "column": "response"}]},
        }
    )


def run_rayscore(spec: Any) -> tuple[dict[str, Any], float]:
    """The whole job, in-process on the running Ray; (manifest, seconds without Ray start)."""
    from pipeline.runner import run_job

    result, seconds = timed(lambda: run_job(spec))
    manifest: dict[str, Any] = result.manifest
    return manifest, seconds - manifest["timings_s"]["ray"]


def rayscore_counts(out: Path) -> dict[str, int]:
    column = pq.read_table(out / "scores", columns=[KEY])[KEY].combine_chunks()
    is_unique = pc.struct_field(column, "is_unique")
    return {
        "rows": len(column),
        "not_unique": int(pc.sum(pc.invert(is_unique)).as_py() or 0),
        "duplicate_count_sum": int(pc.sum(pc.struct_field(column, "duplicate_count")).as_py()),
    }


def polars_shared_rows(folder: Path) -> dict[str, int]:
    """What the cross-sample stage alone gives, the Polars way: read, normalise, group-by
    count, keep the rows in a group of several (id, count) in memory."""
    import polars as pl

    key = pl.col("response").str.to_lowercase().str.replace_all(SPACE_RUNS, " ").str.strip_chars()
    rows = pl.read_parquet(folder / "*.parquet").select("id", key=key)
    shared = rows.filter(pl.col("key").is_not_null() & (pl.len().over("key") > 1))
    counts = shared.group_by("key").len("n")
    return {
        "not_unique": shared.height,
        "duplicate_count_sum": int((counts["n"] * (counts["n"] - 1)).sum()),
    }


def stage_only(folder: Path) -> dict[str, Any]:
    """rayscore's cross-sample stage alone (`cross_sample_results`, in-process on the running
    Ray) vs `polars_shared_rows`: (seconds, peak tree PSS GiB, counts) of each."""
    from pipeline.source import resolve_input
    from pipeline.stages.cross_sample import JudgedRows, cross_sample_results

    spec = job_spec(folder, folder.parent / "unused")
    load_before = load_average()
    with PeakMemory() as polars_memory:
        local, polars_s = timed(lambda: polars_shared_rows(folder))
    source = resolve_input(spec)
    start_ray()
    with PeakMemory() as memory:
        results, stage_s = timed(
            lambda: cross_sample_results(spec, source, JudgedRows((), None, ()))
        )
    column = results[0].table[KEY]
    distributed = {
        "not_unique": len(column),
        "duplicate_count_sum": int(pc.sum(pc.struct_field(column, "duplicate_count")).as_py() or 0),
    }
    if distributed != local:
        raise RuntimeError(f"cross-sample stage {distributed} and Polars {local} disagree")
    return {
        "stage_seconds": round(stage_s, 2),
        "polars_seconds": round(polars_s, 2),
        "stage_peak_memory_gib": memory.tree_pss_gib,
        "polars_peak_memory_gib": polars_memory.tree_pss_gib,
        "driver_table_mib": round(results[0].table.nbytes / 2**20, 1),
        "load_average_before_after": [load_before, load_average()],
        **local,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument(
        "--stage-only",
        action="store_true",
        help="time the cross-sample stage alone against the Polars group-by (2,000,000 rows)",
    )
    args = parser.parse_args()
    import ray

    if args.stage_only:
        with tempfile.TemporaryDirectory() as tmp:
            figures = stage_only(write_corpus(Path(tmp, "corpus"), args.rows))
        ray.shutdown()
        ratio = figures["stage_seconds"] / figures["polars_seconds"]
        print_result(
            "cross_sample_stage",
            ratio,
            TIME_TARGET,
            "lower",
            "cross-sample stage seconds / Polars seconds",
            {"name": "Polars group-by, one process", "seconds": figures["polars_seconds"]},
            rows=args.rows,
            **figures,
        )
        return

    load_before = load_average()
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_corpus(Path(tmp, "corpus"), args.rows)
        with PeakMemory() as polars_memory:
            local, polars_s = timed(lambda: polars_uniqueness(folder, Path(tmp, "polars.parquet")))
        before_ray = memory_in_use()
        ray_start_s = start_ray()
        with PeakMemory() as memory:
            manifest, rayscore_s = run_rayscore(job_spec(folder, Path(tmp, "run")))
        ray.shutdown()
        distributed = rayscore_counts(Path(tmp, "run"))
        input_bytes = folder_bytes(folder)
    if distributed != local:
        raise RuntimeError(f"rayscore {distributed} and Polars {local} disagree")
    peak_gib = memory.tree_pss_gib
    print_result(
        "reduce_scaling",
        rayscore_s / polars_s,
        TIME_TARGET,
        "lower",
        "rayscore seconds / Polars seconds",
        {
            "name": "Polars group-by, one process",
            "seconds": round(polars_s, 2),
            "peak_memory_gib": polars_memory.tree_pss_gib,
            "peak_memory_machine_wide_gib": polars_memory.above(),
            **local,
        },
        rows=args.rows,
        input_bytes=input_bytes,
        rayscore_seconds=round(rayscore_s, 2),
        ray_start_seconds_excluded=round(ray_start_s, 2),
        stage_seconds={k: v for k, v in manifest["timings_s"].items() if v >= 0.0005},
        same_non_unique_rows=True,
        rayscore_counts=distributed,
        peak_memory_gib=peak_gib,
        peak_memory_target_gib=MEMORY_TARGET_GIB,
        peak_memory_met=peak_gib <= MEMORY_TARGET_GIB,
        peak_memory_machine_wide_gib=memory.above(before_ray),
        peak_memory_machine_wide_above_running_ray_gib=memory.above(),
        load_average_before_after=[load_before, load_average()],
    )


if __name__ == "__main__":
    main()
