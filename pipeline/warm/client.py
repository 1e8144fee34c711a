"""The judge a run's thin client actors hold when warm judges answer for them: the judge
protocol (`judge`, and `generate` / `truncate_texts` where the warm engine has them) forwarded
to the warm actors, each call whole to one of them in turn, so a sample's requests still
share one engine's prefix cache."""

from __future__ import annotations

import itertools
import random
import threading
from collections.abc import Callable, Sequence
from typing import Any

from pipeline.warm.actor import ask_info
from pipeline.warm.names import NAMESPACE
from scorers.judge.generation import Generated, GenerationRequest
from scorers.judge.labels import LabelSet
from scorers.judge.result import JudgeResult
from scorers.truncate_spec import Side
from scorers.truncation import CutTexts


class WarmJudgeClient:
    """No engine here: each call is a Ray call to a warm actor (pipeline.warm.actor)."""

    def __init__(
        self,
        handles: Sequence[Any],
        infos: Sequence[dict[str, Any]],
        get: Callable[[Any], Any],
    ) -> None:
        """`handles`: the warm actors (or stand-ins whose methods have `.remote`), `infos`
        their info(); `get` waits for a call's result (ray.get)."""
        if not handles:
            raise ValueError("a warm judge client needs at least one warm actor")
        self.handles = list(handles)
        self.infos = list(infos)
        self._get = get
        # each client starts at its own actor, so a pool's first calls spread out too
        first = random.randrange(len(self.handles))
        self._turns = itertools.cycle(self.handles[first:] + self.handles[:first])
        self._lock = threading.Lock()  # Ray Data calls this actor from two threads
        # offered only where every warm engine has it: the scorers check by attribute
        if all(info["generates"] for info in self.infos):
            self.generate = self._generate
        if all(info["truncates"] for info in self.infos):
            self.truncate_texts = self._truncate_texts

    @classmethod
    def connect(cls, names: Sequence[str]) -> WarmJudgeClient:
        """The client of the warm actors of these names (pipeline.warm.names)."""
        import ray

        handles = [ray.get_actor(name, namespace=NAMESPACE) for name in names]
        return cls(handles, ray.get([ask_info(h) for h in handles]), ray.get)

    def judge(self, prompts: Sequence[str], label_set: LabelSet) -> list[JudgeResult]:
        results: list[JudgeResult] = self._call("judge", list(prompts), label_set)
        return results

    def _generate(
        self, requests: Sequence[GenerationRequest], values: tuple[str, ...]
    ) -> list[Generated]:
        generated: list[Generated] = self._call("generate", list(requests), values)
        return generated

    def _truncate_texts(self, texts: Sequence[str], max_tokens: int, side: Side) -> CutTexts:
        cut: CutTexts = self._call("truncate_texts", list(texts), max_tokens, side)
        return cut

    def _call(self, method: str, *args: Any) -> Any:
        with self._lock:
            handle = next(self._turns)
        return self._get(getattr(handle, method).remote(*args))
