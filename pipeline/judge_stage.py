"""The judge stage: read the rows not yet judged, score them with the per-row scorers (plain
tasks, pipeline.row_stage) and on the judge actors, commit each block as a shard
(pipeline.storage.shards) and follow the acks for progress.

Each judge has its own actor pool; with several judges the rows pass through one pool after
another, each adding its scorers' columns and keeping what later ones read. The pool's actors
go where judge.resources / judge.node_labels allow and reserve judge.gpus_per_actor GPUs each;
every block they score carries their node's id to its ack (not into the shard), so the
manifest says which nodes judged (`judge.nodes`).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from pipeline.attempt import Run
from pipeline.cross_sample_stage import JudgedRows
from pipeline.progress import Progress
from pipeline.row_stage import per_row_read_columns, scored_per_row
from pipeline.scoring_stage import JudgeKeepsFailing, ScoringStage
from pipeline.storage.shards import commit_shard, committed_ids, shard_files, skip_committed
from scorers.registry import judged_scorer
from scorers.usage import USAGE_FIELDS


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
    nodes: dict[str, list[str]] = field(default_factory=dict)  # judge name -> node ids


# Per judge, a column of the node id that judged each row, between its actors and the commit.
NODE_COLUMN = "__rayscore_judge_node_{}"
NODES_ACK = "judge_nodes"
# The vllm judge shares its engine between concurrent batches; the openai judge runs its own
# requests concurrently within one batch.
BATCHES_IN_FLIGHT = {"vllm": 2, "openai": 1}


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
    input_columns = run.source.schema.names
    read = [*spec.judge_columns(), *per_row_read_columns(spec, input_columns)]
    rows = ray.data.read_parquet(
        list(run.source.files),
        filesystem=run.source.filesystem,
        columns=list(dict.fromkeys(read)),
    )
    if len(done):
        rows = rows.map_batches(
            skip_committed, fn_kwargs={"id_col": id_col, "committed": done}, batch_format="pyarrow"
        )
    if spec.per_row_scorers() or not spec.judged_scorers():  # without a judge: shapes the rows
        rows = scored_per_row(rows, spec, input_columns)
    rows, node_columns = _judged(rows, run, verbose)
    judged_keys = [s.key for s in spec.judged_scorers()]
    acks = rows.map_batches(
        commit_with_nodes,
        fn_kwargs={
            "folder": folder,
            "filesystem": run.run_dir.arrow_fs,
            "id_col": id_col,
            "judged_keys": judged_keys,
            "node_columns": node_columns,
        },
        batch_format="pyarrow",
        batch_size=None,
    )
    todo = run.source.num_rows - len(done)
    progress = Progress(todo)
    totals = dict.fromkeys(USAGE_FIELDS, 0)
    nodes: dict[str, set[str]] = {}
    try:
        for ack in acks.iter_rows() if todo else ():
            progress.update(ack["rows"], ack["errored"], ack["judge_requests"])
            for name in totals:
                totals[name] += ack.get(name) or 0
            for judge, ids in json.loads(ack.get(NODES_ACK) or "{}").items():
                nodes.setdefault(judge, set()).update(ids)
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
        nodes={judge: sorted(ids) for judge, ids in sorted(nodes.items())},
    )
    return JudgedRows(files, run.run_dir.arrow_fs, tuple(judged_keys)), work


def commit_with_nodes(
    block: pa.Table,
    folder: str,
    filesystem: Any,
    id_col: str,
    judged_keys: list[str],
    node_columns: dict[str, str],
) -> pa.Table:
    """Ray Data adapter: commit the block as a shard without its node columns, and add to its
    ack which nodes judged it (JSON: judge name -> node ids)."""
    present = {name: col for name, col in node_columns.items() if col in block.column_names}
    nodes = {
        name: sorted(v for v in pc.unique(block[col]).to_pylist() if v)
        for name, col in present.items()
    }
    block = block.drop_columns(list(present.values()))
    ack = commit_shard(block, folder, filesystem, id_col, judged_keys)
    return ack.append_column(NODES_ACK, pa.array([json.dumps(nodes)] * ack.num_rows, pa.string()))


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


def _judged(rows: Any, run: Run, verbose: bool) -> tuple[Any, dict[str, str]]:
    """Rows through every judge's actor pool; kept columns + scorer structs + error, and per
    judge a column of the node ids that judged them (returned: judge name -> column).
    Without judged scorers, the per-row stage has already made the rows what they become."""
    import ray

    spec = run.spec
    if not spec.judged_scorers():
        return rows, {}
    by_judge = spec.judged_scorers_by_judge()
    env = dict(run.judge_env)  # API keys; the engine quiets its own logs (VllmJudge)
    if verbose:
        env["VLLM_LOGGING_LEVEL"] = os.environ.get("VLLM_LOGGING_LEVEL", "INFO")
    scored = [s.key for s in spec.per_row_scorers()]
    node_columns: dict[str, str] = {}
    groups = list(by_judge.items())
    for n, (name, scorers) in enumerate(groups):
        judge = spec.all_judges()[name]
        later_inputs = [c for _, later in groups[n + 1 :] for s in later for c in s.column_names()]
        keep = list(
            dict.fromkeys([*spec.kept_columns(), *scored, *later_inputs, *node_columns.values()])
        )
        node_columns[name] = NODE_COLUMN.format(n)
        rows = rows.map_batches(
            ScoringStage,
            fn_constructor_kwargs={
                "judge": judge,
                "scorers": [judged_scorer(s) for s in scorers],
                "keep_columns": keep,
                "node_column": node_columns[name],
            },
            batch_size=judge.batch_size,
            batch_format="pyarrow",
            compute=ray.data.ActorPoolStrategy(
                size=judge.concurrency,
                # two batches in each actor: one's Python work while the engine runs the
                # other's requests (scorers.judge.engine_loop)
                max_concurrent_calls_per_actor=BATCHES_IN_FLIGHT[judge.backend],
                enable_true_multi_threading=True,
            ),
            # num_gpus: a tensor-parallel engine's GPUs, all on the actor's node (vLLM's mp
            # executor)
            **judge.actor_options(),
            # none unless it carries something: an actor with a runtime_env cannot start in
            # one of the workers Ray has prestarted
            runtime_env={"env_vars": env} if env else None,
        )
        scored.extend(s.key for s in scorers)
    return rows, node_columns
