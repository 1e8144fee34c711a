"""`rayscore`: run, validate and describe scoring jobs."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

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
    run.add_argument("--overwrite", action="store_true", help="replace an existing run directory")
    run.add_argument("--address", default=None, help="Ray cluster address (default: local)")

    validate = commands.add_parser("validate", help="check a spec and its input, start nothing")
    validate.add_argument("spec")

    submit = commands.add_parser("submit", help="submit a job spec to a Ray cluster (Ray Jobs)")
    submit.add_argument("spec")
    submit.add_argument("--address", required=True, help="Ray dashboard, e.g. http://head:8265")
    submit.add_argument(
        "--working-dir", default=".", help="uploaded to the cluster; spec paths are relative to it"
    )
    submit.add_argument("--overwrite", action="store_true")
    submit.add_argument("--wait", type=float, default=0, help="seconds to wait for the end")

    for name, text in (("status", "a submitted job's state"), ("logs", "a submitted job's logs")):
        follow = commands.add_parser(name, help=text)
        follow.add_argument("submission_id")
        follow.add_argument("--address", required=True)

    commands.add_parser("schema", help="print the job spec's JSON schema")

    args = parser.parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except USER_ERRORS as exc:
        print(f"rayscore: {exc}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    from pipeline.runner import run_job

    spec = load_spec(args.spec)
    result = run_job(spec, overwrite=args.overwrite, ray_address=args.address, spec_file=args.spec)
    rows = result.manifest["rows"]
    judge = result.manifest["judge"]
    print(f"\nrun directory: {result.run_dir}")
    print(f"rows: {rows['in']} in, {rows['out']} out, {rows['errored']} with an error")
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
    from pipeline.resolve import resolve_spec_paths
    from pipeline.source import resolve_input

    spec = resolve_spec_paths(load_spec(args.spec))
    source = resolve_input(spec)
    print(f"{args.spec}: valid; {source.num_rows} rows in {len(source.files)} file(s)")
    return 0


def _submit(args: argparse.Namespace) -> int:
    from jobs.submit import submit, wait

    spec = load_spec(args.spec)
    submission_id = submit(spec, args.spec, args.address, args.working_dir, args.overwrite)
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


COMMANDS = {
    "run": _run,
    "validate": _validate,
    "submit": _submit,
    "status": _status,
    "logs": _logs,
    "schema": _schema,
}

if __name__ == "__main__":
    sys.exit(main())
