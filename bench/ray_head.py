"""A Ray head that outlives each command (`ray start --head --block` in its own process
group, own ports, temp dir and auth token), and a spec's judges made warm on it: what the
warm-judge benchmarks run their jobs against."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from bench.ports import free_ports
from bench.rayscore_job import ROOT

BIN = Path(sys.executable).parent
SERVICE_PORTS = ("node-manager", "object-manager", "ray-client-server", "metrics-export",
                 "dashboard-agent-listen", "dashboard-agent-grpc", "runtime-env-agent")  # fmt: skip


@contextlib.contextmanager
def ray_head(cpus: int | None = None) -> Iterator[dict[str, str]]:
    """A head on this machine; yields the environment a command joins it with."""
    home = tempfile.mkdtemp(prefix="rs-home-")
    temp_dir = tempfile.mkdtemp(prefix="rs-head-", dir="/tmp")  # short: it holds sockets
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    env.update(HOME=home, RAY_AUTH_MODE="token", PYTHONPATH=str(ROOT))
    subprocess.run([str(BIN / "ray"), "get-auth-token", "--generate"], env=env, check=True,
                   capture_output=True)  # fmt: skip
    port, *service_ports = free_ports(1 + len(SERVICE_PORTS))
    command = [str(BIN / "ray"), "start", "--head", "--block", f"--port={port}"]
    command += [f"--{name}-port={p}" for name, p in zip(SERVICE_PORTS, service_ports, strict=True)]
    command += [f"--temp-dir={temp_dir}", "--include-dashboard=false", "--disable-usage-stats"]
    command += [f"--num-cpus={cpus}"] if cpus else []
    log = Path(temp_dir, "head.log")
    process = subprocess.Popen(
        command,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env={**env, "RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S": "0"},
    )
    env["RAY_ADDRESS"] = f"127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while rayscore("judges", "list", env=env).returncode != 0:
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"ray head did not start:\n{log.read_text()}")
            time.sleep(2)
        yield env
    finally:
        process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=30)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        shutil.rmtree(temp_dir, ignore_errors=True)
        shutil.rmtree(home, ignore_errors=True)


def rayscore(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "jobs.cli", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True)  # fmt: skip


def warm_up(spec: dict[str, Any], workdir: Path, env: dict[str, str]) -> float:
    """`rayscore judges up` for `spec`'s judges; its wall seconds (the engines' start)."""
    spec_file = workdir / "judges-up.yaml"
    spec_file.write_text(yaml.safe_dump(spec))
    started = time.perf_counter()
    done = rayscore("judges", "up", str(spec_file), env=env)
    if done.returncode != 0:
        raise SystemExit(f"rayscore judges up failed:\n{done.stderr[-3000:]}")
    return time.perf_counter() - started
