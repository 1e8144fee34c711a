"""The judge a run's thin client actors hold when warm judges answer for them: the judge
protocol (`judge`, and `generate` / `truncate_texts` where the warm engine has them) forwarded
to the warm actors, each call whole to one of them in turn, so a sample's requests still
share one engine's prefix cache.

When the warm actors go away under the run (idle time-out, `rayscore judges down`, a lost
node), before it connects or while it judges, the client asks its `fallback` for a judge of
the run's own (pipeline.warm.fallback) and sends it that call and every later one."""

from __future__ import annotations

import itertools
import random
import threading
from collections.abc import Callable, Sequence
from typing import Any

from pipeline.warm.actor import ask_info
from pipeline.warm.idle import WarmJudgeClosing
from pipeline.warm.names import NAMESPACE
from scorers.judge.generation import Generated, GenerationRequest
from scorers.judge.labels import LabelSet
from scorers.judge.result import JudgeResult, LogprobJudge
from scorers.truncate_spec import Side
from scorers.truncation import CutTexts

# Given why the warm actors are gone, a judge of the run's own that answers in their place.
Fallback = Callable[[str], LogprobJudge]


class WarmJudgeClient:
    """No engine here: each call is a Ray call to a warm actor (pipeline.warm.actor)."""

    def __init__(
        self,
        handles: Sequence[Any],
        infos: Sequence[dict[str, Any]],
        get: Callable[[Any], Any],
        fallback: Fallback | None = None,
    ) -> None:
        """`handles`: the warm actors (or stand-ins whose methods have `.remote`), `infos`
        their info(); `get` waits for a call's result (ray.get)."""
        if not handles:
            raise ValueError("a warm judge client needs at least one warm actor")
        self.handles = list(handles)
        self.infos = list(infos)
        self._get = get
        self._fallback = fallback
        self._own: Any = None  # the fallback's judge, once the warm actors are gone
        # each client starts at its own actor, so a pool's first calls spread out too
        first = random.randrange(len(self.handles))
        self._turns = itertools.cycle(self.handles[first:] + self.handles[:first])
        self._lock = threading.Lock()  # Ray Data calls this actor from two threads
        # offered only where every warm engine has it: the scorers check by attribute
        if all(info["generates"] for info in self.infos):
            self.generate = self._generate
        if all(info["truncates"] for info in self.infos):
            self.truncate_texts = self._truncate_texts

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
            handle = next(self._turns) if self._own is None else None
        if handle is not None:
            try:
                return self._get(getattr(handle, method).remote(*args))
            except Exception as exc:
                if self._fallback is None or not is_gone(exc):
                    raise
                with self._lock:  # the other thread waits for the same judge
                    if self._own is None:
                        self._own = self._fallback(f"warm judge gone while judging: {exc}")
        return getattr(self._own, method)(*args)


def connect(names: Sequence[str], fallback: Fallback | None = None) -> LogprobJudge:
    """The client of the warm actors of these names (pipeline.warm.names), each one's idle
    time started again; the fallback's judge if they are gone already."""
    import ray

    try:
        handles = [ray.get_actor(name, namespace=NAMESPACE) for name in names]
        infos = ray.get([ask_info(h, touch=True) for h in handles])
    except Exception as exc:
        # ValueError: ray.get_actor found no actor of that name (ended, or stopped)
        if fallback is None or not (isinstance(exc, ValueError) or is_gone(exc)):
            raise
        return fallback(f"warm judge gone before the run connected: {exc}")
    return WarmJudgeClient(handles, infos, ray.get, fallback)


def is_gone(exc: BaseException) -> bool:
    """The warm actor has ended (killed, its node lost) or is ending (its idle time-out)."""
    import ray

    cause = getattr(exc, "cause", None)  # what the actor raised, inside Ray's RayTaskError
    return isinstance(exc, (WarmJudgeClosing, ray.exceptions.RayActorError)) or isinstance(
        cause, WarmJudgeClosing
    )
