"""What makes two judges give the same answers: the model's files (or hub id), every judge
setting except those that only change how fast or where it runs, and for an in-process
engine the versions of the packages it runs on (vllm, torch). Two judges with the
same fingerprint answer the same request the same way, so a judgment of one may stand for
the other's (an earlier run's judgments reused, a warm judge used by a run)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any

from pipeline.manifest import engine_versions, model_fingerprint
from scorers.judge.spec import JudgeSpec

# Judge settings that change how fast a run goes or where it runs, never what it scores.
OPERATIONAL = ("concurrency", "num_cpus", "num_gpus", "batch_size", "max_concurrency",
               "max_retries", "timeout_s", "price_per_hour",
               "resources", "node_labels")  # fmt: skip


def judge_settings(judge: JudgeSpec) -> dict[str, Any]:
    """The judge's settings that shape its answers, as JSON holds them."""
    dumped = judge.model_dump(mode="json")
    return {key: value for key, value in dumped.items() if key not in OPERATIONAL}


def judge_fingerprint(judge: JudgeSpec) -> str:
    """sha256 of the judge's answer-shaping settings, its model's files and its engine's
    versions (a server behind the openai backend has none that rayscore can see)."""
    identity = {
        "settings": judge_settings(judge),
        "model": model_fingerprint(judge.model),
        "engine": local_engine_versions([judge]),
    }
    text = json.dumps(identity, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def local_engine_versions(judges: Iterable[JudgeSpec]) -> dict[str, str]:
    """The engine packages' versions when some judge runs an in-process engine, else none."""
    return engine_versions() if any(j.backend == "vllm" for j in judges) else {}
