"""`rayscore`: run, validate and describe scoring jobs."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from jobs.preflight import exit_if_dependencies_missing

# A submitted job runs with the cluster's Python: one line if it lacks our dependencies.
exit_if_dependencies_missing()

from jobs.context_report import context_lines  # noqa: E402
from jobs.judges_command import add_judges_parser, judges_command  # noqa: E402
from jobs.serve_command import DEFAULT_BATCH_WAIT_MS, DEFAULT_MAX_ROWS  # noqa: E402
from jobs.storage_options_flag import FLAG_HELP as STORAGE_OPTIONS_HELP  # noqa: E402
from jobs.submit import (  # noqa: E402
    FINAL_STATES,
    Cluster,
    ClusterError,
    job_table,
    plan_submission,
    relative_output_warning,
)
from pipeline.incremental.spec import with_incremental_from  # noqa: E402
from pipeline.incremental.summary import incremental_line  # noqa: E402
from pipeline.spec_loader import SpecError, load_spec  # noqa: E402
from pipeline.stages.judge_actor import JudgeKeepsFailing  # noqa: E402

STOP_WAIT_S = 60  # rayscore stop waits this long for the job to end
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
    _nightly_options(run)
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

    submit = commands.add_parser(
        "submit",
        help="run a job spec on a Ray cluster (Ray Jobs): waits, streaming its logs",
        description="Submit SPEC as a Ray job running `rayscore run SPEC` on the cluster, with "
        "the working directory uploaded (spec paths are relative to it). Waits for the end, "
        "streaming the job's logs, and exits 0 if it succeeded, 1 if it failed or was stopped.",
    )
    submit.add_argument("spec")
    _address_option(submit)
    submit.add_argument(
        "--working-dir", default=".", help="uploaded to the cluster; spec paths are relative to it"
    )
    for flag in ("--overwrite", "--restart", "--no-resource-check"):
        submit.add_argument(flag, action="store_true", help=f"passed on to rayscore run {flag}")
    _nightly_options(submit)
    submit.add_argument(
        "--runtime-env",
        default=None,
        metavar="FILE",
        help="a Ray runtime env (YAML or JSON) merged into the job's: env_vars, pip, conda, ...",
    )
    submit.add_argument(
        "--pip",
        action="append",
        default=[],
        metavar="PKG",
        help="a package the job's Python installs (runtime env pip); repeatable",
    )
    waiting = submit.add_mutually_exclusive_group()
    waiting.add_argument(
        "--no-wait", action="store_true", help="print the submission id and return at once"
    )
    waiting.add_argument(
        "--wait",
        type=float,
        nargs="?",
        const=None,
        default=None,
        metavar="SECONDS",
        help="wait (the default); with SECONDS, stop following after that long",
    )

    status = commands.add_parser("status", help="a submitted job's state")
    status.add_argument("submission_id")
    _address_option(status)
    logs = commands.add_parser("logs", help="a submitted job's logs")
    logs.add_argument("submission_id")
    _address_option(logs)
    logs.add_argument("--follow", "-f", action="store_true", help="stream them until the job ends")
    stop = commands.add_parser("stop", help="stop a submitted job")
    stop.add_argument("submission_id")
    _address_option(stop)
    listing = commands.add_parser("list", help="the cluster's submitted jobs")
    _address_option(listing)

    commands.add_parser("schema", help="print the job spec's JSON schema")

    report = commands.add_parser("report", help="summarise a finished run; --html writes plots")
    report.add_argument("run_dir", help="a finished run directory (local path or fsspec URI)")
    report.add_argument("--html", default=None, help="write a static HTML report to this file")
    report.add_argument(
        "--compare", default=None, help="a second run: what changed (as `rayscore diff`)"
    )
    report.add_argument("--storage-options", default=None, help=STORAGE_OPTIONS_HELP)

    diff = commands.add_parser(
        "diff", help="what changed between two finished runs, and whether it is more than noise"
    )
    diff.add_argument("run_a", help="the earlier run (local path or fsspec URI)")
    diff.add_argument("run_b", help="the later run: changes are B - A")
    diff.add_argument("--json", default=None, help="also write the diff as JSON")
    diff.add_argument(
        "--fail-on-regression",
        type=float,
        default=None,
        metavar="THRESHOLD",
        help="exit 1 when a mean score drops by more than THRESHOLD beyond the noise",
    )
    diff.add_argument(
        "--variance", default=None, help="a `rayscore variance --json` file: the noise floors"
    )
    diff.add_argument("--storage-options", default=None, help=STORAGE_OPTIONS_HELP)

    variance = commands.add_parser(
        "variance", help="score a sample of rows twice (and per paraphrase): score spread"
    )
    variance.add_argument("spec", help="job spec YAML")
    variance.add_argument("--rows", type=int, default=50, help="rows sampled from the input")
    variance.add_argument("--seed", type=int, default=0, help="which rows are sampled")
    variance.add_argument("--json", default=None, help="also write the spread table as JSON")
    variance.add_argument("--address", default=None, help="Ray cluster address (default: local)")

    forecast = commands.add_parser(
        "plan",
        help="before a run: judgments, prompt tokens, prefix cache, rows over the context; "
        "with --probe, wall time and cost",
        description="Forecast SPEC's judge work without scoring the corpus: judgments (every "
        "row prepared), prompt tokens from the judge's tokenizer on --sample rows, the share "
        "the prefix cache serves, rows over max_model_len and the cheapest change that "
        "matters. --probe N scores N sampled rows on the real judge (a temporary run) and "
        "predicts wall time, GPU- or CPU-hours and, with judge.price_per_hour, the cost.",
    )
    forecast.add_argument("spec", help="job spec YAML")
    forecast.add_argument(
        "--sample", type=int, default=200, help="rows tokenized for the token figures"
    )
    forecast.add_argument("--seed", type=int, default=0, help="which rows are sampled")
    forecast.add_argument(
        "--probe", type=int, default=None, metavar="N", help="score N rows on the real judge"
    )
    forecast.add_argument("--json", default=None, help="also write the figures as JSON")
    forecast.add_argument("--address", default=None, help="Ray cluster address (default: local)")

    review = commands.add_parser(
        "review",
        help="a finished run in the browser: samples, items, a label queue; labels saved to "
        "RUN/annotations/",
        description="Serve RUN's samples, each sample's checklist items and a label queue on a "
        "local web app; the printed URL carries an access token. Labels are appended to "
        "RUN/annotations/ as Parquet parts that `annotations: {path: RUN/annotations}` reads. "
        "Runs until Ctrl-C.",
    )
    review.add_argument("run_dir", help="a finished run directory (local path or fsspec URI)")
    review.add_argument("--compare", default=None, help="a second run shown beside it")
    review.add_argument("--host", default="127.0.0.1", help="address to listen on")
    review.add_argument("--port", type=int, default=0, help="port (default 0: a free one)")
    review.add_argument("--author", default=None, help="who labels (default: the OS user)")
    review.add_argument("--storage-options", default=None, help=STORAGE_OPTIONS_HELP)

    serve = commands.add_parser(
        "serve",
        help="score rows online: the spec's judged scorers behind HTTP (Ray Serve)",
        description="Deploy SPEC's judged scorers as a Ray Serve application: POST /score "
        '{"rows": [{...}]} answers with the same structs as the batch job\'s scores/. Runs '
        "until SIGINT or SIGTERM.",
    )
    serve.add_argument("spec", help="job spec YAML")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=8000, help="port to listen on")
    serve.add_argument("--address", default=None, help="Ray cluster address (default: local)")
    serve.add_argument(
        "--max-rows",
        type=int,
        default=DEFAULT_MAX_ROWS,
        help=f"most rows in one request (default {DEFAULT_MAX_ROWS}); more is answered 413",
    )
    serve.add_argument(
        "--batch-wait-ms",
        type=float,
        default=DEFAULT_BATCH_WAIT_MS,
        help="how long a request waits for others to share its engine call "
        f"(default {DEFAULT_BATCH_WAIT_MS:g})",
    )
    serve.add_argument("--verbose", action="store_true", help="the engine's own logs too")
    add_judges_parser(commands)

    args = parser.parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except USER_ERRORS as exc:
        print(f"rayscore: {exc}", file=sys.stderr)
        return 2
    except JudgeKeepsFailing as exc:
        print(f"rayscore: {exc}", file=sys.stderr)
        return 1
    except ClusterError as exc:
        print(f"rayscore: {exc}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    from pipeline.runner import run_job

    spec = with_incremental_from(load_spec(args.spec, args.output, args.annotations), args.from_run)
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
    if result.already_complete:
        print(
            "rayscore: complete already: output.path holds this job's finished run (same "
            "spec, input, judges and versions); nothing was run or rewritten (--overwrite runs "
            "it again)"
        )
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
    for name, path in judge["endpoints"].items():
        print(f"judge endpoint {name!r}: {path}")
    for name, actors in judge.get("warm", {}).items():  # older runs: none
        print(f"judge {name!r}: answered by warm judge(s) {', '.join(actors)}; no engine started")
    reuse_line = incremental_line(result.manifest.get("incremental"))
    if reuse_line:
        print(reuse_line)
    for line in context_lines(result.manifest):
        print(line)
    if judge["requests_without_logprobs"]:
        print(
            f"confidences unavailable for {judge['requests_without_logprobs']} of "
            f"{judge['requests']} judge requests (no log-probs): their answers were read from "
            "text, confidence null, normalized_score = pass_rate"
        )
    for key, floor in result.manifest.get("label_mass", {}).items():  # older runs: none
        if floor["unscored"]:
            print(
                f"{key}: {floor['unscored']} answers unscored: the judge did not answer with a "
                f"label (label mass under judge.min_label_mass {floor['min_label_mass']:g})"
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
    from pipeline.annotations.names import check_annotation_names
    from pipeline.resolve import resolve_spec_paths
    from pipeline.source import resolve_input
    from pipeline.storage.output_check import check_output_writable

    spec = resolve_spec_paths(load_spec(args.spec))
    source = resolve_input(spec)
    check_annotation_names(spec)
    check_output_writable(spec.output.path, spec.output.storage_options)
    print(f"{args.spec}: valid; {source.num_rows} rows in {len(source.files)} file(s)")
    return 0


def _nightly_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--from",
        dest="from_run",
        default=None,
        help="an earlier finished run whose judgments are reused where a request is the same "
        "(the spec's incremental.from)",
    )
    parser.add_argument(
        "--output",
        default=None,
        help="the run directory, instead of the spec's output.path (one spec, a run per night)",
    )
    parser.add_argument(
        "--annotations",
        default=None,
        help="human labels to read beside the spec's annotations, e.g. RUN/annotations "
        "(the labels given in rayscore review): the run calibrates on them and counts them",
    )


def _nightly_flags(args: argparse.Namespace) -> list[str]:
    """`--from`, `--output` and `--annotations` as given, for the job's own `rayscore run`."""
    flags = []
    given = (
        ("--from", args.from_run),
        ("--output", args.output),
        ("--annotations", args.annotations),
    )
    for flag, value in given:
        if value is not None:
            flags += [flag, value]
    return flags


def _address_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--address",
        default=None,
        help="the cluster's dashboard, e.g. http://HEAD:8265 (default: RAY_API_SERVER_ADDRESS, "
        "then RAY_ADDRESS, then a Ray cluster on this machine)",
    )


def _submit(args: argparse.Namespace) -> int:
    spec = with_incremental_from(load_spec(args.spec, args.output, args.annotations), args.from_run)
    flags = [
        flag
        for flag, on in (
            ("--overwrite", args.overwrite),
            ("--restart", args.restart),
            ("--no-resource-check", args.no_resource_check),
        )
        if on
    ] + _nightly_flags(args)
    submission = plan_submission(
        spec, args.spec, args.working_dir, flags, runtime_env_file=args.runtime_env, pip=args.pip
    )
    warning = relative_output_warning(spec)
    if warning:
        print(f"rayscore: warning: {warning}", file=sys.stderr)
    cluster = Cluster(args.address)
    submission_id = cluster.submit(submission)
    if args.no_wait:
        print(submission_id)
        print(
            f"submitted {spec.name!r}; follow it with: rayscore logs {submission_id} --follow "
            f"--address {cluster.address}",
            file=sys.stderr,
        )
        return 0
    print(f"submitted {spec.name!r} as {submission_id}; its logs follow", file=sys.stderr)
    return _follow(cluster, submission_id, args.wait)


def _follow(cluster: Cluster, submission_id: str, timeout_s: float | None = None) -> int:
    """Stream the job's logs until it ends; its state decides the exit status."""
    address = f"--address {cluster.address}"
    try:
        state = cluster.follow(submission_id, sys.stdout, timeout_s)
    except KeyboardInterrupt:
        print(
            f"\nrayscore: stopped following; job {submission_id} keeps running on the cluster."
            f"\n  follow it: rayscore logs {submission_id} --follow {address}"
            f"\n  stop it:   rayscore stop {submission_id} {address}",
            file=sys.stderr,
        )
        return 130
    print(f"{submission_id}: {state}", file=sys.stderr)
    if state not in FINAL_STATES:
        print(
            f"  still {state} after {timeout_s:g} s; it keeps running: "
            f"rayscore logs {submission_id} --follow {address}",
            file=sys.stderr,
        )
    elif state != "SUCCEEDED":
        message = cluster.message(submission_id)
        if message:  # its first line; the logs it quotes were streamed above
            print(
                f"  {message.strip().splitlines()[0].split(', last available logs')[0]}",
                file=sys.stderr,
            )
    return 0 if state == "SUCCEEDED" else 1


def _status(args: argparse.Namespace) -> int:
    cluster = Cluster(args.address)
    state = cluster.status(args.submission_id)
    print(state)
    message = cluster.message(args.submission_id) if state in ("FAILED", "STOPPED") else None
    if message:
        print(message.strip().splitlines()[0], file=sys.stderr)
    return 0


def _logs(args: argparse.Namespace) -> int:
    cluster = Cluster(args.address)
    if args.follow:
        return _follow(cluster, args.submission_id)
    print(cluster.logs(args.submission_id), end="")
    return 0


def _stop(args: argparse.Namespace) -> int:
    cluster = Cluster(args.address)
    if not cluster.stop(args.submission_id):
        print(f"{args.submission_id}: {cluster.status(args.submission_id)} (already ended)")
        return 0
    print(f"{args.submission_id}: {cluster.settle(args.submission_id, STOP_WAIT_S)}")
    return 0


def _list(args: argparse.Namespace) -> int:
    print(job_table(Cluster(args.address).jobs()))
    return 0


def _schema(args: argparse.Namespace) -> int:
    from pipeline.spec import job_spec_json_schema

    print(json.dumps(job_spec_json_schema(), indent=2))
    return 0


def _report(args: argparse.Namespace) -> int:
    from jobs.report import report_command

    return report_command(
        args.run_dir, html=args.html, compare=args.compare, storage_options=args.storage_options
    )


def _diff(args: argparse.Namespace) -> int:
    from jobs.diff.command import diff_command

    return diff_command(
        args.run_a,
        args.run_b,
        json_path=args.json,
        fail_on_regression=args.fail_on_regression,
        variance=args.variance,
        storage_options=args.storage_options,
    )


def _variance(args: argparse.Namespace) -> int:
    from jobs.variance import variance_command

    return variance_command(
        args.spec, rows=args.rows, seed=args.seed, json_path=args.json, address=args.address
    )


def _plan(args: argparse.Namespace) -> int:
    from jobs.plan_command import plan_command

    return plan_command(
        args.spec,
        sample=args.sample,
        seed=args.seed,
        probe=args.probe,
        json_path=args.json,
        address=args.address,
    )


def _review(args: argparse.Namespace) -> int:
    from jobs.review.command import review_command

    return review_command(
        args.run_dir,
        compare=args.compare,
        host=args.host,
        port=args.port,
        author=args.author,
        storage_options=args.storage_options,
    )


def _serve(args: argparse.Namespace) -> int:
    from jobs.serve_command import serve_command

    return serve_command(
        args.spec,
        host=args.host,
        port=args.port,
        address=args.address,
        max_rows=args.max_rows,
        batch_wait_ms=args.batch_wait_ms,
        verbose=args.verbose,
    )


COMMANDS = {
    "run": _run,
    "validate": _validate,
    "submit": _submit,
    "status": _status,
    "logs": _logs,
    "stop": _stop,
    "list": _list,
    "schema": _schema,
    "report": _report,
    "diff": _diff,
    "variance": _variance,
    "plan": _plan,
    "serve": _serve,
    "judges": judges_command,
    "review": _review,
}

if __name__ == "__main__":
    sys.exit(main())
