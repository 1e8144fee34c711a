"""`rayscore serve SPEC`: the spec's judged scorers behind HTTP until SIGINT or SIGTERM."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from types import FrameType

from pipeline.plan import plan_of
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
    from pipeline.engine_build import check_local_engine_build
    from pipeline.resources import check_resources, live_nodes
    from pipeline.runner import connect_ray
    from pipeline.serve.app import APP_NAME, serve_plan

    if max_rows < 1:
        raise ValueError(f"--max-rows: {max_rows}; at least 1")
    if batch_wait_ms < 0:
        raise ValueError(f"--batch-wait-ms: {batch_wait_ms:g}; 0 or more")
    job = plan_of(resolve_spec_paths(load_spec(spec_file)))
    if not (address or os.environ.get("RAY_ADDRESS")):
        check_local_engine_build(job.used_judges)  # its replicas would run here
    env = judge_env(job)
    if verbose:  # the engine quiets vLLM itself unless told otherwise
        env["VLLM_LOGGING_LEVEL"] = os.environ.get("VLLM_LOGGING_LEVEL", "INFO")
    served = serve_plan(job, max_rows=max_rows, batch_wait_s=batch_wait_ms / 1000, env=env)
    for warning in served.warnings:
        print(f"rayscore: warning: {warning}", file=sys.stderr)

    from ray import serve

    shared_cluster = connect_ray(address, verbose)
    if not verbose:  # our own line says where it serves
        logging.getLogger("ray.serve").setLevel(logging.WARNING)
    stop = _Stop()  # after ray.init, which installs Ray's own SIGTERM handler
    replicas = sum(judge.concurrency for judge in job.used_judges.values())
    print(
        f"rayscore: starting {replicas} judge replica(s); each loads its engine first",
        file=sys.stderr,
        flush=True,
    )
    try:
        check_resources(job.used_judges, live_nodes())
        serve.start(http_options={"host": host, "port": port})
        try:
            serve.run(served.app, name=APP_NAME, route_prefix="/")
        except RuntimeError as exc:
            print(f"rayscore: {exc}{_why_deployments_failed(APP_NAME)}", file=sys.stderr)
            return 1
        url = f"http://{host}:{port}"
        print(
            f"serving {job.spec.name!r} at {url}/score (request schema: {url}/schema, health: "
            f"{url}/healthz); Ctrl-C or SIGTERM stops it",
            file=sys.stderr,
            flush=True,
        )
        stop.wait()
        print("rayscore: stopping", file=sys.stderr, flush=True)
    except KeyboardInterrupt:
        print("rayscore: stopped before it was serving", file=sys.stderr, flush=True)
        return 130
    finally:
        _take_down(shared_cluster)
    return 0


def _take_down(shared_cluster: bool) -> None:
    """On a cluster others may use, delete this application only; a local Ray we started
    goes with everything on it."""
    import ray
    from ray import serve
    from ray.serve.exceptions import RayServeException

    from pipeline.serve.app import APP_NAME

    try:
        if shared_cluster:
            serve.delete(APP_NAME)
        else:
            serve.shutdown()
    except RayServeException:
        pass  # Serve never started there: nothing of ours to delete
    finally:
        ray.shutdown()


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


class _Stop:
    """SIGINT and SIGTERM: interrupt start-up (KeyboardInterrupt), then, once serving, end
    `wait` so that the application is taken down cleanly."""

    def __init__(self) -> None:
        self.serving = threading.Event()
        self.stopped = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._handle)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if not self.serving.is_set():
            raise KeyboardInterrupt
        self.stopped.set()

    def wait(self) -> None:
        self.serving.set()
        while not self.stopped.wait(0.5):
            pass
