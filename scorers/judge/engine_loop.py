"""One thread owns the vLLM engine and steps it while any request is unfinished; callers on
other threads hand it whole batches and wait for theirs.

`LLM.generate` adds a batch and steps the engine until that batch is done, so the engine idles
while its caller tokenizes the next batch, reads answers and builds Arrow columns, and a batch
of generations waits for its longest answer with the engine running ever fewer sequences.
Here the judge actor runs two batches at once (Ray Data's concurrent calls per actor): while
the engine steps through one, the other's Python work runs, and its requests join the
running batch at the next step. The engine is touched by this thread only (vLLM's engine is
not thread-safe); a batch's requests are added together, so a sample's questions are
scheduled together and share its cached prefix.
"""

from __future__ import annotations

import contextlib
import itertools
import queue
import threading
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any


@dataclass
class _Batch:
    prompts: Sequence[Any]
    params: Any
    done: Future[list[Any]] = field(default_factory=Future)
    outputs: list[Any] = field(default_factory=list)
    waiting: int = 0


class EngineLoop:
    def __init__(self, llm: Any) -> None:
        self.llm = llm
        self._submitted: queue.Queue[_Batch] = queue.Queue()
        self._running: dict[str, tuple[_Batch, int]] = {}  # request id -> batch, position
        self._ids = itertools.count()
        from vllm.sampling_params import RequestOutputKind

        self._final_only = RequestOutputKind.FINAL_ONLY
        self._thread = threading.Thread(target=self._serve, name="vllm-engine", daemon=True)
        self._thread.start()

    def generate(self, prompts: Sequence[Any], params: Any) -> list[Any]:
        """The engine's outputs for `prompts`, in their order (as `LLM.generate`)."""
        if not prompts:
            return []
        batch = _Batch(prompts, params)
        self._submitted.put(batch)
        return batch.done.result()

    def _serve(self) -> None:
        while True:
            try:
                self._turn()
            except Exception as exc:  # the engine is broken: every running batch fails
                self._fail_running(exc)

    def _turn(self) -> None:
        """Add what was submitted (waiting for it when idle), then one engine step."""
        engine = self.llm.llm_engine
        self._add(None if engine.has_unfinished_requests() else self._submitted.get())
        if engine.has_unfinished_requests():
            for output in engine.step():
                if output.finished:
                    self._finish(output)

    def _add(self, first: _Batch | None) -> None:
        """Add `first` and every other batch waiting to the engine."""
        batches = [first] if first is not None else []
        while True:
            try:
                batches.append(self._submitted.get_nowait())
            except queue.Empty:
                break
        for batch in batches:
            try:
                self._enqueue(batch)
            except Exception as exc:
                batch.done.set_exception(exc)

    def _enqueue(self, batch: _Batch) -> None:
        """Every request of `batch` into the engine, or none of them."""
        engine = self.llm.llm_engine
        params = batch.params if isinstance(batch.params, Sequence) else None
        ids = [f"rayscore-{next(self._ids)}" for _ in batch.prompts]
        batch.outputs = [None] * len(ids)
        added: list[str] = []
        try:
            for position, (request_id, prompt) in enumerate(zip(ids, batch.prompts, strict=True)):
                sampling = params[position] if params is not None else batch.params
                sampling.output_kind = self._final_only  # the finished output is all we read
                engine.add_request(request_id, prompt, sampling)
                added.append(request_id)
        except Exception:
            if added:
                engine.abort_request(added)
            raise
        batch.waiting = len(ids)
        for position, request_id in enumerate(ids):
            self._running[request_id] = (batch, position)

    def _finish(self, output: Any) -> None:
        if output.request_id not in self._running:  # aborted after a failure
            return
        batch, position = self._running.pop(output.request_id)
        batch.outputs[position] = output
        batch.waiting -= 1
        if batch.waiting == 0:
            batch.done.set_result(batch.outputs)

    def _fail_running(self, exc: Exception) -> None:
        failed = {id(batch): batch for batch, _ in self._running.values()}
        with contextlib.suppress(Exception):  # the batches fail with the engine's own error
            self.llm.llm_engine.abort_request(list(self._running))
        self._running.clear()
        for batch in failed.values():
            batch.done.set_exception(exc)
