"""`rayscore`: run, validate and describe scoring jobs."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from pipeline.scoring_stage import JudgeKeepsFailing
from pipeline.spec_loader import SpecError, load_spec

LOG_TAIL_CHARS = 4000
USER_ERRORS: tuple[type[Exception], ...] = (
    SpecError,
    ValueError,
    FileNotFoundError,
    FileExistsError,
)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="rayscore", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run a job spec on Ray (local unless --address)")
    run.add_argument("spec", help="job spec YAML")
    run.add_argument(
        "--overwrite",
        action="store_true",
        help="replace a finished run there, once the new one has finished",
    )
    run.add_argument(
        "--restart",
        action="store_true",
        help="start an unfinished run there over instead of resuming it",
    )
    run.add_argument("--address", default=None, help="Ray cluster address (default: local)")
    run.add_argument(
        "--verbose", action="store_true", help="Ray Data's and the engine's own logs too"
    )
    run.add_argument(
        "--no-resource-check",
        action="store_true",
        help="skip the up-front check of the cluster's GPUs and CPUs (autoscaling clusters)",
    )

    validate = commands.add_parser("validate", help="check a spec and its input, start nothing")
    validate.add_argument("spec")

    submit = commands.add_parser("submit", help="submit a job spec to a Ray cluster (Ray Jobs)")
    submit.add_argument("spec")
    submit.add_argument("--address", required=True, help="Ray dashboard, e.g. http://head:8265")
    submit.add_argument(
        "--working-dir", default=".", help="uploaded to the cluster; spec paths are relative to it"
    )
    for flag in ("--overwrite", "--restart", "--no-resource-check"):
        submit.add_argument(flag, action="store_true", help=f"passed on to rayscore run {flag}")
    submit.add_argument("--wait", type=float, default=0, help="seconds to wait for the end")

    for name, text in (("status", "a submitted job's state"), ("logs", "a submitted job's logs")):
        follow = commands.add_parser(name, help=text)
        follow.add_argument("submission_id")
        follow.add_argument("--address", required=True)

    commands.add_parser("schema", help="print the job spec's JSON schema")

    report = commands.add_parser("report", help="summarise a finished run; --html writes plots")
    report.add_argument("run_dir", help="a finished run directory (local path or fsspec URI)")
    report.add_argument("--html", default=None, help="write a static HTML report to this file")
    report.add_argument("--compare", default=None, help="a second run: per-item deltas")

    variance = commands.add_parser(
        "variance", help="score a sample of rows twice (and per paraphrase): score spread"
    )
    variance.add_argument("spec", help="job spec YAML")
    variance.add_argument("--rows", type=int, default=50, help="rows sampled from the input")
    variance.add_argument("--seed", type=int, default=0, help="which rows are sampled")
    variance.add_argument("--json", default=None, help="also write the spread table as JSON")
    variance.add_argument("--address", default=None, help="Ray cluster address (default: local)")

    args = parser.parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except USER_ERRORS as exc:
        print(f"rayscore: {exc}", file=sys.stderr)
        return 2
    except JudgeKeepsFailing as exc:
        print(f"rayscore: {exc}", file=sys.stderr)
        return 1


def _run(args: argparse.Namespace) -> int:
    from pipeline.runner import run_job

    spec = load_spec(args.spec)
    result = run_job(
        spec,
        overwrite=args.overwrite,
        restart=args.restart,
        ray_address=args.address,
        spec_file=args.spec,
        verbose=args.verbose,
        check_cluster=not args.no_resource_check,
    )
    rows = result.manifest["rows"]
    judge = result.manifest["judge"]
    resume = result.manifest["resume"]
    print(f"\nrun directory: {result.run_dir}")
    print(f"rows: {rows['in']} in, {rows['out']} out, {rows['errored']} with an error")
    if resume["resumed"]:
        print(
            f"resumed: {resume['rows_reused']} rows from {resume['shards_reused']} committed "
            f"shards; {judge['requests_this_attempt']} judge requests in this attempt"
        )
    cost = result.manifest["cost"]
    if cost["per_1000_judgments"] is not None:
        print(
            f"cost: {cost['total']:.4f} in all, "
            f"{cost['per_1000_judgments']:.4f} per 1,000 judgments"
        )
    print(
        f"judge: {judge['requests']} requests, {judge['prompt_tokens']} prompt tokens "
        f"({judge['cached_prompt_tokens']} from the prefix cache)"
    )
    print("scorers:")
    for scorer in spec.definition.scorers:
        qa = "  [qa]" if scorer.purpose == "qa" else ""
        print(f"  {scorer.name} ({scorer.type}, column {scorer.key}){qa}")
    print("metrics:")
    for name, metric in result.metrics.items():
        counts = f"n={metric['count']}, skipped={metric['skipped']}"
        print(f"  {name} [{metric['scorer_name']}]: {metric['value']}  ({counts})")
    first = spec.definition.scorers[0].key
    print("\nread the scores with Polars:")
    print("  import polars as pl")
    print(f"  pl.read_parquet('{result.run_dir}/scores/*.parquet').unnest('{first}')")
    return 0


def _validate(args: argparse.Namespace) -> int:
    from pipeline.output_check import check_output_writable
    from pipeline.resolve import resolve_spec_paths
    from pipeline.source import resolve_input

    spec = resolve_spec_paths(load_spec(args.spec))
    source = resolve_input(spec)
    check_output_writable(spec.output.path)
    print(f"{args.spec}: valid; {source.num_rows} rows in {len(source.files)} file(s)")
    return 0


def _submit(args: argparse.Namespace) -> int:
    from jobs.submit import submit, wait

    spec = load_spec(args.spec)
    flags = [
        flag
        for flag, on in (
            ("--overwrite", args.overwrite),
            ("--restart", args.restart),
            ("--no-resource-check", args.no_resource_check),
        )
        if on
    ]
    submission_id = submit(spec, args.spec, args.address, args.working_dir, flags)
    print(f"submitted {spec.name!r} as {submission_id}")
    print(f"  rayscore status {submission_id} --address {args.address}")
    print(f"  rayscore logs {submission_id} --address {args.address}")
    if args.wait:
        state = wait(args.address, submission_id, args.wait)
        print(f"{submission_id}: {state}")
        if state != "SUCCEEDED":
            from jobs.submit import logs

            print(logs(args.address, submission_id)[-LOG_TAIL_CHARS:], file=sys.stderr)
            return 1
    return 0


def _status(args: argparse.Namespace) -> int:
    from jobs.submit import status

    print(status(args.address, args.submission_id))
    return 0


def _logs(args: argparse.Namespace) -> int:
    from jobs.submit import logs

    print(logs(args.address, args.submission_id), end="")
    return 0


def _schema(args: argparse.Namespace) -> int:
    from pipeline.spec import job_spec_json_schema

    print(json.dumps(job_spec_json_schema(), indent=2))
    return 0


def _report(args: argparse.Namespace) -> int:
    from jobs.report import report_command

    return report_command(args.run_dir, html=args.html, compare=args.compare)


def _variance(args: argparse.Namespace) -> int:
    from jobs.variance import variance_command

    return variance_command(
        args.spec, rows=args.rows, seed=args.seed, json_path=args.json, address=args.address
    )


COMMANDS = {
    "run": _run,
    "validate": _validate,
    "submit": _submit,
    "status": _status,
    "logs": _logs,
    "schema": _schema,
    "report": _report,
    "variance": _variance,
}

if __name__ == "__main__":
    sys.exit(main())
