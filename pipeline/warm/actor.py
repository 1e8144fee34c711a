"""The warm judge: a detached named Ray actor that holds one judge engine (build_judge) and
answers the judge protocol's calls from any run's thin clients (pipeline.warm.client).

Threaded (several calls at once): the vLLM judge lets concurrent batches share its engine
(scorers.judge.engine_loop), so clients of one or more runs keep it busy together. With an
idle time-out, a watcher thread ends the actor once no call has come for that long.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any

from pipeline.warm.idle import IdleClock
from scorers.judge.build import build_judge
from scorers.judge.generation import Generated, GeneratingJudge, GenerationRequest
from scorers.judge.labels import LabelSet
from scorers.judge.result import JudgeResult
from scorers.judge.spec import JudgeSpec
from scorers.truncate_spec import Side
from scorers.truncating_scorer import TextTruncator
from scorers.truncation import CutTexts

# Calls one warm actor serves at once: two per client of a few runs' pools.
MAX_CONCURRENT_CALLS = 16
# info() runs in a concurrency group of its own, so an actor busy with MAX_CONCURRENT_CALLS
# judge calls still answers it at once (a run looking for warm judges, `judges list`).
INFO_GROUP = "info"
CONCURRENCY_GROUPS = {INFO_GROUP: 1}


def warm_actor_class() -> Any:
    """WarmJudgeActor as a Ray actor class with the info group (Ray takes concurrency
    groups only here, not in `.options()`)."""
    import ray

    return ray.remote(concurrency_groups=CONCURRENCY_GROUPS)(WarmJudgeActor)


def ask_info(handle: Any, touch: bool = False) -> Any:
    """The ObjectRef of the actor's info(), asked in the info group; with `touch`, of its
    touch(): a run that will call it restarts its idle time."""
    method = handle.touch if touch else handle.info
    return method.options(concurrency_group=INFO_GROUP).remote()


class WarmJudgeActor:
    def __init__(
        self, judge: JudgeSpec, name: str, fingerprint: str, idle_timeout_s: float | None
    ) -> None:
        import ray

        self.started = time.time()
        self.engine = build_judge(judge)
        self.ready = time.time()
        self.name = name
        self.model = judge.model
        self.fingerprint = fingerprint
        self.node = ray.util.get_node_ip_address()
        self.idle = IdleClock(idle_timeout_s, self.ready)
        if idle_timeout_s is not None:
            threading.Thread(target=self._exit_when_idle, name="idle-timeout", daemon=True).start()

    def info(self) -> dict[str, Any]:
        """Who it is, where, since when, and what it can do (the client offers the same)."""
        return {
            "name": self.name,
            "model": self.model,
            "fingerprint": self.fingerprint,
            "node": self.node,
            "started": self.started,
            "ready": self.ready,
            "last_used": self.idle.last_used,
            "idle_timeout_s": self.idle.timeout_s,
            "generates": isinstance(self.engine, GeneratingJudge),
            "truncates": isinstance(self.engine, TextTruncator),
        }

    def touch(self) -> dict[str, Any]:
        """info(), with the idle time started again (WarmJudgeClosing once it is ending)."""
        self.idle.touch()
        return self.info()

    def judge(self, prompts: Sequence[str], label_set: LabelSet) -> list[JudgeResult]:
        with self.idle.call():
            return self.engine.judge(prompts, label_set)

    def generate(
        self, requests: Sequence[GenerationRequest], values: tuple[str, ...]
    ) -> list[Generated]:
        with self.idle.call():
            if not isinstance(self.engine, GeneratingJudge):
                raise TypeError(f"warm judge {self.name!r} cannot generate constrained answers")
            return self.engine.generate(requests, values)

    def truncate_texts(self, texts: Sequence[str], max_tokens: int, side: Side) -> CutTexts:
        with self.idle.call():
            if not isinstance(self.engine, TextTruncator):
                raise TypeError(f"warm judge {self.name!r} has no local tokenizer to cut texts")
            return self.engine.truncate_texts(texts, max_tokens, side)

    def _exit_when_idle(self) -> None:
        import ray

        assert self.idle.timeout_s is not None
        while not self.idle.close_if_expired():
            time.sleep(min(1.0, self.idle.timeout_s / 4))
        ray.kill(ray.get_runtime_context().current_actor, no_restart=True)
