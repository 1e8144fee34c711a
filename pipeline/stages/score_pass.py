"""The score pass: one streaming Ray Data execution around the judge.

    read (one task per row group, one block per shard left to score; read_shards)
      -> per-row scorers (plain tasks, pipeline.stages.per_row)
      -> each judge's actor pool (one engine per actor; pipeline.stages.judge_actor)
      -> write (CPU tasks: rows finished, records and summary built, parts written;
         write_parts) -> one ack per part, read by the driver for progress

The parts are the resume point: a shard whose parts hold all its rows is not read again.
Each judge has its own actor pool; with several judges the rows pass through one pool after
another, each adding its scorers' columns and keeping what later ones read. The pool's actors
go where judge.resources / judge.node_labels allow and reserve judge.gpus_per_actor GPUs each;
every row they score carries their node's id to the write step (not into the part), so the
manifest says which nodes judged (`judge.nodes`).
"""

from __future__ import annotations

import json
import math
import os
import sys
from dataclasses import dataclass, field
from typing import Any

from pipeline.attempt import Run
from pipeline.incremental.judgments import JUDGMENTS_COLUMN, PRIOR_COLUMN
from pipeline.incremental.prior import PriorJudgments
from pipeline.incremental.recording import JUDGMENTS_WORK, RECORDED_FIELDS, Recorded
from pipeline.incremental.reuse import JudgmentReuse
from pipeline.plan import Plan
from pipeline.progress import Progress
from pipeline.stages.judge_actor import CLOCK_SUFFIX, JudgeKeepsFailing, ScoringStage
from pipeline.stages.per_row import per_row_read_columns, scored_per_row
from pipeline.stages.read_shards import SHARD_COLUMN, read_dataset, shards_to_read
from pipeline.stages.write_parts import PartWriter, write_block
from pipeline.storage.parts import list_parts
from pipeline.storage.shard_plan import plan_shards
from pipeline.warm.fallback import ColdFallback, noted_fallbacks, start_fallback_log
from pipeline.warm.registry import find_warm
from pipeline.warm.use import THIN_CLIENT_OPTIONS, warm_line
from scorers.judge.engine_fit import reported_in
from scorers.registry import judged_scorer
from scorers.usage import USAGE_FIELDS


@dataclass(frozen=True)
class JudgeWork:
    """What this attempt scored, beside what earlier attempts had written."""

    rows_reused: int
    shards_reused: int
    rows_judged: int
    requests: int
    prompt_tokens: int
    cached_prompt_tokens: int
    generated_tokens: int
    # of the requests above, those an earlier run's judgments answered (not sent to the judge)
    reused: Recorded = field(default_factory=Recorded)
    nodes: dict[str, list[str]] = field(default_factory=dict)  # judge name -> node ids
    # judge name -> [first engine start, first engine ready, last call finished], epoch s
    clocks: dict[str, list[float]] = field(default_factory=dict)
    warm: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # judge -> warm infos
    warm_fallbacks: dict[str, list[str]] = field(default_factory=dict)  # judge -> why cold


# Per judge, a column of the node id that judged each row, between its actors and the write.
NODE_COLUMN = "__rayscore_judge_node_{}"
# The vllm judge shares its engine between concurrent batches; the openai judge runs its own
# requests concurrently within one batch.
BATCHES_IN_FLIGHT = {"vllm": 2, "openai": 1}
IN_FLIGHT_SHARDS_PER_ACTOR = 64
IN_FLIGHT_FLOOR = 1 << 30


def score_pass(
    run: Run, writer: PartWriter, verbose: bool = False, prior: PriorJudgments | None = None
) -> JudgeWork:
    """Score every row not yet in `writer.folder`'s parts and write them there; every
    judgment is recorded beside them (pipeline.incremental), and with `prior` (an incremental
    run) the earlier run's judgments answer the requests they can."""
    import ray

    # Ray Data gathers what a task yields into blocks of up to this size: about a shard
    # each, so every shard (and every judge call's output) moves and is written on its own.
    context = ray.data.DataContext.get_current()
    block_size = context.target_max_block_size
    context.target_max_block_size = int(run.spec.output.shard_mib * (1 << 20))
    limits = context.execution_options.resource_limits
    budget = in_flight_budget(run.plan)
    if budget is not None and math.isinf(limits.object_store_memory):
        # unbounded, the reads run ahead of the judges up to Ray Data's share of the object
        # store: 5.6 GiB at 10M rows on one judge actor (BENCHMARKS.md), 3.4 GiB with this
        context.execution_options.resource_limits = limits.copy(object_store_memory=budget)
    try:
        return _score_pass(run, writer, verbose, prior)
    finally:
        context.target_max_block_size = block_size
        context.execution_options.resource_limits = limits


def in_flight_budget(plan: Plan) -> int | None:
    """Object store bytes the pass may hold ahead of its judges: shards queued for every
    judge actor, at least IN_FLIGHT_FLOOR; None (Ray Data's own) without a judge, where
    reading and writing keep pace."""
    actors = sum(judge.concurrency for judge in plan.used_judges.values())
    if not actors:
        return None
    shard = plan.spec.output.shard_mib * (1 << 20)
    return max(IN_FLIGHT_FLOOR, int(IN_FLIGHT_SHARDS_PER_ACTOR * actors * shard))


def _score_pass(
    run: Run, writer: PartWriter, verbose: bool, prior: PriorJudgments | None
) -> JudgeWork:
    spec, plan = run.spec, run.plan
    run.run_dir.fs.makedirs(writer.folder, exist_ok=True)
    run.run_dir.fs.makedirs(run.run_dir.join(JUDGMENTS_WORK), exist_ok=True)
    if writer.finish is not None:
        run.run_dir.fs.makedirs(writer.finish.records_folder, exist_ok=True)
    shards = plan_shards(run.source.files, run.source.filesystem, spec.output.shard_mib)
    parts = list_parts(writer.folder, run.run_dir.arrow_fs)
    todo = shards_to_read(shards, parts)
    reused = sum(p.rows for p in parts)
    work = JudgeWork(
        rows_reused=reused,
        shards_reused=len(shards) - len(todo),
        rows_judged=0,
        requests=0,
        prompt_tokens=0,
        cached_prompt_tokens=0,
        generated_tokens=0,
    )
    if not todo:
        return work
    input_columns = run.source.schema.names
    read = [*plan.judge_columns, *per_row_read_columns(plan, input_columns)]
    if prior is not None and prior.folder is None:
        prior = None
    rows = read_dataset(
        todo, run.source.filesystem, list(dict.fromkeys(read)), spec.input.id_column, prior
    )
    carried = [SHARD_COLUMN, *([PRIOR_COLUMN] if prior is not None else [])]
    if plan.per_row or not plan.judged:  # without a judge: shapes the rows
        rows = scored_per_row(rows, plan, input_columns, extra_columns=carried)
    shard_rows = max(s.rows for s in shards)
    rows, node_columns, warm, fallback_log = _judged(rows, run, verbose, shard_rows, carried)
    writer = PartWriter(
        **{
            **writer.__dict__,
            "node_columns": node_columns,
            "judgments_columns": [JUDGMENTS_COLUMN.format(n) for n in range(len(node_columns))],
            "judgments_folder": run.run_dir.join(JUDGMENTS_WORK),
        }
    )
    acks = rows.map_batches(
        write_block,
        fn_kwargs={"writer": writer},
        batch_format="pyarrow",
        # after a judge, each call's rows (about a shard) as they come; else each shard
        batch_size=_call_rows(run, shard_rows) if node_columns else None,
    )
    progress = Progress(run.source.num_rows - reused)
    totals = dict.fromkeys(USAGE_FIELDS, 0)
    reused_requests = Recorded()
    nodes: dict[str, set[str]] = {}
    clocks: dict[str, list[float]] = {}
    try:
        for ack in acks.iter_rows():
            in_part = Recorded(**{name: ack.get(name) or 0 for name in RECORDED_FIELDS})
            reused_requests += in_part
            sent = (ack["judge_requests"] or 0) - in_part.requests_reused
            progress.update(ack["rows"], ack["errored"], sent)
            for name in totals:
                totals[name] += ack.get(name) or 0
            for judge, ids in json.loads(ack.get("judge_nodes") or "{}").items():
                nodes.setdefault(judge, set()).update(ids)
            for judge, (start, ready, done) in json.loads(ack.get("judge_clock") or "{}").items():
                first = clocks.setdefault(judge, [start, ready, done])
                clocks[judge] = [min(first[0], start), min(first[1], ready), max(first[2], done)]
    except Exception as exc:
        failing = _cause(exc, JudgeKeepsFailing)
        if failing is None:
            does_not_fit = reported_in(exc)  # a judge actor's engine could not start
            if does_not_fit is not None:
                raise does_not_fit from None
            raise
        message = str(failing.args[0] if failing.args else failing)
        raise JudgeKeepsFailing(message.splitlines()[0]) from None
    finally:
        progress.close()
    return JudgeWork(
        rows_reused=reused,
        shards_reused=work.shards_reused,
        rows_judged=progress.rows,
        requests=totals["judge_requests"],
        prompt_tokens=totals["prompt_tokens"],
        cached_prompt_tokens=totals["cached_prompt_tokens"],
        generated_tokens=totals["generated_tokens"],
        reused=reused_requests,
        nodes={judge: sorted(ids) for judge, ids in sorted(nodes.items())},
        clocks=dict(sorted(clocks.items())),
        warm=warm,
        warm_fallbacks=noted_fallbacks(fallback_log),
    )


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


def _judged(
    rows: Any, run: Run, verbose: bool, shard_rows: int, carried: list[str]
) -> tuple[Any, dict[str, str], dict[str, list[dict[str, Any]]], Any]:
    """Rows through every judge's actor pool; kept columns + scorer structs + error, and per
    judge a column of the node ids that judged them (returned: judge name -> column), and
    the warm actors that judged for a judge (pipeline.warm; judge name -> their infos), and
    the log of thin clients that fell back to engines of their own (None: no judge warm).
    Without judged scorers, the per-row stage has already made the rows what they become.
    Each actor call brings about a shard's rows (whole judge batches; see ScoringStage)."""
    import ray

    plan = run.plan
    if not plan.judged:
        return rows, {}, {}, None
    by_judge = plan.judge_groups
    env = dict(run.judge_env)  # API keys; the engine quiets its own logs (VllmJudge)
    if verbose:
        env["VLLM_LOGGING_LEVEL"] = os.environ.get("VLLM_LOGGING_LEVEL", "INFO")
    scored = [s.key for s in plan.per_row]
    node_columns: dict[str, str] = {}
    warm: dict[str, list[dict[str, Any]]] = {}
    fallback_log = None
    groups = list(by_judge.items())
    for n, (name, scorers) in enumerate(groups):
        judge = plan.judges[name]
        later_inputs = [c for _, later in groups[n + 1 :] for s in later for c in s.column_names()]
        keep = list(
            dict.fromkeys(
                [
                    *plan.kept_columns,
                    *scored,
                    *later_inputs,
                    *(c for n in node_columns.values() for c in (n, n + CLOCK_SUFFIX)),
                    *(JUDGMENTS_COLUMN.format(m) for m in range(n)),
                    *carried,
                ]
            )
        )
        node_columns[name] = NODE_COLUMN.format(n)
        fingerprint = run.judge_fingerprints[name]  # check_job's: the model hashed once
        found = find_warm(fingerprint)
        if found:
            warm[name] = found
            print(warm_line(name, found), file=sys.stderr, flush=True)
            fallback_log = start_fallback_log() if fallback_log is None else fallback_log
        rows = rows.map_batches(
            ScoringStage,
            fn_constructor_kwargs={
                "judge": judge,
                "scorers": [judged_scorer(s) for s in scorers],
                "keep_columns": keep,
                "node_column": node_columns[name],
                "warm": [info["name"] for info in found],
                "cold_fallback": ColdFallback(judge, name, fallback_log, env) if found else None,
                "reuse": JudgmentReuse(fingerprint, JUDGMENTS_COLUMN.format(n)),
            },
            batch_size=_call_rows(run, shard_rows, judge.batch_size),
            batch_format="pyarrow",
            compute=ray.data.ActorPoolStrategy(
                size=len(found) or judge.concurrency,
                # two batches in each actor: one's Python work while the engine runs the
                # other's requests (scorers.judge.engine_loop)
                max_concurrent_calls_per_actor=BATCHES_IN_FLIGHT[judge.backend],
                enable_true_multi_threading=True,
            ),
            # num_gpus: a tensor-parallel engine's GPUs, all on the actor's node (vLLM's mp
            # executor); a thin client of warm judges needs neither GPU nor placement
            **(THIN_CLIENT_OPTIONS if found else judge.actor_options()),
            # none unless it carries something: an actor with a runtime_env cannot start in
            # one of the workers Ray has prestarted
            runtime_env={"env_vars": env} if env and not found else None,
        )
        scored.extend(s.key for s in scorers)
    return rows, node_columns, warm, fallback_log


def _call_rows(run: Run, shard_rows: int, batch_size: int | None = None) -> int:
    """Rows per judge actor call: whole judge batches, about a shard (the smallest judge
    batch when no judge is named)."""
    if batch_size is None:
        batch_size = min(j.batch_size for j in run.plan.used_judges.values())
    return batch_size * max(1, shard_rows // batch_size)
