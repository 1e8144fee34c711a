"""`rayscore judges up|list|down`: a spec's judges kept loaded on a Ray cluster (warm), so
runs of specs with the same judge start no engine (pipeline.warm)."""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING, Any

from pipeline.plan import Plan, plan_of
from pipeline.resolve import resolve_spec_paths
from pipeline.spec_loader import load_spec
from pipeline.warm.idle import IdleClock
from pipeline.warm.use import iso_time

if TYPE_CHECKING:
    import polars as pl

NEEDS_A_CLUSTER = (
    "rayscore judges: warm judges live on a Ray cluster that outlives this command: give "
    "--address HOST:PORT (e.g. a `ray start --head` cluster's) or set RAY_ADDRESS"
)


def add_judges_parser(commands: Any) -> None:
    """`judges` and its three actions, on the CLI's subcommands."""
    judges = commands.add_parser(
        "judges",
        help="keep a spec's judges loaded on a Ray cluster for runs to use (up, list, down)",
    )
    actions = judges.add_subparsers(dest="action", required=True)
    up = actions.add_parser("up", help="load SPEC's judges as warm actors and keep them")
    up.add_argument("spec", help="job spec YAML whose judges to load")
    up.add_argument(
        "--idle-timeout-s",
        type=float,
        default=None,
        help="each warm judge exits after this many seconds without a call (default: never)",
    )
    listing = actions.add_parser("list", help="the cluster's warm judges")
    down = actions.add_parser("down", help="stop SPEC's warm judges (or --all)")
    down.add_argument("spec", nargs="?", help="job spec YAML whose warm judges to stop")
    down.add_argument("--all", action="store_true", help="stop every warm judge")
    for action in (up, listing, down):
        action.add_argument(
            "--address", default=None, help="Ray cluster address (default: RAY_ADDRESS)"
        )


def judges_command(args: argparse.Namespace) -> int:
    from pipeline.runner import connect_ray

    if not (args.address or os.environ.get("RAY_ADDRESS")):
        raise ValueError(NEEDS_A_CLUSTER)
    spec = getattr(args, "spec", None)  # up and down
    if args.action == "down" and bool(spec) == bool(args.all):
        raise ValueError("rayscore judges down: give a SPEC or --all (one of them)")
    if args.action == "up":
        IdleClock(args.idle_timeout_s)  # refuses a time-out of 0 or less, before Ray
    plan = plan_of(resolve_spec_paths(load_spec(spec))) if spec else None
    connect_ray(args.address, verbose=False)
    if args.action == "up":
        assert plan is not None
        return _up(plan, args.idle_timeout_s)
    if args.action == "list":
        return _list()
    return _down(plan)


def _up(plan: Plan, idle_timeout_s: float | None) -> int:
    from pipeline.attempt import judge_env
    from pipeline.judge_fingerprint import judge_fingerprint
    from pipeline.resources import check_resources, live_nodes
    from pipeline.warm.registry import start_warm

    if not plan.used_judges:
        raise ValueError("rayscore judges up: the spec's scorers use no judge")
    check_resources(plan.used_judges, live_nodes())
    for name, judge in plan.used_judges.items():
        print(f"judge {name!r}: loading {judge.concurrency} warm actor(s)...", flush=True)
        started, already = start_warm(judge, idle_timeout_s, judge_env(plan))
        print(
            f"judge {name!r} (fingerprint {judge_fingerprint(judge)[:16]}): warm; "
            f"started {', '.join(started) or 'none'}; already warm {', '.join(already) or 'none'}"
        )
    print(
        "runs whose judge has the same fingerprint now use them; `rayscore judges down` stops them"
    )
    return 0


def _list() -> int:
    import polars as pl

    from pipeline.warm.registry import infos, warm_names

    asked = infos(warm_names())
    for name in asked.not_answering:
        print(f"{name}: alive but not answering (loading its engine, or stuck)")
    found = asked.answered
    if not found:
        if not asked.not_answering:
            print("no warm judges on this cluster (`rayscore judges up SPEC` starts them)")
        return 0
    with pl.Config(tbl_rows=-1, tbl_cols=-1, tbl_width_chars=400, fmt_str_lengths=200):
        print(warm_table(found))
    return 0


def warm_table(found: list[dict[str, Any]]) -> pl.DataFrame:
    """One row per warm actor: name, model, fingerprint prefix, node, started, last used,
    idle time-out."""
    import polars as pl

    return pl.DataFrame(
        {
            "name": [i["name"] for i in found],
            "model": [i["model"] for i in found],
            "fingerprint": [i["fingerprint"][:16] for i in found],
            "node": [i["node"] for i in found],
            "started": [iso_time(i["started"]) for i in found],
            "last used": [iso_time(i["last_used"]) for i in found],
            "idle timeout s": [i["idle_timeout_s"] for i in found],
        },
        schema={
            "name": pl.String,
            "model": pl.String,
            "fingerprint": pl.String,
            "node": pl.String,
            "started": pl.String,
            "last used": pl.String,
            "idle timeout s": pl.Float64,
        },
    )


def _down(plan: Plan | None) -> int:
    from pipeline.judge_fingerprint import judge_fingerprint
    from pipeline.warm.names import names_for
    from pipeline.warm.registry import stop_warm, warm_names

    names = warm_names()
    if plan is not None:
        names = [
            n for j in plan.used_judges.values() for n in names_for(judge_fingerprint(j), names)
        ]
    stopped = stop_warm(names)
    print(f"stopped {len(stopped)} warm judge(s){': ' if stopped else ''}{', '.join(stopped)}")
    return 0
