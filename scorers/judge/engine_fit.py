"""vLLM's refusals to start an engine whose max_model_len does not fit, worded as the judge
setting that fixes them and a value that fits.

vLLM raises a ValueError when one request of max_model_len tokens needs more KV cache than
the engine has (with its estimate of the longest that fits), and when max_model_len is more
than the model's own maximum. With the engine core in another process (multiprocessing on)
only that process sees the message; the actor then gets vLLM's "Engine core initialization
failed" and its log the reason.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from typing import Any

KEY = "engine_kwargs.max_model_len"
KV_CACHE_TOO_SMALL = re.compile(
    r"max seq len \((?P<asked>\d+)\), \((?P<needed>[\d.]+) GiB KV cache is needed, which is "
    r"larger than the available KV cache memory \((?P<available>[\d.]+) GiB\)\. "
    r"(Based on the available memory, the estimated maximum model length is (?P<fits>\d+)\.)?"
)
OVER_MODEL_MAXIMUM = re.compile(
    r"User-specified max_model_len \((?P<asked>\d+)\) is greater than the derived "
    r"max_model_len \((?P<key>\w+)=(?P<own>[\d.]+)"
)


# How an actor's EngineDoesNotFit reads in the Ray error that reports it (a traceback's text)
REPORTED = re.compile(r"EngineDoesNotFit: (?P<message>[^\n]+)")


class EngineDoesNotFit(ValueError):
    """The judge's max_model_len does not fit its KV cache or its model."""


def reported_in(exc: BaseException) -> EngineDoesNotFit | None:
    """The EngineDoesNotFit a judge actor raised on start, from the error Ray raised here."""
    found = REPORTED.search(" ".join(str(e) for e in _chain(exc)))
    return None if found is None else EngineDoesNotFit(found["message"])


@contextlib.contextmanager
def max_model_len_errors(model: str, engine_kwargs: dict[str, Any]) -> Iterator[None]:
    """Around an engine's start: its max_model_len refusals as EngineDoesNotFit."""
    try:
        yield
    except Exception as exc:
        does_not_fit = engine_does_not_fit(exc, model, "max_model_len" in engine_kwargs)
        if does_not_fit is None:
            raise
        raise does_not_fit from None


def engine_does_not_fit(exc: BaseException, model: str, given: bool) -> EngineDoesNotFit | None:
    """The refusal in `exc` (or an exception it was raised from) in the judge's words."""
    text = " ".join(str(e) for e in _chain(exc))
    asked_from = "" if given else " (unset: the model's own)"
    if kv := KV_CACHE_TOO_SMALL.search(text):
        fits = kv["fits"]
        value = f"set it to {fits} or less" if fits else "lower it"
        return EngineDoesNotFit(
            f"judge {model!r}: {KEY} {kv['asked']}{asked_from} does not fit the engine's KV "
            f"cache ({kv['needed']} GiB needed for one request, {kv['available']} GiB there): "
            f"{value}, or give the cache more memory (engine_kwargs.gpu_memory_utilization or "
            "kv_cache_memory_bytes; on CPU VLLM_CPU_KVCACHE_SPACE)"
        )
    if over := OVER_MODEL_MAXIMUM.search(text):
        own = int(float(over["own"]))
        return EngineDoesNotFit(
            f"judge {model!r}: {KEY} {over['asked']} is more than the model's own maximum "
            f"({over['key']}={own}): set it to {own} or less"
        )
    return None


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__
