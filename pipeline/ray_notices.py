"""Ray's lines that a rayscore user can do nothing about, kept off the driver's terminal.

Ray's core worker prints an error, once per process, when it creates an actor that may restart
and has constructor arguments in the object store (ray-project/ray#53727: such an argument,
once gone, would fail the restart). Ray Data's actor pools always pass their DataContext and
MapTransformer that way, and keep both alive for as long as the pool runs, so for the judge
actors it is a false alarm. Ray has no switch for it short of no restarts at all or no C++
errors at all (RAY_BACKEND_LOG_LEVEL=fatal); the line is spent here instead, on an actor that
never runs, while stderr points at /dev/null.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import Any

# A resource no node offers: the throwaway actor is never scheduled, so no worker starts.
NEVER_SCHEDULED = {"rayscore_never_scheduled": 1}


def spend_actor_restart_warning() -> None:
    """Print Ray's once-per-process actor restart warning to /dev/null, now."""
    import ray

    stored = ray.put(None)
    throwaway = ray.remote(_Throwaway).options(
        num_cpus=0, resources=NEVER_SCHEDULED, max_restarts=1
    )
    with _stderr_muted():
        actor = throwaway.remote(stored)  # the warning is printed here, synchronously
    ray.kill(actor, no_restart=True)


class _Throwaway:
    def __init__(self, argument: Any) -> None:
        self.argument = argument


@contextlib.contextmanager
def _stderr_muted() -> Iterator[None]:
    """File descriptor 2 (where Ray's C++ code writes) to /dev/null, and back."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
