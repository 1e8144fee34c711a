"""`rayscore serve SPEC`: the spec's judged scorers behind HTTP until SIGINT or SIGTERM."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from types import FrameType

from pipeline.resolve import resolve_spec_paths
from pipeline.spec_loader import load_spec

DEFAULT_MAX_ROWS = 64
DEFAULT_BATCH_WAIT_MS = 2.0


def serve_command(
    spec_file: str,
    *,
    host: str,
    port: int,
    address: str | None,
    max_rows: int = DEFAULT_MAX_ROWS,
    batch_wait_ms: float = DEFAULT_BATCH_WAIT_MS,
    verbose: bool = False,
) -> int:
    from pipeline.attempt import judge_env
    from pipeline.resources import check_resources, live_nodes
    from pipeline.runner import connect_ray
    from pipeline.serve_app import APP_NAME, serve_plan

    if max_rows < 1:
        raise ValueError(f"--max-rows: {max_rows}; at least 1")
    spec = resolve_spec_paths(load_spec(spec_file))
    env = judge_env(spec)
    if not verbose:
        env.setdefault("VLLM_LOGGING_LEVEL", "ERROR")
    plan = serve_plan(spec, max_rows=max_rows, batch_wait_s=batch_wait_ms / 1000, env=env)
    for warning in plan.warnings:
        print(f"rayscore: warning: {warning}", file=sys.stderr)

    import ray
    from ray import serve

    connect_ray(address, verbose)
    if not verbose:  # our own line says where it serves
        logging.getLogger("ray.serve").setLevel(logging.WARNING)
    stop = threading.Event()
    _stop_on_signals(stop)  # after Ray's own SIGTERM handler, which ray.init installs
    named_cluster = address is not None
    try:
        check_resources(spec.used_judges(), live_nodes())
        serve.start(http_options={"host": host, "port": port})
        try:
            serve.run(plan.app, name=APP_NAME, route_prefix="/")
        except RuntimeError as exc:
            print(f"rayscore: {exc}{_why_deployments_failed(APP_NAME)}", file=sys.stderr)
            return 1
        url = f"http://{host}:{port}"
        print(
            f"serving {spec.name!r} at {url}/score (request schema: {url}/schema, health: "
            f"{url}/healthz); Ctrl-C or SIGTERM stops it",
            file=sys.stderr,
            flush=True,
        )
        while not stop.wait(0.5):
            pass
        print("rayscore: stopping", file=sys.stderr, flush=True)
    finally:
        # on a named cluster only this application goes; a local Ray goes with everything
        if named_cluster:
            serve.delete(APP_NAME)
        else:
            serve.shutdown()
        ray.shutdown()
    return 0


def _why_deployments_failed(app: str) -> str:
    """Each failed deployment's last error line (a judge replica's engine that would not
    start, say), from Serve's status."""
    from ray import serve

    status = serve.status().applications.get(app)
    if status is None:
        return ""
    lines = [
        f"\n  {name}: {_raised(deployment.message)}"
        for name, deployment in status.deployments.items()
        if deployment.message
    ]
    return "".join(lines)


def _raised(message: str) -> str:
    """What a traceback in `message` ended with: the exception's lines, on one line."""
    lines = [line for line in message.strip().splitlines() if line.strip()]
    headers = [n for n, line in enumerate(lines) if not line[0].isspace()]
    raised = lines[headers[-1] :] if headers else lines[-1:]
    return " ".join(line.strip() for line in raised)[:600]


def _stop_on_signals(stop: threading.Event) -> None:
    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, handler)
