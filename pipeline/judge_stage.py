"""The judge stage: read the rows not yet judged, score them on the judge actors, commit each
block as a shard (pipeline.shards) and follow the acks for progress.

Each judge has its own actor pool; with several judges the rows pass through one pool after
another, each adding its scorers' columns and keeping what later ones read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from pipeline.attempt import Run
from pipeline.cross_sample_stage import JudgedRows
from pipeline.progress import Progress
from pipeline.scoring_stage import JudgeKeepsFailing, ScoringStage
from pipeline.shards import commit_shard, committed_ids, shard_files, skip_committed
from scorers.registry import judged_scorer
from scorers.scorer_spec import ScorerSpec
from scorers.usage import ERROR_COLUMN, USAGE_FIELDS


@dataclass(frozen=True)
class JudgeWork:
    """What this attempt judged, beside what earlier attempts had committed."""

    rows_reused: int
    shards_reused: int
    rows_judged: int
    requests: int
    prompt_tokens: int
    cached_prompt_tokens: int
    generated_tokens: int


def judge_stage(run: Run, verbose: bool = False) -> tuple[JudgedRows, JudgeWork]:
    import ray

    # Blocks of about shard_mib leave the judge stage, and each is one shard.
    context = ray.data.DataContext.get_current()
    block_size = context.target_max_block_size
    context.target_max_block_size = int(run.spec.output.shard_mib * (1 << 20))
    try:
        return _judge_in_shards(run, verbose)
    finally:
        context.target_max_block_size = block_size


def _judge_in_shards(run: Run, verbose: bool) -> tuple[JudgedRows, JudgeWork]:
    import ray

    spec = run.spec
    folder = run.run_dir.judged_path
    run.run_dir.fs.makedirs(folder, exist_ok=True)
    id_col = spec.input.id_column
    done, shards = committed_ids(folder, run.run_dir.arrow_fs, id_col)
    rows = ray.data.read_parquet(
        list(run.source.files), filesystem=run.source.filesystem, columns=spec.judge_columns()
    )
    if len(done):
        rows = rows.map_batches(
            skip_committed, fn_kwargs={"id_col": id_col, "committed": done}, batch_format="pyarrow"
        )
    rows = _judged(rows, run, verbose)
    judged_keys = [s.key for s in spec.judged_scorers()]
    acks = rows.map_batches(
        commit_shard,
        fn_kwargs={
            "folder": folder,
            "filesystem": run.run_dir.arrow_fs,
            "id_col": id_col,
            "judged_keys": judged_keys,
        },
        batch_format="pyarrow",
        batch_size=None,
    )
    todo = run.source.num_rows - len(done)
    progress = Progress(todo)
    totals = dict.fromkeys(USAGE_FIELDS, 0)
    try:
        for ack in acks.iter_rows() if todo else ():
            progress.update(ack["rows"], ack["errored"], ack["judge_requests"])
            for name in totals:
                totals[name] += ack.get(name) or 0
    except Exception as exc:
        failing = _cause(exc, JudgeKeepsFailing)
        if failing is None:
            raise
        message = str(failing.args[0] if failing.args else failing)
        raise JudgeKeepsFailing(message.splitlines()[0]) from None
    finally:
        progress.close()
    files = tuple(shard_files(folder, run.run_dir.arrow_fs))
    work = JudgeWork(
        rows_reused=len(done),
        shards_reused=shards,
        rows_judged=progress.rows,
        requests=totals["judge_requests"],
        prompt_tokens=totals["prompt_tokens"],
        cached_prompt_tokens=totals["cached_prompt_tokens"],
        generated_tokens=totals["generated_tokens"],
    )
    return JudgedRows(files, run.run_dir.arrow_fs, tuple(judged_keys)), work


def _cause(exc: BaseException, wanted: type[BaseException]) -> BaseException | None:
    """`exc` or the first exception of type `wanted` it was raised from (Ray wraps what an
    actor raised in its own errors, several deep)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, wanted):
            return current
        seen.add(id(current))
        nested = getattr(current, "cause", None)
        current = nested if isinstance(nested, BaseException) else current.__cause__
    return None


def _judged(rows: Any, run: Run, verbose: bool) -> Any:
    """Rows through every judge's actor pool; kept columns + scorer structs + error."""
    import ray

    spec = run.spec
    judged_specs = spec.judged_scorers()
    if not judged_specs:
        kept = spec.kept_columns()
        return rows.map_batches(
            lambda b: b.select(kept).append_column(ERROR_COLUMN, pa.nulls(b.num_rows, pa.string())),
            batch_format="pyarrow",
        )
    by_judge: dict[str, list[ScorerSpec]] = {}
    for scorer in judged_specs:
        by_judge.setdefault(spec.judge_name_of(scorer), []).append(scorer)
    env = dict(run.judge_env)
    if not verbose:
        env.setdefault("VLLM_LOGGING_LEVEL", "ERROR")
    scored: list[str] = []
    groups = list(by_judge.items())
    for n, (name, scorers) in enumerate(groups):
        judge = spec.all_judges()[name]
        later_inputs = [c for _, later in groups[n + 1 :] for s in later for c in s.column_names()]
        keep = list(dict.fromkeys([*spec.kept_columns(), *scored, *later_inputs]))
        rows = rows.map_batches(
            ScoringStage,
            fn_constructor_kwargs={
                "judge": judge,
                "scorers": [judged_scorer(s) for s in scorers],
                "keep_columns": keep,
            },
            batch_size=judge.batch_size,
            batch_format="pyarrow",
            compute=ray.data.ActorPoolStrategy(size=judge.concurrency),
            num_cpus=judge.num_cpus,
            num_gpus=judge.num_gpus,
            runtime_env={"env_vars": env},
        )
        scored.extend(s.key for s in scorers)
    return rows
