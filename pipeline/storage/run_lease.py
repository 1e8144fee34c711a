"""Who is writing a run directory: a lease file with a heartbeat, so a second run on the same
output path is refused within seconds while the first is alive, and a lease left by a killed
run is taken over: at once when its process is gone from this host, else once it expires
(TTL_S without a heartbeat), and the next run resumes."""

from __future__ import annotations

import os
import socket
import threading
import time
from typing import Any

from pipeline.storage.run_dir import LEASE, RunDirectory

TTL_S = 30.0
HEARTBEAT_S = 5.0
SETTLE_S = 0.2  # two runs that both found no live lease: the later write wins, the other sees it


class RunDirectoryHeld(FileExistsError):
    pass


class RunLease:
    def __init__(self, run_dir: RunDirectory, run_id: str) -> None:
        self.run_dir = run_dir
        self.holder = {"run_id": run_id, "host": socket.gethostname(), "pid": os.getpid()}
        self._stop = threading.Event()
        self._beating: threading.Thread | None = None

    @classmethod
    def acquire(cls, run_dir: RunDirectory, run_id: str) -> RunLease:
        """Hold `run_dir`, or raise RunDirectoryHeld naming the live run that holds it."""
        lease = cls(run_dir, run_id)
        lease._refuse_if_held()
        lease._write()
        time.sleep(SETTLE_S)
        lease._refuse_if_held()
        lease._beating = threading.Thread(target=lease._beat, name="run-lease", daemon=True)
        lease._beating.start()
        return lease

    def release(self) -> None:
        """Stop the heartbeat and remove the lease (once; a released lease stays released)."""
        if self._stop.is_set():
            return
        self._stop.set()
        if self._beating is not None:
            self._beating.join()
        held = self._read()
        if held is not None and held["run_id"] == self.holder["run_id"]:
            self.run_dir.remove(self.run_dir.join(LEASE))

    def _refuse_if_held(self) -> None:
        held = self._read()
        if held is None or held.get("run_id") == self.holder["run_id"] or _dead_here(held):
            return
        age = time.time() - float(held.get("heartbeat", 0))
        if age < TTL_S:
            who = f"run {held.get('run_id')} (pid {held.get('pid')} on {held.get('host')})"
            raise RunDirectoryHeld(
                f"output.path {self.run_dir.uri!r} is being written by {who}, alive "
                f"{age:.0f} s ago; wait for it to finish, or choose another output.path (a "
                f"lease left by a killed run expires {TTL_S:.0f} s after its last heartbeat)"
            )

    def _beat(self) -> None:
        while not self._stop.wait(HEARTBEAT_S):
            self._write()

    def _write(self) -> None:
        self.run_dir.write_json(LEASE, {**self.holder, "heartbeat": time.time()})

    def _read(self) -> dict[str, Any] | None:
        try:
            held = self.run_dir.read_json(LEASE)
        except (FileNotFoundError, ValueError):  # none, or one being replaced right now
            return None
        if not isinstance(held, dict):
            return None
        return held


def _dead_here(held: dict[str, Any]) -> bool:
    """The holder ran on this host and its process is gone: no need to wait for expiry."""
    if held.get("host") != socket.gethostname() or not isinstance(held.get("pid"), int):
        return False
    try:
        os.kill(held["pid"], 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        return False
    return False
